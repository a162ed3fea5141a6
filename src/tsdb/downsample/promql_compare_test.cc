// PromQL over raw data vs the same query over its 5-minute and 1-hour downsampled copies:
// the error bounds stated in docs/downsampling.md, enforced.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <random>

#include "promql/engine.h"
#include "tsdb/downsample/downsample.h"
#include "tsdb/downsample/querier.h"
#include "tsdb/downsample/test_util.h"

namespace zw::tsdb {
namespace {

constexpr int64_t kT0 = 1699999200000;  // a multiple of one hour
constexpr int64_t kHour = kResolution1h;
constexpr int64_t kSpan = 48 * kHour;
constexpr int64_t kScrape = 15000;

// Records the hints of every Select, so the test knows whether ResolutionFits allowed it.
class RecordingQuerier final : public storage::Querier {
 public:
  RecordingQuerier(std::unique_ptr<storage::Querier> inner,
                   std::vector<storage::SelectHints>* hints)
      : inner_(std::move(inner)), hints_(hints) {}
  std::unique_ptr<storage::SeriesSet> Select(bool sorted, const storage::SelectHints* hints,
                                             const Matchers& ms) override {
    hints_->push_back(hints != nullptr ? *hints : storage::SelectHints{});
    return inner_->Select(sorted, hints, ms);
  }
  Result<std::vector<std::string>> LabelValues(std::string_view n, const Matchers& ms) override {
    return inner_->LabelValues(n, ms);
  }
  Result<std::vector<std::string>> LabelNames(const Matchers& ms) override {
    return inner_->LabelNames(ms);
  }

 private:
  std::unique_ptr<storage::Querier> inner_;
  std::vector<storage::SelectHints>* hints_;
};

class BlockQueryable final : public storage::Queryable {
 public:
  BlockQueryable(std::shared_ptr<Block> block, bool downsampled)
      : block_(std::move(block)), downsampled_(downsampled) {}
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    auto inner =
        downsampled_ ? NewDownsampledQuerier(block_, mint, maxt) : block_->NewQuerier(mint, maxt);
    return std::make_unique<RecordingQuerier>(std::move(inner), &hints);
  }
  std::vector<storage::SelectHints> hints;

 private:
  std::shared_ptr<Block> block_;
  bool downsampled_;
};

// 25 counters (with resets) and 25 noisy gauges, 48 h at 15 s with jitter.
std::map<Labels, std::vector<Sample>> Generate() {
  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> noise(0, 5);
  std::map<Labels, std::vector<Sample>> out;
  for (int i = 0; i < 50; ++i) {
    bool counter = i < 25;
    std::string inst = std::to_string(i % 25);
    std::string job = "job" + std::to_string(i % 5);
    Labels l{{"__name__", counter ? "c" : "g"}, {"instance", inst}, {"job", job}};
    std::vector<Sample>& s = out[l];
    double per_second = 0.5 + u(rng) * 50;
    double phase = u(rng) * 2 * std::numbers::pi;
    double v = std::floor(u(rng) * 1000);
    for (int64_t base = kT0; base < kT0 + kSpan; base += kScrape) {
      // Scrapes land 3 s +- 1 s after each 15 s tick, never on a window edge.
      int64_t t = base + 3000 + static_cast<int64_t>((u(rng) - 0.5) * 2000);
      if (counter) {
        if (u(rng) < double(kScrape) / (8 * 3600 * 1000)) {
          v = std::floor(u(rng) * 10);  // a restart, about every 8 h
        } else {
          v += std::floor(per_second * 15 * (0.5 + u(rng)));
        }
        s.push_back({t, v});
      } else {
        double day = 2 * std::numbers::pi * double(t - kT0) / (24.0 * kHour);
        s.push_back({t, 50 + 20 * std::sin(day + phase) + noise(rng)});
      }
    }
  }
  return out;
}

struct Errors {
  double max = 0, mean = 0;
  size_t points = 0;
};

// Compares two range-query matrices point by point; every series and step must be in both.
Errors Compare(const promql::Matrix& raw, const promql::Matrix& ds, const std::string& what) {
  std::map<Labels, std::map<int64_t, double>> want;
  for (const promql::Series& s : raw) {
    for (const promql::Point& p : s.points) want[s.labels][p.t] = p.v;
  }
  Errors e;
  double total = 0;
  size_t ds_points = 0;
  for (const promql::Series& s : ds) {
    auto w = want.find(s.labels);
    EXPECT_NE(w, want.end()) << what << ": series only downsampled " << s.labels.ToString();
    if (w == want.end()) continue;
    for (const promql::Point& p : s.points) {
      ++ds_points;
      auto wp = w->second.find(p.t);
      EXPECT_NE(wp, w->second.end()) << what << ": point only downsampled at " << p.t;
      if (wp == w->second.end()) continue;
      double err = std::fabs(p.v - wp->second) / std::max(std::fabs(wp->second), 1e-9);
      e.max = std::max(e.max, err);
      total += err;
      ++e.points;
    }
  }
  size_t raw_points = 0;
  for (const auto& [labels, points] : want) raw_points += points.size();
  EXPECT_EQ(ds_points, raw_points) << what << ": steps missing from the downsampled result";
  e.mean = e.points > 0 ? total / double(e.points) : 0;
  return e;
}

// Relative error bounds per resolution (docs/downsampling.md).
struct Bound {
  double max;   // largest relative error at any point
  double mean;  // mean relative error over all points
};
struct Case {
  std::string query;
  Bound at5m, at1h;
};

TEST(PromqlCompareTest, DownsampledResultsStayWithinTheDocumentedBounds) {
  auto fs = fs::NewMemFileSystem();
  auto raw_block = testing_util::WriteRawBlock(fs.get(), "/blocks", Generate(), kT0, kT0 + kSpan);
  ASSERT_NE(raw_block, nullptr);
  // "c" has no counter suffix: the caller's predicate (as the DB's, from metadata) says so.
  auto five = testing_util::Downsample(fs.get(), "/blocks", *raw_block, kResolution5m,
                                       [](const Labels& l) { return l.MetricName() == "c"; });
  ASSERT_NE(five, nullptr);
  auto hour = testing_util::Downsample(fs.get(), "/blocks", *five, kResolution1h);
  ASSERT_NE(hour, nullptr);
  std::printf("block bytes: raw %llu, 5m %llu, 1h %llu (samples %llu, %llu, %llu)\n",
              static_cast<unsigned long long>(raw_block->SizeBytes()),
              static_cast<unsigned long long>(five->SizeBytes()),
              static_cast<unsigned long long>(hour->SizeBytes()),
              static_cast<unsigned long long>(raw_block->meta().num_samples),
              static_cast<unsigned long long>(five->meta().num_samples),
              static_cast<unsigned long long>(hour->meta().num_samples));

  // max/min exact; sum/avg up to rounding; rate-like measured with this data's seed and
  // given some headroom.
  constexpr Bound kExact{0, 0}, kRounding{1e-12, 1e-14};
  const std::vector<Case> cases = {
      {"max_over_time(g[1h])", kExact, kExact},
      {"min_over_time(g[1h])", kExact, kExact},
      {"sum_over_time(g[1h])", kRounding, kRounding},
      {"avg_over_time(g[1h])", kRounding, kRounding},
      {"rate(c[1h])", {0.10, 0.015}, {0, 0}},  // not routed at 1 h
      {"rate(c[2h])", {0.10, 0.015}, {0.60, 0.10}},
      {"increase(c[6h])", {0.10, 0.015}, {0.20, 0.07}},
      {"sum by (job) (rate(c[30m]))", {0.10, 0.015}, {0, 0}},  // not routed at 1 h
  };
  struct Run {
    std::shared_ptr<Block> block;
    int64_t step;
  };
  const std::vector<Run> runs = {{five, kResolution5m}, {five, kHour}, {hour, kHour}};
  const int64_t start = kT0 + 7 * kHour, end = kT0 + 47 * kHour;
  promql::Engine engine;
  BlockQueryable raw(raw_block, false);
  int compared = 0;
  for (const Run& run : runs) {
    const int64_t res = run.block->meta().resolution_ms;
    BlockQueryable ds(run.block, true);
    for (const Case& c : cases) {
      std::string what = c.query + " res=" + std::to_string(res / 60000) +
                         "m step=" + std::to_string(run.step / 60000) + "m";
      ds.hints.clear();
      auto got = engine.Range(ds, c.query, start, end, run.step);
      ASSERT_TRUE(got.ok()) << what << ": " << got.status().ToString();
      bool fits = !ds.hints.empty();
      for (const storage::SelectHints& h : ds.hints) fits = fits && ResolutionFits(&h, res);
      if (!fits) {
        std::printf("%-45s not routed (ResolutionFits false)\n", what.c_str());
        continue;
      }
      auto want = engine.Range(raw, c.query, start, end, run.step);
      ASSERT_TRUE(want.ok()) << what << ": " << want.status().ToString();
      Errors e = Compare(std::get<promql::Matrix>(want->value),
                         std::get<promql::Matrix>(got->value), what);
      std::printf("%-45s points %6zu  max rel err %.3e  mean %.3e\n", what.c_str(), e.points, e.max,
                  e.mean);
      EXPECT_GT(e.points, 0u) << what;
      const Bound& b = res == kResolution5m ? c.at5m : c.at1h;
      EXPECT_LE(e.max, b.max) << what;
      EXPECT_LE(e.mean, b.mean) << what;
      ++compared;
    }
  }
  // Everything but rate(c[1h]) and rate(c[30m]) at 1 h (range below 2x the resolution).
  EXPECT_EQ(compared, 22);
}

}  // namespace
}  // namespace zw::tsdb
