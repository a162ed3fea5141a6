#include "tsdb/downsample/aggregate.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

namespace zw::tsdb {
namespace {

constexpr int64_t k5m = 300000;
constexpr int64_t k1h = 3600000;

bool SameValue(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

void ExpectSame(const std::vector<Sample>& got, const std::vector<Sample>& want, const char* what,
                double rel_tol = 0) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].t, want[i].t) << what << " #" << i;
    if (rel_tol == 0 || std::isnan(want[i].v)) {
      EXPECT_TRUE(SameValue(got[i].v, want[i].v))
          << what << " #" << i << " got " << got[i].v << " want " << want[i].v;
    } else {
      EXPECT_NEAR(got[i].v, want[i].v, rel_tol * std::max(1.0, std::fabs(want[i].v)))
          << what << " #" << i;
    }
  }
}

// The definition, written the slow way: every window from the first to the last sample,
// its samples picked by the (k·res, (k+1)·res] rule.
Aggregates BruteForce(const std::vector<Sample>& raw, int64_t res, bool counter) {
  Aggregates a;
  if (raw.empty()) return a;
  int64_t first = (raw.front().t - 1) / res - 2, last = (raw.back().t - 1) / res + 2;
  for (int64_t k = first; k <= last; ++k) {
    std::vector<Sample> in;
    for (const Sample& s : raw) {
      if (s.t > k * res && s.t <= (k + 1) * res && !IsStaleNaN(s.v)) in.push_back(s);
    }
    if (in.empty()) continue;
    double sum = 0;
    for (const Sample& s : in) sum += s.v;
    std::vector<double> real;
    for (const Sample& s : in) {
      if (!std::isnan(s.v)) real.push_back(s.v);
    }
    double nan = std::numeric_limits<double>::quiet_NaN();
    double mn = real.empty() ? nan : *std::min_element(real.begin(), real.end());
    double mx = real.empty() ? nan : *std::max_element(real.begin(), real.end());
    // All NaNs: PromQL keeps the last one it saw.
    if (real.empty()) mn = mx = in.back().v;
    int64_t t = in.back().t;
    a.count.push_back({t, static_cast<double>(in.size())});
    a.sum.push_back({t, sum});
    a.min.push_back({t, mn});
    a.max.push_back({t, mx});
  }
  if (counter) {
    std::vector<Sample> real;
    for (const Sample& s : raw) {
      if (!std::isnan(s.v)) real.push_back(s);
    }
    std::map<int64_t, double> keep;
    for (size_t i = 0; i < real.size(); ++i) {
      bool last_in_window =
          i + 1 == real.size() || (real[i + 1].t - 1) / res != (real[i].t - 1) / res;
      if (last_in_window) keep[real[i].t] = real[i].v;
      if (i > 0 && real[i].v < real[i - 1].v) {
        keep[real[i].t] = real[i].v;
        keep[real[i - 1].t] = real[i - 1].v;
      }
    }
    for (auto [t, v] : keep) a.counter.push_back({t, v});
  }
  return a;
}

// Raw samples with gaps, jitter, samples on window edges, NaNs, stale markers and (for
// counters) resets inside windows and on both sides of window edges.
std::vector<Sample> RandomSeries(std::mt19937_64& rng, bool counter, int n) {
  std::vector<Sample> out;
  std::uniform_real_distribution<double> u(0, 1);
  int64_t t = 1700000000000 - 7 * k5m;
  double v = 100;
  for (int i = 0; i < n; ++i) {
    double r = u(rng);
    if (r < 0.03) {
      t += k5m * (1 + static_cast<int64_t>(u(rng) * 30));  // a gap of several windows
    } else if (r < 0.10) {
      t = (t / k5m + 1) * k5m;  // exactly on a window edge
    } else if (r < 0.15) {
      t = (t / k5m + 1) * k5m + 1;  // first millisecond of the next window
    } else {
      t += 1000 + static_cast<int64_t>(u(rng) * 29000);
    }
    double x = u(rng);
    if (counter) {
      if (x < 0.06) {
        v = std::floor(u(rng) * 10);  // reset
      } else {
        v += std::floor(u(rng) * 50);
      }
    } else {
      v = (u(rng) - 0.5) * 1e3;
    }
    double value = v;
    if (x > 0.98) value = StaleNaN();
    if (x > 0.965 && x <= 0.98) value = std::numeric_limits<double>::quiet_NaN();
    if (!out.empty() && out.back().t == t) ++t;
    out.push_back({t, value});
  }
  return out;
}

TEST(AggregateTest, WindowOfUsesHalfOpenWindowsEndingOnMultiples) {
  EXPECT_EQ(WindowOf(1, k5m), 0);
  EXPECT_EQ(WindowOf(k5m, k5m), 0);
  EXPECT_EQ(WindowOf(k5m + 1, k5m), 1);
  EXPECT_EQ(WindowOf(0, k5m), -1);
  EXPECT_EQ(WindowOf(-k5m, k5m), -2);
  EXPECT_EQ(WindowOf(-k5m + 1, k5m), -1);
}

TEST(AggregateTest, RandomSeriesMatchBruteForce) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 200; ++iter) {
    bool counter = iter % 2 == 0;
    std::vector<Sample> raw = RandomSeries(rng, counter, 1 + iter * 3);
    for (int64_t res : {k5m, k1h}) {
      Aggregates got = AggregateRaw(raw, res, counter);
      Aggregates want = BruteForce(raw, res, counter);
      SCOPED_TRACE(testing::Message() << "iter " << iter << " res " << res);
      ExpectSame(got.count, want.count, "count");
      ExpectSame(got.sum, want.sum, "sum");
      ExpectSame(got.min, want.min, "min");
      ExpectSame(got.max, want.max, "max");
      ExpectSame(got.counter, want.counter, "counter");
    }
  }
}

TEST(AggregateTest, SingleSample) {
  std::vector<Sample> raw = {{1000, 5}};
  Aggregates a = AggregateRaw(raw, k5m, true);
  ExpectSame(a.count, {{1000, 1}}, "count");
  ExpectSame(a.sum, {{1000, 5}}, "sum");
  ExpectSame(a.min, {{1000, 5}}, "min");
  ExpectSame(a.max, {{1000, 5}}, "max");
  ExpectSame(a.counter, {{1000, 5}}, "counter");
}

TEST(AggregateTest, OnlyStaleMarkersProduceNothing) {
  std::vector<Sample> raw = {{1000, 1}, {k5m + 10, StaleNaN()}, {k5m + 20, StaleNaN()}};
  Aggregates a = AggregateRaw(raw, k5m, true);
  ExpectSame(a.count, {{1000, 1}}, "count");
  ExpectSame(a.counter, {{1000, 1}}, "counter");
}

TEST(AggregateTest, GaugesGetNoCounterSeries) {
  std::vector<Sample> raw = {{1000, 3}, {2000, 1}};
  EXPECT_TRUE(AggregateRaw(raw, k5m, false).counter.empty());
}

TEST(AggregateTest, CounterKeepsBothSidesOfAResetInsideAWindow) {
  // 10 -> 20 -> 3 (reset) -> 40: a rate over the counter points must see 10+3+... not 20->40.
  std::vector<Sample> raw = {{1000, 10}, {2000, 20}, {3000, 3}, {4000, 40}};
  Aggregates a = AggregateRaw(raw, k5m, true);
  ExpectSame(a.counter, {{2000, 20}, {3000, 3}, {4000, 40}}, "counter");
}

TEST(AggregateTest, CounterResetAcrossAWindowEdge) {
  std::vector<Sample> raw = {{k5m - 1000, 50}, {k5m, 60}, {k5m + 1, 2}, {k5m + 2000, 70}};
  Aggregates a = AggregateRaw(raw, k5m, true);
  ExpectSame(a.counter, {{k5m, 60}, {k5m + 1, 2}, {k5m + 2000, 70}}, "counter");
}

// Prometheus's increase without extrapolation: last - first plus every pre-reset value.
double Increase(const std::vector<Sample>& s) {
  double inc = s.back().v - s.front().v;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i].v < s[i - 1].v) inc += s[i - 1].v;
  }
  return inc;
}

TEST(AggregateTest, CounterPointsGiveTheRawIncrease) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 100; ++iter) {
    std::vector<Sample> raw = RandomSeries(rng, true, 50 + iter * 10);
    std::vector<Sample> real;
    for (const Sample& s : raw) {
      if (!std::isnan(s.v)) real.push_back(s);
    }
    for (int64_t res : {k5m, k1h}) {
      std::vector<Sample> c = AggregateRaw(raw, res, true).counter;
      ASSERT_FALSE(c.empty());
      // From the first counter point on, the raw samples and the counter points agree.
      std::vector<Sample> from;
      for (const Sample& s : real) {
        if (s.t >= c.front().t) from.push_back(s);
      }
      EXPECT_DOUBLE_EQ(Increase(c), Increase(from)) << "iter " << iter << " res " << res;
    }
  }
}

TEST(AggregateTest, OneHourFromFiveMinutesEqualsOneHourFromRaw) {
  std::mt19937_64 rng(99);
  for (int iter = 0; iter < 100; ++iter) {
    bool counter = iter % 2 == 1;
    std::vector<Sample> raw = RandomSeries(rng, counter, 1 + iter * 20);
    Aggregates five = AggregateRaw(raw, k5m, counter);
    Aggregates want = AggregateRaw(raw, k1h, counter);
    SCOPED_TRACE(testing::Message() << "iter " << iter);
    for (Aggr a : kAllAggrs) {
      if (a == Aggr::kCounter && !counter) continue;
      // Sums are added in another order: equal up to rounding.
      double tol = a == Aggr::kSum ? 1e-12 : 0;
      ExpectSame(Reaggregate(a, five.Of(a), k1h), want.Of(a), AggrName(a).data(), tol);
    }
  }
}

TEST(AggregateTest, DefaultIsCounterBySuffix) {
  EXPECT_TRUE(DefaultIsCounter(Labels{{"__name__", "http_requests_total"}}));
  EXPECT_TRUE(DefaultIsCounter(Labels{{"__name__", "rpc_duration_seconds_count"}}));
  EXPECT_TRUE(DefaultIsCounter(Labels{{"__name__", "rpc_duration_seconds_bucket"}}));
  EXPECT_FALSE(DefaultIsCounter(Labels{{"__name__", "rpc_duration_seconds_sum"}}));
  EXPECT_FALSE(DefaultIsCounter(Labels{{"__name__", "temperature"}}));
  EXPECT_FALSE(DefaultIsCounter(Labels{{"job", "x_total"}}));
}

TEST(AggregateTest, AggrNamesRoundTrip) {
  for (Aggr a : kAllAggrs) {
    Aggr back;
    ASSERT_TRUE(ParseAggr(AggrName(a), &back));
    EXPECT_EQ(back, a);
  }
  Aggr x;
  EXPECT_FALSE(ParseAggr("avg", &x));
}

}  // namespace
}  // namespace zw::tsdb
