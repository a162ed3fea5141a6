// libFuzzer target for the packed chunk codec (docs/format/chunks.md, "Packed chunk").
//
// Three properties per input:
//  1. The input as chunk bytes: decoding never crashes or reads outside them (the input is
//     copied to a buffer of its exact size, so ASan sees any overread); it succeeds with
//     exactly the count PackedNumSamples reports, or fails with Corruption and no samples.
//  2. The same bytes through the iterator agree with DecodePacked, Seek included.
//  3. The input as a recipe for samples: whatever is encoded decodes back bit for bit, with
//     and without zstd.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/sample.h"
#include "tsdb/chunkenc/fuzz_recipe.h"
#include "tsdb/chunkenc/packed_chunk.h"

namespace {

using zw::Sample;
using namespace zw::chunkenc;

void Check(bool cond) {
  if (!cond) __builtin_trap();
}

bool Same(const Sample& a, const Sample& b) {
  return a.t == b.t && std::bit_cast<uint64_t>(a.v) == std::bit_cast<uint64_t>(b.v);
}

void DecodeArbitrary(std::span<const uint8_t> in) {
  auto copy = std::make_unique<uint8_t[]>(in.size() + 1);
  if (!in.empty()) std::memcpy(copy.get(), in.data(), in.size());
  std::span<const uint8_t> bytes(copy.get(), in.size());
  std::vector<Sample> got;
  zw::Status s = DecodePacked(bytes, &got);
  if (s.ok()) {
    Check(!got.empty() && got.size() <= kPackedMaxSamples);
    Check(got.size() == PackedNumSamples(bytes));
  } else {
    Check(s.code() == zw::StatusCode::kCorruption && got.empty());
  }
  PackedIterator it(bytes);
  size_t n = 0;
  while (it.Next()) {
    Check(n < got.size() && Same(it.At(), got[n]));
    ++n;
  }
  Check(n == got.size() && it.Err().ok() == s.ok());
  if (!got.empty()) {
    const int64_t target = got[got.size() / 2].t;
    size_t want = 0;
    while (want < got.size() && got[want].t < target) ++want;
    PackedIterator seek(bytes);
    Check(seek.Seek(target) && Same(seek.At(), got[want]));
  }
}

// Samples shaped like real series (steps, small decimal changes) or arbitrary bits, as the
// recipe says, so that every column order, the decimal and the bit-pattern values and the
// fallbacks between them are reached.
void RoundTrip(std::span<const uint8_t> in) {
  FuzzRecipe r(in);
  std::vector<Sample> samples;
  uint64_t t = r.U64();  // unsigned: steps wrap instead of overflowing
  double v = 0;
  while (!r.empty() && samples.size() < 2000) {
    uint8_t op = r.Byte();
    switch (op % 6) {
      case 0:
        t += 15000;
        break;
      case 1:
        t += static_cast<uint64_t>(static_cast<int8_t>(r.Byte()));
        break;
      default:
        t += r.U64();
        break;
    }
    switch ((op >> 3) % 6) {
      case 0:
        break;
      case 1:
        v += static_cast<double>(r.Byte());
        break;
      case 2:
        v = static_cast<double>(static_cast<int16_t>(r.Byte() << 8 | r.Byte())) / 1000;
        break;
      case 3:
        v = std::bit_cast<double>(r.U64());
        break;
      case 4:
        v = std::bit_cast<double>(zw::kStaleNaNBits);
        break;
      default:
        v = -0.0;
        break;
    }
    samples.push_back({static_cast<int64_t>(t), v});
  }
  if (samples.empty()) return;
  for (int level : {0, 1}) {
    std::string c = EncodePacked(samples, {.zstd_level = level});
    std::vector<Sample> got;
    zw::Status s = DecodePacked({reinterpret_cast<const uint8_t*>(c.data()), c.size()}, &got);
    Check(s.ok() && got.size() == samples.size());
    for (size_t i = 0; i < got.size(); ++i) Check(Same(got[i], samples[i]));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  DecodeArbitrary(in);
  RoundTrip(in);
  return 0;
}
