#include "ingest/log_buckets.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace zw::ingest {

double LogBucketBound(int i) { return std::exp2(static_cast<double>(i) / kBucketsPerOctave); }

int LogBucketIndex(double v) {
  if (!(v > 0)) return kMinBucketIndex;
  if (std::isinf(v)) return kMaxBucketIndex + 1;
  double guess = std::ceil(std::log2(v) * kBucketsPerOctave);
  if (guess < kMinBucketIndex) return kMinBucketIndex;
  if (guess > kMaxBucketIndex + 1) return kMaxBucketIndex + 1;
  int i = static_cast<int>(guess);
  // log2 rounding can be off by one at the bounds themselves.
  while (i > kMinBucketIndex && LogBucketBound(i - 1) >= v) --i;
  while (i <= kMaxBucketIndex && LogBucketBound(i) < v) ++i;
  return i;
}

std::optional<int> LogBucketIndexForLe(std::string_view le) {
  double v;
  auto [p, ec] = std::from_chars(le.data(), le.data() + le.size(), v);
  if (ec != std::errc() || p != le.data() + le.size() || !(v > 0) || std::isinf(v))
    return std::nullopt;
  int i = static_cast<int>(std::lround(std::log2(v) * kBucketsPerOctave));
  if (i < kMinBucketIndex || i > kMaxBucketIndex || LogBucketBound(i) != v) return std::nullopt;
  return i;
}

std::string FormatLe(double bound) {
  if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, bound);
  return std::string(buf, p);
}

}  // namespace zw::ingest
