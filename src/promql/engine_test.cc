#include "promql/engine.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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

// Deliberately not 2.42's answer: its running mean loses the small values between large
// ones that cancel (it gives 0.25 here); the compensated sum keeps them, as Prometheus does
// since prometheus#14413.
TEST_F(EngineTest, AvgOverTimeKeepsSmallValuesBetweenCancellingOnes) {
  Add({{"__name__", "g"}}, {{0, 1e16},
                            {kMin, 1},
                            {2 * kMin, -1e16},
                            {3 * kMin, 1},
                            {4 * kMin, 1e16},
                            {5 * kMin, -1e16}});
  EXPECT_EQ(One("avg_over_time(g[10m])", 5 * kMin), 2.0 / 6);
  EXPECT_EQ(One("sum_over_time(g[10m])", 5 * kMin), 2);
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

// A querier that passes everything to another and lets a test wrap the series sets it
// selects.
class WrappingQuerier : public storage::Querier {
 public:
  using Wrap =
      std::function<std::unique_ptr<storage::SeriesSet>(std::unique_ptr<storage::SeriesSet>)>;
  WrappingQuerier(std::unique_ptr<storage::Querier> inner, Wrap wrap)
      : inner_(std::move(inner)), wrap_(std::move(wrap)) {}
  std::unique_ptr<storage::SeriesSet> Select(bool sorted, const storage::SelectHints* hints,
                                             const Matchers& matchers) override {
    return wrap_(inner_->Select(sorted, hints, matchers));
  }
  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const Matchers& matchers) override {
    return inner_->LabelValues(name, matchers);
  }
  Result<std::vector<std::string>> LabelNames(const Matchers& matchers) override {
    return inner_->LabelNames(matchers);
  }

 private:
  std::unique_ptr<storage::Querier> inner_;
  Wrap wrap_;
};

// Storage that calls a hook before handing out each series, so tests can slow a query down
// or cancel it at a known point of its evaluation.
class HookedQueryable : public storage::Queryable {
 public:
  HookedQueryable(storage::Queryable& inner, std::function<void(int)> on_series)
      : inner_(inner), on_series_(std::move(on_series)) {}

  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return std::make_unique<WrappingQuerier>(
        inner_.NewQuerier(mint, maxt),
        [this](std::unique_ptr<storage::SeriesSet> set) -> std::unique_ptr<storage::SeriesSet> {
          return std::make_unique<Set>(std::move(set), this);
        });
  }
  int series_read() const { return read_.load(); }

 private:
  class Set : public storage::SeriesSet {
   public:
    Set(std::unique_ptr<storage::SeriesSet> inner, HookedQueryable* q)
        : inner_(std::move(inner)), q_(q) {}
    bool Next() override {
      if (!inner_->Next()) return false;
      q_->on_series_(++q_->read_);
      return true;
    }
    const storage::Series& At() const override { return inner_->At(); }
    Status Err() const override { return inner_->Err(); }

   private:
    std::unique_ptr<storage::SeriesSet> inner_;
    HookedQueryable* q_;
  };
  storage::Queryable& inner_;
  std::function<void(int)> on_series_;
  std::atomic<int> read_{0};
};

class EngineLimitsTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    for (int i = 0; i < 100; ++i) {
      std::vector<std::pair<int64_t, double>> samples;
      for (int j = 0; j < 120; ++j) samples.emplace_back(j * 15'000, i * 1000 + j);
      Add({{"__name__", "m"}, {"i", std::to_string(i)}}, samples);
    }
  }
};

TEST_F(EngineLimitsTest, TimeoutStopsASlowEvaluation) {
  // Each series takes 2 ms to read: 100 series need 200 ms, the timeout is 20 ms.
  HookedQueryable slow(*head_,
                       [](int) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); });
  Engine quick(EngineOptions{.timeout = std::chrono::milliseconds(20)});
  auto r = quick.Range(slow, "sum(rate(m[5m]))", 0, 30 * kMin, 15'000);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsTimeout(r.status())) << r.status().ToString();
  EXPECT_EQ(r.status().message(), "query timed out in expression evaluation");
  EXPECT_LT(slow.series_read(), 100);  // it stopped instead of reading on
  // The same query with time to spare succeeds.
  auto ok = engine_.Range(slow, "sum(rate(m[5m]))", 0, 30 * kMin, 15'000);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(quick.active(), 0u);  // the slot was given back
}

TEST_F(EngineLimitsTest, CancellingMidEvaluationStopsTheQuery) {
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  HookedQueryable q(*head_, [&](int n) {
    if (n == 10) cancelled->store(true);  // the client goes away while series are read
  });
  auto r = engine_.Instant(q, "sum(m)", 29 * kMin, QueryControl{.cancelled = cancelled});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsCancelled(r.status())) << r.status().ToString();
  EXPECT_EQ(r.status().message(), "query was canceled in expression evaluation");
  EXPECT_LT(q.series_read(), 15);
  // Uncancelled, it reads everything and answers.
  cancelled->store(false);
  HookedQueryable plain(*head_, [](int) {});
  auto ok = engine_.Instant(plain, "sum(m)", 29 * kMin, QueryControl{.cancelled = cancelled});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(plain.series_read(), 100);
}

TEST_F(EngineLimitsTest, CancelledBetweenStepsOfARangeQuery) {
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  cancelled->store(true);
  auto r =
      engine_.Range(*head_, "1 + 1", 0, 100 * kMin, 15'000, QueryControl{.cancelled = cancelled});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsCancelled(r.status()));
}

TEST_F(EngineLimitsTest, RequestDeadlineAlsoBounds) {
  auto r = engine_.Instant(*head_, "sum(m)", 29 * kMin,
                           QueryControl{.deadline = std::chrono::steady_clock::now()});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsTimeout(r.status())) << r.status().ToString();
}

TEST_F(EngineLimitsTest, ConcurrencyLimitQueuesAndTimesOutInTheQueue) {
  Engine one(EngineOptions{.timeout = std::chrono::milliseconds(300), .max_concurrency = 1});
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first{true};
  HookedQueryable blocking(*head_, [&](int) {
    if (first.exchange(false)) {
      entered.set_value();
      released.wait();
    }
  });
  Engine* e = &one;
  auto running = std::async(std::launch::async, [&] {
    return e->Instant(blocking, "count(m)", 29 * kMin, QueryControl{});
  });
  entered.get_future().wait();
  EXPECT_EQ(one.active(), 1u);
  // The second query waits for the slot and times out there.
  auto waiting = one.Instant(*head_, "1", 0);
  ASSERT_FALSE(waiting.ok());
  EXPECT_EQ(waiting.status().message(), "query timed out in query queue");
  // A cancelled one leaves the queue as soon as it notices.
  auto cancelled = std::make_shared<std::atomic<bool>>(true);
  auto gone = one.Instant(*head_, "1", 0, QueryControl{.cancelled = cancelled});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().message(), "query was canceled in query queue");
  EXPECT_EQ(one.queued(), 0u);
  release.set_value();
  // The first query was held past its own 300 ms, so it times out as soon as it goes on.
  auto first_result = running.get();
  EXPECT_TRUE(IsTimeout(first_result.status())) << first_result.status().ToString();
  EXPECT_EQ(one.active(), 0u);
  // With the slot free, a query runs at once.
  auto now = one.Instant(*head_, "1", 0);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_GE(now->stats.exec_queue, 0);
}

TEST_F(EngineLimitsTest, WaitingQueriesAreAdmittedInArrivalOrder) {
  Engine one(EngineOptions{.timeout = std::chrono::seconds(30), .max_concurrency = 1});
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first{true};
  HookedQueryable blocking(*head_, [&](int) {
    if (first.exchange(false)) {
      entered.set_value();
      released.wait();
    }
  });
  std::mutex mu;
  std::vector<std::string> order;
  auto recorder = [&](std::string name) {
    return [&mu, &order, name](int n) {
      if (n != 1) return;
      std::lock_guard lock(mu);
      order.push_back(name);
    };
  };
  HookedQueryable qa(*head_, recorder("a")), qb(*head_, recorder("b")), qc(*head_, recorder("c"));
  auto holder = std::async(std::launch::async, [&] { return one.Instant(blocking, "sum(m)", 0); });
  entered.get_future().wait();
  auto wait_queued = [&](size_t n) {
    for (int i = 0; i < 2000 && one.queued() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(one.queued(), n);
  };
  auto a = std::async(std::launch::async, [&] { return one.Instant(qa, "sum(m)", 29 * kMin); });
  wait_queued(1);
  auto b = std::async(std::launch::async, [&] { return one.Instant(qb, "sum(m)", 29 * kMin); });
  wait_queued(2);
  auto c = std::async(std::launch::async, [&] { return one.Instant(qc, "sum(m)", 29 * kMin); });
  wait_queued(3);
  release.set_value();
  EXPECT_TRUE(holder.get().ok());
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(b.get().ok());
  EXPECT_TRUE(c.get().ok());
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(one.queued(), 0u);
  EXPECT_EQ(one.active(), 0u);
}

TEST_F(EngineLimitsTest, StatsCountTheSamplesSelectorsRead) {
  // 21 points of each of 100 series lie in [24m, 29m].
  auto r = engine_.Instant(*head_, "sum(sum_over_time(m[5m]))", 29 * kMin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stats.total_queryable_samples, 100u * 21);
  // Streamed: one series' window (21) at a time, plus the outputs so far (at most 99).
  EXPECT_GE(r->stats.peak_samples, 21u);
  EXPECT_LE(r->stats.peak_samples, 99u + 21);
  EXPECT_GE(r->stats.exec_total, r->stats.eval_total);
  EXPECT_GE(r->stats.eval_total, r->stats.inner_eval);
  // A range query of 3 steps reads one sample per series per step.
  auto rr = engine_.Range(*head_, "m", 10 * kMin, 12 * kMin, kMin);
  ASSERT_TRUE(rr.ok()) << rr.status().ToString();
  EXPECT_EQ(rr->stats.total_queryable_samples, 300u);
  EXPECT_EQ(rr->stats.peak_samples, 300u);  // the result matrix holds them all at the end
}

// Storage that counts the samples its iterators hand out.
class CountingQueryable : public storage::Queryable {
 public:
  explicit CountingQueryable(storage::Queryable& inner) : inner_(inner) {}
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return std::make_unique<WrappingQuerier>(
        inner_.NewQuerier(mint, maxt),
        [this](std::unique_ptr<storage::SeriesSet> set) -> std::unique_ptr<storage::SeriesSet> {
          return std::make_unique<Set>(std::move(set), &read_);
        });
  }
  uint64_t samples_read() const { return read_; }

 private:
  class Iterator : public storage::SampleIterator {
   public:
    Iterator(std::unique_ptr<storage::SampleIterator> inner, uint64_t* read)
        : inner_(std::move(inner)), read_(read) {}
    bool Next() override { return Count(inner_->Next()); }
    bool Seek(int64_t t) override { return Count(inner_->Seek(t)); }
    Sample At() const override { return inner_->At(); }
    Status Err() const override { return inner_->Err(); }

   private:
    bool Count(bool ok) {
      if (ok) ++*read_;
      return ok;
    }
    std::unique_ptr<storage::SampleIterator> inner_;
    uint64_t* read_;
  };
  class CountedSeries : public storage::Series {
   public:
    CountedSeries(const storage::Series& inner, uint64_t* read) : inner_(inner), read_(read) {}
    const Labels& labels() const override { return inner_.labels(); }
    std::unique_ptr<storage::SampleIterator> Iterator() const override {
      return std::make_unique<CountingQueryable::Iterator>(inner_.Iterator(), read_);
    }

   private:
    const storage::Series& inner_;
    uint64_t* read_;
  };
  class Set : public storage::SeriesSet {
   public:
    Set(std::unique_ptr<storage::SeriesSet> inner, uint64_t* read)
        : inner_(std::move(inner)), read_(read) {}
    bool Next() override {
      if (!inner_->Next()) return false;
      current_.emplace(inner_->At(), read_);
      return true;
    }
    const storage::Series& At() const override { return *current_; }
    Status Err() const override { return inner_->Err(); }

   private:
    std::unique_ptr<storage::SeriesSet> inner_;
    uint64_t* read_;
    std::optional<CountedSeries> current_;
  };
  storage::Queryable& inner_;
  uint64_t read_ = 0;
};

TEST_F(EngineLimitsTest, RangeQueriesReadOnlyTheWindowsTheirStepsNeed) {
  // 100 series × 120 samples (0 to 29m45s at 15 s). Three steps 10 minutes apart with a 1m
  // window need 5 samples per series and step: a range query streams each series past
  // them and seeks over the gaps instead of loading all 12,000 samples.
  CountingQueryable counting(*head_);
  auto r = engine_.Range(counting, "sum(rate(m[1m]))", 10 * kMin, 29 * kMin, 9 * kMin + 30'000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(std::get<Matrix>(r->value).size(), 1u);
  EXPECT_EQ(std::get<Matrix>(r->value)[0].points.size(), 3u);
  EXPECT_LE(counting.samples_read(), 100u * 3 * 6);
  EXPECT_EQ(r->stats.total_queryable_samples, 100u * 3 * 5);
  // The same for a plain selector: one sample per step found by seeking to the lookback.
  CountingQueryable again(*head_);
  auto s = engine_.Range(again, "m", 10 * kMin, 29 * kMin, 9 * kMin + 30'000);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(std::get<Matrix>(s->value).size(), 100u);
  EXPECT_LE(again.samples_read(), 100u * 3 * 22);
}

TEST_F(EngineLimitsTest, RangeAggregationsEqualTheirInstantEvaluations) {
  // The stepped aggregations must give each step exactly what an instant query gives.
  Add({{"__name__", "m"}, {"i", "nan"}}, {{0, std::nan("")}, {20 * kMin, 1e308}});
  for (const char* q :
       {"sum(m)", "avg(m)", "count(m)", "min(m)", "max(m)", "stddev(m)", "stdvar(m)", "group(m)",
        "sum by (i) (rate(m[2m]))", "avg without (i) (m * 2)", "max(m) - min(m)"}) {
    auto r = engine_.Range(*head_, q, 0, 29 * kMin, 4 * kMin);
    ASSERT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    for (const Series& s : std::get<Matrix>(r->value)) {
      for (const Point& p : s.points) {
        Vector at = Query(q, p.t);
        auto it = std::find_if(at.begin(), at.end(),
                               [&](const VectorSample& x) { return x.labels == s.labels; });
        ASSERT_NE(it, at.end()) << q << " at " << p.t;
        EXPECT_EQ(std::bit_cast<uint64_t>(it->v), std::bit_cast<uint64_t>(p.v))
            << q << " at " << p.t << ": " << it->v << " vs " << p.v;
      }
    }
  }
}

TEST_F(EngineTest, RangeAggregationOfARateMatchesStepsAndStillSeesCollidingNames) {
  // sum(rate(x[5m])) over one metric is summed series by series as the rates are computed;
  // over several names whose series differ only in the name, rate's output collides and the
  // range query fails as the step-by-step one does.
  for (int i = 0; i < 20; ++i) {
    std::vector<std::pair<int64_t, double>> samples;
    for (int64_t t = 0; t <= 30; ++t)
      samples.push_back({t * kMin, static_cast<double>(t * (i + 1))});
    Add({{"__name__", "a"}, {"job", std::to_string(i % 3)}, {"i", std::to_string(i)}}, samples);
    Add({{"__name__", "b"}, {"job", std::to_string(i % 3)}, {"i", std::to_string(i)}}, samples);
  }
  Add({{"__name__", "c"}, {"i", "0"}}, {{20 * kMin, 1}, {21 * kMin, 2}});
  for (const char* q :
       {"sum(rate(a[5m]))", "sum by (job) (rate(a[5m]))",
        "count(last_over_time({__name__=~\"a|b\"}[5m]))", "max(rate({__name__=~\"a|c\"}[5m]))"}) {
    auto r = engine_.Range(*head_, q, 0, 30 * kMin, 2 * kMin);
    ASSERT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    size_t points = 0;
    for (const Series& s : std::get<Matrix>(r->value)) {
      for (const Point& p : s.points) {
        ++points;
        Vector at = Query(q, p.t);
        auto it = std::find_if(at.begin(), at.end(),
                               [&](const VectorSample& x) { return x.labels == s.labels; });
        ASSERT_NE(it, at.end()) << q << " at " << p.t;
        EXPECT_EQ(std::bit_cast<uint64_t>(it->v), std::bit_cast<uint64_t>(p.v)) << q;
      }
    }
    EXPECT_GT(points, 10u) << q;
  }
  auto bad =
      engine_.Range(*head_, "sum(rate({__name__=~\"a|b\", i=\"3\"}[5m]))", 0, 30 * kMin, 2 * kMin);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("same labelset"), std::string::npos)
      << bad.status().ToString();
}

TEST_F(EngineTest, RangeQueryOfOneStepIsAMatrix) {
  Add({{"__name__", "m"}}, {{0, 1}});
  auto r = engine_.Range(*head_, "m", kMin, kMin, kMin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Matrix& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].points.size(), 1u);
  EXPECT_EQ(m[0].points[0].t, kMin);
  EXPECT_FALSE(engine_.Range(*head_, "\"s\"", kMin, kMin, kMin).ok());
}

}  // namespace
}  // namespace zw::promql
