// The head: the in-memory part of the TSDB that takes every write.
//
// Holds the active series (a registry by reference and by label hash), the inverted index
// over them, and their samples in Gorilla chunks. Every committed append is logged to the
// write-ahead log before it becomes visible, and Open rebuilds the head from the WAL (the
// newest checkpoint, then the segments after it). Implements storage::Storage (Appendable +
// Queryable).
//
// Life cycle with blocks (the DB drives it): SetMinValidTime(t) stops samples older than t
// from entering; Chunks(mint, t) hands the block writer everything below t; once the block
// is durable, Truncate(t) drops it from memory, garbage-collects series left empty and
// checkpoints the WAL.
//
// Thread-safe: any number of appenders and queriers may run concurrently, also with
// Truncate. Series are freed only after every reader that could hold them is gone
// (head_epoch.h); appends never wait for a query.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/metric_type.h"
#include "storage/appender.h"
#include "storage/querier.h"
#include "storage/storage.h"
#include "tsdb/chunk_series.h"
#include "tsdb/fs/file_system.h"
#include "tsdb/head_chunk_disk.h"
#include "tsdb/head_epoch.h"
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
  bool wal_keep_covered_segments = false;    // see wal::Options::keep_below_first_segment
  int64_t chunk_range_ms = 2 * 3600 * 1000;
  int samples_per_chunk = 120;
  // Samples older than their series' newest one are accepted when not older than the head's
  // max time minus this window; 0 disables out-of-order samples.
  int64_t ooo_window_ms = 30 * 60 * 1000;
  // Samples older than this are rejected (kOutOfBounds) and skipped by WAL replay: the DB
  // passes the newest persisted block's max time.
  int64_t min_valid_time = kMinTime;
  // Closed chunks go to files of this size in <dir>/chunks_head/ and are memory-mapped once
  // a file is full (head_chunk_disk.h); 0, or no dir, keeps them on the heap. The files are
  // a cache: Open deletes them and the WAL rebuilds everything.
  uint64_t head_chunk_file_size = 2 << 20;
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
  std::atomic<uint64_t> wal_replay_unknown_refs{0};   // samples whose series never appeared
  std::atomic<uint64_t> out_of_bounds_rejected{0};    // older than MinValidTime()
  std::atomic<uint64_t> out_of_order_appended{0};     // accepted into out-of-order buffers
  std::atomic<uint64_t> wal_replay_out_of_bounds{0};  // replayed samples < min_valid_time
  std::atomic<uint64_t> series_removed{0};            // garbage-collected by Truncate
  std::atomic<uint64_t> truncations{0};
  std::atomic<uint64_t> truncation_failures{0};
  std::atomic<uint64_t> checkpoints{0};
  std::atomic<uint64_t> checkpoint_failures{0};
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

  // Every series with samples in [mint, maxt) (half-open, ms), in Labels order, with chunks
  // holding exactly those samples: closed chunks inside the range as they are, chunks that
  // straddle a boundary, the open chunk and series with out-of-order samples re-encoded.
  // Samples below MinValidTime() are never returned. Safe while appends and truncations run;
  // the set sees each series as it is when the set reaches it. Must not outlive the head.
  std::unique_ptr<ChunkSeriesSet> Chunks(int64_t mint, int64_t maxt);

  // The oldest timestamp the head accepts and returns: raised by SetMinValidTime/Truncate,
  // never lowered.
  int64_t MinValidTime() const { return min_valid_time_.load(std::memory_order_acquire); }
  // Raises MinValidTime() to t (no-op if not higher) and waits for commits in flight, so that
  // after it returns no sample older than t can enter the head. The DB calls it before
  // Chunks(mint, t) so that the block it writes misses nothing the head will later drop.
  void SetMinValidTime(int64_t t);

  // Drops every sample older than mint (the DB calls it once blocks holding them are durable):
  // raises MinValidTime() to mint, frees chunks below it, garbage-collects series left without
  // samples (ref table, label registry, postings), and checkpoints the WAL. Serialised with
  // other truncations; waits for readers that may hold garbage-collected series.
  // REQUIRES: the calling thread holds no querier, appender or Chunks set of this head
  // (returns InvalidArgument if it detects one). Errors: those of the checkpoint (memory is
  // truncated anyway; the WAL keeps the old segments and the next truncation retries).
  Status Truncate(int64_t mint);

  // Used by the appender and querier (same module).
  // Registers the caller as a reader of series pointers until the guard is destroyed.
  EpochManager::Guard ReadGuard() { return EpochManager::Guard(&epochs_); }
  // The lowest out-of-order timestamp accepted now (kMaxTime when disabled).
  int64_t OutOfOrderMin() const;
  // Held shared by commits from logging to applying; exclusively by whoever needs every
  // logged sample applied (checkpoints, SetMinValidTime). A gate in front keeps a stream of
  // overlapping commits from starving the exclusive side.
  std::shared_lock<std::shared_mutex> LockCommitShared() {
    std::lock_guard gate(commit_gate_);
    return std::shared_lock(commit_mu_);
  }
  std::unique_lock<std::shared_mutex> LockCommitExclusive() {
    std::lock_guard gate(commit_gate_);
    return std::unique_lock(commit_mu_);
  }
  MemSeries* GetByRef(SeriesRef ref) const;
  MemSeries* GetByLabels(const Labels& labels) const;
  // Returns the series for `labels`, creating it (with a new reference, or `ref` when
  // non-zero, as during WAL replay) if needed; `created` tells which.
  MemSeries* GetOrCreate(const Labels& labels, SeriesRef ref, bool* created);
  const HeadOptions& options() const { return options_; }
  HeadStats& mutable_stats() { return stats_; }
  wal::Wal* wal() { return wal_.get(); }
  HeadChunkDisk* chunk_disk() { return disk_.get(); }
  uint64_t NextTxnId() { return next_txn_.fetch_add(1, std::memory_order_relaxed); }
  void UpdateTimeRange(int64_t mint, int64_t maxt);
  // Sets metadata; returns true if it changed (and so must be logged).
  bool SetMetadata(const std::string& metric, const MetricMetadata& meta);

 private:
  explicit Head(HeadOptions options);
  void Replay(std::string_view record);
  // Opens the WAL: replays the newest checkpoint, then the segments after it.
  Status OpenWal();
  // Writes a checkpoint of everything in memory and deletes the segments it covers.
  Status Checkpoint();
  // Unlinks empty series from every index; returns them for freeing after Synchronize.
  std::vector<std::unique_ptr<MemSeries>> CollectGarbage(int64_t mint);

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
  std::unique_ptr<HeadChunkDisk> disk_;  // null: closed chunks stay on the heap
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
  std::atomic<int64_t> min_valid_time_{kMinTime};
  HeadStats stats_;
  EpochManager epochs_;
  std::mutex commit_gate_;
  std::shared_mutex commit_mu_;
  std::mutex truncate_mu_;  // serialises Truncate

  mutable std::mutex meta_mu_;
  std::unordered_map<std::string, MetricMetadata> metadata_;

  // Replay state: samples whose series record comes later in the WAL (concurrent
  // appenders may log in that order), and references re-mapped to existing series.
  std::unordered_map<SeriesRef, std::vector<Sample>> replay_pending_;
  std::unordered_map<SeriesRef, SeriesRef> replay_aliases_;
};

}  // namespace zw::tsdb
