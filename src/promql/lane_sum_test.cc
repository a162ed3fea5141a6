#include "promql/lane_sum.h"

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace zw::promql {
namespace {

using lane_sum_internal::AddAvx2;
using lane_sum_internal::AddScalar;

// Lane by lane, one point at a time: full groups of four spread over the lanes, the rest to
// lane 0.
NeumaierLanes Reference(const std::vector<Point>& p) {
  NeumaierLanes l;
  const size_t grouped = p.size() / 4 * 4;
  for (size_t i = 0; i < p.size(); ++i) {
    const size_t lane = i < grouped ? i % 4 : 0;
    NeumaierAdd(p[i].v, l.sum[lane], l.comp[lane]);
  }
  return l;
}

// The same bits, except that any NaN equals any other: which operand's NaN an addition
// passes on depends on the order the compiler puts them in, and a NaN sum only ever sends
// avg_over_time to the running mean, which reads the points again.
uint64_t Bits(double x) { return std::isnan(x) ? 0x7ff8000000000000 : std::bit_cast<uint64_t>(x); }

void ExpectSameBits(const NeumaierLanes& want, const NeumaierLanes& got, size_t n) {
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(Bits(want.sum[k]), Bits(got.sum[k]))
        << "n=" << n << " lane " << k << ": " << want.sum[k] << " vs " << got.sum[k];
    EXPECT_EQ(Bits(want.comp[k]), Bits(got.comp[k]))
        << "n=" << n << " lane " << k << ": " << want.comp[k] << " vs " << got.comp[k];
  }
}

// Values whose sums round, cancel, overflow and go NaN, and times that are not doubles.
std::vector<Point> Points(size_t n, std::mt19937_64& rng) {
  const double specials[] = {0.0,
                             -0.0,
                             1e308,
                             -1e308,
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::denorm_min(),
                             1e-300,
                             3.0};
  std::vector<Point> p(n);
  for (size_t i = 0; i < n; ++i) {
    p[i].t = static_cast<int64_t>(rng());  // any bit pattern: must never be read as a value
    const uint64_t kind = rng() % 16;
    if (kind == 0) {
      p[i].v = specials[rng() % std::size(specials)];
    } else if (kind < 6) {
      p[i].v = std::ldexp(static_cast<double>(rng() % 1000000) - 500000,
                          static_cast<int>(rng() % 120) - 60);
    } else {
      p[i].v = 20 + static_cast<double>(rng() % 1000) / 100;
    }
  }
  return p;
}

TEST(LaneSum, ScalarPathIsTheReference) {
  std::mt19937_64 rng(7);
  for (size_t n = 0; n <= 70; ++n) {
    for (int rep = 0; rep < 20; ++rep) {
      std::vector<Point> p = Points(n, rng);
      NeumaierLanes got;
      AddScalar(p, got);
      ExpectSameBits(Reference(p), got, n);
    }
  }
}

TEST(LaneSum, VectorPathMatchesScalarToTheBit) {
  NeumaierLanes probe;
  if (!AddAvx2({}, probe)) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937_64 rng(11);
  for (size_t n = 0; n <= 70; ++n) {
    for (int rep = 0; rep < 50; ++rep) {
      std::vector<Point> p = Points(n, rng);
      NeumaierLanes want, got;
      AddScalar(p, want);
      ASSERT_TRUE(AddAvx2(p, got));
      ExpectSameBits(want, got, n);
    }
  }
}

TEST(LaneSum, ContinuesFromGivenLanes) {
  std::mt19937_64 rng(3);
  std::vector<Point> p = Points(37, rng);
  NeumaierLanes start{{1.5, -2.25, 1e20, 0.1}, {1e-17, 0, -3e-18, 0}};
  NeumaierLanes want = start, got = start;
  AddScalar(p, want);
  AddToLanes(p, got);
  ExpectSameBits(want, got, p.size());
  EXPECT_NE(std::bit_cast<uint64_t>(want.sum[1]), std::bit_cast<uint64_t>(-2.25));
}

TEST(LaneSum, WideRangeKeepsSmallValues) {
  // 1e16 + 1 + ... - 1e16: a plain sum loses the ones, the compensations keep them.
  std::vector<Point> p(12, Point{0, 1});
  p[0].v = 1e16;
  p[8].v = -1e16;
  NeumaierLanes l;
  AddToLanes(p, l);
  double total = 0;
  for (int k = 0; k < 4; ++k) total += l.sum[k] + l.comp[k];
  EXPECT_EQ(total, 10);
}

}  // namespace
}  // namespace zw::promql
