#include "zenwatch/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace zenwatch {
namespace {

constexpr std::size_t kMaxBounds = 4000;

std::vector<double> CheckedBounds(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  if (bounds.size() > kMaxBounds) {
    throw std::invalid_argument("zenwatch: a histogram has at most " + std::to_string(kMaxBounds) +
                                " bucket bounds, not " + std::to_string(bounds.size()));
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      throw std::invalid_argument(
          "zenwatch: histogram bucket bounds must be increasing and "
          "not NaN (bound #" +
          std::to_string(i) + ")");
    }
  }
  return bounds;
}

}  // namespace

std::vector<double> LinearBuckets(double start, double width, std::size_t count) {
  if (count == 0 || !(width > 0) || !std::isfinite(start)) {
    throw std::invalid_argument(
        "zenwatch: LinearBuckets needs count >= 1, width > 0, finite start");
  }
  std::vector<double> bounds(count);
  for (std::size_t i = 0; i < count; ++i) bounds[i] = start + static_cast<double>(i) * width;
  return bounds;
}

std::vector<double> ExponentialBuckets(double start, double factor, std::size_t count) {
  if (count == 0 || !(start > 0) || !(factor > 1)) {
    throw std::invalid_argument(
        "zenwatch: ExponentialBuckets needs count >= 1, start > 0, factor > 1");
  }
  std::vector<double> bounds(count);
  double bound = start;
  for (std::size_t i = 0; i < count; ++i, bound *= factor) bounds[i] = bound;
  return bounds;
}

std::vector<double> DefaultBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(CheckedBounds(std::move(upper_bounds))),
      cells_(static_cast<std::uint32_t>(bounds_.size() + 1), 1) {}

std::size_t Histogram::BucketIndex(double value) const {
  // The first bound >= value. A branch-free linear count was slower even over the 11 default
  // bounds (10 ns against 6 ns per Observe on the reference machine).
  return static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                  bounds_.begin());
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) [[unlikely]] {
    detail::NoteRejectedUpdate();
    return;
  }
  const std::size_t bucket = BucketIndex(value);
  detail::Cell* cells = cells_.Local();
  detail::AddInt(cells[bucket], 1);
  detail::AddDouble(cells[bounds_.size() + 1], value);
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot out;
  out.upper_bounds = bounds_;
  out.cumulative_counts.resize(bounds_.size() + 1);
  double sum[1];
  cells_.ReadSums(out.cumulative_counts, sum);
  for (std::size_t i = 1; i < out.cumulative_counts.size(); ++i) {
    out.cumulative_counts[i] += out.cumulative_counts[i - 1];
  }
  out.sum = sum[0];
  out.count = out.cumulative_counts.back();
  return out;
}

}  // namespace zenwatch
