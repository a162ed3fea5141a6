#include "tsdb/chunkenc/xor_chunk.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tsdb/chunkenc/bstream.h"

namespace zw::chunkenc {
namespace {

using Samples = std::vector<Sample>;

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

double FromBits(uint64_t b) { return std::bit_cast<double>(b); }
uint64_t ToBits(double v) { return std::bit_cast<uint64_t>(v); }

// Values are compared by their bits: NaN != NaN and -0.0 == 0.0 would hide encoding bugs.
bool SameSample(const Sample& a, const Sample& b) {
  return a.t == b.t && ToBits(a.v) == ToBits(b.v);
}

std::string Describe(const Sample& s) {
  return "{t=" + std::to_string(s.t) + ", bits=" + std::to_string(ToBits(s.v)) + "}";
}

XorChunk Encode(const Samples& samples) {
  XorChunk c;
  for (const Sample& s : samples) c.Append(s.t, s.v);
  return c;
}

struct Decoded {
  Samples samples;
  Status err;
};

Decoded Decode(std::span<const uint8_t> bytes) {
  Decoded d;
  XorIterator it(bytes);
  while (it.Next()) d.samples.push_back(it.At());
  EXPECT_FALSE(it.Next()) << "Next after the end must stay false";
  d.err = it.Err();
  return d;
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string ToString(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

void ExpectSame(const Samples& want, const Samples& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(SameSample(want[i], got[i]))
        << "sample " << i << ": want " << Describe(want[i]) << ", got " << Describe(got[i]);
  }
}

void ExpectRoundTrip(const Samples& samples) {
  XorChunk c = Encode(samples);
  ASSERT_EQ(c.NumSamples(), samples.size());
  if (!samples.empty()) {
    EXPECT_EQ(c.MinTime(), samples.front().t);
    EXPECT_EQ(c.MaxTime(), samples.back().t);
  }
  Decoded d = Decode(c.Bytes());
  ASSERT_TRUE(d.err.ok()) << d.err.ToString();
  ExpectSame(samples, d.samples);

  // The same bytes, adopted as if read from disk, decode the same.
  Result<XorChunk> adopted = XorChunk::FromBytes(ToString(c.Bytes()));
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  EXPECT_EQ(adopted->NumSamples(), samples.size());
  Decoded d2 = Decode(adopted->Bytes());
  ASSERT_TRUE(d2.err.ok()) << d2.err.ToString();
  ExpectSame(samples, d2.samples);
}

Samples Regular(int n, int64_t start, int64_t step, double v0, double dv) {
  Samples out;
  for (int i = 0; i < n; ++i) out.push_back({start + i * step, v0 + i * dv});
  return out;
}

// --- Round trips by length ------------------------------------------------------------------

class XorChunkLength : public testing::TestWithParam<int> {};

TEST_P(XorChunkLength, RegularScrapeCounter) {
  ExpectRoundTrip(Regular(GetParam(), 1'700'000'000'000, 15'000, 100, 3));
}

TEST_P(XorChunkLength, JitteredRandomWalk) {
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()));
  std::normal_distribution<double> step(0, 1);
  std::uniform_int_distribution<int64_t> jitter(-40, 40);
  Samples s;
  int64_t t = -1'000'000;
  double v = 0.5;
  for (int i = 0; i < GetParam(); ++i) {
    s.push_back({t, v});
    t += 15'000 + jitter(rng);
    v += step(rng);
  }
  ExpectRoundTrip(s);
}

TEST_P(XorChunkLength, RandomBits) {
  std::mt19937_64 rng(1000 + static_cast<uint64_t>(GetParam()));
  Samples s;
  for (int i = 0; i < GetParam(); ++i) {
    s.push_back({static_cast<int64_t>(rng()), FromBits(rng())});
  }
  ExpectRoundTrip(s);
}

INSTANTIATE_TEST_SUITE_P(AllLengths, XorChunkLength, testing::Range(0, 131));

// --- Round trips by kind of data ------------------------------------------------------------

TEST(XorChunkValues, SpecialFloatsKeepTheirBits) {
  const std::vector<uint64_t> bits = {
      ToBits(std::numeric_limits<double>::quiet_NaN()),
      0x7ff0000000000001,  // signalling NaN payload
      0xfff8000000000000,  // negative quiet NaN
      0x7ff8dead0000beef,  // NaN with a payload
      kStaleNaNBits,
      ToBits(std::numeric_limits<double>::infinity()),
      ToBits(-std::numeric_limits<double>::infinity()),
      ToBits(0.0),
      ToBits(-0.0),
      ToBits(0.0),
      ToBits(std::numeric_limits<double>::denorm_min()),
      ToBits(-std::numeric_limits<double>::denorm_min()),
      0x000fffffffffffff,  // largest denormal
      ToBits(std::numeric_limits<double>::min()),
      ToBits(std::numeric_limits<double>::max()),
      ToBits(std::numeric_limits<double>::lowest()),
      kStaleNaNBits,
      kStaleNaNBits,
      ToBits(1.0),
  };
  Samples s;
  for (size_t i = 0; i < bits.size(); ++i) {
    s.push_back({static_cast<int64_t>(i) * 1000, FromBits(bits[i])});
  }
  ExpectRoundTrip(s);
  // And each of them as the first value, where it is stored raw.
  for (uint64_t b : bits) ExpectRoundTrip({{0, FromBits(b)}, {1, 1.0}, {2, FromBits(b)}});
}

TEST(XorChunkValues, StaleMarkerIsDistinguishable) {
  XorChunk c = Encode({{0, 1.0}, {15, StaleNaN()}, {30, std::nan("")}});
  Decoded d = Decode(c.Bytes());
  ASSERT_EQ(d.samples.size(), 3u);
  EXPECT_FALSE(IsStaleNaN(d.samples[0].v));
  EXPECT_TRUE(IsStaleNaN(d.samples[1].v));
  EXPECT_FALSE(IsStaleNaN(d.samples[2].v));
  EXPECT_TRUE(std::isnan(d.samples[2].v));
}

TEST(XorChunkValues, ConstantSeriesIsTwoBitsPerSample) {
  Samples s = Regular(120, 1'700'000'000'000, 15'000, 42, 0);
  ExpectRoundTrip(s);
  // header 2 + varint 6 + value 8 + uvarint 2 bytes, then 1 bit and 118 x 2 bits = 30 bytes.
  EXPECT_EQ(Encode(s).Bytes().size(), 2u + 6 + 8 + 2 + 30);
}

TEST(XorChunkValues, CounterResets) {
  Samples s;
  double v = 0;
  for (int i = 0; i < 120; ++i) {
    v = (i % 37 == 36) ? 1 : v + 17;  // drops back to 1 now and then
    s.push_back({i * 15'000, v});
  }
  ExpectRoundTrip(s);
}

TEST(XorChunkValues, AlternatingValuesExerciseWindowReuse) {
  Samples s;
  for (int i = 0; i < 120; ++i) s.push_back({i, i % 2 ? 1.5 : 1.75});
  ExpectRoundTrip(s);
}

TEST(XorChunkValues, FullWidthXorIsWrittenAsZeroSigbits) {
  // 0.0 -> -denorm_min flips bit 63 and bit 0: 64 meaningful bits, stored as 0 in 6 bits.
  ExpectRoundTrip({{0, 0.0}, {1, FromBits(0x8000000000000001)}, {2, 0.0}, {3, FromBits(~0ull)}});
}

// --- Round trips by kind of timestamps ------------------------------------------------------

TEST(XorChunkTimes, EqualTimestamps) {
  ExpectRoundTrip({{5, 1}, {5, 2}, {5, 3}, {5, 3}, {6, 3}, {6, 4}});
}

TEST(XorChunkTimes, NegativeTimestamps) {
  ExpectRoundTrip(Regular(50, -1'000'000, 999, 1, 1));
  ExpectRoundTrip({{-1, 1}, {0, 2}, {1, 3}});
}

TEST(XorChunkTimes, HugeGapsWrapWithoutOverflow) {
  ExpectRoundTrip({{kI64Min, 1}, {kI64Max, 2}});
  ExpectRoundTrip({{kI64Min, 1}, {kI64Max, 2}, {kI64Min, 3}, {kI64Max, 4}, {0, 5}});
  ExpectRoundTrip({{kI64Min, 1}, {kI64Min + 1, 2}, {kI64Max - 1, 3}, {kI64Max, 4}});
  ExpectRoundTrip({{0, 1}, {kI64Max, 2}, {kI64Max, 3}, {kI64Min, 4}});
  ExpectRoundTrip({{kI64Max, 1}});
  ExpectRoundTrip({{kI64Min, 1}});
}

TEST(XorChunkTimes, EveryDodBucketBoundary) {
  // Each bucket's range is -(2^(n-1) - 1) .. 2^(n-1); test both ends and one step outside.
  for (int64_t dod : {int64_t{1}, int64_t{-1}, int64_t{8192}, int64_t{-8191}, int64_t{8193},
                      int64_t{-8192}, int64_t{65536}, int64_t{-65535}, int64_t{65537},
                      int64_t{-65536}, int64_t{524288}, int64_t{-524287}, int64_t{524289},
                      int64_t{-524288}, int64_t{1} << 40, -(int64_t{1} << 40)}) {
    SCOPED_TRACE(dod);
    const int64_t d0 = 1'000'000;
    ExpectRoundTrip({{0, 1}, {d0, 2}, {2 * d0 + dod, 3}, {3 * d0 + 2 * dod, 4}});
  }
}

TEST(XorChunkTimes, DecreasingTimestamps) {
  ExpectRoundTrip({{100, 1}, {50, 2}, {-50, 3}, {-49, 4}, {-1000000000, 5}});
}

// --- Randomised against a reference vector --------------------------------------------------

int64_t NextTime(std::mt19937_64& rng, int64_t t, int regime) {
  switch (regime) {
    case 0:
      return t + 15'000;
    case 1:
      return t + 15'000 + static_cast<int64_t>(rng() % 2001) - 1000;
    case 2:
      return t + static_cast<int64_t>(rng() % 3);
    case 3:
      return static_cast<int64_t>(rng());  // anything, wrapping
    default:
      return t + static_cast<int64_t>(rng() % (uint64_t{1} << (rng() % 40)));
  }
}

double NextValue(std::mt19937_64& rng, double v, int regime) {
  switch (regime) {
    case 0:
      return v + static_cast<double>(rng() % 10);  // counter
    case 1:
      return v + std::normal_distribution<double>(0, 3)(rng);
    case 2:
      return rng() % 4 == 0 ? v + 1 : v;  // mostly unchanged
    case 3:
      return FromBits(rng());
    case 4:
      return std::round(std::uniform_real_distribution<double>(0, 100)(rng) * 100) / 100;
    default: {
      static const uint64_t kSpecial[] = {kStaleNaNBits, 0x8000000000000000, 0x7ff0000000000000,
                                          0x1,           0x7ff8000000000000, 0};
      return FromBits(kSpecial[rng() % std::size(kSpecial)]);
    }
  }
}

// n samples in the time and value regimes of `iter` (mod 5 and 6), switching regimes now
// and then, so that one chunk mixes them.
Samples RandomSeries(std::mt19937_64& rng, int n, int iter) {
  Samples ref;
  int64_t t = static_cast<int64_t>(rng()) >> (rng() % 64);
  double v = 0;
  for (int i = 0; i < n; ++i) {
    t = NextTime(rng, t, static_cast<int>(rng() % 5 == 0 ? rng() % 5 : iter % 5));
    v = NextValue(rng, v, static_cast<int>(rng() % 6 == 0 ? rng() % 6 : iter % 6));
    ref.push_back({t, v});
  }
  return ref;
}

TEST(XorChunkFuzz, RandomSeriesMatchReference) {
  std::mt19937_64 rng(20240601);
  for (int iter = 0; iter < 3000; ++iter) {
    const Samples ref = RandomSeries(rng, static_cast<int>(rng() % 300), iter);
    SCOPED_TRACE(iter);
    XorChunk c = Encode(ref);
    Decoded d = Decode(c.Bytes());
    ASSERT_TRUE(d.err.ok()) << d.err.ToString();
    ExpectSame(ref, d.samples);

    // Seek from a fresh iterator to a random target against a linear scan of the reference.
    if (!ref.empty()) {
      const int64_t target = ref[rng() % ref.size()].t + static_cast<int64_t>(rng() % 3) - 1;
      XorIterator it = c.Iterator();
      size_t want = 0;
      while (want < ref.size() && ref[want].t < target) ++want;
      if (want == ref.size()) {
        EXPECT_FALSE(it.Seek(target));
      } else {
        ASSERT_TRUE(it.Seek(target));
        EXPECT_TRUE(SameSample(it.At(), ref[want]));
      }
    }
  }
}

// --- Seek ----------------------------------------------------------------------------------

class XorChunkSeek : public testing::Test {
 protected:
  XorChunk chunk_ = Encode({{10, 1}, {20, 2}, {30, 3}, {40, 4}});
};

TEST_F(XorChunkSeek, BeforeFirstLandsOnFirst) {
  XorIterator it = chunk_.Iterator();
  ASSERT_TRUE(it.Seek(-100));
  EXPECT_EQ(it.At().t, 10);
}

TEST_F(XorChunkSeek, ExactHit) {
  XorIterator it = chunk_.Iterator();
  ASSERT_TRUE(it.Seek(30));
  EXPECT_EQ(it.At().t, 30);
  EXPECT_EQ(it.At().v, 3);
}

TEST_F(XorChunkSeek, BetweenLandsOnNext) {
  XorIterator it = chunk_.Iterator();
  ASSERT_TRUE(it.Seek(21));
  EXPECT_EQ(it.At().t, 30);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At().t, 40);
}

TEST_F(XorChunkSeek, PastEndIsFalseAndStaysFalse) {
  XorIterator it = chunk_.Iterator();
  EXPECT_FALSE(it.Seek(41));
  EXPECT_TRUE(it.Err().ok());
  EXPECT_FALSE(it.Seek(0));
  EXPECT_FALSE(it.Next());
}

TEST_F(XorChunkSeek, RepeatedAndBackwardsDoNotMove) {
  XorIterator it = chunk_.Iterator();
  ASSERT_TRUE(it.Seek(20));
  ASSERT_TRUE(it.Seek(20));
  EXPECT_EQ(it.At().t, 20);
  ASSERT_TRUE(it.Seek(5));
  EXPECT_EQ(it.At().t, 20);
  ASSERT_TRUE(it.Seek(40));
  EXPECT_EQ(it.At().t, 40);
  ASSERT_TRUE(it.Seek(40));
  EXPECT_FALSE(it.Next());
}

TEST_F(XorChunkSeek, AfterNext) {
  XorIterator it = chunk_.Iterator();
  ASSERT_TRUE(it.Next());
  ASSERT_TRUE(it.Next());
  ASSERT_TRUE(it.Seek(15));  // already past 15: stays on 20
  EXPECT_EQ(it.At().t, 20);
}

TEST(XorChunkSeekEmpty, EmptyChunkHasNothing) {
  XorChunk c;
  XorIterator it = c.Iterator();
  EXPECT_FALSE(it.Seek(kI64Min));
  EXPECT_TRUE(it.Err().ok());
}

// --- Golden bytes: the format is frozen -----------------------------------------------------

std::vector<uint8_t> Vec(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

TEST(XorChunkGolden, WorkedExampleFromFormatDoc) {
  // docs/format/chunks.md, "Worked example", derived there bit by bit.
  const Samples s = {{1000, 1.0}, {16000, 1.0}, {31000, 2.0}, {46001, 3.0}};
  const std::vector<uint8_t> want = {0x00, 0x04, 0xd0, 0x0f, 0x3f, 0xf0, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x75,
                                     0x30, 0x97, 0xff, 0xe0, 0x00, 0x76, 0x03};
  EXPECT_EQ(Vec(Encode(s).Bytes()), want);
  Decoded d = Decode(want);
  ASSERT_TRUE(d.err.ok()) << d.err.ToString();
  ExpectSame(s, d.samples);
}

TEST(XorChunkGolden, EveryBranch) {
  // Covers every dod bucket, '0'/'10'/'11' values, 64 significant bits, a negative first
  // timestamp and the int64 extremes. The bytes were cross-checked against an independent
  // bit-string encoder written from the format doc.
  const Samples s = {
      {-5, FromBits(0x0000000000000000)},      {10, FromBits(0x8000000000000000)},
      {25, FromBits(0x8000000000000000)},      {8232, FromBits(0x3ff8000000000000)},
      {8246, FromBits(0x3ffc000000000000)},    {73796, FromBits(0x7ff0000000000002)},
      {73810, FromBits(0x7ff0000000000002)},   {598112, FromBits(0x7ff0000000000000)},
      {1646703, FromBits(0x0000000000000001)}, {2171005, FromBits(0x8000000000000000)},
      {kI64Max, FromBits(0x7ff8000000000001)}, {kI64Min, FromBits(0xc000000000000000)},
  };
  const std::vector<uint8_t> want = {
      0x00, 0x0c, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0xc0, 0x0c, 0xa0,
      0x00, 0xc0, 0x6d, 0xff, 0xf7, 0x7f, 0xff, 0x68, 0x3d, 0x00, 0x00, 0xc3, 0xf4, 0x00, 0xc0,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0xe0, 0x00, 0x0e, 0x80, 0x00, 0x08, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0xc3, 0xff,
      0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf7, 0xff,
      0xff, 0xc0, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0xbf, 0xff, 0xff, 0xff,
      0xff, 0xeb, 0x6f, 0xba, 0x5f, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x42, 0x40, 0xff, 0x5f, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
  };
  EXPECT_EQ(Vec(Encode(s).Bytes()), want);
  Decoded d = Decode(want);
  ASSERT_TRUE(d.err.ok()) << d.err.ToString();
  ExpectSame(s, d.samples);
}

TEST(XorChunkGolden, EmptyChunkIsAZeroCount) {
  EXPECT_EQ(Vec(XorChunk().Bytes()), (std::vector<uint8_t>{0x00, 0x00}));
}

TEST(XorChunkGolden, BytesAreStableAndDeterministic) {
  const Samples s = Regular(120, 1'700'000'000'000, 15'000, 0.25, 1.5);
  XorChunk a = Encode(s);
  XorChunk b = Encode(s);
  EXPECT_EQ(Vec(a.Bytes()), Vec(b.Bytes()));
  EXPECT_EQ(a.Bytes().data(), a.Bytes().data());
  EXPECT_EQ(Vec(a.Bytes()), Vec(a.Bytes()));
  XorChunk copy = a;
  EXPECT_EQ(Vec(copy.Bytes()), Vec(a.Bytes()));
}

// --- Damaged bytes ------------------------------------------------------------------------

// A chunk that takes every encoding branch, and the byte length after each sample.
struct Reference {
  Samples samples;
  std::string bytes;
  std::vector<size_t> bytes_after;  // bytes_after[i]: Bytes().size() once sample i is in
};

Reference MixedReference() {
  Reference r;
  std::mt19937_64 rng(7);
  int64_t t = -3;
  double v = 1;
  for (int i = 0; i < 60; ++i) {
    r.samples.push_back({t, v});
    t = NextTime(rng, t, i % 5);
    v = NextValue(rng, v, i % 6);
  }
  XorChunk c;
  for (const Sample& s : r.samples) {
    c.Append(s.t, s.v);
    r.bytes_after.push_back(c.Bytes().size());
  }
  r.bytes = ToString(c.Bytes());
  return r;
}

TEST(XorChunkDamage, EveryTruncationIsReported) {
  const Reference r = MixedReference();
  for (size_t len = 0; len < r.bytes.size(); ++len) {
    SCOPED_TRACE(len);
    const std::string cut = r.bytes.substr(0, len);
    Decoded d = Decode(AsBytes(cut));
    // What it returns is exactly the samples that were whole before the cut, and it says
    // that the rest is missing.
    ASSERT_FALSE(d.err.ok());
    EXPECT_EQ(d.err.code(), StatusCode::kCorruption);
    EXPECT_LE(d.err.offset(), len);
    ASSERT_LE(d.samples.size(), r.samples.size());
    for (size_t i = 0; i < d.samples.size(); ++i) {
      ASSERT_TRUE(SameSample(d.samples[i], r.samples[i])) << i;
    }
    size_t whole = 0;
    while (whole < r.bytes_after.size() && r.bytes_after[whole] <= len) ++whole;
    EXPECT_EQ(d.samples.size(), whole);
    // FromBytes, which looks at the header only, either refuses or hands out a chunk whose
    // iterator reports the damage.
    Result<XorChunk> c = XorChunk::FromBytes(cut);
    if (c.ok()) {
      EXPECT_FALSE(Decode(c->Bytes()).err.ok());
    }
  }
}

TEST(XorChunkDamage, SingleBitFlipsNeverCrashOrInventSamplesBeforeTheDamage) {
  const Reference r = MixedReference();
  for (size_t bit = 0; bit < r.bytes.size() * 8; ++bit) {
    SCOPED_TRACE(bit);
    std::string bad = r.bytes;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (0x80 >> (bit % 8)));
    Decoded d = Decode(AsBytes(bad));
    const uint16_t claimed =
        static_cast<uint16_t>((static_cast<uint8_t>(bad[0]) << 8) | static_cast<uint8_t>(bad[1]));
    ASSERT_LE(d.samples.size(), claimed);
    if (d.err.ok()) {
      EXPECT_EQ(d.samples.size(), claimed);
    }
    // Samples encoded wholly before the flipped byte come back unchanged.
    if (bit >= 16) {
      for (size_t i = 0; i < d.samples.size() && r.bytes_after[i] <= bit / 8; ++i) {
        ASSERT_TRUE(SameSample(d.samples[i], r.samples[i])) << i;
      }
    }
  }
}

TEST(XorChunkDamage, ErrIsSetOnlyAfterTheSamplesBeforeTheDamage) {
  const Samples s = Regular(40, 0, 15'000, 1, 0.5);
  const std::string b = ToString(Encode(s).Bytes());
  const std::string cut = b.substr(0, b.size() - 3);
  XorIterator it(AsBytes(cut));
  size_t n = 0;
  while (it.Next()) {
    EXPECT_TRUE(it.Err().ok()) << "at sample " << n;
    EXPECT_TRUE(SameSample(it.At(), s[n]));
    ++n;
  }
  EXPECT_GT(n, 30u);
  EXPECT_LT(n, s.size());
  EXPECT_EQ(it.Err().code(), StatusCode::kCorruption);
  EXPECT_FALSE(it.Next());
  EXPECT_FALSE(it.Seek(kI64Min));
  EXPECT_EQ(it.Err().code(), StatusCode::kCorruption);
}

TEST(XorChunkDamage, HeaderCountTooHighIsTruncation) {
  // Raised by one or two, the count can be satisfied by the zero padding, which decodes as
  // repeats of the last sample's spacing and value ('0' '0'); raised by 5 it cannot.
  const Samples s = Regular(10, 0, 15, 1, 1);
  std::string b = ToString(Encode(s).Bytes());
  b[1] = 15;
  Decoded d = Decode(AsBytes(b));
  ASSERT_GE(d.samples.size(), s.size());
  EXPECT_LT(d.samples.size(), 15u);
  ExpectSame(s, Samples(d.samples.begin(), d.samples.begin() + s.size()));
  EXPECT_EQ(d.err.code(), StatusCode::kCorruption);
}

TEST(XorChunkDamage, HeaderCountTooLowLeavesUnreadBits) {
  std::string b = ToString(Encode(Regular(10, 0, 15, 1, 7)).Bytes());
  b[1] = 8;
  Decoded d = Decode(AsBytes(b));
  EXPECT_EQ(d.samples.size(), 8u);
  EXPECT_EQ(d.err.code(), StatusCode::kCorruption);
}

TEST(XorChunkDamage, OneExtraZeroByteIsToleratedMoreIsNot) {
  const Samples s = Regular(10, 0, 15, 1, 7);
  std::string b = ToString(Encode(s).Bytes());
  Decoded one = Decode(AsBytes(b + std::string(1, '\0')));
  EXPECT_TRUE(one.err.ok()) << one.err.ToString();
  ExpectSame(s, one.samples);
  EXPECT_FALSE(Decode(AsBytes(b + std::string(2, '\0'))).err.ok());
  EXPECT_FALSE(Decode(AsBytes(b + std::string(1, '\x01'))).err.ok());
}

TEST(XorChunkDamage, NonZeroPaddingIsReported) {
  // Three constant samples take 3 bits after the second timestamp: 5 bits of padding.
  std::string b = ToString(Encode({{0, 1}, {1, 1}, {2, 1}}).Bytes());
  ASSERT_TRUE(Decode(AsBytes(b)).err.ok());
  b.back() = static_cast<char>(b.back() | 0x01);
  EXPECT_FALSE(Decode(AsBytes(b)).err.ok());
}

TEST(XorChunkDamage, WindowReuseBeforeAnyWindow) {
  // count 2, t0 = 0, v0 = 0.0, delta 1, then value '10': no window was ever set.
  const std::vector<uint8_t> b = {0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x80};
  Decoded d = Decode(b);
  EXPECT_EQ(d.samples.size(), 1u);
  EXPECT_EQ(d.err.code(), StatusCode::kCorruption);
  EXPECT_NE(d.err.message().find("window"), std::string::npos) << d.err.message();
}

TEST(XorChunkDamage, WindowWiderThan64Bits) {
  // Value '11', leading 31, sigbits 0 (= 64): 95 bits do not fit a double.
  const std::vector<uint8_t> b = {0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0x01, 0xfe, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
  Decoded d = Decode(b);
  EXPECT_EQ(d.samples.size(), 1u);
  EXPECT_EQ(d.err.code(), StatusCode::kCorruption);
  EXPECT_NE(d.err.message().find("wider"), std::string::npos) << d.err.message();
}

TEST(XorChunkDamage, OverlongVarint) {
  std::vector<uint8_t> b = {0x00, 0x01};
  for (int i = 0; i < 10; ++i) b.push_back(0xff);
  for (int i = 0; i < 8; ++i) b.push_back(0);
  Decoded d = Decode(b);
  EXPECT_TRUE(d.samples.empty());
  EXPECT_EQ(d.err.code(), StatusCode::kCorruption);
}

TEST(XorChunkFromBytes, RejectsTooShortHeader) {
  for (const std::string& b : {std::string(), std::string(1, '\0')}) {
    Result<XorChunk> c = XorChunk::FromBytes(b);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kCorruption);
    Decoded d = Decode(AsBytes(b));
    EXPECT_EQ(d.err.code(), StatusCode::kCorruption);
  }
}

TEST(XorChunkFromBytes, RejectsCountThatCannotFit) {
  // One sample needs at least a varint byte and 8 value bytes after the header.
  EXPECT_FALSE(XorChunk::FromBytes(std::string("\x00\x01", 2)).ok());
  EXPECT_FALSE(XorChunk::FromBytes(std::string("\x00\x01", 2) + std::string(8, '\0')).ok());
  EXPECT_TRUE(XorChunk::FromBytes(std::string("\x00\x01", 2) + std::string(9, '\0')).ok());
  EXPECT_FALSE(XorChunk::FromBytes(std::string("\xff\xff", 2) + std::string(100, '\0')).ok());
}

TEST(XorChunkFromBytes, AdoptsBytesUnchanged) {
  const std::string b = ToString(Encode(Regular(7, 0, 15, 1, 1)).Bytes());
  Result<XorChunk> c = XorChunk::FromBytes(b);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->NumSamples(), 7);
  EXPECT_EQ(ToString(c->Bytes()), b);
  Result<XorChunk> empty = XorChunk::FromBytes(std::string(2, '\0'));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->NumSamples(), 0);
}

TEST(XorChunkDeathTest, AppendToAdoptedChunkAborts) {
  Result<XorChunk> c = XorChunk::FromBytes(std::string(2, '\0'));
  ASSERT_TRUE(c.ok());
  EXPECT_DEATH(c->Append(1, 1), "read-only");
}

// --- Bit streams ---------------------------------------------------------------------------

TEST(BitStream, WritesAndReadsEveryWidthAtEveryAlignment) {
  std::mt19937_64 rng(3);
  auto low = [](uint64_t v, unsigned n) { return n == 64 ? v : v & ((uint64_t{1} << n) - 1); };
  BitWriter w;
  std::vector<std::pair<uint64_t, unsigned>> fields;
  for (unsigned pad = 0; pad < 8; ++pad) {
    for (unsigned n = 1; n <= 64; ++n) {
      // The writer keeps only the low n bits of what it is given.
      const uint64_t p = rng();
      w.WriteBits(p, pad);  // shifts the alignment of the field that follows
      fields.push_back({low(p, pad), pad});
      const uint64_t v = rng();
      w.WriteBits(v, n);
      fields.push_back({low(v, n), n});
    }
  }
  BitReader r(w.Bytes());
  for (auto [v, n] : fields) {
    if (n == 0) continue;
    ASSERT_EQ(r.ReadBitsWide(n), v) << n;
  }
  EXPECT_TRUE(r.ok());
  EXPECT_LT(r.BitsLeft(), 8u);
}

TEST(BitStream, BufferGrowsByAQuarterNotByDoubling) {
  // The head keeps one writer per series: spare room is paid per series.
  BitWriter w;
  for (int i = 0; i < 4000; ++i) {
    w.WriteBits(static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ULL, 13);
    const size_t used = w.Bytes().size();
    ASSERT_GE(w.Capacity(), used) << i;
    ASSERT_LE(w.Capacity(), std::max<size_t>(120, (used + 9) * 5 / 4 + 16)) << i;
  }
}

TEST(BitStream, CopiesAndMovesAreIndependentStreams) {
  BitWriter a;
  for (unsigned i = 0; i < 100; ++i) a.WriteBits(i, 7);
  BitWriter b = a;
  EXPECT_TRUE(std::ranges::equal(a.Bytes(), b.Bytes()));
  a.WriteBits(0x7f, 7);
  b.WriteBits(0x00, 7);
  EXPECT_FALSE(std::ranges::equal(a.Bytes(), b.Bytes()));
  BitWriter c = std::move(b);
  EXPECT_EQ(b.Bytes().size(), 0u);  // a moved-from writer is empty
  BitReader r(c.Bytes());
  for (unsigned i = 0; i < 100; ++i) ASSERT_EQ(r.ReadBits(7), i);
  EXPECT_EQ(r.ReadBits(7), 0u);
  b = c;  // assigning to a moved-from writer works
  EXPECT_TRUE(std::ranges::equal(b.Bytes(), c.Bytes()));
  // Writing after Adopt continues after the adopted bytes.
  const std::vector<uint8_t> bytes = {0xab, 0xcd};
  BitWriter d =
      BitWriter::Adopt(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  d.WriteBits(0xe, 4);
  EXPECT_EQ(std::vector<uint8_t>(d.Bytes().begin(), d.Bytes().end()),
            (std::vector<uint8_t>{0xab, 0xcd, 0xe0}));
}

TEST(BitStream, ReaderStopsAtTheEnd) {
  const std::vector<uint8_t> b = {0xab, 0xcd};
  BitReader r(b);
  EXPECT_EQ(r.ReadBits(12), 0xabcu);
  EXPECT_EQ(r.BitsLeft(), 4u);
  EXPECT_EQ(r.ReadBits(5), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.BitOffset(), 12u);
  EXPECT_EQ(r.ReadBits(1), 0u);  // stays failed
  EXPECT_FALSE(r.ok());
}

TEST(BitStream, EmptyReader) {
  BitReader r(std::span<const uint8_t>{});
  EXPECT_EQ(r.PeekBits(4), 0u);
  EXPECT_EQ(r.ReadBits(1), 0u);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace zw::chunkenc

namespace zw::chunkenc {
namespace {

// --- NextBatch ------------------------------------------------------------------------------

// Reads everything with NextBatch(n), after `first` calls of Next.
Decoded DecodeBatches(std::span<const uint8_t> bytes, size_t n, size_t first = 0) {
  Decoded d;
  XorIterator it(bytes);
  for (size_t i = 0; i < first && it.Next(); ++i) d.samples.push_back(it.At());
  if (d.samples.size() == first) {
    std::vector<Sample> buf(n);
    while (true) {
      const size_t got = it.NextBatch(buf.data(), n);
      d.samples.insert(d.samples.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(got));
      if (got > 0) {
        EXPECT_TRUE(SameSample(it.At(), buf[got - 1]));
      }
      if (got < n) break;
    }
  }
  EXPECT_FALSE(it.Next()) << "the iteration ended";
  EXPECT_EQ(it.NextBatch(nullptr, 0), 0u);
  d.err = it.Err();
  return d;
}

// The decoder as it was before the fast path: one field at a time through the checked
// BitReader, in the order the format lists them. XorIterator must return exactly its samples
// and its error, message and offset included, however it gets there.
Decoded ReferenceDecode(std::span<const uint8_t> bytes) {
  Decoded d;
  size_t total = 0;
  auto fail = [&](const std::string& what, size_t bit) {
    d.err = Status::Corruption("", bit / 8,
                               "xor chunk: " + what + " at bit " + std::to_string(bit) +
                                   ", after " + std::to_string(d.samples.size()) + " of " +
                                   std::to_string(total) + " samples");
  };
  if (bytes.size() < 2) {
    fail("shorter than the 2-byte header", 0);
    return d;
  }
  BitReader r(bytes);
  total = r.ReadBits(16);
  uint64_t t = 0, delta = 0, v = 0;
  unsigned leading = 0, sig = 0;
  auto uvarint = [&r](uint64_t* out) -> const char* {
    uint64_t x = 0;
    for (unsigned shift = 0;; shift += 7) {
      const uint64_t b = r.ReadBits(8);
      if (!r.ok()) return "truncated sample";
      if (shift == 63 && b > 1) return "varint overflows 64 bits";
      x |= (b & 0x7f) << shift;
      if (b < 0x80) {
        *out = x;
        return nullptr;
      }
    }
  };
  auto value = [&]() -> const char* {
    if (r.PeekBits(1) == 0) {
      r.ReadBits(1);
      return nullptr;
    }
    if (r.PeekBits(2) == 0b10) {
      r.ReadBits(2);
      if (sig == 0) return r.ok() ? "value reuses a window before any was set" : "truncated sample";
    } else {
      const uint64_t head = r.ReadBits(13);
      const unsigned l = static_cast<unsigned>(head >> 6) & 31;
      const unsigned s = (head & 63) == 0 ? 64 : static_cast<unsigned>(head & 63);
      if (l + s > 64) return r.ok() ? "value window wider than 64 bits" : "truncated sample";
      leading = l;
      sig = s;
    }
    v ^= r.ReadBitsWide(sig) << (64 - leading - sig);
    return nullptr;
  };
  for (size_t i = 0; i < total; ++i) {
    const char* what = nullptr;
    if (i == 0) {
      uint64_t zz = 0;
      what = uvarint(&zz);
      t = (zz >> 1) ^ (0 - (zz & 1));
      if (what == nullptr) v = r.ReadBitsWide(64);
    } else if (i == 1) {
      what = uvarint(&delta);
      t += delta;
      if (what == nullptr) what = value();
    } else {
      uint64_t dod = 0;
      const uint64_t code = r.PeekBits(4);
      if (code < 0b1000) {
        r.ReadBits(1);
      } else if (code == 0b1111) {
        r.ReadBits(4);
        dod = r.ReadBitsWide(64);
      } else {
        const unsigned ones = code < 0b1100 ? 1 : code < 0b1110 ? 2 : 3;
        const unsigned width = ones == 1 ? 14 : ones == 2 ? 17 : 20;
        const uint64_t raw = r.ReadBits(ones + 1 + width) & ((uint64_t{1} << width) - 1);
        dod = raw > (uint64_t{1} << (width - 1)) ? raw - (uint64_t{1} << width) : raw;
      }
      delta += dod;
      t += delta;
      what = value();
    }
    if (what == nullptr && !r.ok()) what = "truncated sample";
    if (what != nullptr) {
      fail(what, r.BitOffset());
      return d;
    }
    d.samples.push_back({static_cast<int64_t>(t), FromBits(v)});
  }
  const size_t left = r.BitsLeft();
  if (left > 15) {
    fail(std::to_string(left) + " bits after the last sample", r.BitOffset());
  } else if (left > 0 && r.ReadBits(static_cast<unsigned>(left)) != 0) {
    fail("non-zero padding after the last sample", r.BitOffset());
  }
  return d;
}

void ExpectSameDecoding(const Decoded& want, const Decoded& got) {
  ASSERT_NO_FATAL_FAILURE(ExpectSame(want.samples, got.samples));
  EXPECT_EQ(want.err.code(), got.err.code());
  EXPECT_EQ(want.err.message(), got.err.message());
  EXPECT_EQ(want.err.offset(), got.err.offset());
}

// Decodes `bytes` with Next, with NextBatch of a few sizes and after a few Nexts, and
// expects what the reference decoder gives each time.
void ExpectLikeReference(std::span<const uint8_t> bytes) {
  const Decoded want = ReferenceDecode(bytes);
  ASSERT_NO_FATAL_FAILURE(ExpectSameDecoding(want, Decode(bytes)));
  for (auto [n, first] : {std::pair<size_t, size_t>{128, 0}, {5, 3}, {1, 0}, {127, 20}}) {
    SCOPED_TRACE(testing::Message() << "NextBatch " << n << " after " << first);
    ASSERT_NO_FATAL_FAILURE(ExpectSameDecoding(want, DecodeBatches(bytes, n, first)));
  }
}

// A chunk whose last samples take every dod bucket and every value form, after `lead`
// plain ones: as `lead` grows, those samples move from the fast decoder's in-place region
// across into the copied tail, and their bits end at every distance from the chunk's end.
Samples EveryFormAfter(int lead) {
  Samples s = Regular(lead + 2, 1'000'000, 15'000, 100, 0.25);
  int64_t t = s.back().t;
  int64_t delta = 15'000;
  double v = s.back().v;
  const int64_t dods[] = {0,
                          1,
                          -1,
                          8192,
                          -8191,
                          8193,
                          65536,
                          -65535,
                          65537,
                          524288,
                          -524287,
                          524289,
                          int64_t{1} << 40,
                          -(int64_t{1} << 41),
                          0,
                          3};
  const uint64_t flips[] = {0,     0x1,   0x3 << 20,          0x1, 0,    uint64_t{1} << 63,
                            ~0ull, 0xff0, 0x8000000000000001, 0,   0xf0, 0x7ff0000000000000};
  for (size_t i = 0; i < 40; ++i) {
    delta += dods[i % std::size(dods)];
    t += delta;
    v = FromBits(ToBits(v) ^ flips[(i * 5) % std::size(flips)]);
    s.push_back({t, v});
  }
  return s;
}

TEST(XorChunkFastPath, EveryFormAtEveryDistanceFromTheEnd) {
  for (int lead = 0; lead < 70; ++lead) {
    SCOPED_TRACE(lead);
    const Samples s = EveryFormAfter(lead);
    ASSERT_NO_FATAL_FAILURE(ExpectRoundTrip(s));
    const std::string b = ToString(Encode(s).Bytes());
    ASSERT_NO_FATAL_FAILURE(ExpectLikeReference(AsBytes(b)));
  }
}

TEST(XorChunkFastPath, EveryTruncationMatchesTheReference) {
  for (const std::string& b :
       {MixedReference().bytes, ToString(Encode(EveryFormAfter(30)).Bytes()),
        ToString(Encode(Regular(120, 1'700'000'000'000, 15'000, 5, 0)).Bytes())}) {
    for (size_t len = 0; len <= b.size(); ++len) {
      SCOPED_TRACE(len);
      const std::string cut = b.substr(0, len);
      ASSERT_NO_FATAL_FAILURE(ExpectLikeReference(AsBytes(cut)));
    }
  }
}

TEST(XorChunkFastPath, EveryBitFlipMatchesTheReference) {
  for (const std::string& good :
       {MixedReference().bytes, ToString(Encode(EveryFormAfter(11)).Bytes())}) {
    for (size_t bit = 0; bit < good.size() * 8; ++bit) {
      SCOPED_TRACE(bit);
      std::string bad = good;
      bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (0x80 >> (bit % 8)));
      ASSERT_NO_FATAL_FAILURE(ExpectLikeReference(AsBytes(bad)));
    }
  }
}

TEST(XorChunkFastPath, DamagedWindowsInsideTheFastRegion) {
  // Twelve constant samples, then a 13th whose value is damaged: '10' before any window was
  // set, or a '11' window of leading 31 + 64 bits; with plenty of bytes after it, so that
  // the fast decoder meets the damage and must leave it to the checked one.
  const Samples s = Regular(30, 0, 1000, 7, 0);
  const std::string good = ToString(Encode(s).Bytes());
  // Header 2, varint of 0 1, value 8, uvarint 1000 2 bytes: the second value's bit is bit
  // 8 * 13 = 104; samples 3.. are '0' '0' from bit 105 on.
  for (const uint64_t field : {uint64_t{0b10}, uint64_t{0b11'11111'000000}}) {
    const unsigned len = field == 0b10 ? 2 : 13;
    BitWriter w = BitWriter::Adopt({good.data(), 13});
    w.WriteBits(0, 1);                               // the second value: the same
    for (int i = 0; i < 10; ++i) w.WriteBits(0, 2);  // ten more: '0' '0'
    w.WriteBits(0, 1);                               // dod '0'
    w.WriteBits(field, len);                         // the damaged value
    for (int i = 0; i < 40; ++i) w.WriteBits(0, 8);
    std::string bad = ToString(w.Bytes());
    SCOPED_TRACE(bad.size());
    const Decoded d = Decode(AsBytes(bad));
    EXPECT_EQ(d.samples.size(), 12u);
    EXPECT_NE(d.err.message().find("window"), std::string::npos) << d.err.message();
    ASSERT_NO_FATAL_FAILURE(ExpectLikeReference(AsBytes(bad)));
  }
}

TEST(XorChunkFastPath, RandomSeriesAndTheirDamageMatchTheReference) {
  std::mt19937_64 rng(99);
  for (int iter = 0; iter < 400; ++iter) {
    SCOPED_TRACE(iter);
    const Samples ref = RandomSeries(rng, static_cast<int>(rng() % 200), iter);
    std::string b = ToString(Encode(ref).Bytes());
    ASSERT_NO_FATAL_FAILURE(ExpectLikeReference(AsBytes(b)));
    if (b.size() > 2) {
      // A cut and a few random flipped bits.
      std::string cut = b.substr(0, 2 + rng() % (b.size() - 2));
      ASSERT_NO_FATAL_FAILURE(ExpectLikeReference(AsBytes(cut)));
      for (int k = 0; k < 3; ++k) {
        const size_t bit = 16 + rng() % (b.size() * 8 - 16);
        b[bit / 8] = static_cast<char>(b[bit / 8] ^ (0x80 >> (bit % 8)));
      }
      ASSERT_NO_FATAL_FAILURE(ExpectLikeReference(AsBytes(b)));
    }
  }
}

TEST(XorChunkBatch, AgreesWithNextForEveryBatchSize) {
  const Reference r = MixedReference();
  for (size_t n : {1, 2, 3, 7, 8, 9, 16, 17, 59, 60, 61, 128}) {
    for (size_t first : {0, 1, 2, 5, 16, 17}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " first=" << first);
      Decoded d = DecodeBatches(AsBytes(r.bytes), n, first);
      ASSERT_TRUE(d.err.ok()) << d.err.ToString();
      ExpectSame(r.samples, d.samples);
    }
  }
}
}  // namespace
}  // namespace zw::chunkenc
