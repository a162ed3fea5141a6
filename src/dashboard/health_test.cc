#include "dashboard/health.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "promql/ast.h"
#include "tsdb/head.h"

namespace zw::dashboard {
namespace {

const Thresholds kT;  // plain doubles: safe at static initialisation
constexpr int64_t kNow = 1'700'000'000'000;

TEST(Judge, UnknownWithoutFreshData) {
  auto v = Judge(kT, 300'000, kNow, std::nullopt, std::nullopt, std::nullopt);
  EXPECT_EQ(v.status, HealthStatus::kUnknown);
  EXPECT_EQ(v.reason, "no sample in the last 5m");
  v = Judge(kT, 300'000, kNow, kNow - 300'001, 0.5, 9.0);
  EXPECT_EQ(v.status, HealthStatus::kUnknown);
}

TEST(Judge, ThresholdsDecideAndReasonSaysWhich) {
  auto v = Judge(kT, 300'000, kNow, kNow, 0.002, 0.1);
  EXPECT_EQ(v.status, HealthStatus::kHealthy);
  v = Judge(kT, 300'000, kNow, kNow, 0.01, 0.1);  // at the threshold counts
  EXPECT_EQ(v.status, HealthStatus::kDegraded);
  EXPECT_NE(v.reason.find("error ratio 1.00% >= 1.00%"), std::string::npos) << v.reason;
  v = Judge(kT, 300'000, kNow, kNow, 0.0, 0.7);
  EXPECT_EQ(v.status, HealthStatus::kDegraded);
  EXPECT_NE(v.reason.find("p95 latency 700 ms >= 500 ms"), std::string::npos) << v.reason;
  v = Judge(kT, 300'000, kNow, kNow, 0.06, 0.7);  // unhealthy wins over degraded
  EXPECT_EQ(v.status, HealthStatus::kUnhealthy);
  EXPECT_NE(v.reason.find("error ratio"), std::string::npos);
  v = Judge(kT, 300'000, kNow, kNow, 0.0, 2.5);
  EXPECT_EQ(v.status, HealthStatus::kUnhealthy);
  EXPECT_NE(v.reason.find("latency"), std::string::npos);
  v = Judge(kT, 300'000, kNow, kNow, std::nullopt, std::nullopt);
  EXPECT_EQ(v.status, HealthStatus::kHealthy);
  EXPECT_NE(v.reason.find("no request or latency metrics"), std::string::npos);
}

TEST(RatioSeries, MissingErrorsCountAsZeroAndNoRequestsAreLeftOut) {
  std::vector<promql::Point> req = {{1, 10}, {2, 0}, {3, 20}, {4, 5}};
  std::vector<promql::Point> err = {{1, 1}, {4, 5}};
  auto r = RatioSeries(err, req);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].v, 0.1);
  EXPECT_EQ(r[1].t, 3);
  EXPECT_EQ(r[1].v, 0);
  EXPECT_EQ(r[2].v, 1);
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    head_ = std::move(tsdb::Head::Open({})).value();
    service_ = std::make_unique<DashboardService>(
        *ParseDashboardConfig(""),
        ServiceContext{.storage = head_.get(),
                       .engine = &engine_,
                       .now_ms = [] { return kNow; },
                       .active_series = [this] { return head_->NumSeries(); },
                       .samples_appended = nullptr,
                       .firing_alerts = nullptr});
  }

  // A counter of `per_second` over the last 5 minutes, a sample every 15 s, as the push
  // writes it (<domain>_<name>_total{domain, source}).
  void Counter(const std::string& domain, const std::string& name, double per_second) {
    auto app = head_->NewAppender();
    Labels ls{{"__name__", domain + "_" + name + "_total"}, {"domain", domain}, {"source", "t"}};
    for (int64_t t = kNow - 300'000, i = 0; t <= kNow; t += 15'000, ++i) {
      ASSERT_TRUE(app->Append(0, ls, t, per_second * 15 * static_cast<double>(i)).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  // A latency histogram whose observations all fall in (lo, hi].
  void Latency(const std::string& domain, double lo, double hi) {
    auto app = head_->NewAppender();
    for (int64_t t = kNow - 300'000, i = 0; t <= kNow; t += 15'000, ++i) {
      for (auto [le, n] : {std::pair{lo, 0.0}, std::pair{hi, 10.0 * static_cast<double>(i)},
                           std::pair{1e9, 10.0 * static_cast<double>(i)}}) {
        std::string les = le == 1e9 ? "+Inf" : promql::FormatNumber(le);
        Labels ls{{"__name__", domain + "_op_seconds_bucket"}, {"domain", domain}, {"le", les}};
        ASSERT_TRUE(app->Append(0, ls, t, n).ok());
      }
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  const DomainHealth& Domain(const HealthReport& r, const std::string& name) {
    for (const auto& d : r.domains)
      if (d.name == name) return d;
    ADD_FAILURE() << name;
    return r.domains.front();
  }

  std::unique_ptr<tsdb::Head> head_;
  promql::Engine engine_;
  std::unique_ptr<DashboardService> service_;
};

TEST_F(ServiceTest, StatusesFromPushedCounters) {
  Counter("neural", "requests", 10);
  Counter("database", "requests", 10);
  Counter("database", "errors", 0.2);  // 2 %
  Counter("memory", "requests", 10);
  Counter("memory", "errors", 1);  // 10 %
  auto r = service_->Health();
  ASSERT_EQ(r.domains.size(), 5u);
  const auto& neural = Domain(r, "neural");
  EXPECT_EQ(neural.verdict.status, HealthStatus::kHealthy) << neural.verdict.reason;
  ASSERT_TRUE(neural.request_rate.has_value());
  EXPECT_NEAR(*neural.request_rate, 10, 0.01);  // errors are not requests
  ASSERT_TRUE(neural.error_ratio.has_value());
  EXPECT_EQ(*neural.error_ratio, 0);
  EXPECT_EQ(neural.last_sample_ms, kNow);
  EXPECT_EQ(Domain(r, "database").verdict.status, HealthStatus::kDegraded);
  EXPECT_NEAR(*Domain(r, "database").error_ratio, 0.02, 1e-6);
  EXPECT_EQ(Domain(r, "memory").verdict.status, HealthStatus::kUnhealthy);
  EXPECT_EQ(Domain(r, "coordination").verdict.status, HealthStatus::kUnknown);
  EXPECT_FALSE(Domain(r, "coordination").request_rate.has_value());
  EXPECT_LE(neural.spark_request_rate.size(), kSparklinePoints);
  EXPECT_GE(neural.spark_request_rate.size(), 10u);
  EXPECT_EQ(r.active_series, 5u);
}

TEST_F(ServiceTest, LatencyDecides) {
  Latency("interfaces", 0.5, 1.0);  // p95 in (0.5, 1] s: degraded
  Latency("neural", 2.0, 4.0);      // unhealthy
  auto r = service_->Health();
  const auto& i = Domain(r, "interfaces");
  EXPECT_EQ(i.verdict.status, HealthStatus::kDegraded) << i.verdict.reason;
  ASSERT_TRUE(i.latency_p95.has_value());
  EXPECT_GT(*i.latency_p95, 0.5);
  EXPECT_LE(*i.latency_p95, 1.0);
  EXPECT_EQ(Domain(r, "neural").verdict.status, HealthStatus::kUnhealthy);
}

TEST_F(ServiceTest, HealthJsonShape) {
  Counter("neural", "requests", 1);
  std::string json = DashboardService::HealthJson(service_->Health());
  rapidjson::Document d;
  d.Parse(json.c_str());
  ASSERT_FALSE(d.HasParseError()) << json;
  EXPECT_EQ(d["time"].GetDouble(), 1'700'000'000.0);
  ASSERT_EQ(d["domains"].Size(), 5u);
  const auto& n = d["domains"][0];
  EXPECT_STREQ(n["name"].GetString(), "neural");
  EXPECT_STREQ(n["status"].GetString(), "healthy");
  EXPECT_TRUE(n["request_rate"].IsNumber());
  EXPECT_TRUE(n["latency_p95_seconds"].IsNull());
  EXPECT_TRUE(n["sparklines"]["request_rate"].IsArray());
  EXPECT_TRUE(n["sparklines"]["request_rate"][0][1].IsString());
  EXPECT_TRUE(d["domains"][1]["last_sample"].IsNull());
  EXPECT_EQ(d["totals"]["active_series"].GetUint64(), 1u);
  EXPECT_EQ(d["totals"]["firing_alerts"].GetUint64(), 0u);
}

TEST_F(ServiceTest, Performance) {
  Counter("neural", "requests", 10);
  Counter("neural", "cache_hits", 3);
  Latency("neural", 0.1, 0.2);
  auto unknown = service_->PerformanceJson({.domain = "nope", .end_ms = kNow});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "unknown domain \"nope\"");

  auto json = service_->PerformanceJson({.domain = "neural",
                                         .end_ms = kNow,
                                         .range_ms = 600'000,
                                         .step_ms = 15'000,
                                         .max_points = 20});
  ASSERT_TRUE(json.ok()) << json.status().message();
  rapidjson::Document d;
  d.Parse(json->c_str());
  ASSERT_FALSE(d.HasParseError());
  EXPECT_STREQ(d["domain"].GetString(), "neural");
  EXPECT_EQ(d["step"].GetDouble(), 15);
  EXPECT_EQ(d["end"].GetDouble() - d["start"].GetDouble(), 600);
  for (const char* k : {"request_rate", "error_rate", "error_ratio", "latency_p50_seconds",
                        "latency_p95_seconds", "latency_p99_seconds"}) {
    ASSERT_TRUE(d["series"].HasMember(k)) << k;
    EXPECT_LE(d["series"][k].Size(), 20u) << k;
  }
  EXPECT_GT(d["series"]["request_rate"].Size(), 5u);
  ASSERT_EQ(d["top_series"].Size(), 2u);  // the counters, by rate
  EXPECT_STREQ(d["top_series"][0]["metric"]["__name__"].GetString(), "neural_requests_total");
  EXPECT_NEAR(std::stod(d["top_series"][0]["value"].GetString()), 10, 0.01);

  auto too_many = service_->PerformanceJson(
      {.domain = "neural", .end_ms = kNow, .range_ms = 86'400'000, .step_ms = 1000});
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, AppliedConfigDecidesFromTheNextCall) {
  Counter("database", "requests", 10);
  Counter("database", "errors", 0.2);  // 2 %: degraded by the default thresholds
  auto before = service_->config();
  EXPECT_EQ(Domain(service_->Health(), "database").verdict.status, HealthStatus::kDegraded);
  auto next = ParseDashboardConfig(
      "dashboard:\n"
      "  domains:\n"
      "    - name: database\n"
      "      thresholds: {error_ratio: {degraded: 0.05, unhealthy: 0.1}}\n"
      "    - payments\n");
  ASSERT_TRUE(next.ok()) << next.status().message();
  service_->ApplyConfig(std::move(*next));
  auto r = service_->Health();
  ASSERT_EQ(r.domains.size(), 2u);
  EXPECT_EQ(r.domains[0].name, "database");
  EXPECT_EQ(r.domains[0].verdict.status, HealthStatus::kHealthy) << r.domains[0].verdict.reason;
  EXPECT_EQ(r.domains[1].name, "payments");
  EXPECT_EQ(r.domains[1].verdict.status, HealthStatus::kUnknown);
  EXPECT_EQ(service_->PerformanceJson({.domain = "neural", .end_ms = kNow}).status().code(),
            StatusCode::kNotFound);  // no longer a domain
  EXPECT_TRUE(service_->PerformanceJson({.domain = "payments", .end_ms = kNow}).ok());
  // A snapshot taken before stays as it was.
  EXPECT_EQ(before->domains.size(), 5u);
  EXPECT_EQ(service_->config()->domains.size(), 2u);
}

}  // namespace
}  // namespace zw::dashboard
