#include "tsdb/downsample/downsample.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tsdb/downsample/aggregate.h"
#include "tsdb/downsample/querier.h"
#include "tsdb/downsample/test_util.h"

namespace zw::tsdb {
namespace {

using testing_util::Downsample;
using testing_util::ReadAll;
using testing_util::WriteRawBlock;

constexpr int64_t kT0 = 1699999200000;  // a multiple of one hour
constexpr int64_t kSpan = 6 * kResolution1h;

Matcher Eq(std::string name, std::string value) {
  return Matcher::MustMake(MatchType::kEqual, std::move(name), std::move(value));
}

class DownsampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = fs::NewMemFileSystem();
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(0, 1);
    for (int i = 0; i < 6; ++i) {
      bool counter = i % 2 == 0;
      Labels l{{"__name__", counter ? "reqs_total" : "temp"},
               {"instance", std::to_string(i)},
               {"job", i < 3 ? "a" : "b"}};
      std::vector<Sample>& s = raw_[l];
      double v = 0;
      for (int64_t t = kT0 + 1234; t < kT0 + kSpan;
           t += 15000 + static_cast<int64_t>(u(rng) * 500)) {
        if (counter) {
          v = u(rng) < 0.01 ? 0 : v + std::floor(u(rng) * 10);
        } else {
          v = u(rng) * 100;
        }
        s.push_back({t, u(rng) < 0.005 ? StaleNaN() : v});
      }
    }
    raw_block_ = WriteRawBlock(fs_.get(), "/blocks", raw_, kT0, kT0 + kSpan);
    ASSERT_NE(raw_block_, nullptr);
  }

  std::unique_ptr<fs::FileSystem> fs_;
  std::map<Labels, std::vector<Sample>> raw_;
  std::shared_ptr<Block> raw_block_;
};

TEST_F(DownsampleTest, FiveMinuteBlockHoldsTheAggregatesOfEverySeries) {
  auto ds = Downsample(fs_.get(), "/blocks", *raw_block_, kResolution5m);
  ASSERT_NE(ds, nullptr);
  const BlockMeta& m = ds->meta();
  EXPECT_EQ(m.resolution_ms, kResolution5m);
  EXPECT_EQ(m.min_time, raw_block_->meta().min_time);
  EXPECT_EQ(m.max_time, raw_block_->meta().max_time);
  EXPECT_EQ(m.level, raw_block_->meta().level);
  EXPECT_EQ(m.sources, raw_block_->meta().sources);
  EXPECT_EQ(m.parents, std::vector<std::string>{raw_block_->meta().ulid});
  EXPECT_EQ(m.num_series, 3 * 5 + 3 * 4);

  auto q = ds->NewQuerier(kMinTime, kMaxTime);
  auto stored = ReadAll(*q, nullptr, {Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+")});
  size_t checked = 0;
  for (const auto& [labels, samples] : raw_) {
    bool counter = DefaultIsCounter(labels);
    Aggregates want = AggregateRaw(samples, kResolution5m, counter);
    for (Aggr a : kAllAggrs) {
      Labels l = LabelsBuilder(labels).Set(kAggrLabel, AggrName(a)).Build();
      auto it = stored.find(l);
      if (a == Aggr::kCounter && !counter) {
        EXPECT_EQ(it, stored.end()) << l.ToString();
        continue;
      }
      ASSERT_NE(it, stored.end()) << l.ToString();
      ASSERT_EQ(it->second.size(), want.Of(a).size()) << l.ToString();
      for (size_t i = 0; i < it->second.size(); ++i) {
        EXPECT_EQ(it->second[i].t, want.Of(a)[i].t);
        EXPECT_EQ(it->second[i].v, want.Of(a)[i].v);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, stored.size());
}

TEST_F(DownsampleTest, OneHourFromFiveMinutesEqualsOneHourFromRaw) {
  auto five = Downsample(fs_.get(), "/blocks", *raw_block_, kResolution5m);
  ASSERT_NE(five, nullptr);
  auto hour = Downsample(fs_.get(), "/blocks", *five, kResolution1h);
  ASSERT_NE(hour, nullptr);
  EXPECT_EQ(hour->meta().resolution_ms, kResolution1h);
  EXPECT_EQ(hour->meta().parents, std::vector<std::string>{five->meta().ulid});
  EXPECT_EQ(hour->meta().sources, raw_block_->meta().sources);

  auto q = hour->NewQuerier(kMinTime, kMaxTime);
  auto stored = ReadAll(*q, nullptr, {Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+")});
  size_t expected = 0;
  for (const auto& [labels, samples] : raw_) {
    bool counter = DefaultIsCounter(labels);
    Aggregates want = AggregateRaw(samples, kResolution1h, counter);
    for (Aggr a : kAllAggrs) {
      if (a == Aggr::kCounter && !counter) continue;
      ++expected;
      Labels l = LabelsBuilder(labels).Set(kAggrLabel, AggrName(a)).Build();
      const std::vector<Sample>& got = stored[l];
      ASSERT_EQ(got.size(), want.Of(a).size()) << l.ToString();
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].t, want.Of(a)[i].t);
        EXPECT_NEAR(got[i].v, want.Of(a)[i].v, 1e-12 * std::max(1.0, std::fabs(want.Of(a)[i].v)))
            << l.ToString() << " #" << i;
      }
    }
  }
  EXPECT_EQ(stored.size(), expected);
}

TEST_F(DownsampleTest, DeletedSamplesAreLeftOut) {
  const int64_t del_min = kT0 + kResolution1h, del_max = kT0 + 2 * kResolution1h;
  ASSERT_TRUE(raw_block_->Delete(del_min, del_max, {Eq("__name__", "temp")}).ok());
  auto ds = Downsample(fs_.get(), "/blocks", *raw_block_, kResolution5m);
  ASSERT_NE(ds, nullptr);
  auto q = ds->NewQuerier(kMinTime, kMaxTime);
  for (const auto& [labels, samples] : raw_) {
    std::vector<Sample> kept;
    for (const Sample& s : samples) {
      if (labels.MetricName() != "temp" || s.t < del_min || s.t > del_max) kept.push_back(s);
    }
    Aggregates want = AggregateRaw(kept, kResolution5m, false);
    Matchers ms;
    for (const Label& l : labels) ms.push_back(Eq(std::string(l.name), std::string(l.value)));
    ms.push_back(Eq("__zw_aggr__", "count"));
    auto got = ReadAll(*q, nullptr, ms);
    ASSERT_EQ(got.size(), 1u) << labels.ToString();
    EXPECT_EQ(got.begin()->second, want.count) << labels.ToString();
  }
}

TEST_F(DownsampleTest, BlockOfOnlyStaleMarkersWritesNothing) {
  std::map<Labels, std::vector<Sample>> raw = {
      {Labels{{"__name__", "gone"}}, {{kT0 + 1, StaleNaN()}, {kT0 + 2, StaleNaN()}}}};
  auto block = WriteRawBlock(fs_.get(), "/stale", raw, kT0, kT0 + kSpan);
  ASSERT_NE(block, nullptr);
  auto r = DownsampleBlock(fs_.get(), "/stale", *block, kResolution5m, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ulid.empty());
  EXPECT_EQ(r->num_series, 0u);
}

TEST_F(DownsampleTest, RejectsOtherResolutionPairs) {
  auto bad = DownsampleBlock(fs_.get(), "/blocks", *raw_block_, kResolution1h, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("3600000"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(DownsampleBlock(fs_.get(), "/blocks", *raw_block_, 60000, nullptr).ok());
  auto five = Downsample(fs_.get(), "/blocks", *raw_block_, kResolution5m);
  ASSERT_NE(five, nullptr);
  EXPECT_EQ(DownsampleBlock(fs_.get(), "/blocks", *five, kResolution5m, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  auto hour = Downsample(fs_.get(), "/blocks", *five, kResolution1h);
  ASSERT_NE(hour, nullptr);
  EXPECT_EQ(DownsampleBlock(fs_.get(), "/blocks", *hour, kResolution1h, nullptr).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(DownsampleTest, RawSeriesWithTheReservedLabelIsRejected) {
  std::map<Labels, std::vector<Sample>> raw = {
      {Labels{{"__name__", "x"}, {"__zw_aggr__", "sum"}}, {{kT0 + 1, 1}}}};
  auto block = WriteRawBlock(fs_.get(), "/other", raw, kT0, kT0 + kSpan);
  ASSERT_NE(block, nullptr);
  auto r = DownsampleBlock(fs_.get(), "/other", *block, kResolution5m, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("__zw_aggr__"), std::string::npos);
}

TEST_F(DownsampleTest, FiveMinuteSeriesWithoutAggregateLabelIsRejected) {
  std::map<Labels, std::vector<Sample>> five = {
      {Labels{{"__name__", "x"}, {"__zw_aggr__", "sum"}}, {{kT0 + 1, 1}}},
      {Labels{{"__name__", "y"}}, {{kT0 + 1, 1}}}};
  auto block = WriteRawBlock(fs_.get(), "/five", five, kT0, kT0 + kSpan, kResolution5m);
  ASSERT_NE(block, nullptr);
  auto r = DownsampleBlock(fs_.get(), "/five", *block, kResolution1h, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("series y{}"), std::string::npos) << r.status().message();
  // Nothing but the source is left in the directory.
  auto entries = fs_->ListDir("/five");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 1u);
}

TEST_F(DownsampleTest, CallerPredicateDecidesWhichSeriesAreCounters) {
  auto meta = DownsampleBlock(fs_.get(), "/pred", *raw_block_, kResolution5m,
                              [](const Labels& l) { return l.MetricName() == "temp"; });
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  auto block = Block::Open(fs_.get(), fs::JoinPath("/pred", meta->ulid));
  ASSERT_TRUE(block.ok());
  auto q = (*block)->NewQuerier(kMinTime, kMaxTime);
  auto temp = ReadAll(*q, nullptr, {Eq("__name__", "temp"), Eq("__zw_aggr__", "counter")});
  auto reqs = ReadAll(*q, nullptr, {Eq("__name__", "reqs_total"), Eq("__zw_aggr__", "counter")});
  EXPECT_EQ(temp.size(), 3u);
  EXPECT_TRUE(reqs.empty());
}

TEST_F(DownsampleTest, QuerierHidesTheAggregateLabelAndPicksByFunction) {
  auto ds = Downsample(fs_.get(), "/blocks", *raw_block_, kResolution5m);
  ASSERT_NE(ds, nullptr);
  auto q = NewDownsampledQuerier(ds, kMinTime, kMaxTime);
  Matchers all = {Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+")};

  auto names = q->LabelNames({});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"__name__", "instance", "job"}));
  auto values = q->LabelValues("__zw_aggr__", {});
  ASSERT_TRUE(values.ok());
  EXPECT_TRUE(values->empty());
  auto jobs = q->LabelValues("job", {Eq("__name__", "temp")});
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(*jobs, (std::vector<std::string>{"a", "b"}));

  storage::SelectHints max_hints;
  max_hints.func = "max_over_time";
  max_hints.range = kResolution1h;
  std::vector<Labels> order;
  auto maxes = ReadAll(*q, &max_hints, all, &order);
  ASSERT_EQ(maxes.size(), raw_.size());
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  for (const auto& [labels, samples] : raw_) {
    ASSERT_TRUE(maxes.contains(labels)) << labels.ToString();
    EXPECT_FALSE(labels.Has(kAggrLabel));
    Aggregates want = AggregateRaw(samples, kResolution5m, false);
    ASSERT_EQ(maxes[labels].size(), want.max.size());
    for (size_t i = 0; i < want.max.size(); ++i) EXPECT_EQ(maxes[labels][i].v, want.max[i].v);
  }

  // No hints: sum / count per window.
  auto avgs = ReadAll(*q, nullptr, all);
  for (const auto& [labels, samples] : raw_) {
    Aggregates want = AggregateRaw(samples, kResolution5m, false);
    const std::vector<Sample>& got = avgs[labels];
    ASSERT_EQ(got.size(), want.sum.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].t, want.sum[i].t);
      EXPECT_DOUBLE_EQ(got[i].v, want.sum[i].v / want.count[i].v);
    }
  }

  // rate: the counter series where there is one, else the average.
  storage::SelectHints rate_hints;
  rate_hints.func = "rate";
  auto rates = ReadAll(*q, &rate_hints, all);
  ASSERT_EQ(rates.size(), raw_.size());
  for (const auto& [labels, samples] : raw_) {
    bool counter = DefaultIsCounter(labels);
    Aggregates want = AggregateRaw(samples, kResolution5m, counter);
    const std::vector<Sample>& got = rates[labels];
    if (counter) {
      ASSERT_EQ(got.size(), want.counter.size());
      for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].v, want.counter[i].v);
    } else {
      EXPECT_EQ(got, avgs[labels]);
    }
  }
}

TEST_F(DownsampleTest, QuerierTreatsUserAggregateMatchersAsOnAMissingLabel) {
  auto ds = Downsample(fs_.get(), "/blocks", *raw_block_, kResolution5m);
  ASSERT_NE(ds, nullptr);
  auto q = NewDownsampledQuerier(ds, kMinTime, kMaxTime);
  EXPECT_TRUE(ReadAll(*q, nullptr, {Eq("__name__", "temp"), Eq("__zw_aggr__", "max")}).empty());
  EXPECT_EQ(ReadAll(*q, nullptr, {Eq("__name__", "temp"), Eq("__zw_aggr__", "")}).size(), 3u);
  EXPECT_EQ(ReadAll(*q, nullptr,
                    {Eq("__name__", "temp"),
                     Matcher::MustMake(MatchType::kNotEqual, "__zw_aggr__", "max")})
                .size(),
            3u);
  auto names = q->LabelNames({Eq("__zw_aggr__", "sum")});
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST_F(DownsampleTest, QuerierClipsToItsRange) {
  auto ds = Downsample(fs_.get(), "/blocks", *raw_block_, kResolution5m);
  ASSERT_NE(ds, nullptr);
  int64_t mint = kT0 + kResolution1h, maxt = kT0 + 2 * kResolution1h;
  auto q = NewDownsampledQuerier(ds, mint, maxt);
  auto got = ReadAll(*q, nullptr, {Eq("__name__", "temp")});
  ASSERT_EQ(got.size(), 3u);
  for (const auto& [labels, samples] : got) {
    ASSERT_FALSE(samples.empty());
    EXPECT_GE(samples.front().t, mint);
    EXPECT_LE(samples.back().t, maxt);
  }
}

TEST(ResolutionFitsTest, Rule) {
  auto hints = [](std::string func, int64_t range, int64_t step) {
    storage::SelectHints h;
    h.func = std::move(func);
    h.range = range;
    h.step = step;
    return h;
  };
  const int64_t r = kResolution5m;
  auto fits = [&](std::string f, int64_t range, int64_t step, int64_t res) {
    storage::SelectHints h = hints(std::move(f), range, step);
    return ResolutionFits(&h, res);
  };
  EXPECT_FALSE(ResolutionFits(nullptr, r));
  EXPECT_TRUE(ResolutionFits(nullptr, 0));
  EXPECT_FALSE(fits("", 0, r, r));          // plain selector
  EXPECT_FALSE(fits("abs", 0, 10 * r, r));  // function over a plain selector
  EXPECT_FALSE(fits("count_over_time", 12 * r, 12 * r, r));
  EXPECT_TRUE(fits("max_over_time", r, r, r));
  EXPECT_TRUE(fits("min_over_time", 12 * r, 12 * r, r));
  EXPECT_TRUE(fits("sum_over_time", r, 2 * r, r));
  EXPECT_TRUE(fits("avg_over_time", r, r, r));
  EXPECT_FALSE(fits("max_over_time", r - 1, r, r));
  EXPECT_FALSE(fits("max_over_time", r, r - 1, r));
  EXPECT_FALSE(fits("quantile_over_time", 12 * r, 12 * r, r));
  EXPECT_FALSE(fits("stddev_over_time", 12 * r, 12 * r, r));
  EXPECT_FALSE(fits("last_over_time", 12 * r, 12 * r, r));
  EXPECT_TRUE(fits("rate", 2 * r, r, r));
  EXPECT_FALSE(fits("rate", 2 * r - 1, r, r));
  EXPECT_FALSE(fits("rate", 2 * r, r - 1, r));
  EXPECT_TRUE(fits("increase", 6 * kResolution1h, kResolution1h, kResolution1h));
  EXPECT_FALSE(fits("increase", kResolution1h, kResolution1h, kResolution1h));
  EXPECT_TRUE(fits("irate", 2 * r, r, r));
  EXPECT_TRUE(fits("resets", 2 * r, r, r));
  EXPECT_FALSE(fits("changes", 12 * r, 12 * r, r));
  EXPECT_FALSE(fits("rate", 12 * r, 0, r));  // instant query
}

TEST(AggrForHintsTest, Mapping) {
  bool avg = false;
  storage::SelectHints h;
  EXPECT_EQ(AggrForHints(nullptr, &avg), Aggr::kSum);
  EXPECT_TRUE(avg);
  h.func = "min_over_time";
  EXPECT_EQ(AggrForHints(&h, &avg), Aggr::kMin);
  EXPECT_FALSE(avg);
  h.func = "count_over_time";
  EXPECT_EQ(AggrForHints(&h, &avg), Aggr::kCount);
  h.func = "increase";
  EXPECT_EQ(AggrForHints(&h, &avg), Aggr::kCounter);
  EXPECT_FALSE(avg);
  h.func = "avg_over_time";
  EXPECT_EQ(AggrForHints(&h, &avg), Aggr::kSum);
  EXPECT_TRUE(avg);
}

}  // namespace
}  // namespace zw::tsdb
