// A sample is one (timestamp, value) point of a series. Timestamps are milliseconds since
// the Unix epoch, as in Prometheus.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

namespace zw {

struct Sample {
  int64_t t = 0;
  double v = 0;
  friend bool operator==(const Sample&, const Sample&) = default;
};

// Prometheus's staleness marker: a NaN with a payload no arithmetic produces. It marks a
// series as gone at that timestamp; queries compare its bits, never its value.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
inline bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

inline constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

}  // namespace zw
