// Appender: the one way samples enter storage.
//
// Every ingestion path (JSON push, remote_write, OTLP, StatsD, scrape, built-in monitors)
// writes through this interface and knows nothing of how storage works. An Appender is a
// transaction: samples become visible to queries and durable (logged to the WAL) on
// Commit(), all together, or not at all on Rollback(). Its shape follows the one
// Prometheus is migrating to: one call taking a cached series reference or labels, a
// timestamp, a value and an options struct.
//
// An Appender is used by one thread at a time; Appendable::NewAppender is thread-safe and
// many appenders may be open concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/labels.h"
#include "core/metric_type.h"
#include "core/status.h"

namespace zw::storage {

// Identifies a series inside one storage. 0 means "unknown: look it up by labels".
// A reference stays valid for the life of the storage that returned it, unless the series
// is garbage-collected, in which case Append falls back to the labels.
using SeriesRef = uint64_t;

struct AppendOptions {
  // When the cumulative series this sample belongs to started counting (OpenMetrics
  // `_created`, OTLP start time), in ms; 0 when unknown.
  int64_t start_timestamp = 0;
  // The metric family's type, help and unit, when the source knows them; nullptr keeps
  // what storage already has.
  const MetricMetadata* metadata = nullptr;
  // The metric family `metadata` belongs to (e.g. "req_duration" for the sample of
  // "req_duration_bucket"); empty means the sample's own metric name.
  std::string_view family;
};

class Appender {
 public:
  virtual ~Appender() = default;

  // Adds one sample to the transaction and returns the series reference to cache for the
  // next call with the same labels. `labels` are used when `ref` is 0 or unknown; they
  // must be non-empty, carry a valid __name__, and every name must be a valid label name.
  // Errors (the sample is rejected, the rest of the transaction is unaffected):
  //   InvalidArgument - bad labels; OutOfOrder - older than the series' newest sample (or
  //   older than the storage accepts); Duplicate - same timestamp, different value.
  // An exact duplicate of a stored sample is accepted and ignored (idempotent retries).
  virtual Result<SeriesRef> Append(SeriesRef ref, const Labels& labels, int64_t t, double v,
                                   const AppendOptions& opts = {}) = 0;

  // Logs the transaction to the WAL and makes it visible. After an error nothing of the
  // transaction is visible. The Appender must not be used after Commit or Rollback.
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
};

class Appendable {
 public:
  virtual ~Appendable() = default;
  virtual std::unique_ptr<Appender> NewAppender() = 0;
};

}  // namespace zw::storage
