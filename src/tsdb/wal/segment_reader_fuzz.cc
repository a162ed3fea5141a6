// libFuzzer target: the WAL segment reader over arbitrary bytes never crashes, never
// reads past its input and stops at the first damage.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tsdb/wal/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  zw::wal::SegmentReader r(in, "fuzz");
  std::string_view rec;
  size_t total = 0;
  while (r.Next(&rec)) total += rec.size();
  if (r.good_end() > size) __builtin_trap();
  return total > size * 2 + 1 ? 1 : 0;
}
