// libFuzzer target for the XOR chunk codec (docs/format/chunks.md).
//
// Two properties per input:
//  1. The input as chunk bytes: decoding never crashes or reads outside them, returns no
//     more samples than the header claims, and returns all of them unless it reports an
//     error. Seek and NextBatch agree with Next.
//  2. The input as a recipe for samples: whatever is appended decodes back bit for bit.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "core/sample.h"
#include "tsdb/chunkenc/fuzz_recipe.h"
#include "tsdb/chunkenc/xor_chunk.h"

namespace {

using zw::Sample;
using zw::chunkenc::FuzzRecipe;
using zw::chunkenc::XorChunk;
using zw::chunkenc::XorIterator;

void Check(bool cond) {
  if (!cond) __builtin_trap();
}

bool Same(const Sample& a, const Sample& b) {
  return a.t == b.t && std::bit_cast<uint64_t>(a.v) == std::bit_cast<uint64_t>(b.v);
}

void DecodeArbitrary(std::span<const uint8_t> in) {
  std::vector<Sample> got;
  XorIterator it(in);
  while (it.Next()) got.push_back(it.At());
  Check(!it.Next());
  if (in.size() >= 2) {
    const size_t claimed = (size_t{in[0]} << 8) | in[1];
    Check(got.size() <= claimed);
    Check(!it.Err().ok() || got.size() == claimed);
  } else {
    Check(got.empty() && !it.Err().ok());
  }

  // NextBatch, of any size, gives the same samples and the same error.
  for (const size_t n : {size_t{1}, size_t{7}, size_t{128}}) {
    XorIterator b(in);
    std::vector<Sample> buf(n);
    size_t k = 0;
    while (true) {
      const size_t m = b.NextBatch(buf.data(), n);
      for (size_t i = 0; i < m; ++i, ++k) Check(k < got.size() && Same(buf[i], got[k]));
      if (m < n) break;
    }
    Check(k == got.size());
    Check(b.Err().code() == it.Err().code() && b.Err().message() == it.Err().message());
  }

  // Seek to each decoded timestamp from a fresh iterator lands on the first sample with
  // that timestamp or later, counted from the start, which is where a linear scan stops.
  for (size_t i = 0; i < got.size() && i < 8; ++i) {
    const int64_t target = got[i * got.size() / 8].t;
    size_t want = 0;
    while (want < got.size() && got[want].t < target) ++want;
    XorIterator s(in);
    Check(s.Seek(target));
    Check(Same(s.At(), got[want]));
  }

  std::string bytes(reinterpret_cast<const char*>(in.data()), in.size());
  zw::Result<XorChunk> c = XorChunk::FromBytes(std::move(bytes));
  if (c.ok()) {
    XorIterator again = c->Iterator();
    size_t n = 0;
    while (again.Next()) {
      Check(n < got.size() && Same(again.At(), got[n]));
      ++n;
    }
    Check(n == got.size());
  }
}

void RoundTrip(std::span<const uint8_t> in) {
  FuzzRecipe r(in);
  std::vector<Sample> want;
  uint64_t t = r.U64();
  uint64_t v = r.U64();
  // Mostly small steps and small value changes, as real series have, so that every bucket
  // and window case is reached; raw 64-bit jumps now and then.
  while (!r.empty() && want.size() < XorChunk::kMaxSamples) {
    const uint8_t op = r.Byte();
    switch (op & 3) {
      case 0:
        break;  // an equal timestamp
      case 1:
        t += static_cast<uint64_t>(static_cast<int8_t>(r.Byte())) * 1000;
        break;
      case 2:
        t += r.U64() >> (op >> 2 & 63);
        break;
      default:
        t = r.U64();
        break;
    }
    switch (op >> 6) {
      case 0:
        break;
      case 1:
        v ^= uint64_t{r.Byte()} << (op & 56);
        break;
      case 2:
        v = std::bit_cast<uint64_t>(std::bit_cast<double>(v) + r.Byte());
        break;
      default:
        v = r.U64();
        break;
    }
    want.push_back({static_cast<int64_t>(t), std::bit_cast<double>(v)});
  }

  XorChunk c;
  for (const Sample& s : want) c.Append(s.t, s.v);
  Check(c.NumSamples() == want.size());
  if (!want.empty()) Check(c.MinTime() == want.front().t && c.MaxTime() == want.back().t);
  XorIterator it = c.Iterator();
  size_t n = 0;
  while (it.Next()) {
    Check(n < want.size() && Same(it.At(), want[n]));
    ++n;
  }
  Check(it.Err().ok() && n == want.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  DecodeArbitrary(in);
  RoundTrip(in);
  return 0;
}
