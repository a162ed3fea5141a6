#include "ingest/statsd.h"

#include <algorithm>
#include <map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/metric_type.h"
#include "core/sample.h"
#include "ingest/log_buckets.h"

namespace zw::ingest {
namespace {

// The first byte of an aggregation key: which series shape the line feeds. h and d share
// one; a gauge and a set of the same name are distinct keys that meet (and conflict) at
// the same series.
constexpr char kCounterKey = 'c';
constexpr char kGaugeKey = 'g';
constexpr char kTimerKey = 't';
constexpr char kHistogramKey = 'h';
constexpr char kSetKey = 's';

char KeyClass(StatsdType t) {
  switch (t) {
    case StatsdType::kCounter:
      return kCounterKey;
    case StatsdType::kGauge:
      return kGaugeKey;
    case StatsdType::kTimer:
      return kTimerKey;
    case StatsdType::kHistogram:
    case StatsdType::kDistribution:
      return kHistogramKey;
    case StatsdType::kSet:
      return kSetKey;
  }
  return kGaugeKey;
}

std::string_view ClassName(char c) {
  switch (c) {
    case kCounterKey:
      return "counter";
    case kGaugeKey:
      return "gauge";
    case kTimerKey:
      return "timer";
    case kHistogramKey:
      return "histogram";
    default:
      return "set";
  }
}

// Families by Prometheus type: gauges and sets are both gauges, timers and h/d histograms.
char FamilyKind(char c) {
  if (c == kSetKey) return kGaugeKey;
  if (c == kTimerKey) return kHistogramKey;
  return c;
}

MetricType FamilyType(char c) {
  switch (FamilyKind(c)) {
    case kCounterKey:
      return MetricType::kCounter;
    case kHistogramKey:
      return MetricType::kHistogram;
    default:
      return MetricType::kGauge;
  }
}

bool IsHistogram(char c) { return c == kTimerKey || c == kHistogramKey; }

// "<class><name>|<tag>:<value>,..." - parsed back by Resolve() the first time it is seen.
void BuildKey(const StatsdLine& line, std::string& key) {
  key.clear();
  key += KeyClass(line.type);
  key += line.name;
  key += '|';
  for (size_t i = 0; i < line.tags.size(); ++i) {
    if (i > 0) key += ',';
    key += line.tags[i].name;
    key += ':';
    key += line.tags[i].value;
  }
}

}  // namespace

struct StatsdAggregator::Delta {
  struct Hist {
    std::map<int, double> buckets;  // log bucket index -> observations (not cumulative)
    double zero = 0;                // observations <= 0
    double overflow = 0;            // beyond the largest bound
    double count = 0;
    double sum = 0;
  };
  uint64_t lines = 0;
  double value = 0;       // counter: increment; gauge: new value, or change if !absolute
  bool absolute = false;  // gauge
  std::unique_ptr<Hist> hist;
  std::unique_ptr<std::unordered_set<uint64_t>> set;  // hashes of the distinct values
};

struct StatsdAggregator::Series {
  struct Out {
    Labels labels;
    storage::SeriesRef ref = 0;
  };
  char kind = kGaugeKey;
  std::string family;  // histograms: the base name of _bucket/_sum/_count
  Labels base;         // counters, gauges, sets: the series; histograms: without suffix
  Out main;            // counters, gauges, sets
  double value = 0;
  // Histograms: cumulative state and the output series, created as buckets fill.
  Delta::Hist hist;
  std::map<int, Out> bucket_series;  // sparse, as in log_buckets.h; never shrinks
  Out zero_bucket, inf_bucket, sum, count;
  int64_t last_update = 0;
  bool meta_sent = false;
};

StatsdAggregator::StatsdAggregator(storage::Appendable* out, StatsdOptions options)
    : out_(out), options_(std::move(options)), pending_(std::make_unique<DeltaMap>()) {}

StatsdAggregator::~StatsdAggregator() = default;

size_t StatsdAggregator::NumSeries() const {
  std::lock_guard lock(flush_mu_);
  return series_.size();
}

StatsdPacketResult StatsdAggregator::Ingest(std::string_view packet) {
  thread_local StatsdLine line;
  thread_local std::string key;
  StatsdPacketResult r;
  {
    std::lock_guard lock(mu_);
    while (!packet.empty()) {
      size_t nl = packet.find('\n');
      std::string_view text = packet.substr(0, nl);
      packet = nl == std::string_view::npos ? std::string_view() : packet.substr(nl + 1);
      if (text.empty() || text == "\r") continue;
      Status st = ParseStatsdLine(text, line);
      if (!st.ok()) {
        if (r.bad++ == 0) r.first_error = st.message();
        continue;
      }
      if (line.kind != StatsdLineKind::kMetric) {
        ++r.ignored;
        continue;
      }
      BuildKey(line, key);
      auto it = pending_->find(std::string_view(key));
      if (it == pending_->end()) {
        if (pending_->size() >= options_.max_series) {
          ++r.dropped;
          continue;
        }
        it = pending_->try_emplace(key).first;
      }
      Delta& d = it->second;
      switch (line.type) {
        case StatsdType::kCounter:
          for (const StatsdValue& v : line.values) d.value += v.v / line.sample_rate;
          break;
        case StatsdType::kGauge:
          for (const StatsdValue& v : line.values) {
            if (v.relative) {
              d.value += v.v;
            } else {
              d.value = v.v;
              d.absolute = true;
            }
          }
          break;
        case StatsdType::kTimer:
        case StatsdType::kHistogram:
        case StatsdType::kDistribution: {
          if (!d.hist) d.hist = std::make_unique<Delta::Hist>();
          Delta::Hist& h = *d.hist;
          double weight = 1 / line.sample_rate;
          double scale = line.type == StatsdType::kTimer ? 1e-3 : 1;
          for (const StatsdValue& sv : line.values) {
            double v = sv.v * scale;
            h.count += weight;
            h.sum += v * weight;
            if (!(v > 0)) {
              h.zero += weight;
              continue;
            }
            int i = LogBucketIndex(v);
            if (i > kMaxBucketIndex) {
              h.overflow += weight;
            } else {
              h.buckets[i] += weight;
            }
          }
          break;
        }
        case StatsdType::kSet: {
          if (!d.set) d.set = std::make_unique<std::unordered_set<uint64_t>>();
          uint64_t hash = std::hash<std::string_view>{}(line.set_value);
          if (d.set->size() >= kMaxSetValues && !d.set->contains(hash)) {
            ++r.dropped;
            continue;
          }
          d.set->insert(hash);
          break;
        }
      }
      ++d.lines;
      ++r.lines;
    }
    pending_bad_ += r.bad;
    pending_dropped_ += r.dropped;
    if (r.bad > 0 && pending_error_.empty()) pending_error_ = r.first_error;
  }
  stats_.packets.fetch_add(1, std::memory_order_relaxed);
  stats_.lines.fetch_add(r.lines, std::memory_order_relaxed);
  stats_.bad_lines.fetch_add(r.bad, std::memory_order_relaxed);
  stats_.ignored_lines.fetch_add(r.ignored, std::memory_order_relaxed);
  stats_.dropped_lines.fetch_add(r.dropped, std::memory_order_relaxed);
  return r;
}

StatsdAggregator::Series* StatsdAggregator::Resolve(const std::string& key, const Delta& d,
                                                    StatsdFlushResult& r) {
  if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;

  char kind = key[0];
  size_t bar = key.find('|');
  std::string_view name = std::string_view(key).substr(1, bar - 1);
  std::vector<StatsdTag> tags;
  // The tags were validated when the line was parsed, so this cannot fail.
  (void)ParseStatsdTags(std::string_view(key).substr(bar + 1), false, tags);

  std::string family = SanitizeStatsdMetricName(name);
  std::string metric = family;
  if (kind == kCounterKey) {
    if (!family.ends_with("_total")) family += "_total";
    metric = family;
  } else if (kind == kTimerKey) {
    if (!family.ends_with("_seconds")) family += "_seconds";
    metric = family;
  }
  std::vector<std::string> names;
  names.reserve(tags.size());
  for (const StatsdTag& t : tags) names.push_back(SanitizeStatsdLabelName(t.name));
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  if (!options_.job.empty()) pairs.emplace_back("job", options_.job);
  for (size_t i = 0; i < tags.size(); ++i) pairs.emplace_back(names[i], tags[i].value);
  pairs.emplace_back(kMetricNameLabel, metric);
  Labels ls = Labels::FromPairs(std::move(pairs));

  auto conflict = [&](std::string why) -> Series* {
    r.bad_lines += d.lines;
    stats_.bad_lines.fetch_add(d.lines, std::memory_order_relaxed);
    if (r.first_error.empty()) r.first_error = std::move(why);
    return nullptr;
  };
  if (auto it = series_.find(ls); it != series_.end()) {
    if (it->second->kind != kind) {
      return conflict(fmt::format("{} is a {}; {} lines for it are dropped", ls.ToString(),
                                  ClassName(it->second->kind), ClassName(kind)));
    }
    if (by_key_.size() >= 4 * options_.max_series) by_key_.clear();
    by_key_.emplace(key, it->second.get());
    return it->second.get();
  }
  if (series_.size() >= options_.max_series) {
    r.dropped_lines += d.lines;
    stats_.dropped_lines.fetch_add(d.lines, std::memory_order_relaxed);
    if (r.first_error.empty()) {
      r.first_error = fmt::format("more than {} distinct series; {} is dropped",
                                  options_.max_series, ls.ToString());
    }
    return nullptr;
  }
  auto fam = families_.find(family);
  if (fam != families_.end() && fam->second.kind != FamilyKind(kind)) {
    return conflict(fmt::format("metric {} is a {}; {} lines for it are dropped", family,
                                MetricTypeName(FamilyType(fam->second.kind)), ClassName(kind)));
  }
  if (std::string taken = HistogramClash(family, kind); !taken.empty()) {
    return conflict(
        fmt::format("metric {} {}; {} lines for {} are dropped", taken,
                    IsHistogram(kind) ? "is not a histogram series" : "is a series of a histogram",
                    ClassName(kind), family));
  }
  if (fam == families_.end()) fam = families_.emplace(family, Family{FamilyKind(kind), 0}).first;
  ++fam->second.series;

  auto s = std::make_unique<Series>();
  s->kind = kind;
  s->family = std::move(family);
  s->base = ls;
  if (IsHistogram(kind)) {
    LabelsBuilder b(ls);
    b.Set(kMetricNameLabel, s->family + "_bucket").Set("le", "0");
    s->zero_bucket.labels = b.Build();
    b.Set("le", "+Inf");
    s->inf_bucket.labels = b.Build();
    b.Del("le").Set(kMetricNameLabel, s->family + "_sum");
    s->sum.labels = b.Build();
    b.Set(kMetricNameLabel, s->family + "_count");
    s->count.labels = b.Build();
  } else {
    s->main.labels = ls;
  }
  Series* out = s.get();
  series_.emplace(std::move(ls), std::move(s));
  if (by_key_.size() >= 4 * options_.max_series) by_key_.clear();
  by_key_.emplace(key, out);
  return out;
}

std::string StatsdAggregator::HistogramClash(const std::string& family, char kind) const {
  static constexpr std::string_view kSuffixes[] = {"_bucket", "_sum", "_count"};
  for (std::string_view suffix : kSuffixes) {
    if (IsHistogram(kind)) {
      std::string name = family + std::string(suffix);
      auto it = families_.find(name);
      if (it != families_.end() && it->second.kind != kHistogramKey) return name;
    } else if (family.ends_with(suffix)) {
      auto it = families_.find(family.substr(0, family.size() - suffix.size()));
      if (it != families_.end() && it->second.kind == kHistogramKey) return family;
    }
  }
  return {};
}

void StatsdAggregator::Emit(storage::Appender& app, Series& s, int64_t t, StatsdFlushResult& r) {
  MetricMetadata meta{FamilyType(s.kind), "", s.kind == kTimerKey ? "seconds" : ""};
  storage::AppendOptions opts;
  opts.family = s.family;
  opts.metadata = s.meta_sent ? nullptr : &meta;
  auto add = [&](Series::Out& o, double v) {
    auto ref = app.Append(o.ref, o.labels, t, v, opts);
    opts.metadata = nullptr;
    if (!ref.ok()) {
      if (r.append_errors++ == 0 && r.first_error.empty()) {
        r.first_error = fmt::format("{}: {}", o.labels.ToString(), ref.status().message());
      }
      return;
    }
    o.ref = *ref;
    ++r.samples;
  };
  if (!IsHistogram(s.kind)) {
    add(s.main, s.value);
    if (s.kind == kSetKey) s.value = 0;  // a set counts per interval
  } else {
    const Delta::Hist& h = s.hist;
    if (h.zero > 0) add(s.zero_bucket, h.zero);
    double cumulative = h.zero;
    auto bucket = h.buckets.begin();
    for (auto& [idx, out] : s.bucket_series) {
      for (; bucket != h.buckets.end() && bucket->first <= idx; ++bucket)
        cumulative += bucket->second;
      add(out, cumulative);
    }
    add(s.inf_bucket, h.count);
    add(s.sum, h.sum);
    add(s.count, h.count);
  }
  s.meta_sent = true;
  ++r.series;
}

void StatsdAggregator::EndSeries(storage::Appender& app, Series& s, int64_t t,
                                 StatsdFlushResult& r) {
  auto end = [&](Series::Out& o) {
    if (o.labels.empty()) return;
    if (app.Append(o.ref, o.labels, t, StaleNaN()).ok()) ++r.samples;
  };
  if (!IsHistogram(s.kind)) {
    end(s.main);
    return;
  }
  if (s.hist.zero > 0) end(s.zero_bucket);
  for (auto& [idx, out] : s.bucket_series) end(out);
  end(s.inf_bucket);
  end(s.sum);
  end(s.count);
}

Result<StatsdFlushResult> StatsdAggregator::Flush(int64_t now_ms) {
  std::lock_guard flush_lock(flush_mu_);
  StatsdFlushResult r;
  auto taken = std::make_unique<DeltaMap>();
  {
    std::lock_guard lock(mu_);
    std::swap(taken, pending_);
    r.bad_lines = std::exchange(pending_bad_, 0);
    r.dropped_lines = std::exchange(pending_dropped_, 0);
    r.first_error = std::exchange(pending_error_, {});
  }
  const int64_t t = last_t_ == INT64_MIN ? now_ms : std::max(now_ms, last_t_ + 1);
  r.t = t;

  for (auto& [key, d] : *taken) {
    Series* s = Resolve(key, d, r);
    if (s == nullptr) continue;
    s->last_update = t;
    switch (s->kind) {
      case kCounterKey:
        s->value += d.value;
        break;
      case kGaugeKey:
        s->value = d.absolute ? d.value : s->value + d.value;
        break;
      case kSetKey:
        s->value += static_cast<double>(d.set ? d.set->size() : 0);
        break;
      default: {
        if (!d.hist) break;
        Delta::Hist& h = s->hist;
        h.zero += d.hist->zero;
        h.overflow += d.hist->overflow;
        h.count += d.hist->count;
        h.sum += d.hist->sum;
        for (auto [idx, n] : d.hist->buckets) {
          h.buckets[idx] += n;
          // Each filled bucket and the one below it get a series, so that interpolation
          // never spans a run of empty buckets (log_buckets.h).
          for (int i : {idx - 1, idx}) {
            if (i < kMinBucketIndex || s->bucket_series.contains(i)) continue;
            s->bucket_series[i].labels = LabelsBuilder(s->base)
                                             .Set(kMetricNameLabel, s->family + "_bucket")
                                             .Set("le", FormatLe(LogBucketBound(i)))
                                             .Build();
          }
        }
        break;
      }
    }
  }
  taken.reset();

  auto app = out_->NewAppender();
  for (auto it = series_.begin(); it != series_.end();) {
    Series& s = *it->second;
    if (options_.expire_after_ms > 0 && t - s.last_update > options_.expire_after_ms) {
      EndSeries(*app, s, t, r);
      auto fam = families_.find(s.family);
      if (fam != families_.end() && --fam->second.series == 0) families_.erase(fam);
      ++r.expired;
      it = series_.erase(it);
      continue;
    }
    Emit(*app, s, t, r);
    ++it;
  }
  if (r.expired > 0) by_key_.clear();  // it may point at forgotten series
  stats_.flushes.fetch_add(1, std::memory_order_relaxed);
  Status st = app->Commit();
  last_t_ = t;
  if (!st.ok()) {
    stats_.flush_failures.fetch_add(1, std::memory_order_relaxed);
    return st;
  }
  stats_.samples.fetch_add(r.samples, std::memory_order_relaxed);
  stats_.expired_series.fetch_add(r.expired, std::memory_order_relaxed);
  return r;
}

}  // namespace zw::ingest
