#include "zenwatch/histogram.h"

#include <chrono>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "zenwatch/scoped_timer.h"
#include "zenwatch/types.h"

namespace zenwatch {
namespace {

using ::testing::ElementsAre;

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(BucketsTest, Linear) { EXPECT_THAT(LinearBuckets(1, 2, 4), ElementsAre(1, 3, 5, 7)); }

TEST(BucketsTest, Exponential) {
  EXPECT_THAT(ExponentialBuckets(1, 2, 4), ElementsAre(1, 2, 4, 8));
}

TEST(BucketsTest, DefaultsArePrometheuss) {
  EXPECT_THAT(DefaultBuckets(),
              ElementsAre(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10));
}

TEST(BucketsTest, BadArgumentsThrow) {
  EXPECT_THROW(LinearBuckets(0, 1, 0), std::invalid_argument);
  EXPECT_THROW(LinearBuckets(0, 0, 3), std::invalid_argument);
  EXPECT_THROW(ExponentialBuckets(0, 2, 3), std::invalid_argument);
  EXPECT_THROW(ExponentialBuckets(1, 1, 3), std::invalid_argument);
  EXPECT_THROW(ExponentialBuckets(1, 2, 0), std::invalid_argument);
}

TEST(HistogramTest, BoundsMustIncrease) {
  EXPECT_THROW(Histogram({1, 3, 2}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  EXPECT_THROW(Histogram(LinearBuckets(0, 1, 5000)), std::invalid_argument);
}

TEST(HistogramTest, TrailingInfinityIsImplied) {
  Histogram h({1, 2, kInf});
  EXPECT_THAT(h.UpperBounds(), ElementsAre(1, 2));
}

TEST(HistogramTest, AValueOnABoundCountsInThatBucket) {
  Histogram h({1, 2, 5});
  h.Observe(1);
  h.Observe(2);
  h.Observe(5);
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_THAT(s.cumulative_counts, ElementsAre(1, 2, 3, 3));
}

TEST(HistogramTest, PlacementAndCumulativeCounts) {
  Histogram h({1, 2, 5});
  for (double v : {-kInf, -3.0, 0.5, 1.0000001, 1.5, 4.9, 5.0000001, 100.0, kInf}) h.Observe(v);
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_THAT(s.upper_bounds, ElementsAre(1, 2, 5));
  EXPECT_THAT(s.cumulative_counts, ElementsAre(3, 5, 6, 9));
  EXPECT_EQ(s.count, 9u);
}

TEST(HistogramTest, SumAndCount) {
  Histogram h({1});
  h.Observe(0.25);
  h.Observe(3);
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.sum, 3.25);
  EXPECT_EQ(s.count, 2u);
}

TEST(HistogramTest, NaNIsIgnoredAndCounted) {
  Histogram h({1});
  const std::uint64_t before = RejectedUpdates();
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.Snapshot().count, 0u);
  EXPECT_EQ(h.Snapshot().sum, 0);
  EXPECT_EQ(RejectedUpdates() - before, 1u);
}

TEST(HistogramTest, NoBoundsMeansOnlyTheInfBucket) {
  Histogram h(std::vector<double>{});
  h.Observe(42);
  EXPECT_THAT(h.Snapshot().cumulative_counts, ElementsAre(1));
}

TEST(HistogramTest, ManyBoundsUseTheSameRule) {
  Histogram h(LinearBuckets(1, 1, 100));  // 1..100
  h.Observe(37);
  h.Observe(37.5);
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.cumulative_counts[35], 0u);  // le=36
  EXPECT_EQ(s.cumulative_counts[36], 1u);  // le=37
  EXPECT_EQ(s.cumulative_counts[37], 2u);  // le=38
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram h({1, 2});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 100'000; ++i) h.Observe(t);  // 0, 1, 2, 3
    });
  }
  for (auto& t : threads) t.join();
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_THAT(s.cumulative_counts, ElementsAre(200'000, 300'000, 400'000));
  EXPECT_EQ(s.sum, 600'000);
}

TEST(ScopedTimerTest, RecordsOneObservationOfTheElapsedSeconds) {
  Histogram h(DefaultBuckets());
  {
    ScopedTimer timer(h);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.count, 1u);
  EXPECT_GE(s.sum, 0.002);
  EXPECT_LT(s.sum, 5.0);
}

}  // namespace
}  // namespace zenwatch
