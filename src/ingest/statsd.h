// StatsD aggregation: lines in (statsd_parser.h), Prometheus series out, once per flush
// interval, through one storage::Appender transaction stamped with the flush time.
//
// Mapping (docs/statsd.md), with <m> the sanitised name and the tags as labels plus
// job="statsd" (unless a tag sets job):
//   c      -> <m>_total, a running total (value / sample rate per line)
//   g      -> <m>, the last value; "+N"/"-N" adjust it (from 0 when unknown)
//   ms     -> <m>_seconds_bucket{le}/_sum/_count, values divided by 1000
//   h, d   -> <m>_bucket{le}/_sum/_count
//   s      -> <m>, the number of distinct values seen in the interval
// Histograms use the logarithmic buckets of log_buckets.h and are cumulative; a line with
// sample rate r counts as 1/r observations. Every live series is written at every flush.
//
// Two halves, so that receiving never waits for storage: Ingest() parses a packet and adds
// it to the current interval's deltas, keyed by the line's raw name, type and tags;
// Flush() swaps those deltas out, folds them into the running state (series identity,
// totals, buckets) and appends. Memory is bounded: at most `max_series` distinct keys per
// interval and series in total (further lines are dropped and counted), at most
// kMaxSetValues distinct values per set and interval, and series not updated for
// `expire_after_ms` are ended with a staleness marker and forgotten.
//
// Thread-safe: Ingest from any threads, Flush from one at a time (it serialises itself).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/labels.h"
#include "core/status.h"
#include "ingest/statsd_parser.h"
#include "storage/appender.h"

namespace zw::ingest {

struct StatsdOptions {
  size_t max_series = 100000;
  int64_t expire_after_ms = 3600 * 1000;  // 0: never
  std::string job = "statsd";             // the job label; empty: none
};

// Distinct values a set remembers per interval; more are dropped and counted.
inline constexpr size_t kMaxSetValues = 100000;

struct StatsdStats {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> lines{0};          // metric lines accepted
  std::atomic<uint64_t> bad_lines{0};      // malformed, or conflicting with a series' type
  std::atomic<uint64_t> ignored_lines{0};  // DogStatsD events and service checks
  std::atomic<uint64_t> dropped_lines{0};  // over the series or set-value limits
  std::atomic<uint64_t> flushes{0};
  std::atomic<uint64_t> flush_failures{0};  // the commit failed
  std::atomic<uint64_t> samples{0};         // appended and committed
  std::atomic<uint64_t> expired_series{0};
};

struct StatsdPacketResult {
  size_t lines = 0;  // accepted metric lines
  size_t bad = 0;
  size_t ignored = 0;
  size_t dropped = 0;
  std::string first_error;  // what was wrong with the first bad line
};

// What one flush did, including the trouble of the interval it closes (for the log).
struct StatsdFlushResult {
  int64_t t = 0;  // the timestamp written
  size_t series = 0;
  size_t samples = 0;
  size_t expired = 0;
  size_t bad_lines = 0;      // in the interval, parse errors and type conflicts
  size_t dropped_lines = 0;  // in the interval, over a limit
  size_t append_errors = 0;  // samples storage refused (e.g. a name collision)
  std::string first_error;
};

class StatsdAggregator {
 public:
  // `out` must outlive the aggregator.
  explicit StatsdAggregator(storage::Appendable* out, StatsdOptions options = {});
  ~StatsdAggregator();
  StatsdAggregator(const StatsdAggregator&) = delete;
  StatsdAggregator& operator=(const StatsdAggregator&) = delete;

  // Parses newline-separated lines and aggregates the good ones; bad lines are counted
  // and skipped, the rest of the packet is still taken.
  StatsdPacketResult Ingest(std::string_view packet);

  // Writes every live series at max(now_ms, previous flush + 1). Errors: the commit's.
  Result<StatsdFlushResult> Flush(int64_t now_ms);

  size_t NumSeries() const;
  const StatsdStats& stats() const { return stats_; }

  struct Delta;
  struct Series;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using DeltaMap = std::unordered_map<std::string, Delta, StringHash, std::equal_to<>>;

  Series* Resolve(const std::string& key, const Delta& d, StatsdFlushResult& r);
  // A name the new family's series would share with a family of another shape (the gauge
  // "x_sum" and the histogram "x"); empty when there is none.
  std::string HistogramClash(const std::string& family, char kind) const;
  void Emit(storage::Appender& app, Series& s, int64_t t, StatsdFlushResult& r);
  void EndSeries(storage::Appender& app, Series& s, int64_t t, StatsdFlushResult& r);

  storage::Appendable* out_;
  const StatsdOptions options_;
  StatsdStats stats_;

  std::mutex mu_;  // guards the interval being received
  std::unique_ptr<DeltaMap> pending_;
  size_t pending_bad_ = 0;
  size_t pending_dropped_ = 0;
  std::string pending_error_;

  mutable std::mutex flush_mu_;  // guards the running state below
  std::unordered_map<Labels, std::unique_ptr<Series>, LabelsHash> series_;
  std::unordered_map<std::string, Series*, StringHash, std::equal_to<>> by_key_;  // a cache
  struct Family {
    char kind;
    size_t series;
  };
  std::unordered_map<std::string, Family> families_;
  int64_t last_t_ = INT64_MIN;
};

}  // namespace zw::ingest
