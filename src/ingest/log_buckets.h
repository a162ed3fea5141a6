// The default buckets of pushed histograms and timers: logarithmic, 16 per power of two
// (upper bounds 2^(i/16), the layout of an OpenTelemetry exponential histogram at scale 4),
// from 2^-20 (~9.5e-7) to 2^40 (~1.1e12), plus a bucket le="0" for values <= 0.
//
// Each bucket is at most 4.43 % wider than its lower bound, so a quantile interpolated
// within a bucket (as histogram_quantile does) is within 4.43 % of the exact one.
// Buckets are sparse: a `_bucket` series exists only for bounds that hold observations and
// the bound just below each of them, so that interpolation never spans an empty run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zw::ingest {

inline constexpr int kBucketsPerOctave = 16;
inline constexpr int kMinBucketIndex = -20 * kBucketsPerOctave;
inline constexpr int kMaxBucketIndex = 40 * kBucketsPerOctave;

// Upper bound of bucket i: 2^(i/16).
double LogBucketBound(int i);
// The bucket holding v > 0: the smallest i with v <= LogBucketBound(i), clamped to
// [kMinBucketIndex, kMaxBucketIndex + 1] (the last meaning: only the +Inf bucket).
int LogBucketIndex(double v);
// The index whose bound formats as `le`, if `le` is one of ours.
std::optional<int> LogBucketIndexForLe(std::string_view le);
// Shortest text that parses back to the same double ("+Inf" for infinity).
std::string FormatLe(double bound);

}  // namespace zw::ingest
