#include "dashboard/health.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/sample.h"
#include "core/time.h"
#include "dashboard/reduce.h"
#include "promql/ast.h"
#include "promql/value_json.h"

namespace zw::dashboard {

using promql::JsonWriter;
using promql::WriteLabels;
using promql::WriteNumberOrNull;
using promql::WritePoint;
using promql::WriteString;
using promql::WriteTime;
namespace {

constexpr int64_t kMaxSteps = 11000;  // as query_range
constexpr size_t kTopSeries = 10;

std::string Percent(double ratio) { return fmt::format("{:.2f}%", ratio * 100); }

std::string Duration(int64_t ms) {
  if (ms % 60000 == 0) return fmt::format("{}m", ms / 60000);
  return fmt::format("{}s", ms / 1000);
}

std::optional<double> LastAt(const std::vector<promql::Point>& points, int64_t t) {
  if (points.empty() || points.back().t != t || std::isnan(points.back().v)) return std::nullopt;
  return points.back().v;
}

void WriteSeries(JsonWriter& w, const std::vector<promql::Point>& points) {
  w.StartArray();
  for (const auto& p : points) WritePoint(w, p.t, p.v);
  w.EndArray();
}

bool IsErrorCounter(std::string_view name) {
  for (std::string_view suffix :
       {"_error_total", "_errors_total", "_failure_total", "_failures_total", "_failed_total"}) {
    if (name.ends_with(suffix)) return true;
  }
  return false;
}

// One metric's rate, labelled with its name so that the rates of several metrics with the
// same other labels stay apart (rate drops __name__) when they are joined with `or`.
std::string NamedRate(const std::string& name, const std::string& matchers,
                      const std::string& window, bool by_le) {
  std::string rate = fmt::format("rate({}{{{}}}[{}])", name, matchers, window);
  if (by_le) rate = "sum by (le) (" + rate + ")";
  return fmt::format(R"(label_replace({}, "zw_metric", "{}", "__name__", ".*"))", rate, name);
}

std::string JoinOr(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : " or ") + p;
  return out;
}

struct TopEntry {
  Labels labels;
  double value;
};

}  // namespace

std::string_view HealthStatusName(HealthStatus s) {
  switch (s) {
    case HealthStatus::kHealthy:
      return "healthy";
    case HealthStatus::kDegraded:
      return "degraded";
    case HealthStatus::kUnhealthy:
      return "unhealthy";
    case HealthStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Verdict Judge(const Thresholds& t, int64_t freshness_ms, int64_t now_ms,
              std::optional<int64_t> last_sample_ms, std::optional<double> error_ratio,
              std::optional<double> latency_p95) {
  if (!last_sample_ms || now_ms - *last_sample_ms > freshness_ms) {
    return {HealthStatus::kUnknown,
            fmt::format("no sample in the last {}", Duration(freshness_ms))};
  }
  auto latency_ms = [](double s) { return fmt::format("{:.0f} ms", s * 1000); };
  if (error_ratio && *error_ratio >= t.error_ratio_unhealthy) {
    return {HealthStatus::kUnhealthy,
            fmt::format("error ratio {} >= {} (unhealthy)", Percent(*error_ratio),
                        Percent(t.error_ratio_unhealthy))};
  }
  if (latency_p95 && *latency_p95 >= t.latency_p95_unhealthy) {
    return {HealthStatus::kUnhealthy,
            fmt::format("p95 latency {} >= {} (unhealthy)", latency_ms(*latency_p95),
                        latency_ms(t.latency_p95_unhealthy))};
  }
  if (error_ratio && *error_ratio >= t.error_ratio_degraded) {
    return {HealthStatus::kDegraded,
            fmt::format("error ratio {} >= {} (degraded)", Percent(*error_ratio),
                        Percent(t.error_ratio_degraded))};
  }
  if (latency_p95 && *latency_p95 >= t.latency_p95_degraded) {
    return {HealthStatus::kDegraded,
            fmt::format("p95 latency {} >= {} (degraded)", latency_ms(*latency_p95),
                        latency_ms(t.latency_p95_degraded))};
  }
  if (!error_ratio && !latency_p95) {
    return {HealthStatus::kHealthy, "receiving data; no request or latency metrics to judge"};
  }
  return {HealthStatus::kHealthy, "error ratio and latency within thresholds"};
}

std::vector<promql::Point> RatioSeries(const std::vector<promql::Point>& error,
                                       const std::vector<promql::Point>& request) {
  std::vector<promql::Point> out;
  size_t j = 0;
  for (const auto& r : request) {
    while (j < error.size() && error[j].t < r.t) ++j;
    if (std::isnan(r.v) || r.v <= 0) continue;
    double e = j < error.size() && error[j].t == r.t ? error[j].v : 0;
    out.push_back({r.t, e / r.v});
  }
  return out;
}

DashboardService::DashboardService(DashboardConfig config, ServiceContext ctx)
    : config_(std::make_shared<const DashboardConfig>(std::move(config))),
      ctx_(std::move(ctx)),
      created_ms_(ctx_.now_ms()) {}

std::shared_ptr<const DashboardConfig> DashboardService::config() const {
  std::lock_guard lock(config_mu_);
  return config_;
}

void DashboardService::ApplyConfig(DashboardConfig config) {
  auto next = std::make_shared<const DashboardConfig>(std::move(config));
  std::lock_guard lock(config_mu_);
  config_ = std::move(next);
}

std::optional<std::string> DashboardService::Expression(const DashboardConfig& config,
                                                        const DomainConfig& d, Figure f,
                                                        double quantile, int64_t mint,
                                                        int64_t maxt) {
  const std::string& tmpl = f == Figure::kRequestRate ? d.request_rate
                            : f == Figure::kErrorRate ? d.error_rate
                                                      : d.latency;
  if (!tmpl.empty()) return config.Expand(tmpl, d, quantile);

  // Automatic: from the names of the domain's metrics.
  std::vector<std::string> names;
  if (auto q = ctx_.storage->NewQuerier(mint, maxt)) {
    auto r =
        q->LabelValues(kMetricNameLabel, {Matcher::MustMake(MatchType::kEqual, "domain", d.name)});
    if (r.ok()) names = std::move(*r);
  }
  const std::string dom = fmt::format(R"(domain="{}")", d.name);
  const std::string& w = config.rate_window;
  std::vector<std::string> parts;
  switch (f) {
    case Figure::kRequestRate:
      for (const auto& n : names) {
        if (n.ends_with("_total") && !IsErrorCounter(n))
          parts.push_back(NamedRate(n, dom, w, false));
      }
      if (parts.empty()) {
        for (const auto& n : names) {
          if (n.ends_with("_seconds_count")) parts.push_back(NamedRate(n, dom, w, false));
        }
      }
      break;
    case Figure::kErrorRate:
      for (const auto& n : names) {
        if (IsErrorCounter(n)) parts.push_back(NamedRate(n, dom, w, false));
      }
      if (parts.empty()) {
        for (const auto& n : names) {
          if (!n.ends_with("_seconds_count")) continue;
          parts.push_back(NamedRate(n, dom + R"(,success="false")", w, false));
          parts.push_back(NamedRate(n, dom + R"(,status=~"5..")", w, false));
        }
      }
      break;
    case Figure::kLatency:
      for (const auto& n : names) {
        if (n.ends_with("_seconds_bucket")) parts.push_back(NamedRate(n, dom, w, true));
      }
      if (parts.empty()) return std::nullopt;
      return fmt::format("histogram_quantile({}, sum by (le) ({}))", quantile, JoinOr(parts));
  }
  if (parts.empty()) return std::nullopt;
  return "sum(" + JoinOr(parts) + ")";
}

Result<std::vector<promql::Point>> DashboardService::RangeSeries(
    const std::optional<std::string>& expr, int64_t start, int64_t end, int64_t step,
    bool take_max) {
  if (!expr) return std::vector<promql::Point>{};
  auto r = ctx_.engine->Range(*ctx_.storage, *expr, start, end, step);
  if (!r.ok()) return r.status();
  const auto& matrix = std::get<promql::Matrix>(r->value);
  if (matrix.size() == 1) return matrix[0].points;
  std::map<int64_t, double> merged;
  for (const auto& series : matrix) {
    for (const auto& p : series.points) {
      if (std::isnan(p.v)) continue;
      auto [it, fresh] = merged.emplace(p.t, p.v);
      if (!fresh) it->second = take_max ? std::max(it->second, p.v) : it->second + p.v;
    }
  }
  std::vector<promql::Point> out;
  out.reserve(merged.size());
  for (auto [t, v] : merged) out.push_back({t, v});
  return out;
}

std::optional<int64_t> DashboardService::LastSample(const std::string& domain, int64_t now,
                                                    int64_t freshness_ms) {
  int64_t mint = now - freshness_ms;
  auto q = ctx_.storage->NewQuerier(mint, now);
  if (!q) return std::nullopt;
  Matchers ms{Matcher::MustMake(MatchType::kEqual, "domain", domain)};
  storage::SelectHints hints;
  hints.start = mint;
  hints.end = now;
  auto set = q->Select(false, &hints, ms);
  std::optional<int64_t> last;
  while (set->Next()) {
    auto it = set->At().Iterator();
    if (!it->Seek(last ? *last + 1 : mint)) continue;
    do {
      Sample s = it->At();
      if (s.t > now) break;
      if (!IsStaleNaN(s.v)) last = std::max(last.value_or(s.t), s.t);
    } while (it->Next());
  }
  return last;
}

double DashboardService::IngestRate(int64_t now) {
  if (!ctx_.samples_appended) return 0;
  uint64_t count = ctx_.samples_appended();
  std::lock_guard lock(rate_mu_);
  if (rate_prev_t_ == 0) {  // first call: the average since the service started
    rate_prev_t_ = created_ms_;
  }
  if (now - rate_prev_t_ >= 1000) {
    rate_last_ = static_cast<double>(count - std::min(count, rate_prev_count_)) * 1000.0 /
                 static_cast<double>(now - rate_prev_t_);
    rate_prev_t_ = now;
    rate_prev_count_ = count;
  }
  return rate_last_;
}

HealthReport DashboardService::Health() {
  const std::shared_ptr<const DashboardConfig> config = this->config();
  HealthReport report;
  int64_t now = ctx_.now_ms();
  report.time_ms = now;
  const int64_t step = kSparklineRangeMs / static_cast<int64_t>(kSparklinePoints);
  const int64_t start = now - step * static_cast<int64_t>(kSparklinePoints - 1);
  for (const DomainConfig& d : config->domains) {
    DomainHealth h;
    h.name = d.name;
    h.last_sample_ms = LastSample(d.name, now, config->freshness_ms);
    const int64_t names_from = start - kSparklineRangeMs;
    auto expr = [&](Figure f, double q) { return Expression(*config, d, f, q, names_from, now); };
    auto series = [&](const std::optional<std::string>& e, bool take_max) {
      auto r = RangeSeries(e, start, now, step, take_max);
      if (!r.ok()) {
        spdlog::warn("dashboard: domain {}: {}", d.name, r.status().message());
        return std::vector<promql::Point>{};
      }
      return ReducePoints(*r, kSparklinePoints);
    };
    h.spark_request_rate = series(expr(Figure::kRequestRate, 0), false);
    std::vector<promql::Point> errors = series(expr(Figure::kErrorRate, 0), false);
    h.spark_error_ratio = RatioSeries(errors, h.spark_request_rate);
    h.spark_latency_p95 = series(expr(Figure::kLatency, 0.95), true);
    h.request_rate = LastAt(h.spark_request_rate, now);
    h.error_ratio = LastAt(h.spark_error_ratio, now);
    h.latency_p95 = LastAt(h.spark_latency_p95, now);
    h.verdict = Judge(d.thresholds, config->freshness_ms, now, h.last_sample_ms, h.error_ratio,
                      h.latency_p95);
    report.domains.push_back(std::move(h));
  }
  report.active_series = ctx_.active_series ? ctx_.active_series() : 0;
  report.ingest_rate = IngestRate(now);
  report.firing_alerts = ctx_.firing_alerts ? ctx_.firing_alerts() : 0;
  return report;
}

std::string DashboardService::HealthJson(const HealthReport& report) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("time");
  WriteTime(w, report.time_ms);
  w.Key("domains");
  w.StartArray();
  for (const DomainHealth& h : report.domains) {
    w.StartObject();
    w.Key("name");
    WriteString(w, h.name);
    w.Key("status");
    WriteString(w, HealthStatusName(h.verdict.status));
    w.Key("reason");
    WriteString(w, h.verdict.reason);
    w.Key("last_sample");
    if (h.last_sample_ms) {
      WriteTime(w, *h.last_sample_ms);
    } else {
      w.Null();
    }
    w.Key("request_rate");
    WriteNumberOrNull(w, h.request_rate);
    w.Key("error_ratio");
    WriteNumberOrNull(w, h.error_ratio);
    w.Key("latency_p95_seconds");
    WriteNumberOrNull(w, h.latency_p95);
    w.Key("sparklines");
    w.StartObject();
    w.Key("request_rate");
    WriteSeries(w, h.spark_request_rate);
    w.Key("error_ratio");
    WriteSeries(w, h.spark_error_ratio);
    w.Key("latency_p95_seconds");
    WriteSeries(w, h.spark_latency_p95);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("totals");
  w.StartObject();
  w.Key("active_series");
  w.Uint64(report.active_series);
  w.Key("ingest_rate");
  w.Double(report.ingest_rate);
  w.Key("firing_alerts");
  w.Uint64(report.firing_alerts);
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Result<std::string> DashboardService::PerformanceJson(const PerformanceRequest& req) {
  const std::shared_ptr<const DashboardConfig> config = this->config();
  const DomainConfig* d = config->Find(req.domain);
  if (!d) return Status::NotFound(fmt::format("unknown domain \"{}\"", req.domain));
  if (req.range_ms <= 0) return Status::InvalidArgument("range must be positive");
  int64_t step = req.step_ms > 0 ? req.step_ms : std::max<int64_t>(1000, req.range_ms / 240);
  if (req.range_ms / step >= kMaxSteps) {
    return Status::InvalidArgument(
        "exceeded maximum resolution of 11,000 points per timeseries. Try a larger step");
  }
  int64_t end = req.end_ms;
  int64_t start = end - req.range_ms;

  struct Named {
    const char* key;
    std::vector<promql::Point> points;
  };
  std::vector<Named> series;
  auto fetch = [&](Figure f, double q, bool take_max) -> Result<std::vector<promql::Point>> {
    return RangeSeries(Expression(*config, *d, f, q, start - kSparklineRangeMs, end), start, end,
                       step, take_max);
  };
  auto request = fetch(Figure::kRequestRate, 0, false);
  if (!request.ok()) return request.status();
  auto error = fetch(Figure::kErrorRate, 0, false);
  if (!error.ok()) return error.status();
  series.push_back({"request_rate", *request});
  series.push_back({"error_rate", *error});
  series.push_back({"error_ratio", RatioSeries(*error, *request)});
  for (auto [key, q] :
       {std::pair{"latency_p50_seconds", 0.5}, std::pair{"latency_p95_seconds", 0.95},
        std::pair{"latency_p99_seconds", 0.99}}) {
    auto latency = fetch(Figure::kLatency, q, true);
    if (!latency.ok()) return latency.status();
    series.push_back({key, std::move(*latency)});
  }

  // Top series over the last rate window before `end`: counters by their rate; when the
  // domain has no counters, every series by samples per second.
  auto window = ParseDurationMs(config->rate_window);
  int64_t win = window.ok() ? *window : 60000;
  std::vector<TopEntry> counters, others;
  if (auto q = ctx_.storage->NewQuerier(end - win, end)) {
    Matchers ms{Matcher::MustMake(MatchType::kEqual, "domain", d->name)};
    storage::SelectHints hints;
    hints.start = end - win;
    hints.end = end;
    auto set = q->Select(false, &hints, ms);
    while (set->Next()) {
      const storage::Series& s = set->At();
      auto it = s.Iterator();
      size_t n = 0;
      double increase = 0, prev = 0;
      int64_t first_t = 0, last_t = 0;
      if (it->Seek(end - win)) {
        do {
          Sample smp = it->At();
          if (smp.t > end) break;
          if (IsStaleNaN(smp.v)) continue;
          if (n == 0) {
            first_t = smp.t;
          } else {
            increase += smp.v >= prev ? smp.v - prev : smp.v;
          }
          prev = smp.v;
          last_t = smp.t;
          ++n;
        } while (it->Next());
      }
      if (n == 0) continue;
      if (s.labels().MetricName().ends_with("_total")) {
        if (n >= 2 && last_t > first_t) {
          counters.push_back(
              {s.labels(), increase * 1000.0 / static_cast<double>(last_t - first_t)});
        }
      } else {
        others.push_back({s.labels(), static_cast<double>(n) * 1000.0 / static_cast<double>(win)});
      }
    }
  }
  std::vector<TopEntry>& top = counters.empty() ? others : counters;
  std::sort(top.begin(), top.end(), [](const TopEntry& a, const TopEntry& b) {
    return a.value != b.value ? a.value > b.value : a.labels < b.labels;
  });
  if (top.size() > kTopSeries) top.resize(kTopSeries);

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("domain");
  WriteString(w, d->name);
  w.Key("start");
  WriteTime(w, start);
  w.Key("end");
  WriteTime(w, end);
  w.Key("step");
  WriteTime(w, step);
  w.Key("series");
  w.StartObject();
  for (auto& [key, points] : series) {
    w.Key(key);
    WriteSeries(w, ReducePoints(points, req.max_points));
  }
  w.EndObject();
  w.Key("top_series");
  w.StartArray();
  for (const TopEntry& e : top) {
    w.StartObject();
    w.Key("metric");
    WriteLabels(w, e.labels);
    w.Key("value");
    WriteString(w, promql::FormatNumber(e.value));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace zw::dashboard
