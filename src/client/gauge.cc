#include "zenwatch/gauge.h"

#include <chrono>

namespace zenwatch {

void Gauge::Inc(double amount) {
  std::uint64_t old_bits = bits_.load(kOrder);
  std::uint64_t new_bits;
  do {
    new_bits = std::bit_cast<std::uint64_t>(std::bit_cast<double>(old_bits) + amount);
  } while (!bits_.compare_exchange_weak(old_bits, new_bits, kOrder));
}

void Gauge::SetToCurrentTime() {
  const std::chrono::duration<double> since_epoch =
      std::chrono::system_clock::now().time_since_epoch();
  Set(since_epoch.count());
}

}  // namespace zenwatch
