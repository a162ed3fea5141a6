// What the WAL's records mean (framing lives in tsdb/wal). See docs/format/records.md.
//
// Three record types: series (a new series' reference and labels), samples (values for
// referenced series) and metadata (type/help/unit of a metric family). A series record is
// always logged before or in the same commit as samples for it, except when concurrent
// appenders race; replay tolerates that order (see Head).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/metric_type.h"
#include "core/status.h"

namespace zw::record {

// On disk: do not change the values.
enum class Type : uint8_t {
  kInvalid = 0,
  kSeries = 1,
  kSamples = 2,
  kMetadata = 3,
};

struct RefSeries {
  uint64_t ref = 0;
  Labels labels;
};

struct RefSample {
  uint64_t ref = 0;
  int64_t t = 0;
  double v = 0;
};

struct RefMetadata {
  std::string metric;
  MetricMetadata meta;
};

Type GetType(std::string_view rec);

// Encoders append to `out` (which they do not clear).
void EncodeSeries(std::span<const RefSeries> series, std::string& out);
void EncodeSamples(std::span<const RefSample> samples, std::string& out);
void EncodeMetadata(std::span<const RefMetadata> metadata, std::string& out);

// Decoders append to `out`. Errors: Corruption (offset within the record) when the
// record is truncated, has the wrong type, or holds invalid labels.
Status DecodeSeries(std::string_view rec, std::vector<RefSeries>& out);
Status DecodeSamples(std::string_view rec, std::vector<RefSample>& out);
Status DecodeMetadata(std::string_view rec, std::vector<RefMetadata>& out);

}  // namespace zw::record
