#include "promql/extrapolation.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace zw::promql {
namespace {

bool Direct(double first, double increase, double sampled, double to_start) {
  return sampled * (first / increase) < to_start;
}

void Check(double first, double increase, double sampled, double to_start) {
  EXPECT_EQ(ReachesZeroBeforeStart(first, increase, sampled, to_start),
            Direct(first, increase, sampled, to_start))
      << "first " << first << " increase " << increase << " sampled " << sampled << " to_start "
      << to_start;
}

TEST(Extrapolation, ZeroPointTestMatchesTheDivision) {
  std::mt19937_64 rng(17);
  // Rate windows as they come (seconds in ms steps), values across the whole double range,
  // and pairs placed right at the boundary where the answer flips.
  for (int i = 0; i < 2'000'000; ++i) {
    const double sampled = static_cast<double>(1 + rng() % 86'400'000) / 1000;
    const double to_start = static_cast<double>(rng() % 600'000) / 1000;
    const int e1 = static_cast<int>(rng() % 2100) - 1074;
    const int e2 = static_cast<int>(rng() % 2100) - 1074;
    double increase = std::ldexp(static_cast<double>(1 + rng() % (1u << 30)), e1 - 30);
    double first = std::ldexp(static_cast<double>(rng() % (1u << 30)), e2 - 30);
    if (i % 4 == 0) {
      // first near increase * to_start / sampled: the test is decided in the last bits.
      first = increase * to_start / sampled;
      const int ulps = static_cast<int>(rng() % 9) - 4;
      for (int k = 0; k < std::abs(ulps); ++k) {
        first = std::nextafter(first, ulps > 0 ? INFINITY : 0.0);
      }
    } else if (i % 4 == 1) {
      // first near 2 * increase * to_start / sampled: where the shortcut starts to apply.
      first = 2 * increase * to_start / sampled;
      const int ulps = static_cast<int>(rng() % 9) - 4;
      for (int k = 0; k < std::abs(ulps); ++k) {
        first = std::nextafter(first, ulps > 0 ? INFINITY : 0.0);
      }
    }
    if (!(increase > 0) || !(first >= 0) || std::isinf(first)) continue;
    Check(first, increase, sampled, to_start);
  }
}

TEST(Extrapolation, EdgesTakeTheDivision) {
  const double inf = std::numeric_limits<double>::infinity();
  const double tiny = std::numeric_limits<double>::denorm_min();
  const double big = std::numeric_limits<double>::max();
  for (double first : {0.0, tiny, 1e-310, 1.0, 1e300, big}) {
    for (double increase : {tiny, 1e-310, 1e-300, 1.0, 1e300, big, inf}) {
      for (double sampled : {0.001, 1.0, 299.999, 9.2e15}) {
        for (double to_start : {0.0, 0.001, 7.5, 300.0}) Check(first, increase, sampled, to_start);
      }
    }
  }
  // A product that overflows must not decide: first * sampled = inf, yet the quotient is
  // small.
  EXPECT_TRUE(ReachesZeroBeforeStart(big, big, 10, 20));
  // A sample exactly at the range's start: never before it.
  EXPECT_FALSE(ReachesZeroBeforeStart(5, 10, 60, 0));
  EXPECT_TRUE(ReachesZeroBeforeStart(5, 10, 60, 30.001));
  EXPECT_FALSE(ReachesZeroBeforeStart(5, 10, 60, 30));
}

}  // namespace
}  // namespace zw::promql
