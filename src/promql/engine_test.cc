#include "promql/engine.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/sample.h"
#include "promql/eval.h"
#include "tsdb/head.h"

namespace zw::promql {
namespace {

constexpr int64_t kMin = 60 * 1000;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { head_ = std::move(tsdb::Head::Open({})).value(); }

  void Add(const Labels& l, std::vector<std::pair<int64_t, double>> samples) {
    auto app = head_->NewAppender();
    for (auto [t, v] : samples) ASSERT_TRUE(app->Append(0, l, t, v).ok());
    ASSERT_TRUE(app->Commit().ok());
  }

  Vector Query(std::string_view q, int64_t t) {
    auto r = engine_.Instant(*head_, q, t);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    auto* v = std::get_if<Vector>(&r->value);
    EXPECT_NE(v, nullptr);
    return v ? *v : Vector{};
  }

  double One(std::string_view q, int64_t t) {
    Vector v = Query(q, t);
    EXPECT_EQ(v.size(), 1u) << q;
    return v.empty() ? std::nan("") : v[0].v;
  }

  std::unique_ptr<tsdb::Head> head_;
  Engine engine_;
};

TEST_F(EngineTest, EveryFunctionHasAnImplementation) { EXPECT_TRUE(AllFunctionsImplemented()); }

TEST_F(EngineTest, Literals) {
  auto r = engine_.Instant(*head_, "1 + 2 * 3", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<Scalar>(r->value).v, 7);
  r = engine_.Instant(*head_, "\"hi\"", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<String>(r->value).v, "hi");
}

TEST_F(EngineTest, LookbackIsInclusiveOfItsStart) {
  Add({{"__name__", "m"}}, {{0, 1}});
  EXPECT_EQ(One("m", 5 * kMin), 1);
  EXPECT_TRUE(Query("m", 5 * kMin + 1).empty());
  EXPECT_TRUE(Query("m", -1).empty());
}

TEST_F(EngineTest, StaleMarkerEndsTheSeries) {
  Add({{"__name__", "m"}}, {{0, 1}, {kMin, StaleNaN()}, {3 * kMin, 3}});
  EXPECT_EQ(One("m", 30 * 1000), 1);
  EXPECT_TRUE(Query("m", kMin).empty());
  EXPECT_TRUE(Query("m", 2 * kMin).empty());
  EXPECT_EQ(One("m", 3 * kMin), 3);
  EXPECT_EQ(One("count_over_time(m[5m])", 3 * kMin), 2);  // the marker is no sample
}

TEST_F(EngineTest, OffsetAndAt) {
  Add({{"__name__", "m"}}, {{0, 1}, {kMin, 2}, {2 * kMin, 3}});
  EXPECT_EQ(One("m offset 1m", 2 * kMin), 2);
  EXPECT_EQ(One("m @ 60", 10 * kMin), 2);
  EXPECT_EQ(One("m @ 120 offset 2m", 0), 1);
  EXPECT_EQ(One("timestamp(m)", 3 * kMin), 120);
}

TEST_F(EngineTest, BinaryOperators) {
  Add({{"__name__", "a"}, {"x", "1"}, {"y", "p"}}, {{0, 2}});
  Add({{"__name__", "b"}, {"x", "1"}}, {{0, 3}});
  Vector v = Query("a * on(x) b", 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].v, 6);
  EXPECT_EQ(v[0].labels, (Labels{{"x", "1"}}));
  v = Query("a > 1", 0);  // comparisons keep the name
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].labels.MetricName(), "a");
  v = Query("a * ignoring(y) group_left b", 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].labels, (Labels{{"x", "1"}, {"y", "p"}}));
  EXPECT_TRUE(Query("a + b", 0).empty());  // y differs

  Add({{"__name__", "a"}, {"x", "1"}, {"y", "q"}}, {{0, 4}});
  auto r = engine_.Instant(*head_, "b + ignoring(y) a", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("many-to-many matching not allowed"), std::string::npos)
      << r.status().message();
}

TEST_F(EngineTest, Aggregation) {
  Add({{"__name__", "m"}, {"job", "a"}, {"i", "1"}}, {{0, 1}});
  Add({{"__name__", "m"}, {"job", "a"}, {"i", "2"}}, {{0, 3}});
  Add({{"__name__", "m"}, {"job", "b"}, {"i", "1"}}, {{0, 5}});
  Vector v = Query("sum by (job) (m)", 0);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].labels, (Labels{{"job", "a"}}));
  EXPECT_EQ(v[0].v, 4);
  EXPECT_EQ(v[1].v, 5);
  EXPECT_EQ(One("avg without (i, job) (m)", 0), 3);
  EXPECT_EQ(One("quantile(0.5, m)", 0), 3);
  v = Query("topk(1, m)", 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].labels.Get("job"), "b");
}

TEST_F(EngineTest, RateExtrapolation) {
  // A counter starting at 2, +10 a minute.
  Add({{"__name__", "c"}}, {{0, 2}, {kMin, 12}, {2 * kMin, 22}, {3 * kMin, 32}, {4 * kMin, 42}});
  // At 4m30s the range [-30s, 4m30s] holds 5 samples over 240s. The start extrapolates to
  // the counter's zero point (12s before the first sample, less than 30s), the end by 30s.
  const int64_t t = 4 * kMin + 30 * 1000;
  EXPECT_DOUBLE_EQ(One("increase(c[5m])", t), 40.0 * (240 + 12 + 30) / 240);
  EXPECT_DOUBLE_EQ(One("rate(c[5m])", t), 40.0 * (240 + 12 + 30) / 240 / 300);
  EXPECT_DOUBLE_EQ(One("delta(c[5m])", t), 40.0 * (240 + 30 + 30) / 240);
  EXPECT_DOUBLE_EQ(One("irate(c[5m])", t), 10.0 / 60);
  // The closed range of 2.42 includes a sample exactly at t - range.
  EXPECT_EQ(One("count_over_time(c[4m])", 4 * kMin), 5);
}

TEST_F(EngineTest, RangeQueryEvaluatesEachStep) {
  Add({{"__name__", "m"}}, {{0, 1}, {kMin, 2}});
  auto r = engine_.Range(*head_, "m * 2", 0, 2 * kMin, kMin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Matrix& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].points.size(), 3u);
  EXPECT_EQ(m[0].points[0].v, 2);
  EXPECT_EQ(m[0].points[2].t, 2 * kMin);
  EXPECT_EQ(m[0].points[2].v, 4);
  EXPECT_FALSE(engine_.Range(*head_, "m[5m]", 0, kMin, kMin).ok());
}

TEST_F(EngineTest, SampleLimit) {
  Add({{"__name__", "m"}}, {{0, 1}, {kMin, 2}, {2 * kMin, 3}});
  Engine small(EngineOptions{.max_samples = 2});
  auto r = small.Instant(*head_, "sum_over_time(m[5m])", 2 * kMin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace zw::promql
