// libFuzzer target: the PromQL parser never crashes on arbitrary text, and whatever it
// accepts prints (ToString) to a query that parses again and prints identically.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "promql/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto e = zw::promql::ParseExpr(in);
  if (!e.ok()) return 0;
  std::string printed = zw::promql::ToString(**e);
  auto again = zw::promql::ParseExpr(printed);
  if (!again.ok()) {
    std::fprintf(stderr, "printed form does not parse: %s\n%s\n", printed.c_str(),
                 again.status().message().c_str());
    __builtin_trap();
  }
  std::string reprinted = zw::promql::ToString(**again);
  if (reprinted != printed) {
    std::fprintf(stderr, "round trip changed:\n%s\n%s\n", printed.c_str(), reprinted.c_str());
    __builtin_trap();
  }
  return 0;
}
