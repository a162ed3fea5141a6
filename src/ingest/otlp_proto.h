// Decoding of OTLP `ExportMetricsServiceRequest` bodies, protobuf and OTLP/JSON, into one
// flat model that the receiver (otlp.h) maps to series.
//
// The messages, as the public opentelemetry-proto definitions (collector/metrics/v1,
// metrics/v1, common/v1, resource/v1) number them; field numbers are wire format, do not
// change. Only what the receiver uses is listed; everything else is skipped.
//
//   ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
//   ResourceMetrics  { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2;
//                      string schema_url = 3; }
//   Resource         { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
//   ScopeMetrics     { InstrumentationScope scope = 1; repeated Metric metrics = 2;
//                      string schema_url = 3; }
//   InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
//   Metric           { string name = 1; string description = 2; string unit = 3;
//                      oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9;
//                                   ExponentialHistogram exponential_histogram = 10;
//                                   Summary summary = 11; }
//                      repeated KeyValue metadata = 12; }
//   Gauge            { repeated NumberDataPoint data_points = 1; }
//   Sum              { repeated NumberDataPoint data_points = 1;
//                      AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
//   Histogram        { repeated HistogramDataPoint data_points = 1;
//                      AggregationTemporality aggregation_temporality = 2; }
//   ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1;
//                          AggregationTemporality aggregation_temporality = 2; }
//   Summary          { repeated SummaryDataPoint data_points = 1; }
//   NumberDataPoint  { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2;
//                      fixed64 time_unix_nano = 3; oneof value { double as_double = 4;
//                      sfixed64 as_int = 6; } repeated Exemplar exemplars = 5; uint32 flags = 8; }
//   HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2;
//                      fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5;
//                      repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
//                      repeated Exemplar exemplars = 8; uint32 flags = 10;
//                      optional double min = 11; optional double max = 12; }
//   ExponentialHistogramDataPoint { repeated KeyValue attributes = 1;
//                      fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
//                      fixed64 count = 4; optional double sum = 5; sint32 scale = 6;
//                      fixed64 zero_count = 7; Buckets positive = 8; Buckets negative = 9;
//                      uint32 flags = 10; repeated Exemplar exemplars = 11;
//                      optional double min = 12; optional double max = 13;
//                      double zero_threshold = 14; }
//     Buckets        { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
//   SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2;
//                      fixed64 time_unix_nano = 3; fixed64 count = 4; double sum = 5;
//                      repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8; }
//     ValueAtQuantile { double quantile = 1; double value = 2; }
//   KeyValue         { string key = 1; AnyValue value = 2; }
//   AnyValue         { oneof value { string string_value = 1; bool bool_value = 2;
//                      int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5;
//                      KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
//   ArrayValue       { repeated AnyValue values = 1; }
//   KeyValueList     { repeated KeyValue values = 1; }
//   AggregationTemporality  UNSPECIFIED=0 DELTA=1 CUMULATIVE=2
//   DataPointFlags          NO_RECORDED_VALUE=1 (bit mask)
//
// Responses (written by the route): ExportMetricsServiceResponse { ExportMetricsPartialSuccess
// partial_success = 1; }, ExportMetricsPartialSuccess { int64 rejected_data_points = 1;
// string error_message = 2; }, google.rpc.Status { int32 code = 1; string message = 2; }.
//
// Protobuf decoding is hand-written and zero-copy: strings are views into the body, the
// output's vectors keep their capacity between calls. Repeated scalars are accepted packed
// and unpacked, unknown fields of every wire type are skipped, a singular field sent twice
// keeps its last value, and every length is checked against its enclosing message. Errors
// name the message path, field and byte offset. Attribute values that are not strings are
// converted to strings as the OpenTelemetry attribute specification says (booleans
// true/false, integers in decimal, doubles shortest round-trip, bytes base64, arrays and
// key-value lists as JSON); those strings live in ExportRequest::owned.
//
// OTLP/JSON follows the OTLP specification: lowerCamelCase keys (the proto's snake_case
// names are accepted too), 64-bit integers as decimal strings or numbers, enums as integers
// (or their names), unknown keys ignored.
//
// Thread-compatible: one ExportRequest per thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zw::ingest::otlp {

enum class Temporality : int32_t { kUnspecified = 0, kDelta = 1, kCumulative = 2 };

inline constexpr uint32_t kFlagNoRecordedValue = 1;

enum class MetricKind : uint8_t {
  kNone,  // no data field: rejected by the receiver
  kGauge,
  kSum,
  kHistogram,
  kExponentialHistogram,
  kSummary,
};
std::string_view MetricKindName(MetricKind k);

struct KeyValueView {
  std::string_view key;
  std::string_view value;  // converted to a string (see above)
};

// A half-open index range into one of ExportRequest's vectors.
struct Range {
  uint32_t begin = 0, end = 0;
  uint32_t size() const { return end - begin; }
  bool empty() const { return begin == end; }
};

// One data point of any kind; which fields mean something depends on the metric's kind.
struct PointView {
  Range attributes;  // into ExportRequest::attributes
  uint64_t start_ns = 0;
  uint64_t time_ns = 0;
  uint32_t flags = 0;
  // Number points.
  bool has_value = false;
  double value = 0;
  // Histograms, exponential histograms and summaries.
  uint64_t count = 0;
  bool has_sum = false;
  double sum = 0;
  // Histograms: bucket_counts in ExportRequest::counts, explicit_bounds in ::bounds.
  Range bucket_counts;
  Range explicit_bounds;
  // Exponential histograms: positive/negative bucket counts in ExportRequest::counts.
  int32_t scale = 0;
  uint64_t zero_count = 0;
  double zero_threshold = 0;
  int32_t positive_offset = 0;
  Range positive;
  int32_t negative_offset = 0;
  Range negative;
  // Summaries: into ExportRequest::quantiles.
  Range quantiles;
};

struct QuantileView {
  double quantile = 0;
  double value = 0;
};

struct MetricView {
  std::string_view name;
  std::string_view description;
  std::string_view unit;
  MetricKind kind = MetricKind::kNone;
  Temporality temporality = Temporality::kUnspecified;
  int32_t raw_temporality = 0;  // as sent, for error messages
  bool monotonic = false;
  Range points;  // into ExportRequest::points
};

struct ScopeView {
  std::string_view name;
  std::string_view version;
  Range attributes;
  Range metrics;
};

struct ResourceView {
  Range attributes;
  Range scopes;
};

struct ExportRequest {
  std::vector<ResourceView> resources;
  std::vector<ScopeView> scopes;
  std::vector<MetricView> metrics;
  std::vector<PointView> points;
  std::vector<KeyValueView> attributes;
  std::vector<uint64_t> counts;
  std::vector<double> bounds;
  std::vector<QuantileView> quantiles;
  // Strings the views point at that are not in the body: converted attribute values, and
  // every string of a JSON request. A deque, so that adding one never moves the others.
  std::deque<std::string> owned;

  void Clear();
};

// Largest number of entries (points, attributes, bucket counts, ...) one request may
// decode into; bounds memory for hostile input.
inline constexpr size_t kMaxDecodedEntries = 32u << 20;
// Deepest nesting of AnyValue arrays and key-value lists.
inline constexpr int kMaxAnyValueDepth = 16;

// Decodes a protobuf ExportMetricsServiceRequest. On error `out` holds a partial decode and
// must not be used. Errors are InvalidArgument: "resource_metrics[0].scope_metrics[1].
// metrics[2].sum.data_points[0]: field 4 (as_double): wire type 0 (varint), want 1
// (fixed64) at offset 212".
Status DecodeExportRequest(std::string_view body, ExportRequest* out);

// Decodes an OTLP/JSON ExportMetricsServiceRequest. Errors are InvalidArgument naming the
// JSON path: "resourceMetrics[0].scopeMetrics[0].metrics[1].sum.dataPoints[0].timeUnixNano:
// not an unsigned 64-bit integer".
Status DecodeExportRequestJson(std::string_view body, ExportRequest* out);

}  // namespace zw::ingest::otlp
