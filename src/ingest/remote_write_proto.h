// Protobuf wire decoding of Prometheus's remote_write 1.0 `prometheus.WriteRequest`.
//
// The messages, as the public specification (prompb/remote.proto, prompb/types.proto)
// defines them; field numbers are wire format, do not change:
//
//   WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//   TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2;
//                    repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
//   Label          { string name = 1; string value = 2; }
//   Sample         { double value = 1; int64 timestamp = 2; }          // ms since epoch
//   MetricMetadata { MetricType type = 1; string metric_family_name = 2;
//                    string help = 4; string unit = 5; }
//   MetricType     UNKNOWN=0 COUNTER=1 GAUGE=2 HISTOGRAM=3 GAUGEHISTOGRAM=4 SUMMARY=5
//                  INFO=6 STATESET=7
//
// The decoder is hand-written and zero-copy: strings are views into the input, and the
// output's vectors keep their capacity between calls, so decoding a steady stream of
// requests allocates nothing. Exemplars and native histograms are counted, not decoded
// (exemplars are skipped; the caller rejects histograms). Unknown fields of every wire type
// are skipped, as protobuf requires; for a field seen twice the last value wins. Every
// length is checked against what remains of its enclosing message, so no input makes it
// read out of bounds; errors name the message path, field and byte offset.
//
// Thread-compatible: one WriteRequest per thread.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zw::ingest::prompb {

struct LabelView {
  std::string_view name;
  std::string_view value;
};

struct SampleView {
  double value = 0;
  int64_t timestamp = 0;
};

// One TimeSeries: its labels are WriteRequest::labels[labels_begin, labels_end) (when
// decoded, see DecodeOptions), its samples WriteRequest::samples[samples_begin,
// samples_end), both in wire order. `label_bytes` spans the wire bytes from the first label
// field to the end of the last one: equal spans decode to equal labels, so it serves as a
// cache key for the label set without decoding it.
struct TimeSeriesView {
  std::string_view label_bytes;
  // Other fields sit between label fields, so label_bytes varies with them: a poor key.
  bool labels_interleaved = false;
  uint32_t labels_begin = 0, labels_end = 0;
  uint32_t samples_begin = 0, samples_end = 0;
  uint32_t exemplars = 0;
  uint32_t histograms = 0;
};

// The MetricType enum as numbered on the wire.
enum class WireMetricType : int32_t {
  kUnknown = 0,
  kCounter = 1,
  kGauge = 2,
  kHistogram = 3,
  kGaugeHistogram = 4,
  kSummary = 5,
  kInfo = 6,
  kStateSet = 7,
};

struct MetadataView {
  int32_t type = 0;  // a WireMetricType; values beyond it are kept as sent (open enum)
  std::string_view family;
  std::string_view help;
  std::string_view unit;
};

struct WriteRequest {
  std::vector<TimeSeriesView> series;
  std::vector<LabelView> labels;
  std::vector<SampleView> samples;
  std::vector<MetadataView> metadata;
  size_t exemplars = 0;
  size_t histograms = 0;

  void Clear();
};

// Largest number of entries (labels + samples + series + metadata) one request may decode
// into; bounds memory for hostile input whose every byte would otherwise be an entry.
inline constexpr size_t kMaxDecodedEntries = 32u << 20;

struct DecodeOptions {
  // False: label messages are only length-checked, not decoded (WriteRequest::labels stays
  // empty); decode a series' labels from TimeSeriesView::label_bytes with DecodeLabels when
  // needed.
  bool labels = true;
};

// Decodes `buf` into `out` (cleared first); on error `out` holds a partial decode and
// must not be used. Errors are InvalidArgument: "timeseries[3].samples[1]: field 1
// (value): wire type 0 (varint), want 1 (fixed64) at offset 57".
Status DecodeWriteRequest(std::string_view buf, WriteRequest* out, DecodeOptions options = {});

// Decodes the labels of a TimeSeriesView::label_bytes span (label fields, possibly with
// other TimeSeries fields between them, which are skipped) and appends them to `out`.
// Offsets in errors are from the start of the span.
Status DecodeLabels(std::string_view label_bytes, std::vector<LabelView>* out);

}  // namespace zw::ingest::prompb
