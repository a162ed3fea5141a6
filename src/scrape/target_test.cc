#include "scrape/target.h"

#include <gtest/gtest.h>

namespace zw::scrape {
namespace {

ScrapeConfig Job(const char* yaml) {
  auto c = ParseConfig(yaml);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c->scrape_configs.at(0);
}

TEST(Target, DefaultsWithoutRelabelling) {
  ScrapeConfig job = Job(R"(
scrape_configs:
  - job_name: node
    scrape_interval: 15s
    scrape_timeout: 5s
    params: {module: [a, b]}
    static_configs: [{targets: ["h:9100"], labels: {env: prod}}]
)");
  auto groups = StaticGroups(job);
  ASSERT_EQ(groups.size(), 1u);
  auto ts = PopulateTargets(job, groups[0]);
  ASSERT_EQ(ts.size(), 1u);
  ASSERT_TRUE(ts[0].ok()) << ts[0].status().ToString();
  const Target& t = *ts[0];
  EXPECT_EQ(t.discovered, (Labels{{"__address__", "h:9100"},
                                  {"__scheme__", "http"},
                                  {"__metrics_path__", "/metrics"},
                                  {"__scrape_interval__", "15s"},
                                  {"__scrape_timeout__", "5s"},
                                  {"__param_module", "a"},
                                  {"env", "prod"},
                                  {"job", "node"}}));
  EXPECT_EQ(t.labels, (Labels{{"env", "prod"}, {"instance", "h:9100"}, {"job", "node"}}));
  EXPECT_EQ(t.Url(), "http://h:9100/metrics?module=a&module=b");
  EXPECT_EQ(t.interval_ms, 15000);
  EXPECT_EQ(t.timeout_ms, 5000);
}

TEST(Target, RelabellingRewritesAddressPathParamsIntervalAndDrops) {
  ScrapeConfig job = Job(R"(
scrape_configs:
  - job_name: probe
    params: {module: [http_2xx]}
    static_configs: [{targets: ["example.org", "drop.me:1"]}]
    relabel_configs:
      - {source_labels: [__address__], regex: "drop\\..*", action: drop}
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: "127.0.0.1:9115"}
      - {target_label: __metrics_path__, replacement: /probe}
      - {target_label: __scrape_interval__, replacement: 30s}
      - {source_labels: [job], target_label: team, action: uppercase}
)");
  auto ts = PopulateTargets(job, StaticGroups(job)[0]);
  ASSERT_EQ(ts.size(), 2u);
  ASSERT_TRUE(ts[0].ok()) << ts[0].status().ToString();
  EXPECT_EQ(ts[0]->labels,
            (Labels{{"instance", "example.org"}, {"job", "probe"}, {"team", "PROBE"}}));
  EXPECT_EQ(ts[0]->Url(), "http://127.0.0.1:9115/probe?module=http_2xx&target=example.org");
  EXPECT_EQ(ts[0]->interval_ms, 30000);
  ASSERT_TRUE(ts[1].ok());
  EXPECT_TRUE(ts[1]->dropped);
  EXPECT_EQ(ts[1]->discovered.Get("__address__"), "drop.me:1");
}

TEST(Target, BadResultsAreErrorsNamingTheTarget) {
  ScrapeConfig job = Job(R"(
scrape_configs:
  - job_name: j
    static_configs: [{targets: ["h:1"]}]
    relabel_configs:
      - {target_label: __scrape_timeout__, replacement: 2m}
)");
  auto ts = PopulateTargets(job, StaticGroups(job)[0]);
  ASSERT_EQ(ts.size(), 1u);
  ASSERT_FALSE(ts[0].ok());
  EXPECT_NE(ts[0].status().message().find("greater than"), std::string::npos);
  EXPECT_NE(ts[0].status().message().find("h:1"), std::string::npos);

  job = Job(R"(
scrape_configs:
  - job_name: j
    static_configs: [{targets: ["h:1"]}]
    relabel_configs: [{action: labeldrop, regex: __address__}]
)");
  ts = PopulateTargets(job, StaticGroups(job)[0]);
  ASSERT_FALSE(ts[0].ok());
  EXPECT_NE(ts[0].status().message().find("no __address__"), std::string::npos);
}

TEST(Target, AddressWithoutPortGetsTheSchemeDefault) {
  ScrapeConfig job = Job("scrape_configs: [{job_name: j}]");
  TargetGroup g;
  g.targets.push_back(Labels{{"__address__", "host"}});
  auto ts = PopulateTargets(job, g);
  ASSERT_TRUE(ts[0].ok());
  EXPECT_EQ(ts[0]->Url(), "http://host:80/metrics");
  EXPECT_EQ(ts[0]->labels.Get("instance"), "host");

  job = Job("scrape_configs: [{job_name: j, scheme: https, tls_config: {ca_file: /ca.pem}}]");
  EXPECT_EQ(job.tls_config.ca_file, "/ca.pem");
  ts = PopulateTargets(job, g);
  ASSERT_TRUE(ts[0].ok());
  EXPECT_EQ(ts[0]->Url(), "https://host:443/metrics");
}

}  // namespace
}  // namespace zw::scrape
