#include "ingest/push.h"

#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "core/names.h"
#include "core/sample.h"
#include "ingest/log_buckets.h"

namespace zw::ingest {

namespace json = simdjson::ondemand;

enum class Kind { kCounter, kGauge, kHistogram, kTimer };

struct PushIngester::Event {
  size_t index = 0;
  Kind kind = Kind::kGauge;
  std::string metric;  // full series name (counters: with _total; histograms: base name)
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  int64_t t = 0;
  Labels series;  // labels of the series (histograms: without le and name suffix)
};

namespace {

Status ItemError(size_t i, std::string_view field, std::string_view why) {
  return Status::InvalidArgument(fmt::format("item {}: field \"{}\": {}", i, field, why));
}

// Names from JavaScript often use dots and dashes; they map to underscores.
std::string Sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '.' || c == '-') c = '_';
  }
  return out;
}

Result<std::string> GetString(json::value v, size_t i, std::string_view field) {
  std::string_view s;
  if (v.get_string().get(s)) return ItemError(i, field, "must be a string");
  return std::string(s);
}

Status ParseEvent(json::object obj, size_t i, int64_t now_ms, PushIngester::Event* ev_out);

// Parses `body` (an object, an array, or NDJSON) into events, validating every one.
Status ParseBody(std::string_view body, int64_t now_ms, std::vector<PushIngester::Event>& events) {
  size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos)
    return Status::InvalidArgument(
        "empty body: expected a JSON event, an array of events, or NDJSON");
  simdjson::padded_string padded(body);
  thread_local json::parser parser;
  auto add = [&](json::value v) -> Status {
    if (events.size() >= kMaxEventsPerPush) {
      return Status::InvalidArgument(
          fmt::format("too many events in one request (limit {})", kMaxEventsPerPush));
    }
    size_t i = events.size();
    json::object obj;
    if (v.get_object().get(obj))
      return Status::InvalidArgument(fmt::format("item {}: not a JSON object", i));
    events.emplace_back();
    return ParseEvent(obj, i, now_ms, &events.back());
  };
  if (body[start] == '[') {
    json::document doc;
    if (auto err = parser.iterate(padded).get(doc)) {
      return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(err));
    }
    json::array arr;
    if (auto err = doc.get_array().get(arr)) {
      return Status::InvalidArgument(std::string("invalid JSON array: ") +
                                     simdjson::error_message(err));
    }
    for (auto elem : arr) {
      json::value v;
      if (auto err = elem.get(v)) {
        return Status::InvalidArgument(
            fmt::format("item {}: invalid JSON: {}", events.size(), simdjson::error_message(err)));
      }
      ZW_RETURN_IF_ERROR(add(v));
    }
    return Status::Ok();
  }
  json::document_stream stream;
  size_t batch = std::max<size_t>(padded.size() + 64, simdjson::dom::MINIMAL_BATCH_SIZE);
  if (auto err = parser.iterate_many(padded, batch).get(stream)) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    json::document_reference doc;
    if (auto err = (*it).get(doc)) {
      return Status::InvalidArgument(
          fmt::format("item {}: invalid JSON: {}", events.size(), simdjson::error_message(err)));
    }
    json::value v;
    if (auto err = doc.get_value().get(v)) {
      return Status::InvalidArgument(
          fmt::format("item {}: invalid JSON: {}", events.size(), simdjson::error_message(err)));
    }
    ZW_RETURN_IF_ERROR(add(v));
  }
  if (stream.truncated_bytes() > 0) {
    return Status::InvalidArgument(
        fmt::format("item {}: invalid JSON: truncated document", events.size()));
  }
  return Status::Ok();
}

Status ParseEvent(json::object obj, size_t i, int64_t now_ms, PushIngester::Event* ev) {
  ev->index = i;
  std::optional<std::string> source, domain, type, name;
  std::optional<double> value;
  std::optional<int64_t> ts;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key))
      return Status::InvalidArgument(fmt::format("item {}: invalid key", i));
    std::string k(key);
    json::value v;
    if (field.value().get(v)) return ItemError(i, k, "invalid JSON value");
    if (k == "source" || k == "domain" || k == "type" || k == "name") {
      auto s = GetString(v, i, k);
      if (!s.ok()) return s.status();
      if (k == "source")
        source = *s;
      else if (k == "domain")
        domain = *s;
      else if (k == "type")
        type = *s;
      else
        name = *s;
    } else if (k == "value") {
      double d;
      if (v.get_double().get(d)) return ItemError(i, k, "must be a number");
      if (!std::isfinite(d)) return ItemError(i, k, "must be finite");
      value = d;
    } else if (k == "timestamp") {
      double d;
      if (v.get_double().get(d))
        return ItemError(i, k, "must be a number (milliseconds since the Unix epoch)");
      // Up to year 9999; negative or zero timestamps are never what a client meant.
      if (!(d > 0) || d > 253402300799999.0)
        return ItemError(
            i, k, "must be milliseconds since the Unix epoch, after 1970 and before year 10000");
      ts = static_cast<int64_t>(std::floor(d));
    } else if (k == "labels") {
      json::object lobj;
      if (v.get_object().get(lobj)) return ItemError(i, k, "must be an object of string values");
      for (auto lf : lobj) {
        std::string_view lk;
        if (lf.unescaped_key().get(lk)) return ItemError(i, k, "invalid key");
        std::string_view lv;
        if (lf.value().get_string().get(lv)) {
          return ItemError(i, fmt::format("labels.{}", lk), "must be a string");
        }
        ev->labels.emplace_back(std::string(lk), std::string(lv));
      }
    } else if (k == "metadata") {
      // Accepted and validated as an object; not stored as series (docs/push.md).
      json::json_type jt;
      if (v.type().get(jt) || jt != json::json_type::object)
        return ItemError(i, k, "must be an object");
    } else {
      return ItemError(i, k,
                       "unknown field (expected source, domain, type, name, value, labels, "
                       "timestamp, metadata)");
    }
  }
  if (!source) return ItemError(i, "source", "missing");
  if (!domain) return ItemError(i, "domain", "missing");
  if (!type) return ItemError(i, "type", "missing");
  if (!name) return ItemError(i, "name", "missing");
  if (!value) return ItemError(i, "value", "missing");

  if (*type == "counter")
    ev->kind = Kind::kCounter;
  else if (*type == "gauge")
    ev->kind = Kind::kGauge;
  else if (*type == "histogram")
    ev->kind = Kind::kHistogram;
  else if (*type == "timer")
    ev->kind = Kind::kTimer;
  else
    return ItemError(i, "type",
                     fmt::format("\"{}\" is not one of counter, gauge, histogram, timer", *type));

  std::string dom = Sanitize(*domain);
  if (!IsValidLabelName(dom)) {
    return ItemError(
        i, "domain",
        fmt::format("\"{}\" must be letters, digits and underscores, not starting with a digit",
                    *domain));
  }
  std::string nm = Sanitize(*name);
  if (nm.empty() || !IsValidMetricName(dom + "_" + nm)) {
    return ItemError(i, "name",
                     fmt::format("\"{}\" must be letters, digits, underscores and colons", *name));
  }
  if (source->empty()) return ItemError(i, "source", "must not be empty");
  if (!IsValidUtf8(*source)) return ItemError(i, "source", "must be valid UTF-8");

  std::string metric = dom + "_" + nm;
  switch (ev->kind) {
    case Kind::kCounter:
      if (*value < 0) return ItemError(i, "value", "a counter increment must not be negative");
      if (!metric.ends_with("_total")) metric += "_total";
      break;
    case Kind::kTimer:
      if (*value < 0) return ItemError(i, "value", "a timer duration must not be negative");
      *value /= 1000.0;  // milliseconds in, seconds stored
      if (!metric.ends_with("_seconds")) metric += "_seconds";
      break;
    default:
      break;
  }
  ev->metric = std::move(metric);
  ev->value = *value;
  ev->t = ts ? *ts : now_ms;

  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (const auto& [k, v] : ev->labels) {
    std::string field = "labels." + k;
    if (!IsValidLabelName(k))
      return ItemError(i, field, "is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    if (IsReservedLabelName(k)) return ItemError(i, field, "names starting with __ are reserved");
    if (k == "domain" || k == "source")
      return ItemError(i, field, "is set from the event's own field");
    if (k == "le" && (ev->kind == Kind::kHistogram || ev->kind == Kind::kTimer)) {
      return ItemError(i, field, "\"le\" is reserved for histogram buckets");
    }
    if (!IsValidUtf8(v)) return ItemError(i, field, "must be valid UTF-8");
    pairs.emplace_back(k, v);
  }
  pairs.emplace_back("domain", dom);
  pairs.emplace_back("source", *source);
  pairs.emplace_back(kMetricNameLabel, ev->metric);
  ev->series = Labels::FromPairs(std::move(pairs));
  return Status::Ok();
}

MetricType FamilyType(Kind k) {
  switch (k) {
    case Kind::kCounter:
      return MetricType::kCounter;
    case Kind::kGauge:
      return MetricType::kGauge;
    case Kind::kHistogram:
    case Kind::kTimer:
      return MetricType::kHistogram;
  }
  return MetricType::kUnknown;
}

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kCounter:
      return "counter";
    case Kind::kGauge:
      return "gauge";
    case Kind::kHistogram:
      return "histogram";
    case Kind::kTimer:
      return "timer";
  }
  return "?";
}

}  // namespace

// One request's work: the appender, plus the running state it changes, which is copied
// in and only written back when the commit succeeds.
class PushIngester::Batch {
 public:
  Batch(PushIngester* ing) : ing_(ing), app_(ing->storage_->NewAppender()) {}

  Status Counter(const std::vector<const Event*>& evs) {
    const Event& first = *evs.front();
    uint64_t key = first.series.Hash();
    int64_t stored_newest = kMinTime;
    double total;
    if (auto it = counters_.find(key); it != counters_.end()) {
      total = it->second;
    } else if (auto it2 = ing_->counters_.find(key); it2 != ing_->counters_.end()) {
      total = it2->second;
    } else {
      total = LastValue(first.series, &stored_newest).value_or(0);
    }
    ZW_RETURN_IF_ERROR(InOrder(key, evs, stored_newest));
    MetricMetadata meta{MetricType::kCounter, "", ""};
    const MetricMetadata* pending_meta = &meta;  // sent with the first sample only
    for (size_t k = 0; k < evs.size(); ++k) {
      total += evs[k]->value;
      if (k + 1 < evs.size() && evs[k + 1]->t == evs[k]->t) continue;  // one sample per timestamp
      ZW_RETURN_IF_ERROR(Add(*evs[k], evs[k]->series, total, std::exchange(pending_meta, nullptr)));
    }
    counters_[key] = total;
    return Status::Ok();
  }

  Status Gauge(const std::vector<const Event*>& evs) {
    MetricMetadata meta{MetricType::kGauge, "", ""};
    const MetricMetadata* pending_meta = &meta;
    for (size_t k = 0; k < evs.size(); ++k) {
      if (k + 1 < evs.size() && evs[k + 1]->t == evs[k]->t) continue;
      ZW_RETURN_IF_ERROR(
          Add(*evs[k], evs[k]->series, evs[k]->value, std::exchange(pending_meta, nullptr)));
    }
    return Status::Ok();
  }

  Status Histogram(const std::vector<const Event*>& evs) {
    const Event& first = *evs.front();
    uint64_t key = first.series.Hash();
    int64_t stored_newest = kMinTime;
    HistogramState h;
    if (auto it = histograms_.find(key); it != histograms_.end()) {
      h = it->second;
    } else if (auto it2 = ing_->histograms_.find(key); it2 != ing_->histograms_.end()) {
      h = it2->second;
    } else {
      h = LoadHistogram(first, &stored_newest);
    }
    ZW_RETURN_IF_ERROR(InOrder(key, evs, stored_newest));
    bool with_meta = true;
    for (size_t k = 0; k < evs.size(); ++k) {
      Observe(h, evs[k]->value);
      if (k + 1 < evs.size() && evs[k + 1]->t == evs[k]->t) continue;
      ZW_RETURN_IF_ERROR(EmitHistogram(*evs[k], h, std::exchange(with_meta, false)));
    }
    histograms_[key] = std::move(h);
    return Status::Ok();
  }

  Result<size_t> Commit() {
    ZW_RETURN_IF_ERROR(app_->Commit());
    for (auto& [k, v] : counters_) ing_->counters_[k] = v;
    for (auto& [k, v] : histograms_) ing_->histograms_[k] = std::move(v);
    for (auto& [k, v] : newest_) ing_->newest_[k] = v;
    return samples_;
  }

 private:
  // Running totals only mean something in time order: a counter, histogram or timer event
  // older than the newest one of its series is rejected (gauges may arrive out of order
  // within the storage's window).
  // `stored_newest`: the newest stored sample, when the running state was just loaded.
  Status InOrder(uint64_t key, const std::vector<const Event*>& evs, int64_t stored_newest) {
    int64_t newest = kMinTime;
    if (auto it = newest_.find(key); it != newest_.end()) {
      newest = it->second;
    } else if (auto it2 = ing_->newest_.find(key); it2 != ing_->newest_.end()) {
      newest = it2->second;
    } else {
      newest = stored_newest;
    }
    for (const Event* ev : evs) {
      if (ev->t < newest) {
        return Status::Error(StatusCode::kOutOfOrder,
                             "item {}: out-of-order sample: {} events must not be older than "
                             "the newest one of their series (timestamp {} < {})",
                             ev->index,
                             ev->kind == Kind::kCounter ? "counter" : "histogram and timer", ev->t,
                             newest);
      }
      newest = ev->t;
    }
    newest_[key] = newest;
    return Status::Ok();
  }

  static void Observe(HistogramState& h, double v) {
    h.count++;
    h.sum += v;
    if (!(v > 0)) {
      h.zero++;
      return;
    }
    int i = LogBucketIndex(v);
    if (i > kMaxBucketIndex) {
      h.overflow++;
      return;
    }
    h.buckets[i]++;
    h.emitted.insert(i);
    if (i > kMinBucketIndex) h.emitted.insert(i - 1);
  }

  Status EmitHistogram(const Event& ev, const HistogramState& h, bool with_meta) {
    MetricMetadata meta{MetricType::kHistogram, "", ev.kind == Kind::kTimer ? "seconds" : ""};
    LabelsBuilder b(ev.series);
    uint64_t cumulative = h.zero;
    if (h.zero > 0) {
      b.Set(kMetricNameLabel, ev.metric + "_bucket").Set("le", "0");
      ZW_RETURN_IF_ERROR(
          Add(ev, b.Build(), static_cast<double>(cumulative), with_meta ? &meta : nullptr));
      with_meta = false;
    }
    auto bucket = h.buckets.begin();
    for (int idx : h.emitted) {
      for (; bucket != h.buckets.end() && bucket->first <= idx; ++bucket)
        cumulative += bucket->second;
      b.Set(kMetricNameLabel, ev.metric + "_bucket").Set("le", FormatLe(LogBucketBound(idx)));
      ZW_RETURN_IF_ERROR(
          Add(ev, b.Build(), static_cast<double>(cumulative), with_meta ? &meta : nullptr));
      with_meta = false;
    }
    b.Set(kMetricNameLabel, ev.metric + "_bucket").Set("le", "+Inf");
    ZW_RETURN_IF_ERROR(
        Add(ev, b.Build(), static_cast<double>(h.count), with_meta ? &meta : nullptr));
    b.Del("le");
    b.Set(kMetricNameLabel, ev.metric + "_sum");
    ZW_RETURN_IF_ERROR(Add(ev, b.Build(), h.sum, nullptr));
    b.Set(kMetricNameLabel, ev.metric + "_count");
    return Add(ev, b.Build(), static_cast<double>(h.count), nullptr);
  }

  Status Add(const Event& ev, const Labels& ls, double v, const MetricMetadata* meta) {
    storage::AppendOptions opts;
    opts.metadata = meta;
    opts.family = ev.metric;
    auto r = app_->Append(0, ls, ev.t, v, opts);
    if (!r.ok()) {
      return Status::Error(r.status().code(), "item {}: {}", ev.index, r.status().message());
    }
    ++samples_;
    return Status::Ok();
  }

  // The newest stored sample of exactly `ls`, if any.
  std::optional<double> LastValue(const Labels& ls, int64_t* newest) {
    std::optional<double> out;
    ForEachExact(ls, "", newest, [&](const Labels&, double v) { out = v; });
    return out;
  }

  // Calls fn(labels, last value) for each stored series equal to `ls`, ignoring label
  // `ignore` (e.g. le) when non-empty.
  template <typename Fn>
  void ForEachExact(const Labels& ls, std::string_view ignore, int64_t* newest, Fn fn) {
    Matchers ms;
    for (const Label& l : ls)
      ms.push_back(Matcher::MustMake(MatchType::kEqual, std::string(l.name), std::string(l.value)));
    auto q = ing_->storage_->NewQuerier(kMinTime, kMaxTime);
    auto set = q->Select(false, nullptr, ms);
    while (set->Next()) {
      const storage::Series& s = set->At();
      Labels got = ignore.empty() ? s.labels() : LabelsBuilder(s.labels()).Del(ignore).Build();
      if (got != ls) continue;
      auto it = s.Iterator();
      std::optional<double> last;
      while (it->Next()) {
        double v = it->At().v;
        if (!IsStaleNaN(v)) last = v;
        *newest = std::max(*newest, it->At().t);
      }
      if (last) fn(s.labels(), *last);
    }
  }

  HistogramState LoadHistogram(const Event& ev, int64_t* newest) {
    HistogramState h;
    LabelsBuilder b(ev.series);
    std::map<int, uint64_t> cumulative;
    ForEachExact(b.Set(kMetricNameLabel, ev.metric + "_bucket").Build(), "le", newest,
                 [&](const Labels& ls, double v) {
                   std::string_view le = ls.Get("le");
                   if (le == "0") {
                     h.zero = static_cast<uint64_t>(v);
                   } else if (auto idx = LogBucketIndexForLe(le)) {
                     cumulative[*idx] = static_cast<uint64_t>(v);
                     h.emitted.insert(*idx);
                   }
                 });
    uint64_t prev = h.zero;
    for (const auto& [idx, c] : cumulative) {
      if (c > prev) h.buckets[idx] = c - prev;
      prev = std::max(prev, c);
    }
    b.Del("le");
    ForEachExact(b.Set(kMetricNameLabel, ev.metric + "_sum").Build(), "", newest,
                 [&](const Labels&, double v) { h.sum = v; });
    ForEachExact(b.Set(kMetricNameLabel, ev.metric + "_count").Build(), "", newest,
                 [&](const Labels&, double v) { h.count = static_cast<uint64_t>(v); });
    h.overflow = h.count > prev ? h.count - prev : 0;
    return h;
  }

  PushIngester* ing_;
  std::unique_ptr<storage::Appender> app_;
  std::unordered_map<uint64_t, double> counters_;
  std::unordered_map<uint64_t, HistogramState> histograms_;
  std::unordered_map<uint64_t, int64_t> newest_;  // newest event time per running series
  size_t samples_ = 0;
};

PushIngester::PushIngester(storage::Storage* storage) : storage_(storage) {
  for (auto& [name, meta] : storage_->Metadata()) family_types_[name] = meta.type;
}

Result<PushResult> PushIngester::Push(std::string_view body, int64_t now_ms) {
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  std::vector<Event> events;
  Status st = ParseBody(body, now_ms, events);
  if (!st.ok()) {
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return st;
  }
  // Events of one series are applied in request order; series in order of first sight.
  std::vector<uint64_t> order;
  std::unordered_map<uint64_t, std::vector<const Event*>> groups;
  for (const Event& ev : events) {
    auto& g = groups[ev.series.Hash()];
    if (g.empty())
      order.push_back(ev.series.Hash());
    else if (g.front()->kind != ev.kind) {
      stats_.rejected.fetch_add(1, std::memory_order_relaxed);
      return Status::InvalidArgument(fmt::format("item {}: metric {} is a {} in item {}, not a {}",
                                                 ev.index, ev.metric, KindName(g.front()->kind),
                                                 g.front()->index, KindName(ev.kind)));
    }
    g.push_back(&ev);
  }

  std::lock_guard lock(mu_);
  std::unordered_map<std::string, MetricType> new_types;
  for (const Event& ev : events) {
    MetricType want = FamilyType(ev.kind);
    auto it = family_types_.find(ev.metric);
    if (it != family_types_.end() && it->second != want && it->second != MetricType::kUnknown) {
      stats_.rejected.fetch_add(1, std::memory_order_relaxed);
      return Status::InvalidArgument(
          fmt::format("item {}: metric {} is stored as a {}; it cannot also be a {}", ev.index,
                      ev.metric, MetricTypeName(it->second), KindName(ev.kind)));
    }
    new_types.emplace(ev.metric, want);
  }
  Batch batch(this);
  for (uint64_t key : order) {
    const auto& evs = groups[key];
    switch (evs.front()->kind) {
      case Kind::kCounter:
        st = batch.Counter(evs);
        break;
      case Kind::kGauge:
        st = batch.Gauge(evs);
        break;
      case Kind::kHistogram:
      case Kind::kTimer:
        st = batch.Histogram(evs);
        break;
    }
    if (!st.ok()) {
      stats_.rejected.fetch_add(1, std::memory_order_relaxed);
      return st;  // the Batch's appender rolls back on destruction
    }
  }
  auto samples = batch.Commit();
  if (!samples.ok()) {
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return samples.status();
  }
  for (auto& [name, type] : new_types) family_types_.emplace(name, type);
  stats_.events.fetch_add(events.size(), std::memory_order_relaxed);
  stats_.samples.fetch_add(*samples, std::memory_order_relaxed);
  return PushResult{events.size(), *samples};
}

}  // namespace zw::ingest
