// The head: the in-memory part of the TSDB that takes every write.
//
// Holds the active series (a registry by reference and by label hash), the inverted index
// over them, and their samples in Gorilla chunks. Every committed append is logged to the
// write-ahead log before it becomes visible, and Open rebuilds the head from the WAL.
// Implements storage::Storage (Appendable + Queryable).
//
// Thread-safe: any number of appenders and queriers may run concurrently.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/metric_type.h"
#include "storage/appender.h"
#include "storage/querier.h"
#include "storage/storage.h"
#include "tsdb/fs/file_system.h"
#include "tsdb/mem_series.h"
#include "tsdb/postings.h"
#include "tsdb/wal/wal.h"

namespace zw::tsdb {

struct HeadOptions {
  // Data directory; the WAL lives in <dir>/wal. Empty: no WAL (tests, benchmarks).
  std::string dir;
  fs::FileSystem* fs = fs::PosixFileSystem();
  wal::SyncMode wal_sync = wal::SyncMode::kInterval;
  std::chrono::milliseconds wal_sync_interval{1000};
  uint64_t wal_segment_size = 128ULL << 20;
  std::function<void(double)> wal_on_fsync;  // see wal::Options::on_fsync
  int64_t chunk_range_ms = 2 * 3600 * 1000;
  int samples_per_chunk = 120;
};

// Counters for the server's own /metrics. Monotonic unless named otherwise.
struct HeadStats {
  std::atomic<uint64_t> samples_appended{0};
  std::atomic<uint64_t> series_created{0};
  std::atomic<uint64_t> out_of_order_rejected{0};
  std::atomic<uint64_t> duplicates_rejected{0};
  std::atomic<uint64_t> duplicates_ignored{0};
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> commit_failures{0};
  std::atomic<uint64_t> wal_replayed_records{0};
  std::atomic<uint64_t> wal_replay_corruptions{0};
  std::atomic<uint64_t> wal_replay_unknown_refs{0};  // samples whose series never appeared
};

class Head final : public storage::Storage {
 public:
  // Opens the head, replaying the WAL in options.dir (if any).
  static Result<std::unique_ptr<Head>> Open(HeadOptions options);
  ~Head() override;

  std::unique_ptr<storage::Appender> NewAppender() override;
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override;

  // Flushes and closes the WAL. Further commits fail. Idempotent.
  Status Close();

  size_t NumSeries() const { return num_series_.load(std::memory_order_relaxed); }
  // Time range of the samples held (kMaxTime/kMinTime when empty).
  int64_t MinTime() const { return min_time_.load(std::memory_order_relaxed); }
  int64_t MaxTime() const { return max_time_.load(std::memory_order_relaxed); }
  const HeadStats& stats() const { return stats_; }
  const wal::Stats* wal_stats() const { return wal_ ? &wal_->stats() : nullptr; }
  const MemPostings& postings() const { return postings_; }

  std::optional<MetricMetadata> Metadata(const std::string& metric) const;
  std::vector<std::pair<std::string, MetricMetadata>> Metadata() const override;

  // Used by the appender and querier (same module).
  MemSeries* GetByRef(SeriesRef ref) const;
  MemSeries* GetByLabels(const Labels& labels) const;
  // Returns the series for `labels`, creating it (with a new reference, or `ref` when
  // non-zero, as during WAL replay) if needed; `created` tells which.
  MemSeries* GetOrCreate(const Labels& labels, SeriesRef ref, bool* created);
  const HeadOptions& options() const { return options_; }
  HeadStats& mutable_stats() { return stats_; }
  wal::Wal* wal() { return wal_.get(); }
  uint64_t NextTxnId() { return next_txn_.fetch_add(1, std::memory_order_relaxed); }
  void UpdateTimeRange(int64_t mint, int64_t maxt);
  // Sets metadata; returns true if it changed (and so must be logged).
  bool SetMetadata(const std::string& metric, const MetricMetadata& meta);

 private:
  explicit Head(HeadOptions options);
  void Replay(std::string_view record);

  // References index a two-level table of pointers so lookups by reference take no lock.
  static constexpr size_t kPageBits = 16;
  static constexpr size_t kPageSize = size_t{1} << kPageBits;
  using Page = std::array<std::atomic<MemSeries*>, kPageSize>;
  void StoreRef(SeriesRef ref, MemSeries* s);

  static constexpr size_t kStripes = 1024;
  struct Stripe {
    std::mutex mu;
    std::unordered_multimap<uint64_t, std::unique_ptr<MemSeries>> by_hash;
  };

  HeadOptions options_;
  std::unique_ptr<wal::Wal> wal_;
  std::vector<std::atomic<Page*>> pages_;
  std::mutex pages_mu_;
  std::unique_ptr<Stripe[]> stripes_;
  MemPostings postings_;
  std::atomic<SeriesRef> next_ref_{1};
  std::atomic<uint64_t> next_txn_{1};
  std::atomic<size_t> num_series_{0};
  std::atomic<int64_t> min_time_{kMaxTime};
  std::atomic<int64_t> max_time_{kMinTime};
  HeadStats stats_;

  mutable std::mutex meta_mu_;
  std::unordered_map<std::string, MetricMetadata> metadata_;

  // Replay state: samples whose series record comes later in the WAL (concurrent
  // appenders may log in that order), and references re-mapped to existing series.
  std::unordered_map<SeriesRef, std::vector<Sample>> replay_pending_;
};

}  // namespace zw::tsdb
