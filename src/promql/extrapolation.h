// Prometheus 2.42's extrapolatedRate (rate, increase, delta), inline so that range
// evaluation's loop over a series' steps calls it directly; and its check whether a counter,
// extrapolated backwards, reaches zero before the range's start, without its division when
// the answer is certain.
#pragma once

#include <cfloat>
#include <cstdint>
#include <optional>

#include "promql/eval.h"

namespace zw::promql {

// Exactly `sampled * (first / increase) < to_start`, 2.42's test (then the extrapolation
// starts at the zero point instead). REQUIRES: increase > 0, first >= 0, sampled > 0,
// to_start >= 0 (infinities allowed: they never take the shortcut).
//
// The division waits some twenty cycles, and a counter's first value is usually far above
// the window's increase. When first * sampled >= 2 * increase * to_start, with neither
// product overflowing nor in the subnormal range, the exact quotient is at least twice
// to_start, so every rounding of the test (a few units in the last place) leaves it false;
// otherwise the test is computed as 2.42 does.
inline bool ReachesZeroBeforeStart(double first, double increase, double sampled, double to_start) {
  // A first sample at the range's start (evenly spaced samples on the step grid): the
  // quotient is never negative.
  if (to_start <= 0) return false;
  const double lhs = first * sampled;
  const double rhs = increase * to_start;
  if (lhs <= DBL_MAX && rhs >= DBL_MIN && lhs >= 2 * rhs) return false;
  return sampled * (first / increase) < to_start;
}

// The factor extrapolatedRate multiplies the window's increase by, in 2.42's order of
// operations (so that the result is Prometheus's to the bit).
inline double ExtrapolationFactor(double to_start, double to_end, double sampled,
                                  double avg_between, bool is_rate, int64_t range_ms) {
  double threshold = avg_between * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg_between / 2;
  interval += to_end < threshold ? to_end : avg_between / 2;
  double factor = interval / sampled;
  if (is_rate) factor /= static_cast<double>(range_ms) / 1000;
  return factor;
}

// Prometheus's extrapolatedRate: rate (is_counter, is_rate), increase (is_counter) and delta.
// Always inlined: called with constant flags in range evaluation's loop over steps.
[[gnu::always_inline]] inline std::optional<double> ExtrapolatedRate(const MatrixCall& c,
                                                                     bool is_counter,
                                                                     bool is_rate) {
  const auto& p = c.points;
  if (p.size() < 2) return std::nullopt;
  double result = p.back().v - p.front().v;
  if (is_counter && !c.no_drops) {
    double last = 0;
    for (const Point& s : p) {
      if (s.v < last) result += last;
      last = s.v;
    }
  }
  const int64_t start_gap = p.front().t - c.range_start;
  const int64_t end_gap = c.range_end - p.back().t;
  MatrixCall::Extrapolation& x = c.extrapolation;
  // The two gaps and the count decide the window's shape: its length is range_ms, which
  // stays the same for a MatrixCall, as does the function (see MatrixCall::Extrapolation).
  if (x.start_gap_ms != start_gap || x.end_gap_ms != end_gap || x.n != p.size()) {
    x.start_gap_ms = start_gap;
    x.end_gap_ms = end_gap;
    x.n = p.size();
    x.to_start = static_cast<double>(start_gap) / 1000;
    x.to_end = static_cast<double>(end_gap) / 1000;
    x.sampled = static_cast<double>(p.back().t - p.front().t) / 1000;
    x.avg_between = x.sampled / static_cast<double>(p.size() - 1);
    x.factor =
        ExtrapolationFactor(x.to_start, x.to_end, x.sampled, x.avg_between, is_rate, c.range_ms);
  }
  double factor = x.factor;
  // A counter is not extrapolated below zero: the start moves to where it would reach zero.
  if (is_counter && result > 0 && p.front().v >= 0 &&
      ReachesZeroBeforeStart(p.front().v, result, x.sampled, x.to_start)) {
    double to_zero = x.sampled * (p.front().v / result);
    factor = ExtrapolationFactor(to_zero, x.to_end, x.sampled, x.avg_between, is_rate, c.range_ms);
  }
  return result * factor;
}

}  // namespace zw::promql
