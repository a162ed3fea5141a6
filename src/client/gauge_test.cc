#include "zenwatch/gauge.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace zenwatch {
namespace {

TEST(GaugeTest, SetIncDec) {
  Gauge g;
  EXPECT_EQ(g.Value(), 0);
  g.Set(10);
  g.Inc();
  g.Inc(2.5);
  g.Dec();
  g.Dec(20);
  EXPECT_EQ(g.Value(), -7.5);
}

TEST(GaugeTest, AcceptsNaN) {
  Gauge g;
  g.Set(std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(std::isnan(g.Value()));
}

TEST(GaugeTest, SetToCurrentTimeIsUnixSeconds) {
  Gauge g;
  g.SetToCurrentTime();
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(g.Value(), now, 5.0);
}

TEST(GaugeTest, ConcurrentIncAndDecBalance) {
  Gauge g;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&g, t] {
      for (int i = 0; i < 100'000; ++i) {
        if (t % 2 == 0) {
          g.Inc(3);
        } else {
          g.Dec();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(g.Value(), 2 * 100'000 * 3 - 2 * 100'000);
}

}  // namespace
}  // namespace zenwatch
