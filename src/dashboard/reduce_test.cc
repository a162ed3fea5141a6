#include "dashboard/reduce.h"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

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

std::string Columns(const promql::Matrix& m) {
  rapidjson::StringBuffer buf;
  promql::JsonWriter w(buf);
  w.StartObject();
  WriteColumns(w, m);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

TEST(WriteColumns, SharedStepsShareOneTimestampsArray) {
  promql::Matrix m(2);
  m[0].labels = Labels{{"__name__", "up"}, {"job", "a"}};
  m[0].points = {{1000, 1}, {2500, 0.1}, {4000, -3e-7}};
  m[1].labels = Labels{{"job", "b"}};
  m[1].points = {{1000, 1e21}, {2500, 2}, {4000, 3}};
  EXPECT_EQ(Columns(m),
            R"({"resultType":"matrix","layout":"columns","timestamps":[1,2.5,4],"result":[)"
            R"({"metric":{"__name__":"up","job":"a"},"values":[1,0.1,-3e-07]},)"
            R"({"metric":{"job":"b"},"values":[1e+21,2,3]}]})");
}

TEST(WriteColumns, MissingPointsAreNullAndTimesTheUnion) {
  promql::Matrix m(2);
  m[0].points = {{0, 1}, {2000, 3}};
  m[1].points = {{1000, 5}, {2000, 6}, {3000, 7}};
  EXPECT_EQ(Columns(m),
            R"({"resultType":"matrix","layout":"columns","timestamps":[0,1,2,3],"result":[)"
            R"({"metric":{},"values":[1,null,3,null]},{"metric":{},"values":[null,5,6,7]}]})");
}

TEST(WriteColumns, NonFiniteValuesAreStrings) {
  const double inf = std::numeric_limits<double>::infinity();
  promql::Matrix m(1);
  m[0].points = {
      {0, std::numeric_limits<double>::quiet_NaN()}, {1000, inf}, {2000, -inf}, {3000, -0.0}};
  EXPECT_EQ(Columns(m),
            R"({"resultType":"matrix","layout":"columns","timestamps":[0,1,2,3],"result":[)"
            R"({"metric":{},"values":["NaN","+Inf","-Inf",-0]}]})");
}

TEST(WriteColumns, EmptyMatrix) {
  EXPECT_EQ(Columns({}),
            R"({"resultType":"matrix","layout":"columns","timestamps":[],"result":[]})");
}

// A reduced matrix keeps different times per series: each value still lands in its column.
TEST(WriteColumns, AfterReductionEveryPointIsInItsColumn) {
  promql::Matrix m(2);
  for (int i = 0; i < 100; ++i) {
    m[0].points.push_back({i * 1000, static_cast<double>(i % 7)});
    m[1].points.push_back({i * 1000, static_cast<double>((i * 13) % 11)});
  }
  ReduceMatrix(m, 10);
  rapidjson::Document d;
  d.Parse(Columns(m).c_str());
  ASSERT_FALSE(d.HasParseError());
  const auto& ts = d["timestamps"];
  EXPECT_LE(ts.Size(), 20u);  // the union of two series of at most 10 points
  for (size_t k = 0; k < m.size(); ++k) {
    const auto& values = d["result"][static_cast<rapidjson::SizeType>(k)]["values"];
    ASSERT_EQ(values.Size(), ts.Size());
    std::vector<promql::Point> back;
    for (rapidjson::SizeType i = 0; i < values.Size(); ++i) {
      if (!values[i].IsNull())
        back.push_back({std::llround(ts[i].GetDouble() * 1000), values[i].GetDouble()});
    }
    ASSERT_EQ(back.size(), m[k].points.size()) << k;
    for (size_t i = 0; i < back.size(); ++i) {
      EXPECT_EQ(back[i].t, m[k].points[i].t) << k << " " << i;
      EXPECT_EQ(back[i].v, m[k].points[i].v) << k << " " << i;
    }
  }
}

}  // namespace
}  // namespace zw::dashboard
