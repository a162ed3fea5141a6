// Range selectors' windows over iterators that hand out decoded spans (SampleIterator::
// Buffered): a window is a view into a span where it can be, a copy across span ends and
// around stale markers. Every result must equal, to the bit, the one read sample by sample.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/sample.h"
#include "promql/engine.h"
#include "storage/querier.h"
#include "tsdb/head.h"

namespace zw::promql {
namespace {

constexpr int64_t kSec = 1000;

// Hands out in-memory samples in spans whose lengths cycle through `lens`, each copied into
// one buffer that is overwritten with garbage before the next span is loaded, as a decoder
// reusing its buffer would. With `buffered` false it offers no span (one sample per Next).
class SpanIterator final : public storage::SampleIterator {
 public:
  SpanIterator(const std::vector<Sample>* all, const std::vector<size_t>& lens, bool buffered)
      : all_(all), buffered_(buffered) {
    size_t at = 0;
    for (size_t k = 0; at < all_->size(); ++k) {
      starts_.push_back(at);
      at += std::max<size_t>(1, lens[k % lens.size()]);
    }
    starts_.push_back(all_->size());
  }
  bool Next() override {
    if (started_ && span_ < starts_.size() - 1 && pos_ + 1 < starts_[span_ + 1]) {
      ++pos_;
      return true;
    }
    const size_t next = started_ ? pos_ + 1 : 0;
    return Load(next);
  }
  bool Seek(int64_t t) override {
    if (started_ && span_ < starts_.size() - 1 && (*all_)[pos_].t >= t) return true;
    size_t from = started_ ? pos_ : 0;
    while (from < all_->size() && (*all_)[from].t < t) ++from;
    if (started_ && span_ < starts_.size() - 1 && from < starts_[span_ + 1]) {
      pos_ = from;
      return true;
    }
    return Load(from);
  }
  Sample At() const override { return buf_[pos_ - starts_[span_]]; }
  Status Err() const override { return Status::Ok(); }
  std::span<const Sample> Buffered() const override {
    if (!buffered_) return {};
    return std::span<const Sample>(buf_).subspan(pos_ - starts_[span_]);
  }

 private:
  // Loads the span holding sample i and sits on it; false past the end.
  bool Load(size_t i) {
    started_ = true;
    std::fill(buf_.begin(), buf_.end(), Sample{-1, 12345.0});
    if (i >= all_->size()) {
      span_ = starts_.size() - 1;
      return false;
    }
    span_ =
        static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), i) - starts_.begin()) -
        1;
    buf_.assign(all_->begin() + static_cast<std::ptrdiff_t>(starts_[span_]),
                all_->begin() + static_cast<std::ptrdiff_t>(starts_[span_ + 1]));
    pos_ = i;
    return true;
  }

  const std::vector<Sample>* all_;
  bool buffered_;
  std::vector<size_t> starts_;  // first sample of each span, then all_->size()
  std::vector<Sample> buf_;     // the current span's samples
  size_t span_ = 0;
  size_t pos_ = 0;
  bool started_ = false;
};

struct StoredSeries {
  Labels labels;
  std::vector<Sample> samples;
};

class SpanSeries final : public storage::Series {
 public:
  SpanSeries(const StoredSeries* s, const std::vector<size_t>* lens, bool buffered)
      : s_(s), lens_(lens), buffered_(buffered) {}
  const Labels& labels() const override { return s_->labels; }
  std::unique_ptr<storage::SampleIterator> Iterator() const override {
    return std::make_unique<SpanIterator>(&s_->samples, *lens_, buffered_);
  }

 private:
  const StoredSeries* s_;
  const std::vector<size_t>* lens_;
  bool buffered_;
};

class SpanSeriesSet final : public storage::SeriesSet {
 public:
  explicit SpanSeriesSet(std::vector<SpanSeries> series) : series_(std::move(series)) {}
  bool Next() override { return ++pos_ < series_.size(); }
  const storage::Series& At() const override { return series_[pos_]; }
  Status Err() const override { return Status::Ok(); }

 private:
  std::vector<SpanSeries> series_;
  size_t pos_ = static_cast<size_t>(-1);
};

// Series held in memory (sorted by labels), read through SpanIterators.
class SpanStorage final : public storage::Queryable, public storage::Querier {
 public:
  SpanStorage(std::vector<StoredSeries> series, std::vector<size_t> lens, bool buffered)
      : series_(std::move(series)), lens_(std::move(lens)), buffered_(buffered) {
    std::sort(series_.begin(), series_.end(),
              [](const StoredSeries& a, const StoredSeries& b) { return a.labels < b.labels; });
  }
  std::unique_ptr<storage::Querier> NewQuerier(int64_t, int64_t) override {
    return std::make_unique<Ref>(this);
  }
  std::unique_ptr<storage::SeriesSet> Select(bool, const storage::SelectHints*,
                                             const Matchers& matchers) override {
    std::vector<SpanSeries> out;
    for (const StoredSeries& s : series_) {
      bool all = std::all_of(matchers.begin(), matchers.end(),
                             [&](const Matcher& m) { return m.Matches(s.labels.Get(m.name())); });
      if (all) out.emplace_back(&s, &lens_, buffered_);
    }
    return std::make_unique<SpanSeriesSet>(std::move(out));
  }
  Result<std::vector<std::string>> LabelValues(std::string_view, const Matchers&) override {
    return std::vector<std::string>{};
  }
  Result<std::vector<std::string>> LabelNames(const Matchers&) override {
    return std::vector<std::string>{};
  }

 private:
  // A querier that forwards to the storage (the engine owns and drops its querier).
  class Ref final : public storage::Querier {
   public:
    explicit Ref(SpanStorage* s) : s_(s) {}
    std::unique_ptr<storage::SeriesSet> Select(bool sorted, const storage::SelectHints* h,
                                               const Matchers& m) override {
      return s_->Select(sorted, h, m);
    }
    Result<std::vector<std::string>> LabelValues(std::string_view n, const Matchers& m) override {
      return s_->LabelValues(n, m);
    }
    Result<std::vector<std::string>> LabelNames(const Matchers& m) override {
      return s_->LabelNames(m);
    }

   private:
    SpanStorage* s_;
  };

  std::vector<StoredSeries> series_;
  std::vector<size_t> lens_;
  bool buffered_;
};

// A counter every 15 s with resets, stale markers (one right after a reset, two in a row,
// one ending a run) and a 10-minute gap; and a gauge with a negative stretch.
std::vector<StoredSeries> TestSeries() {
  StoredSeries counter{Labels{{"__name__", "c"}, {"job", "a"}}, {}};
  double v = 0;
  for (int i = 0; i < 400; ++i) {
    const int64_t t = i * 15 * kSec;
    if (i >= 200 && i < 240) continue;  // the gap
    if (i == 37 || i == 150 || i == 151 || i == 299 || i == 300) {
      counter.samples.push_back({t, StaleNaN()});
      continue;
    }
    v = (i % 97 == 0 || i == 149) ? 1.5 : v + static_cast<double>(i % 7) * 0.25;
    counter.samples.push_back({t, v});
  }
  StoredSeries gauge{Labels{{"__name__", "g"}, {"job", "b"}}, {}};
  for (int i = 0; i < 400; i += 1 + i % 3) {
    const int64_t t = i * 15 * kSec + (i % 5) * kSec;
    gauge.samples.push_back({t, i == 123 ? StaleNaN() : std::sin(i * 0.1) * 100 - 20});
  }
  return {counter, gauge};
}

// Bit-exact comparison of two range results.
void ExpectSameBits(const QueryResult& got, const QueryResult& want, const std::string& what) {
  const auto& g = std::get<Matrix>(got.value);
  const auto& w = std::get<Matrix>(want.value);
  ASSERT_EQ(g.size(), w.size()) << what;
  for (size_t i = 0; i < g.size(); ++i) {
    EXPECT_EQ(g[i].labels, w[i].labels) << what;
    ASSERT_EQ(g[i].points.size(), w[i].points.size()) << what << " series " << i;
    for (size_t k = 0; k < g[i].points.size(); ++k) {
      EXPECT_EQ(g[i].points[k].t, w[i].points[k].t) << what;
      EXPECT_EQ(std::bit_cast<uint64_t>(g[i].points[k].v),
                std::bit_cast<uint64_t>(w[i].points[k].v))
          << what << " at " << g[i].points[k].t << ": " << g[i].points[k].v << " vs "
          << w[i].points[k].v;
    }
  }
  EXPECT_EQ(got.stats.total_queryable_samples, want.stats.total_queryable_samples) << what;
  EXPECT_EQ(got.stats.peak_samples, want.stats.peak_samples) << what;
}

TEST(RangeWindowTest, SpansGiveTheSameBitsAsSampleBySampleReads) {
  const std::vector<std::string> queries = {"rate(c[1m])",
                                            "increase(c[5m])",
                                            "resets(c[2m])",
                                            "irate(c[1m])",
                                            "sum_over_time(g[90s])",
                                            "count_over_time(c[45s])",
                                            "last_over_time(c[1m])",
                                            "max_over_time(g[3m])",
                                            "deriv(g[2m])",
                                            "changes(c[4m])",
                                            "quantile_over_time(0.3, g[3m])",
                                            "sum by (job) (rate(c[5m]))",
                                            "rate(c[1m] offset 2m)",
                                            "avg_over_time({job=~\"a|b\"}[10m])",
                                            "delta(g[20s])"};
  const std::vector<std::vector<size_t>> cuts = {{1},         {2},  {3, 5},  {7},
                                                 {16, 1, 40}, {64}, {100000}};
  const int64_t steps[] = {15 * kSec, 10 * kSec, 60 * kSec, 7 * kSec};
  Engine engine;
  SpanStorage reference(TestSeries(), {1}, false);
  for (const std::string& q : queries) {
    for (int64_t step : steps) {
      auto want = engine.Range(reference, q, 0, 420 * 15 * kSec, step);
      ASSERT_TRUE(want.ok()) << q << ": " << want.status().ToString();
      ASSERT_FALSE(std::get<Matrix>(want->value).empty()) << q;
      for (const auto& c : cuts) {
        SpanStorage spans(TestSeries(), c, true);
        auto got = engine.Range(spans, q, 0, 420 * 15 * kSec, step);
        ASSERT_TRUE(got.ok()) << q << ": " << got.status().ToString();
        ExpectSameBits(*got, *want,
                       q + " step " + std::to_string(step) + " first span " + std::to_string(c[0]));
      }
    }
  }
}

// count_over_time and resets of a counter 0, 1, ..., 9 every 10 s, read in spans of 4: a
// 35 s window (4 samples) straddles a span end at every other step.
TEST(RangeWindowTest, WindowAcrossTwoSpans) {
  StoredSeries s{Labels{{"__name__", "m"}}, {}};
  for (int i = 0; i < 10; ++i) s.samples.push_back({i * 10 * kSec, i == 6 ? 0.5 : i * 1.0});
  SpanStorage spans({s}, {4}, true);
  Engine engine;
  auto r = engine.Range(spans, "count_over_time(m[35s])", 30 * kSec, 90 * kSec, 10 * kSec);
  ASSERT_TRUE(r.ok());
  const auto& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].points.size(), 7u);
  for (const Point& p : m[0].points) EXPECT_EQ(p.v, 4) << p.t;
  // The drop at 60 s (5 -> 0.5) counts in the windows holding 50 s and 60 s (ending at
  // 60..80 s); from 90 s on, 60 s is the window's first sample.
  r = engine.Range(spans, "resets(m[35s])", 30 * kSec, 90 * kSec, 10 * kSec);
  ASSERT_TRUE(r.ok());
  const auto& res = std::get<Matrix>(r->value);
  ASSERT_EQ(res.size(), 1u);
  std::vector<double> got;
  for (const Point& p : res[0].points) got.push_back(p.v);
  EXPECT_EQ(got, (std::vector<double>{0, 0, 0, 1, 1, 1, 0}));
  // rate, as read sample by sample.
  SpanStorage one({s}, {1}, false);
  auto a = engine.Range(spans, "rate(m[35s])", 30 * kSec, 90 * kSec, 10 * kSec);
  auto b = engine.Range(one, "rate(m[35s])", 30 * kSec, 90 * kSec, 10 * kSec);
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectSameBits(*a, *b, "rate over spans of 4");
}

// A stale marker in the middle of one span: the windows holding it leave it out (and are
// copies), the ones before and after it are views; none of them counts it.
TEST(RangeWindowTest, StaleMarkerInsideASpan) {
  StoredSeries s{Labels{{"__name__", "m"}}, {}};
  for (int i = 0; i < 20; ++i) {
    s.samples.push_back({i * 10 * kSec, i == 9 ? StaleNaN() : 100.0 - i});
  }
  SpanStorage spans({s}, {1000}, true);
  Engine engine;
  auto r = engine.Range(spans, "count_over_time(m[25s])", 30 * kSec, 190 * kSec, 10 * kSec);
  ASSERT_TRUE(r.ok());
  const auto& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  for (const Point& p : m[0].points) {
    const bool holds_marker = p.t >= 90 * kSec && p.t < 115 * kSec;
    EXPECT_EQ(p.v, holds_marker ? 2 : 3) << p.t;
  }
  // Every value drops: each window of n samples has n - 1 resets, the marker skipped.
  r = engine.Range(spans, "resets(m[25s])", 30 * kSec, 190 * kSec, 10 * kSec);
  ASSERT_TRUE(r.ok());
  for (const Point& p : std::get<Matrix>(r->value)[0].points) {
    const bool holds_marker = p.t >= 90 * kSec && p.t < 115 * kSec;
    EXPECT_EQ(p.v, holds_marker ? 1 : 2) << p.t;
  }
  EXPECT_EQ(r->stats.total_queryable_samples, 17u * 3 - 3);
}

// The head's iterator hands out spans of up to 128 decoded samples, across its chunks' ends:
// windows over the head, many of them across a span's end, against sample-by-sample reads.
TEST(RangeWindowTest, WindowsOverHeadSpansMatchSampleBySampleReads) {
  std::vector<StoredSeries> series = TestSeries();
  auto head = std::move(tsdb::Head::Open({})).value();
  auto app = head->NewAppender();
  for (const StoredSeries& s : series) {
    for (const Sample& smp : s.samples) ASSERT_TRUE(app->Append(0, s.labels, smp.t, smp.v).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  SpanStorage reference(series, {1}, false);
  Engine engine;
  for (const std::string q : {"rate(c[5m])", "resets(c[2m])", "count_over_time(c[45s])",
                              "sum_over_time(g[90s])", "max_over_time(g[40m])"}) {
    for (int64_t step : {15 * kSec, 60 * kSec}) {
      auto want = engine.Range(reference, q, 0, 420 * 15 * kSec, step);
      auto got = engine.Range(*head, q, 0, 420 * 15 * kSec, step);
      ASSERT_TRUE(want.ok() && got.ok()) << q;
      ExpectSameBits(*got, *want, q + " over the head, step " + std::to_string(step));
    }
  }
}

// A range query over [0, end] against the instant query at each of its steps: every instant
// sample is the range's point at that step, to the bit, and the range has no other points.
void ExpectRangeMatchesInstantPerStep(Engine& engine, storage::Queryable& storage,
                                      const std::string& q, int64_t end, int64_t step) {
  auto range = engine.Range(storage, q, 0, end, step);
  ASSERT_TRUE(range.ok()) << q << ": " << range.status().ToString();
  const auto& m = std::get<Matrix>(range->value);
  ASSERT_FALSE(m.empty()) << q;
  size_t points = 0, instant_points = 0;
  for (const Series& s : m) points += s.points.size();
  for (int64_t ts = 0; ts <= end; ts += step) {
    auto inst = engine.Instant(storage, q, ts);
    ASSERT_TRUE(inst.ok()) << q;
    for (const VectorSample& v : std::get<Vector>(inst->value)) {
      ++instant_points;
      auto s =
          std::find_if(m.begin(), m.end(), [&](const Series& x) { return x.labels == v.labels; });
      ASSERT_NE(s, m.end()) << q << " at " << ts;
      auto p = std::find_if(s->points.begin(), s->points.end(),
                            [&](const Point& x) { return x.t == ts; });
      ASSERT_NE(p, s->points.end()) << q << " at " << ts;
      EXPECT_EQ(std::bit_cast<uint64_t>(p->v), std::bit_cast<uint64_t>(v.v))
          << q << " at " << ts << ": " << p->v << " vs " << v.v;
    }
  }
  // No step has a value the instant query lacks (e.g. windows of one sample have no rate).
  EXPECT_EQ(points, instant_points) << q << " step " << step;
}

// rate, increase and delta run in range evaluation with extrapolatedRate inlined into the
// loop over steps; an instant query calls them through the function table. Over counter
// resets (one inside most windows), stale markers, a gap, windows of one sample at the gap's
// edges and both extrapolation cases, every step must agree to the bit.
TEST(RangeWindowTest, InlinedRateMatchesTheTablePerStep) {
  SpanStorage spans(TestSeries(), {16, 1, 40}, true);
  Engine engine;
  for (const std::string q : {"rate(c[1m])", "increase(c[5m])", "delta(g[20s])", "rate(c[31s])",
                              "increase(g[2m])", "sum by (job) (rate(c[45s]))",
                              "sum by (__name__) (rate(c[1m]))", "max without (job) (delta(g[1m]))",
                              "count by (__name__, job) (increase({job=~\"a|b\"}[2m]))"}) {
    for (int64_t step : {15 * kSec, 7 * kSec}) {
      ASSERT_NO_FATAL_FAILURE(
          ExpectRangeMatchesInstantPerStep(engine, spans, q, 420 * 15 * kSec, step));
    }
  }
}

// A window of a single sample has no rate; two samples have one.
TEST(RangeWindowTest, RateNeedsTwoSamples) {
  StoredSeries s{Labels{{"__name__", "m"}}, {}};
  s.samples = {{0, 1}, {60 * kSec, 2}, {70 * kSec, 4}};
  SpanStorage spans({s}, {2}, true);
  Engine engine;
  auto r = engine.Range(spans, "increase(m[30s])", 0, 90 * kSec, 10 * kSec);
  ASSERT_TRUE(r.ok());
  const auto& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  // The windows [t - 30 s, t] at 0..30 s and at 60 s hold one sample, those at 40 s and 50 s
  // none; from 70 s to 90 s (whose window starts at 60 s itself) they hold 60 s and 70 s.
  std::vector<int64_t> ts;
  for (const Point& p : m[0].points) ts.push_back(p.t);
  EXPECT_EQ(ts, (std::vector<int64_t>{70 * kSec, 80 * kSec, 90 * kSec}));
}

// The sample limit counts each step's window while it is held: a limit equal to the peak
// passes, one below it fails, for the inlined rate and a function called through the table.
TEST(RangeWindowTest, SampleLimitExactlyAtThePeak) {
  SpanStorage spans(TestSeries(), {7}, true);
  for (const std::string q : {"rate(c[5m])", "sum by (job) (increase(c[5m]))", "resets(c[5m])"}) {
    Engine unlimited;
    auto r = unlimited.Range(spans, q, 0, 420 * 15 * kSec, 60 * kSec);
    ASSERT_TRUE(r.ok()) << q;
    const uint64_t peak = r->stats.peak_samples;
    ASSERT_GT(peak, 20u) << q;
    EngineOptions at_peak;
    at_peak.max_samples = peak;
    auto ok = Engine(at_peak).Range(spans, q, 0, 420 * 15 * kSec, 60 * kSec);
    ASSERT_TRUE(ok.ok()) << q << ": " << ok.status().ToString();
    EXPECT_EQ(ok->stats.peak_samples, peak) << q;
    EngineOptions below;
    below.max_samples = peak - 1;
    auto fail = Engine(below).Range(spans, q, 0, 420 * 15 * kSec, 60 * kSec);
    ASSERT_FALSE(fail.ok()) << q;
    EXPECT_EQ(fail.status().code(), StatusCode::kResourceExhausted) << q;
  }
}

// Histograms with the edge cases of histogram_quantile: a duplicated bound ("1" and "1.0"), a
// bucket missing for a while, a count that falls at a higher bound, a NaN bound, a bound
// that is not a number, no +Inf bucket, a single bucket; and a quantile that leaves [0, 1]
// and is NaN at some steps.
std::vector<StoredSeries> HistogramSeries() {
  std::vector<StoredSeries> out;
  auto add = [&](const std::string& job, const std::string& le, double per_step, int skip_from,
                 int skip_to) {
    StoredSeries s{Labels{{"__name__", "h"}, {"job", job}, {"le", le}}, {}};
    for (int i = 0; i <= 40; ++i) {
      if (i >= skip_from && i < skip_to) continue;
      s.samples.push_back({i * 15 * kSec, per_step * i + (i % 7 == 3 ? 9 : 0)});
    }
    out.push_back(std::move(s));
  };
  add("a", "0.1", 1, 0, 0);
  add("a", "0.5", 3, 10, 20);
  add("a", "1", 4, 0, 0);
  add("a", "1.0", 0.5, 0, 0);
  add("a", "+Inf", 6, 0, 0);
  add("b", "1", 2, 0, 0);
  add("b", "NaN", 1, 0, 0);
  add("b", "+Inf", 3, 25, 30);
  add("b", "abc", 5, 0, 0);
  add("c", "0.1", 1, 0, 0);
  add("c", "1", 2, 0, 0);
  add("d", "+Inf", 2, 0, 0);
  StoredSeries q{Labels{{"__name__", "qv"}}, {}};
  const double qs[] = {0.5, -1, 2, std::nan(""), 0.99, 0, 1};
  for (int i = 0; i <= 40; ++i) q.samples.push_back({i * 15 * kSec, qs[i % 7]});
  out.push_back(std::move(q));
  return out;
}

// histogram_quantile over a range reads each bucket series' bound and histogram once; every
// step must be the instant query's, to the bit.
TEST(RangeWindowTest, SteppedHistogramQuantileMatchesInstantPerStep) {
  SpanStorage storage(HistogramSeries(), {100000}, true);
  Engine engine;
  for (const std::string q :
       {"histogram_quantile(0.9, h)", "histogram_quantile(scalar(qv), h)",
        "histogram_quantile(0.3, rate(h[1m]))", "histogram_quantile(0.75, sum by (le) (h))",
        "histogram_quantile(0.5, h{job=~\"a|c\"}) * 2"}) {
    for (int64_t step : {15 * kSec, 10 * kSec}) {
      ASSERT_NO_FATAL_FAILURE(
          ExpectRangeMatchesInstantPerStep(engine, storage, q, 40 * 15 * kSec, step));
    }
  }
  // Two histograms whose labels coincide once the name is dropped: an error at a step both
  // have a value, as in the instant query.
  std::vector<StoredSeries> series = HistogramSeries();
  StoredSeries other{Labels{{"__name__", "h2"}, {"job", "d"}, {"le", "+Inf"}}, {}};
  other.samples.push_back({20 * 15 * kSec, 1});
  series.push_back(other);
  SpanStorage dup(std::move(series), {100000}, true);
  const std::string q = "histogram_quantile(0.5, {__name__=~\"h|h2\", job=\"d\"})";
  auto range = engine.Range(dup, q, 0, 40 * 15 * kSec, 15 * kSec);
  auto inst = engine.Instant(dup, q, 20 * 15 * kSec);
  ASSERT_FALSE(range.ok());
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(range.status().message(), inst.status().message());
  EXPECT_NE(range.status().message().find("same labelset"), std::string::npos);
  // Before that step only h has a value.
  EXPECT_TRUE(engine.Range(dup, q, 0, 19 * 15 * kSec, 15 * kSec).ok());
}

}  // namespace
}  // namespace zw::promql
