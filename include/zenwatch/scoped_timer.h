// ScopedTimer: records how long a scope took into a Histogram.
#pragma once

#include <chrono>

#include "zenwatch/histogram.h"

namespace zenwatch {

// Observes the seconds elapsed (steady clock) between construction and destruction.
// Thread safety: an object is used by one thread; any number of timers may feed one histogram.
// REQUIRES: the histogram outlives the timer.
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& histogram)
      : histogram_(histogram), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    histogram_.Observe(elapsed.count());
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram& histogram_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace zenwatch
