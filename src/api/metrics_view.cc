// GET /api/metrics[/{domain}]?timeWindow=<ms>: the specification's aggregated view of
// pushed metrics over a window ending now (docs/api.md):
//   counters:   increase over the window (resets handled) and the current total
//   gauges:     the last value
//   histograms and timers: count, sum, avg, min, max, p50, p95, p99 of the observations
//               made in the window, from the increase of each cumulative bucket.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/api.h"
#include "core/names.h"
#include "core/time.h"

namespace zw::api {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr int64_t kLookbackMs = 5 * 60 * 1000;

struct Window {
  int64_t start, end;
};

// Increase of a cumulative series over (start, end]: the base is the last sample at or
// before start (0 if the series began inside the window); a drop is a counter reset.
struct Increase {
  double increase = 0;
  std::optional<double> last;
  int64_t last_t = 0;
};

Increase ComputeIncrease(const storage::Series& s, Window w) {
  Increase out;
  auto it = s.Iterator();
  std::optional<double> prev;
  bool base_set = false;
  while (it->Next()) {
    Sample smp = it->At();
    if (IsStaleNaN(smp.v)) continue;
    if (smp.t <= w.start) {
      prev = smp.v;
      base_set = true;
      continue;
    }
    if (!base_set) {
      prev = 0;
      base_set = true;
    }
    out.increase += smp.v >= *prev ? smp.v - *prev : smp.v;
    prev = smp.v;
    out.last = smp.v;
    out.last_t = smp.t;
  }
  if (!out.last && prev) out.last = prev;
  return out;
}

std::optional<Sample> LastSample(const storage::Series& s) {
  std::optional<Sample> out;
  auto it = s.Iterator();
  while (it->Next()) {
    if (!IsStaleNaN(it->At().v)) out = it->At();
  }
  return out;
}

std::optional<double> ParseLe(std::string_view le) {
  if (le == "+Inf") return INFINITY;
  double v;
  auto [p, ec] = std::from_chars(le.data(), le.data() + le.size(), v);
  if (ec != std::errc() || p != le.data() + le.size()) return std::nullopt;
  return v;
}

struct HistogramAgg {
  Labels labels;  // without __name__ and le
  std::string family;
  std::map<double, double> buckets;  // le -> increase of the cumulative count
  double sum = 0;
  double count = 0;
  bool has_count = false;
};

// Interpolates quantile q within the bucket that holds it, as histogram_quantile does.
std::optional<double> Quantile(double q, const std::vector<std::pair<double, double>>& cum) {
  if (cum.empty() || cum.back().second <= 0) return std::nullopt;
  double total = cum.back().second;
  double rank = q * total;
  double prev_bound = 0, prev_count = 0;
  for (const auto& [bound, c] : cum) {
    if (c >= rank && c > prev_count) {
      if (std::isinf(bound)) return prev_bound;
      double lower = bound <= 0 ? bound : prev_bound;
      return lower + (bound - lower) * (rank - prev_count) / (c - prev_count);
    }
    prev_bound = bound;
    prev_count = c;
  }
  return prev_bound;
}

void Num(JsonWriter& w, const char* key, std::optional<double> v) {
  w.Key(key);
  if (!v || !std::isfinite(*v)) {
    w.Null();
  } else if (*v == std::trunc(*v) && std::abs(*v) < 9.0e15) {
    w.Int64(static_cast<int64_t>(*v));  // counts print as 3, not 3.0
  } else {
    w.Double(*v);
  }
}

void WriteLabels(JsonWriter& w, const Labels& ls) {
  w.Key("labels");
  w.StartObject();
  for (const Label& l : ls) {
    if (l.name == kMetricNameLabel) continue;
    w.Key(l.name.data(), static_cast<rapidjson::SizeType>(l.name.size()));
    w.String(l.value.data(), static_cast<rapidjson::SizeType>(l.value.size()));
  }
  w.EndObject();
}

// "coordination.task_latency_seconds" for metric coordination_task_latency_seconds.
std::string Key(std::string_view domain, std::string_view metric) {
  if (!domain.empty() && metric.size() > domain.size() && metric.starts_with(domain) &&
      metric[domain.size()] == '_') {
    return std::string(domain) + "." + std::string(metric.substr(domain.size() + 1));
  }
  return std::string(metric);
}

HttpResponse MetricsView(const ApiContext& ctx, HttpRequest& req, int64_t now) {
  std::string domain;
  if (auto it = req.path_params.find("domain"); it != req.path_params.end()) domain = it->second;
  int64_t window_ms = 3600000;
  if (auto tw = req.Param("timeWindow"); tw && !tw->empty()) {
    auto [p, ec] = std::from_chars(tw->data(), tw->data() + tw->size(), window_ms);
    if (ec != std::errc() || p != tw->data() + tw->size() || window_ms <= 0) {
      return ErrorResponse(
          400, "bad_data",
          "invalid parameter \"timeWindow\": must be a positive number of milliseconds");
    }
  }
  Window w{now - window_ms, now};
  std::unordered_map<std::string, MetricType> types;
  std::unordered_map<std::string, std::string> units;
  for (auto& [name, meta] : ctx.storage->Metadata()) {
    types[name] = meta.type;
    units[name] = meta.unit;
  }

  Matchers ms = {domain.empty() ? Matcher::MustMake(MatchType::kRegexMatch, "domain", ".+")
                                : Matcher::MustMake(MatchType::kEqual, "domain", domain)};
  auto q = ctx.storage->NewQuerier(w.start - kLookbackMs, w.end);
  auto set = q->Select(true, nullptr, ms);

  rapidjson::StringBuffer counters_buf, gauges_buf;
  JsonWriter cw(counters_buf), gw(gauges_buf);
  cw.StartArray();
  gw.StartArray();
  std::map<std::string, HistogramAgg> histograms;  // by family + labels, sorted
  auto family_of = [&](std::string_view metric,
                       std::string_view suffix) -> std::optional<std::string> {
    if (!metric.ends_with(suffix)) return std::nullopt;
    std::string fam(metric.substr(0, metric.size() - suffix.size()));
    auto t = types.find(fam);
    if (t == types.end() || t->second != MetricType::kHistogram) return std::nullopt;
    return fam;
  };
  while (set->Next()) {
    const storage::Series& s = set->At();
    std::string metric(s.labels().MetricName());
    std::string_view dom = s.labels().Get("domain");
    std::optional<std::string> fam;
    std::string_view part;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if ((fam = family_of(metric, suffix))) {
        part = suffix;
        break;
      }
    }
    if (fam) {
      Labels base = LabelsBuilder(s.labels()).Del(kMetricNameLabel).Del("le").Build();
      auto& h = histograms[*fam + base.ToString()];
      h.labels = base;
      h.family = *fam;
      Increase inc = ComputeIncrease(s, w);
      if (part == "_bucket") {
        if (auto le = ParseLe(s.labels().Get("le"))) h.buckets[*le] = inc.increase;
      } else if (part == "_sum") {
        h.sum = inc.increase;
      } else {
        h.count = inc.increase;
        h.has_count = true;
      }
      continue;
    }
    auto t = types.find(metric);
    MetricType type = t == types.end() ? MetricType::kGauge : t->second;
    std::string key = Key(dom, metric);
    if (type == MetricType::kCounter) {
      Increase inc = ComputeIncrease(s, w);
      if (!inc.last) continue;
      cw.StartObject();
      cw.Key("name");
      cw.String(metric.c_str());
      cw.Key("key");
      cw.String(key.c_str());
      WriteLabels(cw, s.labels());
      Num(cw, "increase", inc.increase);
      Num(cw, "value", inc.last);
      cw.EndObject();
    } else {
      auto last = LastSample(s);
      if (!last) continue;
      gw.StartObject();
      gw.Key("name");
      gw.String(metric.c_str());
      gw.Key("key");
      gw.String(key.c_str());
      WriteLabels(gw, s.labels());
      Num(gw, "value", last->v);
      gw.Key("timestamp");
      gw.Int64(last->t);
      gw.EndObject();
    }
  }
  if (!set->Err().ok()) return StatusResponse(set->Err());
  cw.EndArray();
  gw.EndArray();

  rapidjson::StringBuffer hist_buf, timer_buf;
  JsonWriter hw(hist_buf), tw(timer_buf);
  hw.StartArray();
  tw.StartArray();
  for (auto& [k, h] : histograms) {
    std::vector<std::pair<double, double>> cum(h.buckets.begin(), h.buckets.end());
    double count = h.has_count ? h.count : (cum.empty() ? 0 : cum.back().second);
    bool timer = units[h.family] == "seconds";
    JsonWriter& out = timer ? tw : hw;
    out.StartObject();
    out.Key("name");
    out.String(h.family.c_str());
    std::string key = Key(h.labels.Get("domain"), h.family);
    out.Key("key");
    out.String(key.c_str());
    if (timer) {
      out.Key("unit");
      out.String("seconds");
    }
    WriteLabels(out, h.labels);
    Num(out, "count", count);
    Num(out, "sum", h.sum);
    Num(out, "avg", count > 0 ? std::optional<double>(h.sum / count) : std::nullopt);
    // Bucket-precision bounds: the lower edge of the lowest bucket that gained
    // observations and the upper edge of the highest one.
    std::optional<double> mn, mx;
    double prev_bound = 0, prev_c = 0;
    for (const auto& [bound, c] : cum) {
      if (c > prev_c) {
        if (!mn) mn = bound <= 0 ? bound : prev_bound;
        mx = bound;
      }
      prev_bound = bound;
      prev_c = c;
    }
    Num(out, "min", mn);
    Num(out, "max", mx);
    Num(out, "p50", Quantile(0.5, cum));
    Num(out, "p95", Quantile(0.95, cum));
    Num(out, "p99", Quantile(0.99, cum));
    out.EndObject();
  }
  hw.EndArray();
  tw.EndArray();

  std::string data = R"({"domain":)";
  if (domain.empty()) {
    data += "null";
  } else {
    rapidjson::StringBuffer b;
    JsonWriter dw(b);
    dw.String(domain.c_str());
    data += b.GetString();
  }
  data += R"(,"timeWindow":)" + std::to_string(window_ms) + R"(,"start":)" +
          std::to_string(w.start) + R"(,"end":)" + std::to_string(w.end);
  data += R"(,"counters":)";
  data += counters_buf.GetString();
  data += R"(,"gauges":)";
  data += gauges_buf.GetString();
  data += R"(,"histograms":)";
  data += hist_buf.GetString();
  data += R"(,"timers":)";
  data += timer_buf.GetString();
  data += '}';
  return SuccessResponse(data);
}

}  // namespace

void RegisterMetricsView(Router& router, const ApiContext& ctx) {
  auto now = ctx.now_ms ? ctx.now_ms : [] { return NowMs(); };
  router.Add("GET", "/api/metrics",
             [ctx, now](HttpRequest& req) { return MetricsView(ctx, req, now()); });
  router.Add("GET", "/api/metrics/{domain}", [ctx, now](HttpRequest& req) {
    if (!IsValidLabelName(req.path_params["domain"])) {
      return ErrorResponse(400, "bad_data", "invalid domain \"" + req.path_params["domain"] + "\"");
    }
    return MetricsView(ctx, req, now());
  });
}

}  // namespace zw::api
