#include "promql/quantile.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace zw::promql {

double Quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return std::nan("");
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  // Go's sort.Float64s-like order for the heap: NaN first.
  std::stable_sort(values.begin(), values.end(),
                   [](double a, double b) { return (std::isnan(a) && !std::isnan(b)) || a < b; });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

double BucketQuantile(double q, std::vector<Bucket>& buckets) {
  if (std::isnan(q)) return std::nan("");
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  // Buckets already in order (no NaN bound, each at most the next) are what the stable sort
  // would leave: it is skipped, and its buffer with it.
  bool sorted = true;
  for (size_t j = 1; j < buckets.size() && sorted; ++j) {
    sorted = buckets[j - 1].upper_bound <= buckets[j].upper_bound;
  }
  if (!sorted) {
    std::stable_sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) {
      return a.upper_bound < b.upper_bound;
    });
  }
  if (buckets.empty() || !std::isinf(buckets.back().upper_bound) ||
      buckets.back().upper_bound < 0) {
    return std::nan("");
  }
  // Coalesce buckets with the same upper bound.
  size_t i = 0;
  Bucket last = buckets[0];
  for (size_t j = 1; j < buckets.size(); ++j) {
    if (buckets[j].upper_bound == last.upper_bound) {
      last.count += buckets[j].count;
    } else {
      buckets[i++] = last;
      last = buckets[j];
    }
  }
  buckets[i] = last;
  buckets.resize(i + 1);
  // Ensure monotonic counts.
  double max = -std::numeric_limits<double>::infinity();
  for (auto& b : buckets) {
    if (b.count > max) {
      max = b.count;
    } else if (b.count < max) {
      b.count = max;
    }
  }
  if (buckets.size() < 2) return std::nan("");
  double observations = buckets.back().count;
  if (observations == 0) return std::nan("");
  double rank = q * observations;
  size_t b = 0;
  while (b < buckets.size() - 1 && !(buckets[b].count >= rank)) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper_bound;
  if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
  double start = 0, end = buckets[b].upper_bound, count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

}  // namespace zw::promql
