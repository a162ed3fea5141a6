// JSON push: the specification's MetricEvent, turned into Prometheus series.
//
// A request body is one event object, an array of them, or newline-delimited objects:
//   {source, domain, type: counter|gauge|histogram|timer, name, value, labels?, timestamp?,
//   metadata?}
// Mapping (docs/push.md): series <domain>_<name> with labels domain and source plus the
// event's labels; a counter adds its value to a running total (<name>_total); a gauge sets
// the value; histogram and timer observations accumulate into cumulative
// _bucket{le}/_sum/_count series (timers in seconds, named <name>_seconds) over the
// logarithmic buckets of log_buckets.h.
//
// A request is all or nothing: any bad event rejects the whole request with an error
// naming the item and field, and nothing of it is stored. Running totals survive restarts:
// the first time a series is seen, its last stored value is read back through the Querier.
//
// Thread-safe; requests are applied one at a time so running totals stay consistent.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"
#include "storage/storage.h"

namespace zw::ingest {

struct PushStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> samples{0};
};

struct PushResult {
  size_t events = 0;
  size_t samples = 0;
};

// Largest number of events one request may carry.
inline constexpr size_t kMaxEventsPerPush = 100000;

class PushIngester {
 public:
  explicit PushIngester(storage::Storage* storage);

  // Errors: InvalidArgument ("item <i>: field <f>: <why>"), OutOfOrder/Duplicate (an
  // event older than what its series holds), or the storage's commit error.
  Result<PushResult> Push(std::string_view body, int64_t now_ms);
  const PushStats& stats() const { return stats_; }

  // Accumulated state of one histogram series (exposed for tests).
  struct HistogramState {
    std::map<int, uint64_t> buckets;  // log bucket index -> observations (not cumulative)
    uint64_t zero = 0;                // observations <= 0
    uint64_t overflow = 0;            // observations beyond the largest bound
    uint64_t count = 0;
    double sum = 0;
    std::set<int> emitted;  // bounds that have a series; never shrinks
    // The le="0" series exists once anything <= 0 was observed (zero > 0).
  };

  struct Event;  // one parsed MetricEvent (defined in push.cc)

 private:
  class Batch;

  storage::Storage* storage_;
  PushStats stats_;
  std::mutex mu_;
  // Guarded by mu_. Keyed by the hash of the series' (or histogram's base) labels.
  std::unordered_map<uint64_t, double> counters_;
  std::unordered_map<uint64_t, HistogramState> histograms_;
  std::unordered_map<uint64_t, int64_t> newest_;  // newest event time of each running series
  std::unordered_map<std::string, MetricType> family_types_;
};

}  // namespace zw::ingest
