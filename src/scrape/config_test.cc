#include "scrape/config.h"

#include <gtest/gtest.h>

namespace zw::scrape {
namespace {

TEST(ScrapeConfig, ParsesJobsWithGlobalDefaults) {
  auto c = ParseConfig(R"(
global:
  scrape_interval: 30s
  scrape_timeout: 5s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:9100", "localhost:9101"]
        labels: {env: prod}
  - job_name: app
    scrape_interval: 2s
    metrics_path: /m
    params: {module: [a, b]}
    honor_labels: true
    honor_timestamps: false
    sample_limit: 10
    static_configs: [{targets: ["h:1"]}]
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const auto& node = c->scrape_configs[0];
  EXPECT_EQ(node.interval_ms, 30000);
  EXPECT_EQ(node.timeout_ms, 5000);
  EXPECT_EQ(node.static_configs[0].targets.size(), 2u);
  EXPECT_EQ(node.static_configs[0].labels[0], (std::pair<std::string, std::string>{"env", "prod"}));
  const auto& app = c->scrape_configs[1];
  EXPECT_EQ(app.interval_ms, 2000);
  EXPECT_EQ(app.timeout_ms, 2000);  // the global 5s timeout is capped by the 2s interval
  EXPECT_EQ(app.metrics_path, "/m");
  EXPECT_EQ(app.params.size(), 2u);
  EXPECT_TRUE(app.honor_labels);
  EXPECT_FALSE(app.honor_timestamps);
  EXPECT_EQ(app.sample_limit, 10u);
}

TEST(ScrapeConfig, EmptyIsFine) {
  EXPECT_TRUE(ParseConfig("").ok());
  EXPECT_TRUE(ParseConfig("rule_files: []").ok());
}

TEST(ScrapeConfig, ErrorsNameJobAndField) {
  struct Case {
    const char* yaml;
    const char* expect;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"scrape_configs: [{static_configs: []}]", "job_name is required"},
           {"scrape_configs: [{job_name: a}, {job_name: a}]", "used twice"},
           {"scrape_configs: [{job_name: a, scrape_interval: 5s, scrape_timeout: 6s}]",
            "greater than scrape_interval"},
           {"scrape_configs: [{job_name: a, scrape_interval: soon}]", "scrape_interval"},
           {"scrape_configs: [{job_name: a, scheme: ftp}]", "not valid (http or https)"},
           {"scrape_configs: [{job_name: a, tls_config: {cert_file: c.pem}}]",
            "client certificates are not supported"},
           {"scrape_configs: [{job_name: a, tls_config: {ca: x}}]", "unknown field \"ca\""},
           {"scrape_configs: [{job_name: a, relabel_configs: [{action: bogus}]}]",
            "job \"a\"): relabel_configs"},
           {"scrape_configs: [{job_name: a, metric_relabel_configs: {action: drop}}]",
            "metric_relabel_configs"},
           {"scrape_configs: [{job_name: a, file_sd_configs: [{files: [\"x.txt\"]}]}]",
            "must end in .json, .yml or .yaml"},
           {"scrape_configs: [{job_name: a, file_sd_configs: [{files: [\"d*/x.json\"]}]}]",
            "last path element"},
           {"scrape_configs: [{job_name: a, file_sd_configs: [{refresh_interval: 1s}]}]",
            "files is required"},
           {"scrape_configs: [{job_name: a, basic_auth: {username: u, password: p, "
            "password_file: f}}]",
            "at most one of password and password_file"},
           {"scrape_configs: [{job_name: a, basic_auth: {username: u}, authorization: "
            "{credentials: c}}]",
            "at most one of basic_auth and authorization"},
           {"scrape_configs: [{job_name: a, authorization: {type: Basic, credentials: c}}]",
            "use basic_auth"},
           {"scrape_configs: [{job_name: a, bogus: 1}]", "unknown field \"bogus\""},
           {"scrape_configs: [{job_name: a, static_configs: [{targets: [\"no/host\"]}]}]",
            "not host:port"},
           {"scrape_configs: [{job_name: a, static_configs: [{targets: [\"h:1\"], labels: {0x: "
            "y}}]}]",
            "label name"},
           {"scrape_configs: [{job_name: a, metrics_path: m}]", "must start with /"},
           {"scrape_configs: {job_name: a}", "must be a list"},
           {"[1, 2]", "top level"},
           {"scrape_configs: [", "configuration"},
       }) {
    auto r = ParseConfig(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.yaml << " -> " << r.status().message();
  }
}

TEST(ScrapeConfig, RelabelFileSdAndAuth) {
  auto c = ParseConfig(R"(
scrape_configs:
  - job_name: node
    file_sd_configs: [{files: ["/tmp/t/*.json", "/tmp/t/b.yml"], refresh_interval: 2s}]
    relabel_configs: [{source_labels: [__address__], regex: "(.*):9100", action: keep}]
    metric_relabel_configs: [{regex: "go_.*", source_labels: [__name__], action: drop}]
    basic_auth: {username: u, password_file: /tmp/pw}
  - job_name: app
    authorization: {credentials: tok}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& node = c->scrape_configs[0];
  ASSERT_EQ(node.file_sd_configs.size(), 1u);
  EXPECT_EQ(node.file_sd_configs[0].files.size(), 2u);
  EXPECT_EQ(node.file_sd_configs[0].refresh_interval_ms, 2000);
  EXPECT_EQ(node.relabel_configs.size(), 1u);
  EXPECT_EQ(node.metric_relabel_configs.size(), 1u);
  ASSERT_TRUE(node.basic_auth.has_value());
  EXPECT_EQ(node.basic_auth->password_file, "/tmp/pw");
  ASSERT_TRUE(c->scrape_configs[1].authorization.has_value());
  EXPECT_EQ(c->scrape_configs[1].authorization->type, "Bearer");
  EXPECT_EQ(c->scrape_configs[1].authorization->credentials, "tok");
}

TEST(ScrapeConfig, FingerprintIgnoresTargetsButNotScrapeSettings) {
  auto fp = [](const char* yaml) {
    auto c = ParseConfig(yaml);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c->scrape_configs[0].fingerprint : std::string();
  };
  std::string base = fp("scrape_configs: [{job_name: a, static_configs: [{targets: [\"h:1\"]}]}]");
  EXPECT_EQ(base, fp("scrape_configs: [{job_name: a, static_configs: [{targets: [\"h:2\"]}]}]"));
  EXPECT_NE(base, fp("scrape_configs: [{job_name: a, sample_limit: 5}]"));
  EXPECT_NE(base, fp("global: {scrape_interval: 5s}\nscrape_configs: [{job_name: a}]"));
}

TEST(ScrapeConfig, SelfScrape) {
  auto job = SelfScrapeConfig("127.0.0.1:3003");
  EXPECT_EQ(job.job_name, "zenwatch");
  EXPECT_EQ(job.interval_ms, 15000);
  EXPECT_EQ(job.static_configs[0].targets[0], "127.0.0.1:3003");
}

}  // namespace
}  // namespace zw::scrape
