#include "scrape/scrape_append.h"

#include <gtest/gtest.h>

#include "scrape/config.h"
#include "storage/series_set.h"
#include "tsdb/head.h"

namespace zw::scrape {
namespace {

using ingest::ExpositionFormat;

class ScrapeAppendTest : public ::testing::Test {
 protected:
  void SetUp() override { head_ = std::move(tsdb::Head::Open({})).value(); }

  std::vector<Sample> Samples(const Labels& ls) { return storage::ReadExact(*head_, ls); }

  std::unique_ptr<tsdb::Head> head_;
  Labels target_{{"job", "node"}, {"instance", "h:1"}};
};

TEST_F(ScrapeAppendTest, SamplesGetTargetLabelsAndSyntheticSeries) {
  ScrapeAppender a(target_, {});
  auto r = a.Succeeded(*head_, "# TYPE x_total counter\nx_total{code=\"200\"} 5\ny 2 1234\n",
                       ExpositionFormat::kPrometheusText, 10000, 0.25);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scraped, 2u);
  EXPECT_EQ(r->series_added, 2u);
  EXPECT_EQ(Samples(Labels{
                {"__name__", "x_total"}, {"code", "200"}, {"job", "node"}, {"instance", "h:1"}}),
            (std::vector<Sample>{{10000, 5}}));
  EXPECT_EQ(Samples(Labels{{"__name__", "y"}, {"job", "node"}, {"instance", "h:1"}}),
            (std::vector<Sample>{{1234, 2}}));  // honor_timestamps
  EXPECT_EQ(Samples(Labels{{"__name__", "up"}, {"job", "node"}, {"instance", "h:1"}}),
            (std::vector<Sample>{{10000, 1}}));
  EXPECT_EQ(Samples(Labels{
                {"__name__", "scrape_samples_scraped"}, {"job", "node"}, {"instance", "h:1"}})[0]
                .v,
            2);
  EXPECT_EQ(Samples(Labels{
                {"__name__", "scrape_duration_seconds"}, {"job", "node"}, {"instance", "h:1"}})[0]
                .v,
            0.25);
  ASSERT_TRUE(head_->Metadata("x_total").has_value());
  EXPECT_EQ(head_->Metadata("x_total")->type, MetricType::kCounter);
}

TEST_F(ScrapeAppendTest, ClashingLabelsAreExportedUnlessHonored) {
  ScrapeAppender plain(target_, {});
  ASSERT_TRUE(
      plain.Succeeded(*head_, "m{job=\"inner\"} 1\n", ExpositionFormat::kPrometheusText, 1000, 0)
          .ok());
  EXPECT_EQ(
      Samples(
          Labels{
              {"__name__", "m"}, {"job", "node"}, {"exported_job", "inner"}, {"instance", "h:1"}})
          .size(),
      1u);
  ScrapeAppender honoring(Labels{{"job", "node2"}, {"instance", "h:2"}}, {true, true, 0, {}, true});
  ASSERT_TRUE(
      honoring.Succeeded(*head_, "m{job=\"inner\"} 1\n", ExpositionFormat::kPrometheusText, 1000, 0)
          .ok());
  EXPECT_EQ(Samples(Labels{{"__name__", "m"}, {"job", "inner"}, {"instance", "h:2"}}).size(), 1u);
}

TEST_F(ScrapeAppendTest, DisappearedSeriesGetStalenessMarkers) {
  ScrapeAppender a(target_, {});
  ASSERT_TRUE(a.Succeeded(*head_, "a 1\nb 2\n", ExpositionFormat::kPrometheusText, 1000, 0).ok());
  auto r = a.Succeeded(*head_, "a 1\n", ExpositionFormat::kPrometheusText, 2000, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stale_markers, 1u);
  auto b = Samples(Labels{{"__name__", "b"}, {"job", "node"}, {"instance", "h:1"}});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_TRUE(IsStaleNaN(b[1].v));
  EXPECT_EQ(b[1].t, 2000);
  // A failed scrape marks everything stale and sets up=0.
  ASSERT_TRUE(a.Failed(*head_, 3000, 0.1).ok());
  EXPECT_TRUE(IsStaleNaN(
      Samples(Labels{{"__name__", "a"}, {"job", "node"}, {"instance", "h:1"}}).back().v));
  EXPECT_EQ(Samples(Labels{{"__name__", "up"}, {"job", "node"}, {"instance", "h:1"}}).back(),
            (Sample{3000, 0}));
  // A removed target marks its synthetic series stale too.
  ASSERT_TRUE(a.Stopped(*head_, 4000).ok());
  EXPECT_TRUE(IsStaleNaN(
      Samples(Labels{{"__name__", "up"}, {"job", "node"}, {"instance", "h:1"}}).back().v));
}

TEST_F(ScrapeAppendTest, BadBodyOrSampleLimitStoresNothingOfTheBody) {
  ScrapeAppender a(target_, {false, true, 2, {}, true});
  auto r = a.Succeeded(*head_, "a 1\nb 2\nc 3\n", ExpositionFormat::kPrometheusText, 1000, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sample limit"), std::string::npos);
  r = a.Succeeded(*head_, "a 1\n9bad 2\n", ExpositionFormat::kPrometheusText, 1000, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos);
  EXPECT_TRUE(Samples(Labels{{"__name__", "a"}, {"job", "node"}, {"instance", "h:1"}}).empty());
}

TEST_F(ScrapeAppendTest, OpenMetricsBody) {
  ScrapeAppender a(target_, {});
  auto r = a.Succeeded(*head_, "# TYPE req counter\n# HELP req Requests.\nreq_total 7\n# EOF\n",
                       ExpositionFormat::kOpenMetrics, 1000, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(head_->Metadata("req")->help, "Requests.");
  EXPECT_EQ(Samples(Labels{{"__name__", "req_total"}, {"job", "node"}, {"instance", "h:1"}}).size(),
            1u);
}

std::vector<RelabelConfig> Rules(const char* yaml) {
  auto c = ParseConfig(std::string("scrape_configs: [{job_name: j, metric_relabel_configs: ") +
                       yaml + "}]");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c->scrape_configs.at(0).metric_relabel_configs;
}

TEST_F(ScrapeAppendTest, MetricRelabellingRewritesAndDropsBeforeAppend) {
  for (bool cache : {true, false}) {
    SCOPED_TRACE(cache ? "cached" : "uncached");
    SetUp();
    ScrapeOptions o;
    o.cache_series = cache;
    o.metric_relabel_configs = Rules(R"([
      {source_labels: [__name__], regex: "go_.*", action: drop},
      {source_labels: [code], regex: "(\\d)..", target_label: class, replacement: "${1}xx"},
      {regex: code, action: labeldrop}])");
    ScrapeAppender a(target_, o);
    const char* body = "go_goroutines 5\nreq{code=\"200\"} 1\nreq{code=\"503\"} 2\n";
    for (int64_t t : {1000, 2000}) {
      auto r = a.Succeeded(*head_, body, ExpositionFormat::kPrometheusText, t, 0);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->scraped, 3u);
      EXPECT_EQ(r->post_relabel, 2u);
      EXPECT_EQ(r->series_added, t == 1000 ? 2u : 0u);
      EXPECT_EQ(r->stale_markers, 0u);
    }
    EXPECT_TRUE(Samples(Labels{{"__name__", "go_goroutines"}, {"job", "node"}, {"instance", "h:1"}})
                    .empty());
    EXPECT_EQ(Samples(Labels{
                  {"__name__", "req"}, {"class", "2xx"}, {"job", "node"}, {"instance", "h:1"}}),
              (std::vector<Sample>{{1000, 1}, {2000, 1}}));
    EXPECT_EQ(Samples(Labels{{"__name__", "scrape_samples_post_metric_relabeling"},
                             {"job", "node"},
                             {"instance", "h:1"}})
                  .back()
                  .v,
              2);
    // The 503 series disappears: one stale marker, relabelled labels included.
    auto r =
        a.Succeeded(*head_, "req{code=\"200\"} 3\n", ExpositionFormat::kPrometheusText, 3000, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->stale_markers, 1u);
    auto gone = Samples(
        Labels{{"__name__", "req"}, {"class", "5xx"}, {"job", "node"}, {"instance", "h:1"}});
    ASSERT_EQ(gone.size(), 3u);
    EXPECT_TRUE(IsStaleNaN(gone.back().v));
  }
}

TEST_F(ScrapeAppendTest, RelabellingThatRemovesTheNameFailsTheScrape) {
  ScrapeOptions o;
  o.metric_relabel_configs = Rules("[{regex: __name__, action: labeldrop}]");
  ScrapeAppender a(target_, o);
  auto r = a.Succeeded(*head_, "a 1\n", ExpositionFormat::kPrometheusText, 1000, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("removed __name__"), std::string::npos);
}

TEST_F(ScrapeAppendTest, SampleLimitCountsSamplesLeftAfterRelabelling) {
  ScrapeOptions o;
  o.sample_limit = 1;
  o.metric_relabel_configs = Rules(R"([{source_labels: [__name__], regex: "b", action: drop}])");
  ScrapeAppender a(target_, o);
  EXPECT_TRUE(a.Succeeded(*head_, "a 1\nb 2\n", ExpositionFormat::kPrometheusText, 1000, 0).ok());
  EXPECT_FALSE(a.Succeeded(*head_, "a 1\nc 2\n", ExpositionFormat::kPrometheusText, 2000, 0).ok());
}

}  // namespace
}  // namespace zw::scrape
