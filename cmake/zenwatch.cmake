# zw_module(<name> DEPS <targets...>)
#
# Declares the static library zw_<name> from every .cc in the calling folder (not its
# sub-folders: a sub-folder with a concept of its own is a module of its own), except tests (*_test.cc), fuzz targets (*_fuzz.cc) and benchmarks
# (*_bench.cc). Tests beside the code become one GoogleTest executable, zw_<name>_test,
# whose cases ctest discovers. Files are globbed so that adding one needs no edit here.
set(ZW_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
    -Werror)

function(zw_warnings target)
  target_compile_options(${target} PRIVATE ${ZW_WARNINGS})
  if(ZW_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

function(zw_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB all_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  set(lib_sources "")
  set(test_sources "")
  foreach(f ${all_sources})
    if(f MATCHES "_test\\.cc$")
      list(APPEND test_sources ${f})
    elseif(f MATCHES "_(fuzz|bench)\\.cc$")
    else()
      list(APPEND lib_sources ${f})
    endif()
  endforeach()
  if(lib_sources)
    add_library(zw_${name} STATIC ${lib_sources})
    target_link_libraries(zw_${name} PUBLIC ${ARG_DEPS})
    zw_warnings(zw_${name})
    if(ZW_SANITIZE)
      target_link_options(zw_${name} PUBLIC -fsanitize=address,undefined)
    endif()
  else()
    add_library(zw_${name} INTERFACE)
    target_link_libraries(zw_${name} INTERFACE ${ARG_DEPS})
  endif()
  if(ZW_BUILD_TESTS AND test_sources)
    add_executable(zw_${name}_test ${test_sources})
    target_link_libraries(zw_${name}_test PRIVATE zw_${name} ${ARG_TEST_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
    zw_warnings(zw_${name}_test)
    gtest_discover_tests(zw_${name}_test DISCOVERY_TIMEOUT 60
                         PROPERTIES LABELS unit ENVIRONMENT "ZW_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  endif()
endfunction()
