#include "dashboard/reduce.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace zw::dashboard {
namespace {

std::vector<promql::Point> Ramp(size_t n) {
  std::vector<promql::Point> p;
  for (size_t i = 0; i < n; ++i) p.push_back({static_cast<int64_t>(i) * 1000, 1.0});
  return p;
}

bool Ascending(const std::vector<promql::Point>& p) {
  for (size_t i = 1; i < p.size(); ++i)
    if (p[i].t <= p[i - 1].t) return false;
  return true;
}

TEST(ReducePoints, ShortSeriesUnchanged) {
  auto p = Ramp(10);
  auto r = ReducePoints(p, 10);
  ASSERT_EQ(r.size(), 10u);
  EXPECT_EQ(ReducePoints(p, 0).size(), 10u);  // 0: no limit
}

TEST(ReducePoints, AtMostNPointsFirstAndLastKept) {
  auto p = Ramp(1000);
  for (size_t n : {2, 3, 4, 5, 7, 60, 61, 999}) {
    auto r = ReducePoints(p, n);
    EXPECT_LE(r.size(), n) << n;
    EXPECT_GE(r.size(), 2u) << n;
    EXPECT_EQ(r.front().t, p.front().t) << n;
    EXPECT_EQ(r.back().t, p.back().t) << n;
    EXPECT_TRUE(Ascending(r)) << n;
  }
}

TEST(ReducePoints, OnePointKeepsTheLast) {
  auto r = ReducePoints(Ramp(5), 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].t, 4000);
}

TEST(ReducePoints, SpikesSurvive) {
  auto p = Ramp(10000);
  p[4321].v = 500;   // up
  p[7777].v = -300;  // down
  auto r = ReducePoints(p, 20);
  bool up = false, down = false;
  for (const auto& pt : r) {
    up = up || (pt.t == 4321000 && pt.v == 500);
    down = down || (pt.t == 7777000 && pt.v == -300);
  }
  EXPECT_TRUE(up);
  EXPECT_TRUE(down);
}

TEST(ReducePoints, OneSpareSlotGoesToTheSpike) {
  auto p = Ramp(100);
  p[50].v = 9;
  auto r = ReducePoints(p, 3);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].t, 50000);
}

TEST(ReducePoints, MinMaxInTimeOrder) {
  // One bucket over the interior: max comes before min here.
  std::vector<promql::Point> p = {{0, 0}, {1, 5}, {2, 3}, {3, -2}, {4, 1}, {5, 0}};
  auto r = ReducePoints(p, 4);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].t, 1);
  EXPECT_EQ(r[1].v, 5);
  EXPECT_EQ(r[2].t, 3);
  EXPECT_EQ(r[2].v, -2);
}

TEST(ReducePoints, NaNIgnoredUnlessBucketIsAllNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<promql::Point> p = {{0, 0},   {1, nan}, {2, 4},   {3, 1},
                                  {4, nan}, {5, nan}, {6, nan}, {7, 0}};
  auto r = ReducePoints(p, 6);  // buckets [1, 4) and [4, 7)
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[1].t, 2);
  EXPECT_EQ(r[2].t, 3);
  EXPECT_EQ(r[3].t, 4);
  EXPECT_TRUE(std::isnan(r[3].v));
}

TEST(ReduceMatrix, EachSeries) {
  promql::Matrix m(2);
  m[0].points = Ramp(100);
  m[1].points = Ramp(5);
  ReduceMatrix(m, 10);
  EXPECT_LE(m[0].points.size(), 10u);
  EXPECT_EQ(m[1].points.size(), 5u);
}

}  // namespace
}  // namespace zw::dashboard
