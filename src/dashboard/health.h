// The dashboard's figures: per-domain health (GET /api/health, the stream's summary_update)
// and per-domain performance series (GET /api/performance), computed with the PromQL engine
// over stored data. docs/dashboard_api.md describes the JSON; config.h the expressions.
//
// Health of a domain at time now:
//   unknown   - no sample labelled domain="<name>" within `freshness`;
//   unhealthy - error_ratio >= its unhealthy threshold, or latency p95 >= its unhealthy one;
//   degraded  - the same against the degraded thresholds;
//   healthy   - otherwise.
// error_ratio = error_rate / request_rate (error_rate absent counts as 0; no requests: null).
// The reason names the rule that decided.
//
// Thread safety: DashboardService is thread-safe (queries run concurrently; the ingest-rate
// tracker has its own lock). ApplyConfig swaps the configuration: a call already running
// finishes with the one it started with.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "dashboard/config.h"
#include "promql/engine.h"
#include "promql/value.h"
#include "storage/querier.h"

namespace zw::dashboard {

struct ServiceContext {
  storage::Queryable* storage = nullptr;
  promql::Engine* engine = nullptr;
  std::function<int64_t()> now_ms;
  std::function<uint64_t()> active_series;     // series in the head
  std::function<uint64_t()> samples_appended;  // a running total, for ingest_rate
  std::function<uint64_t()> firing_alerts;     // may be empty (0)
};

enum class HealthStatus { kHealthy, kDegraded, kUnhealthy, kUnknown };
std::string_view HealthStatusName(HealthStatus s);

struct Verdict {
  HealthStatus status = HealthStatus::kUnknown;
  std::string reason;
};

// The rules above, apart from any query.
Verdict Judge(const Thresholds& t, int64_t freshness_ms, int64_t now_ms,
              std::optional<int64_t> last_sample_ms, std::optional<double> error_ratio,
              std::optional<double> latency_p95);

struct DomainHealth {
  std::string name;
  Verdict verdict;
  std::optional<int64_t> last_sample_ms;
  std::optional<double> request_rate;
  std::optional<double> error_ratio;
  std::optional<double> latency_p95;
  std::vector<promql::Point> spark_request_rate;
  std::vector<promql::Point> spark_error_ratio;
  std::vector<promql::Point> spark_latency_p95;
};

struct HealthReport {
  int64_t time_ms = 0;
  std::vector<DomainHealth> domains;
  uint64_t active_series = 0;
  double ingest_rate = 0;  // samples/s
  uint64_t firing_alerts = 0;
};

struct PerformanceRequest {
  std::string domain;
  int64_t end_ms = 0;
  int64_t range_ms = 3600 * 1000;
  int64_t step_ms = 0;    // 0: range / 240, at least 1 s
  size_t max_points = 0;  // 0: no reduction
};

// Sparklines cover this much history with at most kSparklinePoints points.
inline constexpr int64_t kSparklineRangeMs = 30 * 60 * 1000;
inline constexpr size_t kSparklinePoints = 60;

class DashboardService {
 public:
  DashboardService(DashboardConfig config, ServiceContext ctx);

  // The configuration in force (a snapshot; ApplyConfig does not change it).
  std::shared_ptr<const DashboardConfig> config() const;
  // Replaces the configuration (SIGHUP / POST /-/reload); the caller has validated it
  // (ParseDashboardConfig). Health and performance calls from now on use it.
  void ApplyConfig(DashboardConfig config);
  int64_t Now() const { return ctx_.now_ms(); }

  HealthReport Health();
  // The `data` object of /api/health and summary_update.
  static std::string HealthJson(const HealthReport& report);

  // The `data` object of /api/performance. Errors: NotFound `unknown domain "x"`,
  // InvalidArgument for a range/step giving over 11,000 points, or a failed query's error.
  Result<std::string> PerformanceJson(const PerformanceRequest& req);

 private:
  enum class Figure { kRequestRate, kErrorRate, kLatency };
  // The figure's configured expression, or the automatic one built from the names of the
  // domain's metrics with samples in [mint, maxt]; nullopt when there is nothing to build it
  // from.
  std::optional<std::string> Expression(const DashboardConfig& config, const DomainConfig& d,
                                        Figure f, double quantile, int64_t mint, int64_t maxt);
  // One series per step: the sum (or max) over the result's series, from a range query; no
  // points without an expression.
  Result<std::vector<promql::Point>> RangeSeries(const std::optional<std::string>& expr,
                                                 int64_t start, int64_t end, int64_t step,
                                                 bool take_max);
  std::optional<int64_t> LastSample(const std::string& domain, int64_t now, int64_t freshness_ms);
  double IngestRate(int64_t now);

  mutable std::mutex config_mu_;
  std::shared_ptr<const DashboardConfig> config_;  // guarded by config_mu_; never null
  const ServiceContext ctx_;
  const int64_t created_ms_;

  std::mutex rate_mu_;
  int64_t rate_prev_t_ = 0;       // guarded by rate_mu_
  uint64_t rate_prev_count_ = 0;  // rate_mu_
  double rate_last_ = 0;          // rate_mu_
};

// error / request per step of `request` (error missing at a step counts as 0; steps with no
// request rate or a zero one are left out).
std::vector<promql::Point> RatioSeries(const std::vector<promql::Point>& error,
                                       const std::vector<promql::Point>& request);

}  // namespace zw::dashboard
