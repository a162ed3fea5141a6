// Gauge: a value that goes up and down (Prometheus type "gauge").
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>

namespace zenwatch {

// Thread safety: every method may be called concurrently. Set() and Value() are a single
// atomic store and load; Inc() and Dec() are a compare-and-swap loop on one atomic, so unlike a
// Counter a gauge updated by many threads at once does contend. Any value, NaN included, is
// accepted.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { bits_.store(std::bit_cast<std::uint64_t>(value), kOrder); }
  void Inc(double amount = 1.0);
  void Dec(double amount = 1.0) { Inc(-amount); }
  // Sets the gauge to the current Unix time in seconds (system clock).
  void SetToCurrentTime();

  double Value() const { return std::bit_cast<double>(bits_.load(kOrder)); }

 private:
  static constexpr std::memory_order kOrder = std::memory_order_relaxed;

  std::atomic<std::uint64_t> bits_{0};
};

}  // namespace zenwatch
