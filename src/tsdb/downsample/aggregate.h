// The downsampling arithmetic, apart from blocks and files: one series' samples in, its
// per-window aggregates out (docs/downsampling.md).
//
// A window of resolution `res` is (k·res, (k+1)·res]; each aggregate holds at most one point
// per window (the counter aggregate a few more around resets), stamped with the timestamp of
// the last sample that went into it. Pure functions; thread safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/sample.h"

namespace zw::tsdb {

// The label that tells a downsampled block's aggregate series apart, and its values.
inline constexpr std::string_view kAggrLabel = "__zw_aggr__";

enum class Aggr : uint8_t { kCount, kSum, kMin, kMax, kCounter };
inline constexpr Aggr kAllAggrs[] = {Aggr::kCount, Aggr::kSum, Aggr::kMin, Aggr::kMax,
                                     Aggr::kCounter};
std::string_view AggrName(Aggr a);  // "count", "sum", "min", "max", "counter"
// False when `name` is none of them.
bool ParseAggr(std::string_view name, Aggr* out);

// The default counter-like rule: the metric name ends in _total, _count or _bucket (not _sum,
// which may fall).
bool DefaultIsCounter(const Labels& labels);

// The window a timestamp falls in: k with t in (k·res, (k+1)·res]. REQUIRES: res > 0.
inline int64_t WindowOf(int64_t t, int64_t res) {
  int64_t q = (t - 1) / res;
  if ((t - 1) % res < 0) --q;  // floor for negative times
  return q;
}

struct Aggregates {
  std::vector<Sample> count, sum, min, max;
  std::vector<Sample> counter;  // empty unless asked for
  std::vector<Sample>& Of(Aggr a);
  const std::vector<Sample>& Of(Aggr a) const;
};

// Aggregates raw samples (time order, strictly increasing timestamps) into windows of `res`:
//  - stale markers are left out everywhere; a window holding nothing else yields no point;
//  - count counts the other samples (ordinary NaNs included), sum adds them (a NaN makes it
//    NaN), min and max ignore NaNs unless the window holds nothing else, as PromQL's
//    min_over_time and max_over_time do;
//  - with `is_counter`, counter holds each window's last value and, for every reset (a value
//    below the previous one, also across a window edge), the sample before it and the sample
//    after it, so rate() over it sees every increase and every reset. NaNs are left out of it.
// REQUIRES: res > 0.
Aggregates AggregateRaw(std::span<const Sample> samples, int64_t res, bool is_counter);

// Re-aggregates one aggregate series of a finer resolution into windows of `res` (a multiple
// of the finer one): counts and sums are added, min of mins, max of maxes, and the counter
// series is treated as raw counter samples, which yields what AggregateRaw would have
// produced from the raw data. REQUIRES: res > 0; `in` in strictly increasing time order.
std::vector<Sample> Reaggregate(Aggr aggr, std::span<const Sample> in, int64_t res);

}  // namespace zw::tsdb
