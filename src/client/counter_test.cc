#include "zenwatch/counter.h"

#include <cmath>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace zenwatch {
namespace {

TEST(CounterTest, StartsAtZero) {
  Counter c;
  EXPECT_EQ(c.Value(), 0);
}

TEST(CounterTest, AddsWholeAndFractionalAmounts) {
  Counter c;
  c.Inc();
  c.Inc(2);
  c.Inc(0.5);
  c.Inc(0);
  EXPECT_EQ(c.Value(), 3.5);
}

TEST(CounterTest, NegativeAndNaNAreIgnoredAndCounted) {
  Counter c;
  c.Inc(4);
  const std::uint64_t before = RejectedUpdates();
  c.Inc(-1);
  c.Inc(-0.5);
  c.Inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(c.Value(), 4);
  EXPECT_EQ(RejectedUpdates() - before, 3u);
}

TEST(CounterTest, InfinityIsAccepted) {
  Counter c;
  c.Inc(std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isinf(c.Value()));
}

TEST(CounterTest, HugeWholeAmountsStayApproximatelyRight) {
  Counter c;
  c.Inc(1e300);
  c.Inc(0x1p60);
  EXPECT_EQ(c.Value(), 1e300);
}

TEST(CounterTest, FourThreadsOfAMillionIncrementsSumExactly) {
  Counter c;
  constexpr int kThreads = 4;
  constexpr int kIncrements = 1'000'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < kIncrements; ++i) c.Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), double{kThreads} * kIncrements);
}

TEST(CounterTest, ConcurrentFractionalIncrementsSumExactly) {
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 100'000; ++i) c.Inc(0.25);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 75'000);
}

TEST(CounterTest, ReadsWhileWritingNeverGoDown) {
  Counter c;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 200'000; ++i) c.Inc();
    done = true;
  });
  double last = 0;
  while (!done) {
    const double v = c.Value();
    ASSERT_GE(v, last);
    last = v;
  }
  writer.join();
  EXPECT_EQ(c.Value(), 200'000);
}

TEST(CounterTest, IncrementsOfExitedThreadsAreKept) {
  Counter c;
  for (int round = 0; round < 20; ++round) {
    std::thread([&c] { c.Inc(10); }).join();
  }
  EXPECT_EQ(c.Value(), 200);
}

TEST(CounterTest, ANewCounterInReusedCellsStartsAtZero) {
  for (int round = 0; round < 50; ++round) {
    auto c = std::make_unique<Counter>();
    ASSERT_EQ(c->Value(), 0) << "round " << round;
    std::thread([&c] { c->Inc(7); }).join();
    c->Inc(1);
    ASSERT_EQ(c->Value(), 8);
  }
}

TEST(CounterTest, ManyCountersDoNotShareCells) {
  std::vector<std::unique_ptr<Counter>> counters;
  for (int i = 0; i < 10'000; ++i) counters.push_back(std::make_unique<Counter>());
  for (int i = 0; i < 10'000; ++i) counters[static_cast<std::size_t>(i)]->Inc(i);
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(counters[static_cast<std::size_t>(i)]->Value(), i);
}

}  // namespace
}  // namespace zenwatch
