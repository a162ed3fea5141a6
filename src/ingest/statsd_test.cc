#include "ingest/statsd.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/sample.h"
#include "ingest/log_buckets.h"
#include "storage/series_set.h"
#include "tsdb/head.h"

namespace zw::ingest {
namespace {

class StatsdTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset({}); }

  void Reset(StatsdOptions o) {
    agg_.reset();
    auto h = tsdb::Head::Open({});
    ASSERT_TRUE(h.ok());
    head_ = std::move(h).value();
    agg_ = std::make_unique<StatsdAggregator>(head_.get(), std::move(o));
  }

  StatsdFlushResult Flush(int64_t t) {
    auto r = agg_->Flush(t);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : StatsdFlushResult{};
  }

  std::vector<Sample> Samples(const Labels& ls) { return storage::ReadExact(*head_, ls); }

  // The value at time t of the series `ls`, or NaN when there is no sample then.
  double At(const Labels& ls, int64_t t) {
    for (const Sample& s : Samples(ls)) {
      if (s.t == t) return s.v;
    }
    return std::nan("");
  }

  std::unique_ptr<tsdb::Head> head_;
  std::unique_ptr<StatsdAggregator> agg_;
};

Labels Series(std::string_view name,
              std::initializer_list<std::pair<std::string_view, std::string_view>> extra = {}) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs(extra);
  pairs.emplace_back("__name__", name);
  bool has_job = false;
  for (auto& [k, v] : pairs) has_job = has_job || k == "job";
  if (!has_job) pairs.emplace_back("job", "statsd");
  return Labels::FromPairs(std::move(pairs));
}

TEST_F(StatsdTest, CountersAreRunningTotalsScaledBySampleRate) {
  agg_->Ingest("api.requests:1|c|@0.5\napi.requests:2|c");
  Flush(1000);
  EXPECT_EQ(At(Series("api_requests_total"), 1000), 4);  // 1/0.5 + 2
  agg_->Ingest("api.requests:1|c");
  Flush(2000);
  Flush(3000);  // no lines: the total is written again, unchanged
  EXPECT_EQ(Samples(Series("api_requests_total")),
            (std::vector<Sample>{{1000, 4}, {2000, 5}, {3000, 5}}));
  ASSERT_TRUE(head_->Metadata("api_requests_total").has_value());
  EXPECT_EQ(head_->Metadata("api_requests_total")->type, MetricType::kCounter);
}

TEST_F(StatsdTest, CounterNameKeepsAnExistingTotalSuffix) {
  agg_->Ingest("jobs_total:3|c");
  Flush(1000);
  EXPECT_EQ(At(Series("jobs_total"), 1000), 3);
}

TEST_F(StatsdTest, GaugesSetAndAdjust) {
  agg_->Ingest("queue:10|g\nqueue:+5|g\nqueue:-3|g\nfresh:-4|g");
  Flush(1000);
  EXPECT_EQ(At(Series("queue"), 1000), 12);
  EXPECT_EQ(At(Series("fresh"), 1000), -4);  // relative to an unknown gauge: from 0
  agg_->Ingest("queue:-2|g");
  Flush(2000);
  EXPECT_EQ(At(Series("queue"), 2000), 10);  // relative to the previous interval's value
  agg_->Ingest("queue:+1|g\nqueue:7|g");
  Flush(3000);
  EXPECT_EQ(At(Series("queue"), 3000), 7);  // an absolute value replaces earlier changes
  Flush(4000);
  EXPECT_EQ(At(Series("queue"), 4000), 7);  // a gauge keeps its value
  EXPECT_EQ(head_->Metadata("queue")->type, MetricType::kGauge);
}

TEST_F(StatsdTest, TimersBecomeSecondsHistograms) {
  agg_->Ingest("db.query:100|ms\ndb.query:100|ms\ndb.query:400|ms|@0.5");
  Flush(1000);
  const double q = 0.1, r = 0.4;
  EXPECT_EQ(At(Series("db_query_seconds_count"), 1000), 4);  // 1 + 1 + 1/0.5
  EXPECT_DOUBLE_EQ(At(Series("db_query_seconds_sum"), 1000), 2 * q + 2 * r);
  EXPECT_EQ(At(Series("db_query_seconds_bucket", {{"le", "+Inf"}}), 1000), 4);
  std::string le_q = FormatLe(LogBucketBound(LogBucketIndex(q)));
  std::string below_q = FormatLe(LogBucketBound(LogBucketIndex(q) - 1));
  std::string le_r = FormatLe(LogBucketBound(LogBucketIndex(r)));
  EXPECT_EQ(At(Series("db_query_seconds_bucket", {{"le", below_q}}), 1000), 0);
  EXPECT_EQ(At(Series("db_query_seconds_bucket", {{"le", le_q}}), 1000), 2);
  EXPECT_EQ(At(Series("db_query_seconds_bucket", {{"le", le_r}}), 1000), 4);
  // Cumulative across flushes.
  agg_->Ingest("db.query:100|ms");
  Flush(2000);
  EXPECT_EQ(At(Series("db_query_seconds_bucket", {{"le", le_q}}), 2000), 3);
  EXPECT_EQ(At(Series("db_query_seconds_count"), 2000), 5);
  auto meta = head_->Metadata("db_query_seconds");
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->type, MetricType::kHistogram);
  EXPECT_EQ(meta->unit, "seconds");
}

TEST_F(StatsdTest, HistogramsAndDistributionsShareOneUnitlessHistogram) {
  agg_->Ingest("payload:512|h\npayload:2048:0|d\npayload:-1|h");
  Flush(1000);
  EXPECT_EQ(At(Series("payload_count"), 1000), 4);
  EXPECT_EQ(At(Series("payload_sum"), 1000), 2559);
  EXPECT_EQ(At(Series("payload_bucket", {{"le", "0"}}), 1000), 2);  // 0 and -1
  EXPECT_EQ(At(Series("payload_bucket", {{"le", "512"}}), 1000), 3);
  EXPECT_EQ(At(Series("payload_bucket", {{"le", "2048"}}), 1000), 4);
}

TEST_F(StatsdTest, SetsCountDistinctValuesPerInterval) {
  agg_->Ingest("users:alice|s\nusers:bob|s\nusers:alice|s");
  agg_->Ingest("users:carol|s|@0.1");  // sample rates do not scale sets
  Flush(1000);
  EXPECT_EQ(At(Series("users"), 1000), 3);
  agg_->Ingest("users:alice|s");
  Flush(2000);
  EXPECT_EQ(At(Series("users"), 2000), 1);
  Flush(3000);
  EXPECT_EQ(At(Series("users"), 3000), 0);
}

TEST_F(StatsdTest, TagsBecomeLabels) {
  agg_->Ingest(
      "http.hits:1|c|#env:prod,region.name:eu-west,canary\n"
      "http.hits:2|c|#canary,env:prod,region.name:eu-west\n"  // same tags, other order
      "http.hits:5|c|#env:dev,job:web");
  Flush(1000);
  EXPECT_EQ(At(Series("http_hits_total",
                      {{"env", "prod"}, {"region_name", "eu-west"}, {"canary", "true"}}),
               1000),
            3);
  EXPECT_EQ(At(Series("http_hits_total", {{"env", "dev"}, {"job", "web"}}), 1000), 5);
  EXPECT_EQ(agg_->NumSeries(), 2u);
}

TEST_F(StatsdTest, EmptyJobOptionLeavesNoJobLabel) {
  StatsdOptions o;
  o.job = "";
  Reset(o);
  agg_->Ingest("x:1|g");
  Flush(1000);
  EXPECT_EQ(At(Labels{{"__name__", "x"}}, 1000), 1);
}

TEST_F(StatsdTest, BadLinesAreCountedAndTheRestOfThePacketIsKept) {
  StatsdPacketResult r = agg_->Ingest(
      "good:1|c\n"
      "bad:abc|c\n"
      "\n"
      "alsobad:1|q\n"
      "_e{2,2}:hi|yo\n"
      "_sc|check|0\n"
      "good:2|c\r\n");
  EXPECT_EQ(r.lines, 2u);
  EXPECT_EQ(r.bad, 2u);
  EXPECT_EQ(r.ignored, 2u);
  EXPECT_NE(r.first_error.find("\"bad:abc|c\": value \"abc\" is not a number"), std::string::npos)
      << r.first_error;
  StatsdFlushResult f = Flush(1000);
  EXPECT_EQ(f.bad_lines, 2u);
  EXPECT_EQ(f.first_error, r.first_error);
  EXPECT_EQ(At(Series("good_total"), 1000), 3);
  EXPECT_EQ(agg_->stats().bad_lines.load(), 2u);
  EXPECT_EQ(agg_->stats().ignored_lines.load(), 2u);
  EXPECT_EQ(agg_->stats().lines.load(), 2u);
  EXPECT_EQ(agg_->stats().packets.load(), 1u);
  EXPECT_EQ(Flush(2000).bad_lines, 0u);  // reported once, for its own interval
}

TEST_F(StatsdTest, ATypeConflictDropsTheLaterLines) {
  agg_->Ingest("mixed:5|g");
  Flush(1000);
  agg_->Ingest("mixed:x|s\nmixed:6|g");
  StatsdFlushResult f = Flush(2000);
  EXPECT_EQ(f.bad_lines, 1u);
  EXPECT_NE(f.first_error.find("is a gauge; set lines"), std::string::npos) << f.first_error;
  EXPECT_EQ(At(Series("mixed"), 2000), 6);
  // A family keeps its type across label sets: x_total is a counter, not also a gauge.
  agg_->Ingest("x:1|c|#a:1");
  Flush(3000);
  agg_->Ingest("x_total:3|g|#a:2");
  f = Flush(4000);
  EXPECT_EQ(f.bad_lines, 1u);
  EXPECT_NE(f.first_error.find("metric x_total is a counter"), std::string::npos) << f.first_error;
  EXPECT_TRUE(Samples(Series("x_total", {{"a", "2"}})).empty());
}

TEST_F(StatsdTest, SeriesBeyondTheLimitAreDroppedAndCounted) {
  StatsdOptions o;
  o.max_series = 2;
  Reset(o);
  StatsdPacketResult r = agg_->Ingest("a:1|c\nb:1|c\nc:1|c\na:1|c");
  EXPECT_EQ(r.dropped, 1u);  // the interval holds at most 2 keys
  EXPECT_EQ(r.lines, 3u);
  StatsdFlushResult f = Flush(1000);
  EXPECT_EQ(f.dropped_lines, 1u);
  EXPECT_EQ(agg_->NumSeries(), 2u);
  EXPECT_TRUE(Samples(Series("c_total")).empty());
  // Known series keep flowing; a new one is refused at the flush as well.
  agg_->Ingest("a:1|c\nd:1|g");
  f = Flush(2000);
  EXPECT_EQ(f.dropped_lines, 1u);
  EXPECT_NE(f.first_error.find("more than 2 distinct series"), std::string::npos);
  EXPECT_EQ(At(Series("a_total"), 2000), 3);
  EXPECT_EQ(agg_->stats().dropped_lines.load(), 2u);
}

TEST_F(StatsdTest, SeriesExpireWithAStalenessMarker) {
  StatsdOptions o;
  o.expire_after_ms = 5000;
  Reset(o);
  agg_->Ingest("idle:1|c\nlat:10|ms");
  Flush(1000);
  Flush(6000);  // 5 s without lines: still alive
  StatsdFlushResult f = Flush(6001);
  EXPECT_EQ(f.expired, 2u);
  EXPECT_EQ(agg_->NumSeries(), 0u);
  auto s = Samples(Series("idle_total"));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_TRUE(IsStaleNaN(s.back().v));
  EXPECT_TRUE(IsStaleNaN(Samples(Series("lat_seconds_count")).back().v));
  // Back again: a new series, counting from zero (a counter reset for rate()).
  agg_->Ingest("idle:2|c");
  Flush(7000);
  EXPECT_EQ(At(Series("idle_total"), 7000), 2);
}

TEST_F(StatsdTest, FlushTimesAlwaysMoveForward) {
  agg_->Ingest("g:1|g");
  EXPECT_EQ(Flush(1000).t, 1000);
  agg_->Ingest("g:2|g");
  EXPECT_EQ(Flush(1000).t, 1001);
  agg_->Ingest("g:3|g");
  EXPECT_EQ(Flush(500).t, 1002);  // the clock went back
  EXPECT_EQ(Samples(Series("g")), (std::vector<Sample>{{1000, 1}, {1001, 2}, {1002, 3}}));
  EXPECT_EQ(agg_->stats().flushes.load(), 3u);
  EXPECT_EQ(agg_->stats().samples.load(), 3u);
}

TEST_F(StatsdTest, NamesSharedWithAHistogramConflict) {
  agg_->Ingest("h:1|h");
  Flush(1000);
  agg_->Ingest("h_sum:7|g\nh:2|h");
  StatsdFlushResult f = Flush(2000);
  EXPECT_EQ(f.bad_lines, 1u);
  EXPECT_NE(f.first_error.find("h_sum is a series of a histogram"), std::string::npos)
      << f.first_error;
  EXPECT_EQ(f.append_errors, 0u);
  EXPECT_EQ(At(Series("h_sum"), 2000), 3);
  // And the other way round: a histogram whose _count is already a gauge.
  agg_->Ingest("g_seconds_count:1|g");
  Flush(3000);
  agg_->Ingest("g:1|ms");
  f = Flush(4000);
  EXPECT_EQ(f.bad_lines, 1u);
  EXPECT_NE(f.first_error.find("g_seconds_count is not a histogram series"), std::string::npos)
      << f.first_error;
}

}  // namespace
}  // namespace zw::ingest
