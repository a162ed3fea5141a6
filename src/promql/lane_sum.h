// Compensated sums of a window's values in four interleaved lanes (avg_over_time).
//
// The points go four at a time to lanes 0-3 and the one to three left at the end to lane 0;
// each lane is a Neumaier sum (a running sum and the rounding error it has dropped). The lanes do
// not wait on each other, and on x86-64 CPUs with AVX2 all four are updated by one vector
// instruction per step. Both paths perform the same IEEE operations in the same order per lane, so
// their results are identical to the bit.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

#include "promql/value.h"

namespace zw::promql {

struct NeumaierLanes {
  double sum[4] = {0, 0, 0, 0};
  double comp[4] = {0, 0, 0, 0};
};

// Neumaier's compensated addition of v to sum, the rounding error collected in comp.
inline void NeumaierAdd(double v, double& sum, double& comp) {
  const double t = sum + v;
  comp += std::abs(sum) >= std::abs(v) ? (sum - t) + v : (v - t) + sum;
  sum = t;
}

// Adds the points' values to the lanes, as above.
void AddToLanes(std::span<const Point> points, NeumaierLanes& lanes);

namespace lane_sum_internal {
// The portable path and the AVX2 path (false when the CPU has no AVX2), for tests.
void AddScalar(std::span<const Point> points, NeumaierLanes& lanes);
bool AddAvx2(std::span<const Point> points, NeumaierLanes& lanes);
}  // namespace lane_sum_internal

}  // namespace zw::promql
