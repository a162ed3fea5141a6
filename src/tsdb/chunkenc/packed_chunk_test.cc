#include "tsdb/chunkenc/packed_chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace zw::chunkenc {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<Sample> Decode(const std::string& chunk) {
  std::vector<Sample> out;
  Status s = DecodePacked(Bytes(chunk), &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Bit-for-bit equality, so NaN payloads and -0.0 count.
void ExpectSame(const std::vector<Sample>& want, const std::vector<Sample>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want[i].t, got[i].t) << "sample " << i;
    ASSERT_EQ(std::bit_cast<uint64_t>(want[i].v), std::bit_cast<uint64_t>(got[i].v))
        << "sample " << i << ": " << want[i].v << " vs " << got[i].v;
  }
}

void ExpectRoundTrip(const std::vector<Sample>& samples) {
  for (int level : {0, 9}) {
    std::string c = EncodePacked(samples, {.zstd_level = level});
    ExpectSame(samples, Decode(c));
    EXPECT_EQ(PackedNumSamples(Bytes(c)), samples.size());
    PackedIterator it(Bytes(c));
    size_t n = 0;
    while (it.Next()) {
      ASSERT_EQ(it.At().t, samples[n].t);
      ++n;
    }
    EXPECT_EQ(n, samples.size());
    EXPECT_TRUE(it.Err().ok());
  }
}

std::vector<Sample> Regular(size_t n, double (*value)(size_t)) {
  std::vector<Sample> out;
  for (size_t i = 0; i < n; ++i) out.push_back({1'700'000'000'000 + int64_t(i) * 15000, value(i)});
  return out;
}

TEST(PackedChunk, GoldenBytesOfTheFormatDocExample) {
  std::vector<Sample> s = {{1000, 1.5}, {16000, 2.5}, {31000, 3.25}, {46000, 3.0}};
  std::string c = EncodePacked(s);
  const std::string want(
      "\x00\x04"
      "\x02\xd0\x0f\xb0\xea\x01\x00"
      "\x00\x02"
      "\x02\xac\x02\xc8\x01\x19\x01\x01\x7a",
      20);
  EXPECT_EQ(c, want);
  ExpectSame(s, Decode(c));
}

TEST(PackedChunk, RoundTripsEveryLengthOfEveryKindOfSeries) {
  std::mt19937_64 rng(7);
  for (size_t n = 1; n <= 40; ++n) {
    std::vector<Sample> counter, decimal, floats, mixed;
    double c = 0, d = 20, f = 1;
    for (size_t i = 0; i < n; ++i) {
      int64_t t = 1'000'000 + int64_t(i) * 15000 + int64_t(rng() % 3);
      c += double(rng() % 50);
      d = std::round((d + double(int64_t(rng() % 2001) - 1000) / 1000) * 1000) / 1000;
      f += std::ldexp(double(rng() % 1000), -12);
      counter.push_back({t, c});
      decimal.push_back({t, d});
      floats.push_back({t, std::sqrt(f)});
      mixed.push_back({t, i % 3 == 0 ? std::numeric_limits<double>::quiet_NaN() : d});
    }
    for (const auto& s : {counter, decimal, floats, mixed}) ExpectRoundTrip(s);
  }
}

TEST(PackedChunk, RoundTripsAdversarialValues) {
  const double values[] = {0.0,
                           -0.0,
                           1.0,
                           -1.0,
                           0.1,
                           0.3,
                           1e-300,
                           5e-324,  // smallest denormal
                           2.2250738585072014e-308,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN(),
                           std::bit_cast<double>(kStaleNaNBits),
                           std::bit_cast<double>(uint64_t{0xfff8000000000001}),
                           9007199254740993.0,  // 2^53 + 1 is not a double: 2^53
                           9.2e18,
                           -9.3e18,
                           123456789.123456789,
                           1e22,
                           1e23};
  std::vector<Sample> all;
  for (double v : values) {
    // Each value alone, then next to a plain decimal (one value spoils the decimal form).
    ExpectRoundTrip({{0, v}});
    ExpectRoundTrip({{0, 2.5}, {1, v}, {2, 3.5}});
    all.push_back({int64_t(all.size()), v});
  }
  ExpectRoundTrip(all);
}

TEST(PackedChunk, RoundTripsAnyTimestamps) {
  const int64_t min = std::numeric_limits<int64_t>::min();
  const int64_t max = std::numeric_limits<int64_t>::max();
  ExpectRoundTrip({{min, 1}, {max, 2}});
  ExpectRoundTrip({{max, 1}, {min, 2}, {max, 3}, {0, 4}});
  ExpectRoundTrip({{5, 1}, {5, 2}, {4, 3}, {-100, 4}});
  std::mt19937_64 rng(3);
  std::vector<Sample> s;
  for (int i = 0; i < 1000; ++i) s.push_back({int64_t(rng()), std::bit_cast<double>(rng())});
  ExpectRoundTrip(s);
}

TEST(PackedChunk, RoundTripsRandomBitPatternsAndLongChunks) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 20; ++round) {
    size_t n = 1 + rng() % 5000;
    std::vector<Sample> s;
    int64_t t = int64_t(rng());
    for (size_t i = 0; i < n; ++i) {
      t += int64_t(rng() % 4 == 0 ? rng() : rng() % 100);
      uint64_t bits = rng();
      if (round % 2) bits &= 0xfff0000000000000 | (rng() % 8);  // few mantissa bits
      s.push_back({t, std::bit_cast<double>(bits)});
    }
    ExpectRoundTrip(s);
  }
  std::vector<Sample> most;
  for (size_t i = 0; i < kPackedMaxSamples; ++i) most.push_back({int64_t(i), double(i % 7)});
  ExpectRoundTrip(most);
}

// Regular scrapes and a constant value take a few bytes whatever the length: all-zero
// residuals are not stored.
TEST(PackedChunk, RegularTimestampsAndConstantValuesCostNothingPerSample) {
  std::string c = EncodePacked(Regular(4000, [](size_t) { return 42.0; }), {.zstd_level = 0});
  EXPECT_LE(c.size(), 24u);  // header, t0, the 15 s step and the value: 19 bytes
  ExpectSame(Regular(4000, [](size_t) { return 42.0; }), Decode(c));
}

// Decimal mantissas with a common factor are stored divided by it: memory in 4 KiB pages
// costs the bits of the page count, counters of whole numbers one byte per small increment.
TEST(PackedChunk, DecimalsAndCommonFactorsAreSmall) {
  auto pages = Regular(1000, [](size_t i) { return double((1000 + (i * 7919) % 13) * 4096); });
  EXPECT_LE(EncodePacked(pages, {.zstd_level = 0}).size(), 1000u + 32);
  auto milli = Regular(1000, [](size_t i) { return double(20000 + (i * 31) % 100) / 1000; });
  EXPECT_LE(EncodePacked(milli, {.zstd_level = 0}).size(), 2000u + 32);
  ExpectRoundTrip(pages);
  ExpectRoundTrip(milli);
}

// Values that are not exact decimals fall back to bit patterns, still exact.
TEST(PackedChunk, NonDecimalValuesFallBackToBitPatterns) {
  auto loads = Regular(500, [](size_t i) { return std::sin(double(i) / 50) + 2; });
  ExpectRoundTrip(loads);
  auto one_nan = Regular(
      500, [](size_t i) { return i == 250 ? std::bit_cast<double>(kStaleNaNBits) : double(i); });
  ExpectRoundTrip(one_nan);
  auto neg_zero = Regular(50, [](size_t i) { return i == 3 ? -0.0 : 0.0; });
  ExpectRoundTrip(neg_zero);
}

TEST(PackedIterator, SeekMovesForwardOnly) {
  auto s = Regular(100, [](size_t i) { return double(i); });
  std::string c = EncodePacked(s);
  PackedIterator it(Bytes(c));
  ASSERT_TRUE(it.Seek(s[10].t - 1));
  EXPECT_EQ(it.At().t, s[10].t);
  ASSERT_TRUE(it.Seek(s[5].t));  // already past it: stays
  EXPECT_EQ(it.At().t, s[10].t);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At().t, s[11].t);
  EXPECT_FALSE(it.Seek(s[99].t + 1));
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.Err().ok());
  it.Reset(Bytes(c));
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At().t, s[0].t);
}

Status DecodeStatus(const std::string& c) {
  std::vector<Sample> out;
  Status s = DecodePacked(Bytes(c), &out);
  if (!s.ok()) {
    EXPECT_TRUE(out.empty());
  }
  return s;
}

void ExpectCorrupt(const std::string& c, std::string_view what) {
  Status s = DecodeStatus(c);
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << what;
  EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  PackedIterator it(Bytes(c));
  EXPECT_FALSE(it.Next());
  EXPECT_EQ(it.Err().code(), StatusCode::kCorruption);
}

TEST(PackedChunkDamage, EachMalformedHeaderIsNamed) {
  const std::vector<Sample> example = {{1000, 1.5}, {16000, 2.5}, {31000, 3.25}, {46000, 3.0}};
  const std::string golden = EncodePacked(example);
  ExpectCorrupt("", "empty chunk");
  ExpectCorrupt(std::string("\x02", 1) + golden.substr(1), "unknown flags");
  ExpectCorrupt(std::string("\x00\x00", 2) + golden.substr(2), "bad sample count 0");
  ExpectCorrupt(std::string("\x00\x80\x80\x04", 4) + golden.substr(2), "bad sample count 65536");
  ExpectCorrupt(std::string("\x00\x04\x03", 3) + golden.substr(3), "unknown column order");
  std::string kind = golden;
  kind[9] = 2;
  ExpectCorrupt(kind, "unknown value kind 2");
  std::string exp = golden;
  exp[10] = 23;
  ExpectCorrupt(exp, "decimal exponent 23");
  ExpectCorrupt(golden + std::string("\x00", 1), "1 bytes after the last column");
  ExpectCorrupt(std::string("\x01garbage", 8), "bad zstd frame header");
}

TEST(PackedChunkDamage, EveryTruncationIsCorruption) {
  for (int level : {0, 9}) {
    auto s = Regular(300, [](size_t i) { return double(i * i % 1000) / 10; });
    std::string c = EncodePacked(s, {.zstd_level = level});
    for (size_t n = 0; n < c.size(); ++n) {
      EXPECT_EQ(DecodeStatus(c.substr(0, n)).code(), StatusCode::kCorruption) << n;
    }
  }
}

TEST(PackedChunkDamage, ZstdFramesThatDoNotDecompressAreCorruption) {
  // A repeating pattern: its residual codes repeat, which zstd finds.
  auto s = Regular(3000, [](size_t i) { return double(i * i % 16) / 2; });
  std::string c = EncodePacked(s);
  ExpectSame(s, Decode(c));
  ASSERT_EQ(c[0], '\x01');
  std::string bad = c;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x55);
  Status st = DecodeStatus(bad);
  ExpectCorrupt(c.substr(0, c.size() - 1), "zstd frame does not decompress");
  // A flipped byte inside the compressed data either breaks the frame or changes the payload;
  // either way no crash, and a changed payload still decodes only if it is well formed.
  if (!st.ok()) {
    EXPECT_EQ(st.code(), StatusCode::kCorruption);
  }
}

// Flipping any bit of any byte never crashes or reads outside the input (ASan builds check
// the latter); the result is either an error or a chunk of the claimed length.
TEST(PackedChunkDamage, FlippedBitsNeverCrash) {
  for (int level : {0, 9}) {
    auto s = Regular(64, [](size_t i) { return double((i * 37) % 11) + 0.25; });
    std::string c = EncodePacked(s, {.zstd_level = level});
    for (size_t i = 0; i < c.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string d = c;
        d[i] = static_cast<char>(d[i] ^ (1 << bit));
        std::vector<Sample> out;
        Status st = DecodePacked(Bytes(d), &out);
        if (st.ok()) {
          EXPECT_EQ(out.size(), PackedNumSamples(Bytes(d)));
        } else {
          EXPECT_EQ(st.code(), StatusCode::kCorruption);
          EXPECT_TRUE(out.empty());
        }
      }
    }
  }
}

// The BMI2 build of the decoder gives what the portable one gives, sample for sample and
// error for error: over every column order and sign mode, escapes, long codes, and damage.
TEST(PackedChunkDecoders, Bmi2AndPortableAgree) {
  if (!packed_internal::Bmi2Available()) GTEST_SKIP() << "no BMI2 on this CPU";
  std::mt19937_64 rng(5);
  auto agree = [](const std::string& c) {
    std::vector<Sample> a, b;
    Status sa = packed_internal::DecodeWith(Bytes(c), false, &a);
    Status sb = packed_internal::DecodeWith(Bytes(c), true, &b);
    ASSERT_EQ(sa.ToString(), sb.ToString());
    ExpectSame(a, b);
  };
  for (int round = 0; round < 60; ++round) {
    const size_t n = 1 + rng() % (round < 30 ? 70 : 3000);
    std::vector<Sample> s;
    int64_t t = 1'700'000'000'000;
    double v = 100;
    for (size_t i = 0; i < n; ++i) {
      switch (round % 5) {
        case 0:  // a counter: order 1 or 2, unsigned-friendly
          t += 15000;
          v += double(rng() % 50);
          break;
        case 1:  // a gauge in thousandths: signed residuals
          t += 15000 + int64_t(rng() % 3) - 1;
          v = std::round((v + double(int64_t(rng() % 2001) - 1000) / 100) * 1000) / 1000;
          break;
        case 2:  // rare huge jumps: escaped codes
          t += rng() % 16 == 0 ? int64_t(rng() >> 20) : 1000;
          v = rng() % 16 == 0 ? std::bit_cast<double>(rng()) : v;
          break;
        case 3:  // full-precision floats: long codes
          t += int64_t(rng() % 100000);
          v = std::bit_cast<double>(rng() & 0x3fffffffffffffff);
          break;
        default:  // all equal: every residual zero
          t += 15000;
          break;
      }
      s.push_back({t, v});
    }
    for (int level : {0, 9}) {
      std::string c = EncodePacked(s, {.zstd_level = level});
      agree(c);
      if (level != 0) continue;
      for (int k = 0; k < 40; ++k) {
        std::string d = c;
        const size_t at = rng() % d.size();
        d[at] = static_cast<char>(d[at] ^ (1 << (rng() % 8)));
        agree(d);
        agree(c.substr(0, rng() % c.size()));
      }
    }
  }
}

}  // namespace
}  // namespace zw::chunkenc
