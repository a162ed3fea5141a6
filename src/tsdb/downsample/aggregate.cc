#include "tsdb/downsample/aggregate.h"

#include <cmath>
#include <limits>

namespace zw::tsdb {

std::string_view AggrName(Aggr a) {
  switch (a) {
    case Aggr::kCount:
      return "count";
    case Aggr::kSum:
      return "sum";
    case Aggr::kMin:
      return "min";
    case Aggr::kMax:
      return "max";
    case Aggr::kCounter:
      return "counter";
  }
  return "";
}

bool ParseAggr(std::string_view name, Aggr* out) {
  for (Aggr a : kAllAggrs) {
    if (AggrName(a) == name) {
      *out = a;
      return true;
    }
  }
  return false;
}

bool DefaultIsCounter(const Labels& labels) {
  std::string_view name = labels.MetricName();
  return name.ends_with("_total") || name.ends_with("_count") || name.ends_with("_bucket");
}

std::vector<Sample>& Aggregates::Of(Aggr a) {
  switch (a) {
    case Aggr::kCount:
      return count;
    case Aggr::kSum:
      return sum;
    case Aggr::kMin:
      return min;
    case Aggr::kMax:
      return max;
    case Aggr::kCounter:
      break;
  }
  return counter;
}

const std::vector<Sample>& Aggregates::Of(Aggr a) const {
  return const_cast<Aggregates*>(this)->Of(a);
}

namespace {

// PromQL's min_over_time / max_over_time rule: a NaN is replaced by any later value.
double Min(double acc, double v) { return (v < acc || std::isnan(acc)) ? v : acc; }
double Max(double acc, double v) { return (v > acc || std::isnan(acc)) ? v : acc; }

// The counter rule over counter samples in time order (stale markers and NaNs are skipped):
// each window's last sample, and both samples around every decrease. Points are emitted in
// time order, each once.
std::vector<Sample> CounterPoints(std::span<const Sample> in, int64_t res) {
  std::vector<Sample> out;
  auto emit = [&out](const Sample& s) {
    if (out.empty() || out.back().t < s.t) out.push_back(s);
  };
  bool have_prev = false;
  Sample prev;
  for (const Sample& s : in) {
    if (std::isnan(s.v)) continue;
    if (have_prev) {
      if (s.v < prev.v) {
        emit(prev);
        emit(s);
      } else if (WindowOf(s.t, res) != WindowOf(prev.t, res)) {
        emit(prev);
      }
    }
    prev = s;
    have_prev = true;
  }
  if (have_prev) emit(prev);
  return out;
}

// Folds points into windows: `fold(acc, v)` combines, the first point of a window starts it.
template <typename Fold>
std::vector<Sample> FoldWindows(std::span<const Sample> in, int64_t res, Fold fold) {
  std::vector<Sample> out;
  int64_t cur = 0;
  for (const Sample& s : in) {
    if (IsStaleNaN(s.v)) continue;
    int64_t w = WindowOf(s.t, res);
    if (out.empty() || w != cur) {
      out.push_back(s);
      cur = w;
    } else {
      out.back() = Sample{s.t, fold(out.back().v, s.v)};
    }
  }
  return out;
}

}  // namespace

Aggregates AggregateRaw(std::span<const Sample> samples, int64_t res, bool is_counter) {
  Aggregates a;
  int64_t cur = 0;
  for (const Sample& s : samples) {
    if (IsStaleNaN(s.v)) continue;
    int64_t w = WindowOf(s.t, res);
    if (a.count.empty() || w != cur) {
      cur = w;
      a.count.push_back({s.t, 1});
      a.sum.push_back(s);
      a.min.push_back(s);
      a.max.push_back(s);
      continue;
    }
    a.count.back() = {s.t, a.count.back().v + 1};
    a.sum.back() = {s.t, a.sum.back().v + s.v};
    a.min.back() = {s.t, Min(a.min.back().v, s.v)};
    a.max.back() = {s.t, Max(a.max.back().v, s.v)};
  }
  if (is_counter) a.counter = CounterPoints(samples, res);
  return a;
}

std::vector<Sample> Reaggregate(Aggr aggr, std::span<const Sample> in, int64_t res) {
  switch (aggr) {
    case Aggr::kCount:
    case Aggr::kSum:
      return FoldWindows(in, res, [](double acc, double v) { return acc + v; });
    case Aggr::kMin:
      return FoldWindows(in, res, Min);
    case Aggr::kMax:
      return FoldWindows(in, res, Max);
    case Aggr::kCounter:
      return CounterPoints(in, res);
  }
  return {};
}

}  // namespace zw::tsdb
