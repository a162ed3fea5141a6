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
  Built b = Build(300);
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

}  // namespace
}  // namespace zw::tsdb
