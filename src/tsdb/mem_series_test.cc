// The head's chunk iterator as a batch reader sees it: decoded spans (Buffered) that agree
// with Next and Seek, across chunk ends, clamped to the snapshot's range, and none while
// out-of-order samples are merged in.
#include "tsdb/mem_series.h"

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "storage/iterator_test_util.h"

namespace zw::tsdb {
namespace {

constexpr int64_t kChunkRange = 2 * 3600 * 1000;

// A series of n samples every 15 s from t0, cut into chunks of 120. (No NaN values: the
// shared reader compares samples with ==.)
struct Built {
  std::unique_ptr<MemSeries> series;
  std::vector<Sample> samples;
};
Built Build(int n, int64_t t0 = 1000) {
  Built b{std::make_unique<MemSeries>(1, Labels{{"__name__", "m"}}), {}};
  std::lock_guard lock(b.series->mu);
  for (int i = 0; i < n; ++i) {
    double v = std::sin(i) * 1000;
    b.series->Append(t0 + i * 15000, v, kChunkRange, 120);
    b.samples.push_back({t0 + i * 15000, v});
  }
  return b;
}

std::vector<ClosedChunk> Chunks(MemSeries& s) {
  std::lock_guard lock(s.mu);
  return s.Snapshot(kMinTime, kMaxTime);
}

void ExpectSameSamples(const std::vector<Sample>& got, const std::vector<Sample>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].t, want[i].t) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(got[i].v), std::bit_cast<uint64_t>(want[i].v)) << i;
  }
}

TEST(HeadChunksIteratorTest, SpansAgreeWithNextAndSeek) {
  Built b = Build(500);  // 5 chunks, the last one open
  std::vector<ClosedChunk> chunks = Chunks(*b.series);
  ASSERT_EQ(chunks.size(), 5u);
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    ChunksIterator it(chunks, kMinTime, kMaxTime);
    size_t from_spans = 0;
    std::vector<Sample> got = storage::testing::ReadBuffered(it, rng, &from_spans);
    ExpectSameSamples(got, b.samples);
    EXPECT_GT(from_spans, b.samples.size() / 2);
  }
}

TEST(HeadChunksIteratorTest, ASpanRunsAcrossAChunkEnd) {
  Built b = Build(ChunksIterator::kBuffer + 172);
  ChunksIterator it(Chunks(*b.series), kMinTime, kMaxTime);
  ASSERT_TRUE(it.Next());
  std::span<const Sample> span = it.Buffered();
  // The first chunk holds 120 samples; the buffer goes on into the second.
  ASSERT_EQ(span.size(), ChunksIterator::kBuffer);
  ExpectSameSamples({span.begin(), span.end()},
                    {b.samples.begin(), b.samples.begin() + ChunksIterator::kBuffer});
  // Past the span's end, the next one starts where it stopped.
  ASSERT_TRUE(it.Seek(span.back().t + 1));
  EXPECT_EQ(it.At(), b.samples[ChunksIterator::kBuffer]);
  EXPECT_EQ(it.Buffered().front(), b.samples[ChunksIterator::kBuffer]);
}

TEST(HeadChunksIteratorTest, BufferedAfterSeek) {
  Built b = Build(300);
  ChunksIterator it(Chunks(*b.series), kMinTime, kMaxTime);
  // A first Seek into the second chunk: the span starts at the sample sought.
  ASSERT_TRUE(it.Seek(b.samples[130].t - 1));
  EXPECT_EQ(it.At(), b.samples[130]);
  std::span<const Sample> span = it.Buffered();
  ASSERT_FALSE(span.empty());
  EXPECT_EQ(span.front(), b.samples[130]);
  ExpectSameSamples({span.begin(), span.end()},
                    {b.samples.begin() + 130, b.samples.begin() + 130 + span.size()});
  // Within the span: it shrinks from the front.
  ASSERT_TRUE(it.Seek(b.samples[140].t));
  EXPECT_EQ(it.Buffered().front(), b.samples[140]);
  EXPECT_EQ(it.Buffered().size(), span.size() - 10);
  // Not backwards.
  ASSERT_TRUE(it.Seek(b.samples[2].t));
  EXPECT_EQ(it.At(), b.samples[140]);
  // Past the last sample.
  EXPECT_FALSE(it.Seek(b.samples.back().t + 1));
  EXPECT_TRUE(it.Buffered().empty());
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.Err().ok());
}

TEST(HeadChunksIteratorTest, SpansStayWithinTheRange) {
  Built b = Build(300);
  const int64_t mint = b.samples[10].t + 1, maxt = b.samples[200].t;
  ChunksIterator it(Chunks(*b.series), mint, maxt);
  std::vector<Sample> got;
  for (bool live = it.Next(); live;) {
    std::span<const Sample> span = it.Buffered();
    ASSERT_FALSE(span.empty());
    got.insert(got.end(), span.begin(), span.end());
    live = it.Seek(span.back().t + 1);
  }
  ExpectSameSamples(got, {b.samples.begin() + 11, b.samples.begin() + 201});
}

TEST(HeadChunksIteratorTest, NoSpansWithOutOfOrderSamplesMergedIn) {
  Built b = Build(200, 100000);
  std::vector<Sample> ooo = {{500, 1}, {b.samples[3].t + 7, 2}};
  ChunksIterator it(Chunks(*b.series), kMinTime, kMaxTime, ooo);
  std::vector<Sample> got;
  while (it.Next()) {
    EXPECT_TRUE(it.Buffered().empty());
    got.push_back(it.At());
  }
  std::vector<Sample> want = b.samples;
  want.insert(want.begin(), ooo[0]);
  want.insert(want.begin() + 5, ooo[1]);
  ExpectSameSamples(got, want);
}

// The chunks of a 300-sample series with the second one cut short by `drop` bytes.
std::vector<ClosedChunk> WithDamagedSecondChunk(MemSeries& s, size_t drop) {
  std::vector<ClosedChunk> chunks = Chunks(s);
  std::span<const uint8_t> b = chunks[1].data();
  chunks[1] = ClosedChunk::Copy(b.first(b.size() - drop), chunks[1].min_t, chunks[1].max_t);
  return chunks;
}

// How many samples of `bytes` decode before the damage.
size_t Whole(std::span<const uint8_t> bytes) {
  chunkenc::XorIterator it(bytes);
  size_t n = 0;
  while (it.Next()) ++n;
  return n;
}

TEST(HeadChunksIteratorTest, ADamagedChunkEndsTheIterationAfterItsGoodSamples) {
  Built b = Build(300);
  for (size_t drop : {1, 5, 20, 60}) {
    SCOPED_TRACE(drop);
    std::vector<ClosedChunk> chunks = WithDamagedSecondChunk(*b.series, drop);
    const size_t good = 120 + Whole(chunks[1].data());
    ASSERT_LT(good, 240u);
    // Next one at a time, spans, and Seeks all stop at the same place with the error.
    std::mt19937 rng(static_cast<unsigned>(drop));
    for (int round = 0; round < 3; ++round) {
      ChunksIterator it(chunks, kMinTime, kMaxTime);
      std::vector<Sample> got;
      if (round == 0) {
        while (it.Next()) got.push_back(it.At());
      } else if (round == 1) {
        for (bool live = it.Next(); live;) {
          std::span<const Sample> span = it.Buffered();
          got.insert(got.end(), span.begin(), span.end());
          live = it.Seek(span.back().t + 1);
        }
      } else {
        // Seeks to the next millisecond, and now and then a Next.
        for (bool live = it.Next(); live;) {
          got.push_back(it.At());
          live = rng() % 3 == 0 ? it.Next() : it.Seek(it.At().t + 1);
        }
      }
      ExpectSameSamples(got, {b.samples.begin(), b.samples.begin() + static_cast<long>(good)});
      EXPECT_EQ(it.Err().code(), StatusCode::kCorruption) << it.Err().ToString();
      EXPECT_FALSE(it.Next());
    }
  }
}

TEST(HeadChunksIteratorTest, DamageAfterMaxtIsNeverReached) {
  Built b = Build(300);
  std::vector<ClosedChunk> chunks = WithDamagedSecondChunk(*b.series, 20);
  const size_t good = 120 + Whole(chunks[1].data());
  // The range ends inside the damaged chunk, before its damage: no error.
  const int64_t maxt = b.samples[good - 3].t;
  ChunksIterator it(chunks, kMinTime, maxt);
  std::vector<Sample> got;
  while (it.Next()) got.push_back(it.At());
  ExpectSameSamples(got, {b.samples.begin(), b.samples.begin() + static_cast<long>(good - 2)});
  EXPECT_TRUE(it.Err().ok()) << it.Err().ToString();
}

TEST(HeadChunksIteratorTest, BuffersFillAcrossChunkEndsAtEveryStart) {
  // Ranges starting and ending at every offset around the chunk ends: each span holds
  // kBuffer samples unless the range ends first, and together they are the range.
  constexpr size_t kBuf = ChunksIterator::kBuffer;
  constexpr size_t kLast = 2 * kBuf + 143;
  Built b = Build(kLast + 1);
  std::vector<ClosedChunk> chunks = Chunks(*b.series);
  for (size_t from : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{119},
                      size_t{120}, size_t{121}, size_t{200}, size_t{239}, size_t{240}, size_t{250},
                      kBuf - 1, kBuf, kBuf + 1, kLast}) {
    for (size_t to : {from, from + 1, from + kBuf - 1, from + kBuf, from + kBuf + 1, kLast}) {
      if (to >= b.samples.size() || to < from) continue;
      SCOPED_TRACE(testing::Message() << from << ".." << to);
      ChunksIterator it(chunks, b.samples[from].t, b.samples[to].t);
      std::vector<Sample> got;
      for (bool live = it.Next(); live;) {
        std::span<const Sample> span = it.Buffered();
        ASSERT_FALSE(span.empty());
        if (got.size() + span.size() < to + 1 - from) {
          EXPECT_EQ(span.size(), ChunksIterator::kBuffer);
        }
        got.insert(got.end(), span.begin(), span.end());
        live = it.Seek(span.back().t + 1);
      }
      ExpectSameSamples(got, {b.samples.begin() + static_cast<long>(from),
                              b.samples.begin() + static_cast<long>(to) + 1});
      EXPECT_TRUE(it.Err().ok());
    }
  }
}

}  // namespace
}  // namespace zw::tsdb
