// libFuzzer target: the block index reader over arbitrary bytes never crashes and never
// reads outside its input; damage is a Corruption status.
//
// Checksums would stop almost every input at Open, so an input whose first byte is odd has
// its section and TOC checksums recomputed first: the fuzzer then reaches the decoders of
// every section. A corpus seed: any block's `index` file with a byte 0x01 prepended.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "tsdb/block/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) zw::tsdb::RechecksumIndex(in);
  // An exact-size heap copy, so that a read past the end is caught by AddressSanitizer.
  auto bytes = std::make_unique<char[]>(in.size());
  std::memcpy(bytes.get(), in.data(), in.size());
  auto r = zw::tsdb::IndexReader::Open(std::string_view(bytes.get(), in.size()), "fuzz");
  if (!r.ok()) {
    if (r.status().code() != zw::StatusCode::kCorruption) __builtin_trap();
    return 0;
  }
  zw::Status s = zw::tsdb::ExerciseIndex(**r);
  if (!s.ok() && s.code() != zw::StatusCode::kCorruption) __builtin_trap();
  return 0;
}
