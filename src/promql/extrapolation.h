// rate/increase's check whether a counter, extrapolated backwards, reaches zero before the
// range's start (Prometheus 2.42's extrapolatedRate), without its division when the answer
// is certain.
#pragma once

#include <cfloat>

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

}  // namespace zw::promql
