// Histogram: counts of observations in buckets, their sum and count (Prometheus type
// "histogram").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "zenwatch/detail/thread_cells.h"

namespace zenwatch {

// Bucket upper bounds: `count` increasing values, start + i * width and start * factor^i.
// Throw std::invalid_argument when count is 0, width <= 0, or for exponential buckets
// start <= 0 or factor <= 1.
std::vector<double> LinearBuckets(double start, double width, std::size_t count);
std::vector<double> ExponentialBuckets(double start, double factor, std::size_t count);
// Prometheus's defaults, for latencies in seconds: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
std::vector<double> DefaultBuckets();

struct HistogramSnapshot {
  std::vector<double> upper_bounds;  // finite and increasing; the +Inf bucket is implicit
  // Observations <= each bound, then the +Inf bucket: upper_bounds.size() + 1 entries, the
  // last equal to `count`.
  std::vector<std::uint64_t> cumulative_counts;
  double sum = 0;
  std::uint64_t count = 0;
};

// Thread safety: every method may be called concurrently. Observe() takes no lock and does no
// atomic read-modify-write (per-thread cells, as Counter). Snapshot() is consistent between
// buckets and count (count is the +Inf bucket); the sum may lack observations still in flight.
class Histogram {
 public:
  // Bounds must be increasing and not NaN; a final +Inf is dropped (it is always implied).
  // Throws std::invalid_argument otherwise, or if there are more than 4000 bounds.
  explicit Histogram(std::vector<double> upper_bounds = DefaultBuckets());
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` in the first bucket whose bound is >= value (bounds are inclusive, "le").
  // NaN is refused and counted in RejectedUpdates(); +-Inf are accepted.
  void Observe(double value);

  HistogramSnapshot Snapshot() const;
  std::span<const double> UpperBounds() const { return bounds_; }

 private:
  std::size_t BucketIndex(double value) const;

  std::vector<double> bounds_;
  detail::CellBlock cells_;  // bounds_.size() + 1 bucket counts, then the sum
};

}  // namespace zenwatch
