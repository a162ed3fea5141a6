#include "ingest/otlp.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/matcher.h"
#include "core/names.h"
#include "core/sample.h"
#include "ingest/exposition_number.h"
#include "ingest/otlp_names.h"

namespace zw::ingest {
namespace {

using otlp::ExportRequest;
using otlp::KeyValueView;
using otlp::MetricKind;
using otlp::MetricView;
using otlp::PointView;
using otlp::Range;
using otlp::Temporality;

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr int kMinScale = -10;  // the data model's range of exponential histogram scales
constexpr int kMaxScale = 20;

int64_t Ms(uint64_t ns) { return static_cast<int64_t>(ns / kNsPerMs); }

std::string MetricPath(size_t r, size_t s, size_t m, std::string_view name) {
  return fmt::format("resourceMetrics[{}].scopeMetrics[{}].metrics[{}] ({})", r, s, m, name);
}

otlp::NameKind NameKindOf(const MetricView& m) {
  if (m.kind == MetricKind::kSum && m.monotonic) return otlp::NameKind::kCounter;
  if (m.kind == MetricKind::kGauge || m.kind == MetricKind::kSum) return otlp::NameKind::kGauge;
  return otlp::NameKind::kOther;
}

MetricType TypeOf(const MetricView& m) {
  switch (m.kind) {
    case MetricKind::kGauge:
      return MetricType::kGauge;
    case MetricKind::kSum:
      return m.monotonic ? MetricType::kCounter : MetricType::kGauge;
    case MetricKind::kHistogram:
    case MetricKind::kExponentialHistogram:
      return MetricType::kHistogram;
    case MetricKind::kSummary:
      return MetricType::kSummary;
    case MetricKind::kNone:
      break;
  }
  return MetricType::kUnknown;
}

std::string CanonicalFloat(double v) {
  std::string s;
  AppendCanonicalFloat(v, &s);
  return s;
}

// ---- validation: everything that makes a request malformed, before anything is stored ----

Status CheckAttributes(const ExportRequest& req, Range attrs, std::string_view where) {
  for (uint32_t i = attrs.begin; i < attrs.end; ++i) {
    const KeyValueView& kv = req.attributes[i];
    if (kv.key.empty()) {
      return Status::InvalidArgument(
          fmt::format("{}.attributes[{}]: empty attribute key", where, i - attrs.begin));
    }
    if (!IsValidUtf8(kv.key) || !IsValidUtf8(kv.value)) {
      return Status::InvalidArgument(
          fmt::format("{}.attributes[{}]: key or value of \"{}\" is not valid UTF-8", where,
                      i - attrs.begin, IsValidUtf8(kv.key) ? kv.key : "?"));
    }
  }
  return Status::Ok();
}

Status CheckHistogram(const ExportRequest& req, const PointView& p, std::string_view where) {
  if (p.bucket_counts.empty()) {
    if (!p.explicit_bounds.empty()) {
      return Status::InvalidArgument(fmt::format("{}: {} explicit_bounds but no bucket_counts",
                                                 where, p.explicit_bounds.size()));
    }
    return Status::Ok();
  }
  if (p.bucket_counts.size() != p.explicit_bounds.size() + 1) {
    return Status::InvalidArgument(
        fmt::format("{}: {} bucket_counts for {} explicit_bounds (want one more count than bounds)",
                    where, p.bucket_counts.size(), p.explicit_bounds.size()));
  }
  for (uint32_t i = p.explicit_bounds.begin; i < p.explicit_bounds.end; ++i) {
    double b = req.bounds[i];
    if (!std::isfinite(b)) {
      return Status::InvalidArgument(
          fmt::format("{}: explicit_bounds[{}] is {}, want a finite number", where,
                      i - p.explicit_bounds.begin, b));
    }
    if (i > p.explicit_bounds.begin && !(req.bounds[i - 1] < b)) {
      return Status::InvalidArgument(
          fmt::format("{}: explicit_bounds are not strictly increasing ({} then {})", where,
                      req.bounds[i - 1], b));
    }
  }
  uint64_t total = 0;
  for (uint32_t i = p.bucket_counts.begin; i < p.bucket_counts.end; ++i) total += req.counts[i];
  if (total != p.count) {
    return Status::InvalidArgument(
        fmt::format("{}: bucket_counts add up to {} but count is {}", where, total, p.count));
  }
  return Status::Ok();
}

Status CheckExponential(const ExportRequest& req, const PointView& p, std::string_view where) {
  if (p.scale < kMinScale || p.scale > kMaxScale) {
    return Status::InvalidArgument(
        fmt::format("{}: scale {} is outside [{}, {}]", where, p.scale, kMinScale, kMaxScale));
  }
  if (!(p.zero_threshold >= 0) || std::isinf(p.zero_threshold)) {
    return Status::InvalidArgument(fmt::format(
        "{}: zero_threshold {} is not a finite non-negative number", where, p.zero_threshold));
  }
  // Offsets plus lengths must stay inside int32 indices.
  for (auto [off, r] :
       {std::pair{p.positive_offset, p.positive}, {p.negative_offset, p.negative}}) {
    if (static_cast<int64_t>(off) + r.size() > std::numeric_limits<int32_t>::max()) {
      return Status::InvalidArgument(
          fmt::format("{}: bucket offset {} plus {} buckets overflows", where, off, r.size()));
    }
  }
  uint64_t total = p.zero_count;
  for (uint32_t i = p.positive.begin; i < p.positive.end; ++i) total += req.counts[i];
  for (uint32_t i = p.negative.begin; i < p.negative.end; ++i) total += req.counts[i];
  if (total != p.count) {
    return Status::InvalidArgument(fmt::format(
        "{}: zero_count and bucket counts add up to {} but count is {}", where, total, p.count));
  }
  return Status::Ok();
}

Status Validate(const ExportRequest& req) {
  for (size_t r = 0; r < req.resources.size(); ++r) {
    const auto& res = req.resources[r];
    ZW_RETURN_IF_ERROR(
        CheckAttributes(req, res.attributes, fmt::format("resourceMetrics[{}].resource", r)));
    for (uint32_t s = res.scopes.begin; s < res.scopes.end; ++s) {
      const auto& sc = req.scopes[s];
      std::string scope_path =
          fmt::format("resourceMetrics[{}].scopeMetrics[{}]", r, s - res.scopes.begin);
      if (!IsValidUtf8(sc.name) || !IsValidUtf8(sc.version)) {
        return Status::InvalidArgument(
            fmt::format("{}.scope: name or version is not valid UTF-8", scope_path));
      }
      for (uint32_t m = sc.metrics.begin; m < sc.metrics.end; ++m) {
        const MetricView& mv = req.metrics[m];
        std::string where = fmt::format("{}.metrics[{}]", scope_path, m - sc.metrics.begin);
        if (!IsValidUtf8(mv.name) || !IsValidUtf8(mv.description) || !IsValidUtf8(mv.unit)) {
          return Status::InvalidArgument(
              fmt::format("{}: name, description or unit is not valid UTF-8", where));
        }
        where += fmt::format(" ({})", mv.name);
        if (mv.name.empty()) return Status::InvalidArgument(where + ": metric has no name");
        if (otlp::MetricName(mv.name, mv.unit, NameKindOf(mv)).empty()) {
          return Status::InvalidArgument(fmt::format(
              "{}: metric name \"{}\" has no letters or digits to make a Prometheus name", where,
              mv.name));
        }
        if (mv.kind == MetricKind::kNone) {
          return Status::InvalidArgument(
              where +
              ": metric has no data (one of gauge, sum, histogram, exponentialHistogram, "
              "summary)");
        }
        bool temporal = mv.kind == MetricKind::kSum || mv.kind == MetricKind::kHistogram ||
                        mv.kind == MetricKind::kExponentialHistogram;
        if (temporal && mv.temporality == Temporality::kUnspecified) {
          return Status::InvalidArgument(
              fmt::format("{}: aggregation temporality {} is not 1 (delta) or 2 (cumulative)",
                          where, mv.raw_temporality));
        }
        for (uint32_t i = mv.points.begin; i < mv.points.end; ++i) {
          const PointView& p = req.points[i];
          std::string pw = fmt::format("{}.dataPoints[{}]", where, i - mv.points.begin);
          ZW_RETURN_IF_ERROR(CheckAttributes(req, p.attributes, pw));
          if (p.time_ns == 0) return Status::InvalidArgument(pw + ": timeUnixNano is missing");
          bool no_value = (p.flags & otlp::kFlagNoRecordedValue) != 0;
          switch (mv.kind) {
            case MetricKind::kGauge:
            case MetricKind::kSum:
              if (!p.has_value && !no_value) {
                return Status::InvalidArgument(pw + ": data point has neither asDouble nor asInt");
              }
              break;
            case MetricKind::kHistogram:
              if (!no_value) ZW_RETURN_IF_ERROR(CheckHistogram(req, p, pw));
              break;
            case MetricKind::kExponentialHistogram:
              if (!no_value) ZW_RETURN_IF_ERROR(CheckExponential(req, p, pw));
              break;
            case MetricKind::kSummary:
              for (uint32_t q = p.quantiles.begin; q < p.quantiles.end; ++q) {
                double v = req.quantiles[q].quantile;
                if (!(v >= 0 && v <= 1)) {
                  return Status::InvalidArgument(
                      fmt::format("{}: quantileValues[{}].quantile {} is not in [0, 1]", pw,
                                  q - p.quantiles.begin, v));
                }
              }
              break;
            case MetricKind::kNone:
              break;
          }
        }
      }
    }
  }
  return Status::Ok();
}

// 2^(i * 2^-scale): the bound between exponential buckets i-1 and i.
double ExpBound(int64_t i, int scale) {
  if (scale <= 0) {
    int64_t e = i * (int64_t{1} << -scale);
    if (e > 1100) return std::numeric_limits<double>::infinity();
    if (e < -1100) return 0;
    return std::ldexp(1.0, static_cast<int>(e));
  }
  return std::exp2(static_cast<double>(i) / static_cast<double>(int64_t{1} << scale));
}

// Number of buckets a dense run [offset, offset + n) spans after merging 2^shift at a time.
int64_t Span(int32_t offset, uint32_t n, int shift) {
  if (n == 0) return 0;
  int64_t lo = static_cast<int64_t>(offset) >> shift;
  int64_t hi = (static_cast<int64_t>(offset) + n - 1) >> shift;
  return hi - lo + 1;
}

}  // namespace

// One request's appends, and the delta state it changes (written back after the commit).
class OtlpIngester::Request {
 public:
  Request(OtlpIngester* ing, const ExportRequest& req)
      : ing_(ing), req_(req), app_(ing->storage_->NewAppender()) {}

  Result<OtlpResult> Run() {
    for (size_t r = 0; r < req_.resources.size(); ++r) ZW_RETURN_IF_ERROR(Resource(r));
    ZW_RETURN_IF_ERROR(app_->Commit());
    // delta_ is non-empty only in requests with delta metrics, which hold delta_mu_.
    if (!delta_.empty()) {
      for (auto& [k, v] : delta_) ing_->delta_[k] = std::move(v);
      if (ing_->delta_.size() > ing_->options_.max_delta_series) ing_->delta_.clear();
    }
    if (result_.rejected_points > 0) {
      result_.message = fmt::format("{} of {} data points rejected: {}{}", result_.rejected_points,
                                    result_.rejected_points + result_.points, first_errors_,
                                    result_.rejected_points > kMaxErrors ? "; ..." : "");
    }
    return std::move(result_);
  }

 private:
  static constexpr size_t kMaxErrors = 3;

  // The point being appended: a point is rejected when one of its samples is, and its
  // later samples are then skipped.
  struct Point {
    const std::string* metric = nullptr;  // the metric's path, for messages
    uint32_t index = 0;
    bool rejected = false;
    size_t samples = 0;
  };

  // Sanitised label pairs from attributes: keys that collide after sanitising keep one
  // name, their values joined with ";" in the order of the original keys (a key sent twice
  // keeps its last value).
  static void AddAttributes(const std::vector<const KeyValueView*>& kvs,
                            std::vector<std::pair<std::string, std::string>>* out) {
    struct A {
      std::string name;
      const KeyValueView* kv;
    };
    std::vector<A> as;
    as.reserve(kvs.size());
    for (const KeyValueView* kv : kvs) as.push_back({otlp::LabelName(kv->key), kv});
    std::stable_sort(as.begin(), as.end(), [](const A& a, const A& b) {
      return a.name != b.name ? a.name < b.name : a.kv->key < b.kv->key;
    });
    for (size_t i = 0; i < as.size(); ++i) {
      if (i > 0 && as[i].name == as[i - 1].name) {
        if (as[i].kv->key == as[i - 1].kv->key) {
          out->back().second = std::string(as[i].kv->value);
        } else {
          out->back().second.push_back(';');
          out->back().second.append(as[i].kv->value);
        }
        continue;
      }
      out->emplace_back(as[i].name, std::string(as[i].kv->value));
    }
  }

  void AddAttributes(Range attrs, std::vector<std::pair<std::string, std::string>>* out) {
    kvs_.clear();
    for (uint32_t i = attrs.begin; i < attrs.end; ++i) kvs_.push_back(&req_.attributes[i]);
    AddAttributes(kvs_, out);
  }

  static void SetLabel(std::vector<std::pair<std::string, std::string>>* ls, std::string_view name,
                       std::string_view value) {
    std::erase_if(*ls, [&](const auto& p) { return p.first == name; });
    if (!value.empty()) ls->emplace_back(std::string(name), std::string(value));
  }

  Status Resource(size_t r) {
    const auto& res = req_.resources[r];
    std::string_view service, ns, instance;
    for (uint32_t i = res.attributes.begin; i < res.attributes.end; ++i) {
      const KeyValueView& kv = req_.attributes[i];
      if (kv.key == "service.name")
        service = kv.value;
      else if (kv.key == "service.namespace")
        ns = kv.value;
      else if (kv.key == "service.instance.id")
        instance = kv.value;
    }
    job_.clear();
    if (!service.empty())
      job_ = ns.empty() ? std::string(service) : fmt::format("{}/{}", ns, service);
    instance_ = std::string(instance);
    newest_ms_ = std::nullopt;
    for (uint32_t s = res.scopes.begin; s < res.scopes.end; ++s) {
      const auto& sc = req_.scopes[s];
      for (uint32_t m = sc.metrics.begin; m < sc.metrics.end; ++m) {
        ZW_RETURN_IF_ERROR(Metric(
            req_.metrics[m], sc.name, sc.version,
            MetricPath(r, s - res.scopes.begin, m - sc.metrics.begin, req_.metrics[m].name)));
      }
    }
    return TargetInfo(res.attributes);
  }

  // target_info{job, instance, <other resource attributes>} 1, at the resource's newest point.
  Status TargetInfo(Range attrs) {
    if (!newest_ms_) return Status::Ok();
    kvs_.clear();
    for (uint32_t i = attrs.begin; i < attrs.end; ++i) {
      const KeyValueView& kv = req_.attributes[i];
      if (kv.key == "service.name" || kv.key == "service.namespace" ||
          kv.key == "service.instance.id" || kv.value.empty())
        continue;
      kvs_.push_back(&kv);
    }
    if (kvs_.empty()) return Status::Ok();
    std::vector<std::pair<std::string, std::string>> pairs;
    AddAttributes(kvs_, &pairs);
    SetLabel(&pairs, "job", job_);
    SetLabel(&pairs, "instance", instance_);
    SetLabel(&pairs, kMetricNameLabel, "target_info");
    std::vector<std::pair<std::string_view, std::string_view>> views(pairs.begin(), pairs.end());
    static const MetricMetadata kMeta{MetricType::kGauge, "Target metadata", ""};
    storage::AppendOptions opts;
    opts.metadata = &kMeta;
    // Not a data point: a refusal (an older request's resource, say) is not reported.
    auto got = app_->Append(0, Labels::FromPairs(std::move(views)), *newest_ms_, 1, opts);
    (void)got;
    return Status::Ok();
  }

  Status Metric(const MetricView& m, std::string_view scope_name, std::string_view scope_version,
                const std::string& where) {
    std::string name = otlp::MetricName(m.name, m.unit, NameKindOf(m));
    std::string unit = m.kind == MetricKind::kGauge || (m.kind == MetricKind::kSum && !m.monotonic)
                           ? (m.unit == "1" ? "ratio" : otlp::UnitWords(m.unit))
                           : otlp::UnitWords(m.unit);
    meta_.push_back(MetricMetadata{TypeOf(m), std::string(m.description), unit});
    pending_meta_ = &meta_.back();
    family_ = name;
    for (uint32_t i = m.points.begin; i < m.points.end; ++i) {
      const PointView& p = req_.points[i];
      Point pt;
      pt.metric = &where;
      pt.index = i - m.points.begin;
      base_.clear();
      AddAttributes(p.attributes, &base_);
      SetLabel(&base_, "otel_scope_name", scope_name);
      SetLabel(&base_, "otel_scope_version", scope_version);
      SetLabel(&base_, "job", job_);
      SetLabel(&base_, "instance", instance_);
      int64_t t = Ms(p.time_ns);
      newest_ms_ = std::max(newest_ms_.value_or(t), t);
      // A start time means something for cumulative series only; a delta turned cumulative
      // starts with its series' first point, which is not tracked.
      bool cumulative = m.kind != MetricKind::kGauge && m.temporality != Temporality::kDelta &&
                        !(m.kind == MetricKind::kSum && !m.monotonic);
      start_ms_ = cumulative ? Ms(p.start_ns) : 0;
      bool stale = (p.flags & otlp::kFlagNoRecordedValue) != 0;
      Status st;
      switch (m.kind) {
        case MetricKind::kGauge:
        case MetricKind::kSum:
          st = Number(m, p, name, stale, pt);
          break;
        case MetricKind::kHistogram:
        case MetricKind::kExponentialHistogram:
          st = Histogram(m, p, name, stale, pt);
          break;
        case MetricKind::kSummary:
          st = Summary(p, name, stale, pt);
          break;
        case MetricKind::kNone:
          break;
      }
      ZW_RETURN_IF_ERROR(st);
      if (pt.rejected) {
        ++result_.rejected_points;
      } else {
        ++result_.points;
      }
      result_.samples += pt.samples;
    }
    return Status::Ok();
  }

  // The point's labels with a metric name and, optionally, one more label (le, quantile).
  Labels Make(std::string_view name, std::string_view extra = {}, std::string_view value = {}) {
    std::vector<std::pair<std::string_view, std::string_view>> views;
    views.reserve(base_.size() + 2);
    for (const auto& [n, v] : base_) {
      if (n != extra) views.emplace_back(n, v);
    }
    views.emplace_back(kMetricNameLabel, name);
    if (!extra.empty()) views.emplace_back(extra, value);
    return Labels::FromPairs(std::move(views));
  }

  // Appends one sample of the point; a storage refusal rejects the point.
  Status Add(Point& pt, const Labels& ls, int64_t t, double v) {
    if (pt.rejected) return Status::Ok();
    storage::AppendOptions opts;
    opts.start_timestamp = start_ms_;
    if (pending_meta_) {
      opts.metadata = pending_meta_;
      opts.family = family_;
    }
    auto r = app_->Append(0, ls, t, v, opts);
    if (r.ok()) {
      pending_meta_ = nullptr;
      ++pt.samples;
      return Status::Ok();
    }
    switch (r.status().code()) {
      case StatusCode::kOutOfOrder:
      case StatusCode::kDuplicate:
      case StatusCode::kOutOfBounds:
      case StatusCode::kInvalidArgument:
        Reject(pt, r.status().message());
        return Status::Ok();
      default:
        return r.status();
    }
  }

  void Reject(Point& pt, std::string_view why) {
    pt.rejected = true;
    if (++errors_ > kMaxErrors) return;
    if (!first_errors_.empty()) first_errors_ += "; ";
    fmt::format_to(std::back_inserter(first_errors_), "{}.dataPoints[{}]: {}", *pt.metric, pt.index,
                   why);
  }

  // The running state of a delta series: this request's copy, else the ingester's, else
  // what storage holds (read once).
  DeltaState& Delta(const Labels& key_labels, bool histogram) {
    uint64_t key = key_labels.Hash();
    if (auto it = delta_.find(key); it != delta_.end()) return it->second;
    if (auto it = ing_->delta_.find(key); it != ing_->delta_.end()) return delta_[key] = it->second;
    return delta_[key] = histogram ? LoadHistogram(key_labels) : LoadSum(key_labels);
  }

  // Calls fn(labels, last value, its time) for each stored series equal to `ls`, ignoring
  // label `ignore` when non-empty.
  template <typename Fn>
  void ForEachStored(const Labels& ls, std::string_view ignore, Fn fn) {
    Matchers ms;
    for (const Label& l : ls) {
      ms.push_back(Matcher::MustMake(MatchType::kEqual, std::string(l.name), std::string(l.value)));
    }
    auto q = ing_->storage_->NewQuerier(kMinTime, kMaxTime);
    auto set = q->Select(false, nullptr, ms);
    while (set->Next()) {
      const storage::Series& s = set->At();
      Labels got = ignore.empty() ? s.labels() : LabelsBuilder(s.labels()).Del(ignore).Build();
      if (got != ls) continue;
      auto it = s.Iterator();
      std::optional<Sample> last;
      while (it->Next()) {
        if (!IsStaleNaN(it->At().v)) last = it->At();
      }
      if (last) fn(s.labels(), last->v, last->t);
    }
  }

  DeltaState LoadSum(const Labels& ls) {
    DeltaState st;
    ForEachStored(ls, "", [&](const Labels&, double v, int64_t t) {
      st.total = v;
      st.last_ns = static_cast<uint64_t>(std::max<int64_t>(t, 0)) * kNsPerMs;
    });
    return st;
  }

  // `base` carries the histogram's base name; its series are <base>_bucket/_sum/_count.
  DeltaState LoadHistogram(const Labels& base) {
    DeltaState st;
    std::string name(base.MetricName());
    LabelsBuilder b(base);
    std::map<double, double> cumulative;
    int64_t newest = -1;
    ForEachStored(b.Set(kMetricNameLabel, name + "_bucket").Build(), "le",
                  [&](const Labels& ls, double v, int64_t t) {
                    auto le = ParseExpositionFloat(ls.Get("le"));
                    if (!le || std::isinf(*le)) return;
                    cumulative[*le] = v;
                    newest = std::max(newest, t);
                  });
    double prev = 0;
    for (const auto& [le, c] : cumulative) {
      st.buckets[le] = std::max(0.0, c - prev);
      prev = std::max(prev, c);
    }
    ForEachStored(b.Set(kMetricNameLabel, name + "_sum").Build(), "",
                  [&](const Labels&, double v, int64_t) { st.sum = v; });
    ForEachStored(b.Set(kMetricNameLabel, name + "_count").Build(), "",
                  [&](const Labels&, double v, int64_t t) {
                    st.total = v;
                    newest = std::max(newest, t);
                  });
    if (newest >= 0) st.last_ns = static_cast<uint64_t>(newest) * kNsPerMs;
    return st;
  }

  // A delta point must start no earlier than the end of the last one accumulated, and end
  // after it; otherwise it overlaps (a resend, or two writers of one series).
  bool DeltaInOrder(Point& pt, const PointView& p, const DeltaState& st) {
    if (st.last_ns == 0) return true;
    if (p.time_ns <= st.last_ns || (p.start_ns != 0 && p.start_ns < st.last_ns)) {
      Reject(pt, fmt::format("delta point ({}, {}] ns overlaps the last one accumulated for "
                             "this series, which ended at {} ns",
                             p.start_ns, p.time_ns, st.last_ns));
      return false;
    }
    return true;
  }

  Status Number(const MetricView& m, const PointView& p, const std::string& name, bool stale,
                Point& pt) {
    Labels ls = Make(name);
    int64_t t = Ms(p.time_ns);
    if (stale) return Add(pt, ls, t, StaleNaN());
    if (m.kind != MetricKind::kSum || m.temporality != Temporality::kDelta)
      return Add(pt, ls, t, p.value);
    DeltaState& st = Delta(ls, false);
    if (!DeltaInOrder(pt, p, st)) return Status::Ok();
    double total = st.total + p.value;
    ZW_RETURN_IF_ERROR(Add(pt, ls, t, total));
    if (!pt.rejected) {
      st.total = total;
      st.last_ns = p.time_ns;
    }
    return Status::Ok();
  }

  // The point's buckets as upper bound -> count (not cumulative); counts above the last
  // finite bound are only in the total.
  void Buckets(const MetricView& m, const PointView& p, std::map<double, double>* out) {
    if (m.kind == MetricKind::kHistogram) {
      for (uint32_t i = 0; i < p.explicit_bounds.size(); ++i) {
        (*out)[req_.bounds[p.explicit_bounds.begin + i]] +=
            static_cast<double>(req_.counts[p.bucket_counts.begin + i]);
      }
      return;
    }
    // Exponential: merge 2^shift buckets at a time down to a scale that fits the limits.
    int scale = std::min(p.scale, ing_->options_.max_exponential_scale);
    while (scale > kMinScale &&
           static_cast<size_t>(Span(p.positive_offset, p.positive.size(), p.scale - scale) +
                               Span(p.negative_offset, p.negative.size(), p.scale - scale)) >
               ing_->options_.max_exponential_buckets)
      --scale;
    int shift = p.scale - scale;
    // Positive bucket i holds (b^i, b^(i+1)]: its upper bound is the classic `le`.
    for (uint32_t k = 0; k < p.positive.size(); ++k) {
      int64_t i = (static_cast<int64_t>(p.positive_offset) + k) >> shift;
      double le = ExpBound(i + 1, scale);
      if (std::isinf(le)) continue;
      (*out)[le] += static_cast<double>(req_.counts[p.positive.begin + k]);
    }
    // Negative bucket i holds [-b^(i+1), -b^i): every value in it is <= -b^i.
    for (uint32_t k = 0; k < p.negative.size(); ++k) {
      int64_t i = (static_cast<int64_t>(p.negative_offset) + k) >> shift;
      double le = -ExpBound(i, scale);
      if (std::isinf(le)) le = std::numeric_limits<double>::lowest();
      (*out)[le] += static_cast<double>(req_.counts[p.negative.begin + k]);
    }
    if (p.zero_count > 0 || p.zero_threshold > 0)
      (*out)[p.zero_threshold] += static_cast<double>(p.zero_count);
  }

  Status Histogram(const MetricView& m, const PointView& p, const std::string& name, bool stale,
                   Point& pt) {
    int64_t t = Ms(p.time_ns);
    std::map<double, double> buckets;
    if (!stale) Buckets(m, p, &buckets);
    double count = static_cast<double>(p.count);
    double sum = p.sum;
    bool has_sum = p.has_sum;
    DeltaState* st = nullptr;
    if (m.temporality == Temporality::kDelta) {
      st = &Delta(Make(name), true);
      if (stale) {
        for (const auto& [le, c] : st->buckets) buckets[le] = c;
      } else {
        if (!DeltaInOrder(pt, p, *st)) return Status::Ok();
        for (const auto& [le, c] : st->buckets) buckets[le] += c;
        count += st->total;
        sum += st->sum;
        has_sum = true;
      }
    }
    double cumulative = 0;
    for (const auto& [le, c] : buckets) {
      cumulative += c;
      ZW_RETURN_IF_ERROR(Add(pt, Make(name + "_bucket", "le", CanonicalFloat(le)), t,
                             stale ? StaleNaN() : cumulative));
    }
    ZW_RETURN_IF_ERROR(
        Add(pt, Make(name + "_bucket", "le", "+Inf"), t, stale ? StaleNaN() : count));
    if (has_sum || stale)
      ZW_RETURN_IF_ERROR(Add(pt, Make(name + "_sum"), t, stale ? StaleNaN() : sum));
    ZW_RETURN_IF_ERROR(Add(pt, Make(name + "_count"), t, stale ? StaleNaN() : count));
    if (st && !stale && !pt.rejected) {
      st->buckets = std::move(buckets);
      st->total = count;
      st->sum = sum;
      st->last_ns = p.time_ns;
    }
    return Status::Ok();
  }

  Status Summary(const PointView& p, const std::string& name, bool stale, Point& pt) {
    int64_t t = Ms(p.time_ns);
    for (uint32_t q = p.quantiles.begin; q < p.quantiles.end; ++q) {
      ZW_RETURN_IF_ERROR(Add(pt, Make(name, "quantile", CanonicalFloat(req_.quantiles[q].quantile)),
                             t, stale ? StaleNaN() : req_.quantiles[q].value));
    }
    ZW_RETURN_IF_ERROR(Add(pt, Make(name + "_sum"), t, stale ? StaleNaN() : p.sum));
    return Add(pt, Make(name + "_count"), t, stale ? StaleNaN() : static_cast<double>(p.count));
  }

  OtlpIngester* ing_;
  const ExportRequest& req_;
  std::unique_ptr<storage::Appender> app_;
  OtlpResult result_;
  size_t errors_ = 0;
  std::string first_errors_;
  std::unordered_map<uint64_t, DeltaState> delta_;
  // The current resource, metric and point.
  std::string job_, instance_;
  std::optional<int64_t> newest_ms_;
  std::deque<MetricMetadata> meta_;               // stable: appends point into it until the commit
  const MetricMetadata* pending_meta_ = nullptr;  // rides on the metric's first sample
  std::string family_;
  std::vector<std::pair<std::string, std::string>> base_;
  std::vector<const KeyValueView*> kvs_;
  int64_t start_ms_ = 0;
};

OtlpIngester::OtlpIngester(storage::Storage* storage, OtlpOptions options)
    : storage_(storage), options_(options) {}

size_t OtlpIngester::delta_series() const {
  std::lock_guard lock(delta_mu_);
  return delta_.size();
}

Result<OtlpResult> OtlpIngester::Export(std::string_view body, bool json) {
  thread_local otlp::ExportRequest req;
  Status st =
      json ? otlp::DecodeExportRequestJson(body, &req) : otlp::DecodeExportRequest(body, &req);
  if (!st.ok()) {
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return Status::InvalidArgument(fmt::format("invalid {} ExportMetricsServiceRequest: {}",
                                               json ? "JSON" : "protobuf", st.message()));
  }
  auto r = Ingest(req);
  if (req.owned.size() > 4096 || req.points.capacity() > (1u << 20)) req = {};
  return r;
}

Result<OtlpResult> OtlpIngester::Ingest(const otlp::ExportRequest& req) {
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  if (Status st = Validate(req); !st.ok()) {
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return st;
  }
  bool has_delta = false;
  for (const MetricView& m : req.metrics) {
    if (m.temporality == Temporality::kDelta) has_delta = true;
  }
  std::unique_lock<std::mutex> lock(delta_mu_, std::defer_lock);
  if (has_delta) lock.lock();
  auto r = Request(this, req).Run();
  if (!r.ok()) {
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return r;
  }
  stats_.points.fetch_add(r->points, std::memory_order_relaxed);
  stats_.rejected_points.fetch_add(r->rejected_points, std::memory_order_relaxed);
  stats_.samples.fetch_add(r->samples, std::memory_order_relaxed);
  return r;
}

}  // namespace zw::ingest
