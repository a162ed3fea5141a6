// OTLP metrics receiver: `ExportMetricsServiceRequest`s (otlp_proto.h), protobuf or JSON,
// mapped to Prometheus series by the OpenTelemetry "Prometheus and OpenMetrics
// Compatibility" rules and appended through storage::Appender (docs/otlp.md).
//
// Mapping, per data point:
//   gauge -> gauge; sum: monotonic -> counter named <name>_total, non-monotonic -> gauge;
//   delta sums are turned cumulative by adding each delta to a running total per series;
//   histogram -> <name>_bucket{le} (cumulative, le="+Inf" = count), <name>_sum, <name>_count
//   (delta histograms accumulate per bucket bound the same way); exponential histogram ->
//   the same classic series, with the exponential buckets' own upper bounds as `le`
//   (downscaled to at most `max_exponential_scale` and `max_exponential_buckets`);
//   summary -> <name>{quantile}, <name>_sum, <name>_count.
//   Names: otlp_names.h. Labels: the point's attributes (names sanitised; keys that collide
//   after sanitising have their values joined with ";" in key order), otel_scope_name and
//   otel_scope_version from the scope, job (service.namespace/service.name) and instance
//   (service.instance.id) from the resource; the other resource attributes go to one
//   target_info series (value 1) per resource with job and instance. NO_RECORDED_VALUE
//   writes staleness markers. Timestamps ns -> ms; start times become the samples' start
//   timestamps.
//
// Outcome, as OTLP/HTTP specifies: a request whose data is malformed (undecodable, empty
// or invalid names, missing timestamps or values, inconsistent buckets, unspecified
// temporality, invalid UTF-8) is rejected whole with InvalidArgument naming the place, and
// nothing of it is stored. Otherwise every point storage accepts is stored, and points it
// refuses (too old, out of order, a conflicting duplicate, a delta overlapping the last
// one accumulated) are counted in OtlpResult::rejected_points with a message: the route
// answers 200 with partial_success. A failed commit (WAL) returns the storage's error.
//
// Running delta totals live in memory and survive restarts: the first time a delta series
// is seen its last stored value is read back through the Querier.
//
// Thread-safe. Requests with delta metrics are applied one at a time (their running totals
// must not interleave); the others run concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"
#include "ingest/otlp_proto.h"
#include "storage/storage.h"

namespace zw::ingest {

struct OtlpOptions {
  // Exponential histograms are merged down to at most this scale (4: 16 buckets per power
  // of two, the bounds of pushed histograms, log_buckets.h) ...
  int max_exponential_scale = 4;
  // ... and further until their positive and negative buckets number at most this many.
  size_t max_exponential_buckets = 160;
  // Running delta totals kept in memory; past this they are dropped and re-read from
  // storage when their series comes again.
  size_t max_delta_series = 1u << 20;
};

struct OtlpStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> rejected{0};  // whole requests
  std::atomic<uint64_t> points{0};
  std::atomic<uint64_t> rejected_points{0};
  std::atomic<uint64_t> samples{0};
};

struct OtlpResult {
  size_t points = 0;  // stored
  size_t samples = 0;
  size_t rejected_points = 0;
  std::string message;  // why points were rejected; empty when none were
};

class OtlpIngester {
 public:
  explicit OtlpIngester(storage::Storage* storage, OtlpOptions options = {});

  // A protobuf (`json` false) or OTLP/JSON body, already inflated.
  Result<OtlpResult> Export(std::string_view body, bool json);
  // A decoded request.
  Result<OtlpResult> Ingest(const otlp::ExportRequest& req);

  const OtlpStats& stats() const { return stats_; }
  const OtlpOptions& options() const { return options_; }

  // Running state of one delta series (exposed for tests): the total so far, per-bound
  // bucket counts for histograms, and the end of the last point accumulated.
  struct DeltaState {
    double total = 0;                  // sums; histograms: count
    double sum = 0;                    // histograms
    std::map<double, double> buckets;  // upper bound -> observations in that bucket
    uint64_t last_ns = 0;
  };
  size_t delta_series() const;

 private:
  class Request;

  storage::Storage* storage_;
  OtlpOptions options_;
  OtlpStats stats_;
  mutable std::mutex delta_mu_;  // held for the whole of a request with delta metrics
  std::unordered_map<uint64_t, DeltaState> delta_;  // guarded by delta_mu_
};

}  // namespace zw::ingest
