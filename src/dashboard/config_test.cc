#include "dashboard/config.h"

#include <gtest/gtest.h>

namespace zw::dashboard {
namespace {

TEST(DashboardConfig, DefaultsWithoutSection) {
  for (const char* yaml : {"", "global: {scrape_interval: 15s}\n", "dashboard:\n"}) {
    auto c = ParseDashboardConfig(yaml);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_EQ(c->domains.size(), 5u);
    EXPECT_EQ(c->domains[0].name, "neural");
    EXPECT_EQ(c->domains[4].name, "interfaces");
    EXPECT_EQ(c->freshness_ms, 300000);
    EXPECT_EQ(c->domains[2].thresholds.error_ratio_unhealthy, 0.05);
    EXPECT_EQ(c->domains[2].thresholds.latency_p95_degraded, 0.5);
  }
}

TEST(DashboardConfig, DomainsThresholdsAndExpressions) {
  auto c = ParseDashboardConfig(R"(
dashboard:
  freshness: 2m
  rate_window: 30s
  thresholds:
    error_ratio: {degraded: 0.02}
  domains:
    - neural
    - name: database
      thresholds:
        latency_p95_seconds: {degraded: 0.1, unhealthy: 0.3}
      request_rate: sum(rate(db_queries_total[$window]))
      latency: histogram_quantile($quantile, sum by (le) (rate(db_seconds_bucket[1m])))
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->freshness_ms, 120000);
  ASSERT_EQ(c->domains.size(), 2u);
  const DomainConfig* db = c->Find("database");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->thresholds.error_ratio_degraded, 0.02);  // the section's default
  EXPECT_EQ(db->thresholds.error_ratio_unhealthy, 0.05);
  EXPECT_EQ(db->thresholds.latency_p95_unhealthy, 0.3);
  EXPECT_EQ(c->Expand(db->request_rate, *db), "sum(rate(db_queries_total[30s]))");
  EXPECT_EQ(c->Expand(db->latency, *db, 0.99),
            "histogram_quantile(0.99, sum by (le) (rate(db_seconds_bucket[1m])))");
  EXPECT_TRUE(db->error_rate.empty());  // automatic
  const DomainConfig* neural = c->Find("neural");
  ASSERT_NE(neural, nullptr);
  EXPECT_TRUE(neural->request_rate.empty());
  EXPECT_EQ(c->Find("memory"), nullptr);
}

void ExpectError(const char* yaml, const std::string& part) {
  auto c = ParseDashboardConfig(yaml);
  ASSERT_FALSE(c.ok()) << yaml;
  EXPECT_NE(c.status().message().find(part), std::string::npos) << c.status().message();
}

TEST(DashboardConfig, Errors) {
  ExpectError("dashboard: {colour: red}", "dashboard: unknown field \"colour\"");
  ExpectError("dashboard: {freshness: soon}", "dashboard.freshness: \"soon\"");
  ExpectError("dashboard: {domains: neural}", "dashboard.domains: must be a list");
  ExpectError("dashboard: {domains: []}", "at least one domain");
  ExpectError("dashboard: {domains: [neural, neural]}",
              "dashboard.domains[1]: duplicate domain \"neural\"");
  ExpectError("dashboard: {domains: [\"9lives\"]}", "dashboard.domains[0]: domain \"9lives\"");
  ExpectError("dashboard: {domains: [{thresholds: {}}]}", "dashboard.domains[0]: missing \"name\"");
  ExpectError("dashboard: {domains: [{name: a, request_rate: 'sum(rate(x[1m])'}]}",
              "dashboard.domains[0].request_rate: 1:");
  ExpectError("dashboard: {thresholds: {error_ratio: {degraded: 0.2, unhealthy: 0.1}}}",
              "dashboard.thresholds.error_ratio: degraded (0.2) must not exceed unhealthy (0.1)");
  ExpectError("dashboard: {thresholds: {error_ratio: {degraded: -1}}}",
              "dashboard.thresholds.error_ratio.degraded: must be a non-negative number");
  ExpectError("dashboard: {thresholds: {latency: {}}}",
              "dashboard.thresholds: unknown field \"latency\"");
  ExpectError("dashboard: [1, 2]", "dashboard: must be a mapping");
  ExpectError("dashboard: {domains: [{name: a, latency: [x]}]}",
              "dashboard.domains[0].latency: must be a PromQL expression");
}

}  // namespace
}  // namespace zw::dashboard
