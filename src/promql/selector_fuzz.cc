// libFuzzer target: the series selector parser never crashes on arbitrary text, and what
// it accepts prints back to matchers that parse to the same thing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "promql/selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto m = zw::promql::ParseSeriesSelector(in);
  if (!m.ok()) return 0;
  std::string again = "{";
  for (size_t i = 0; i < m->size(); ++i) {
    if (i) again += ",";
    again += (*m)[i].ToString();
  }
  again += "}";
  auto back = zw::promql::ParseSeriesSelector(again);
  if (!back.ok() || back->size() != m->size()) __builtin_trap();
  for (size_t i = 0; i < m->size(); ++i) {
    if ((*back)[i].value() != (*m)[i].value() || (*back)[i].type() != (*m)[i].type())
      __builtin_trap();
  }
  return 0;
}
