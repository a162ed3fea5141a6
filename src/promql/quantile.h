// Quantile estimation shared by the quantile aggregation, quantile_over_time and
// histogram_quantile, as Prometheus 2.42's promql/quantile.go.
#pragma once

#include <vector>

namespace zw::promql {

// The q-quantile of `values` by linear interpolation between closest ranks; NaN when
// empty, -Inf for q < 0, +Inf for q > 1. Sorts `values`.
double Quantile(double q, std::vector<double>& values);

struct Bucket {
  double upper_bound;
  double count;
};

// The q-quantile of a classic histogram's cumulative buckets (histogram_quantile). Sorts
// `buckets` (stably, by upper bound) and merges those with the same bound.
double BucketQuantile(double q, std::vector<Bucket>& buckets);

}  // namespace zw::promql
