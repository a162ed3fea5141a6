// The database: the head plus the immutable blocks on disk, and the background work that
// moves data from one to the other and eventually deletes it.
//
//   data/wal/           the head's write-ahead log (and its checkpoints)
//   data/chunks_head/   full head chunks, memory-mapped
//   data/blocks/<ulid>/ immutable blocks (docs/format/blocks.md)
//
// Life of a sample: appended to the head (and its WAL); once the head spans more than 1.5
// block ranges, its oldest whole range is written as a level-1 block and the head truncated
// after it. Compaction merges blocks into larger aligned ranges (2 h → 6 h → 24 h by default)
// and rewrites blocks with deletions. Retention deletes whole blocks that end more than
// retention_ms before the newest sample held, or the oldest ones while everything on disk
// exceeds retention_bytes.
//
// Queries merge the blocks overlapping their range with the head. Crash safety: a block
// becomes visible by an atomic rename; a compaction's inputs are deleted only after its output
// is durable, and a restart deletes any block listed as a parent of another; the head replays
// the WAL, skipping samples that blocks already hold.
//
// Thread-safe. One background thread does all compaction, retention and downsampling work;
// it never holds a lock that appends or queries take for longer than a pointer swap.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"
#include "tsdb/block/block.h"
#include "tsdb/block/merge.h"
#include "tsdb/block/writer.h"
#include "tsdb/head.h"
#include "tsdb/head_deletions.h"

namespace zw::tsdb {

struct DBOptions {
  std::string dir;  // data directory; empty: in-memory head only, no blocks
  fs::FileSystem* fs = fs::PosixFileSystem();
  HeadOptions head;  // dir, fs and min_valid_time are set by the DB
  // Range of a level-1 block, and the ranges compaction merges into, each a multiple of the
  // one before. ranges[0] is the block range.
  std::vector<int64_t> block_ranges_ms{2 * 3600 * 1000LL, 6 * 3600 * 1000LL, 24 * 3600 * 1000LL};
  // Raw data is kept for retention_ms, 5-minute and 1-hour downsampled copies for their own
  // retention; all measured back from the newest sample held. 0: no time limit.
  int64_t retention_ms = 15 * 24 * 3600 * 1000LL;
  int64_t retention_5m_ms = 90 * 24 * 3600 * 1000LL;
  int64_t retention_1h_ms = 365 * 24 * 3600 * 1000LL;
  uint64_t retention_bytes = 0;  // over all blocks; 0: no size limit
  // Raw blocks ending this long before the newest sample get a 5-minute copy, 5-minute blocks
  // a 1-hour copy (docs/downsampling.md). 0 turns downsampling off.
  int64_t downsample_after_ms = 40 * 3600 * 1000LL;
  // Which series get a counter aggregate when downsampled; empty: by metadata and name.
  std::function<bool(const Labels&)> is_counter;
  // How often the background thread looks for work when nothing wakes it.
  std::chrono::milliseconds compaction_interval{60'000};
  bool background = true;  // false: compaction only through Compact() (tests)
};

struct DBStats {
  std::atomic<uint64_t> head_compactions{0};
  std::atomic<uint64_t> compactions{0};
  std::atomic<uint64_t> compaction_failures{0};
  std::atomic<uint64_t> retention_deletions{0};
  std::atomic<uint64_t> downsamplings{0};
  std::atomic<uint64_t> blocks_quarantined{0};
  std::atomic<uint64_t> compaction_nanos_total{0};
};

// What GET /api/v1/status/tsdb shows.
struct TsdbStatus {
  uint64_t head_series = 0;
  uint64_t head_label_pairs = 0;
  int64_t head_min_time = 0;
  int64_t head_max_time = 0;
  size_t num_blocks = 0;
  uint64_t blocks_bytes = 0;
  std::vector<std::pair<std::string, uint64_t>> series_count_by_metric_name;
  std::vector<std::pair<std::string, uint64_t>> label_value_count_by_label_name;
  std::vector<std::pair<std::string, uint64_t>> series_count_by_label_value_pair;
  std::vector<std::pair<std::string, uint64_t>> memory_in_bytes_by_label_name;
};

class DB final : public storage::Storage {
 public:
  // Removes leftover temporary directories, opens every block (moving a damaged one to
  // blocks/corrupted/ and logging why), deletes blocks superseded by a finished compaction,
  // opens the head and starts the background thread.
  static Result<std::unique_ptr<DB>> Open(DBOptions options);
  ~DB() override;

  std::unique_ptr<storage::Appender> NewAppender() override;
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override;
  std::vector<std::pair<std::string, MetricMetadata>> Metadata() const override;

  // One round of background work, now: cut the head into blocks while it is compactable,
  // compact blocks, apply retention. Serialised with the background thread.
  Status Compact();

  // Deletes the samples in [mint, maxt] of the series matching `matchers`, from the head at
  // once and from blocks by tombstones, dropped for good at their next compaction.
  Status Delete(int64_t mint, int64_t maxt, const Matchers& matchers);

  // A consistent copy of the database in `dir` (created; must not exist): the blocks are
  // hard-linked, and with `with_head` the head's data is written as a block too.
  Status Snapshot(const std::string& dir, bool with_head);

  // Stops the background thread and closes the head. Idempotent.
  Status Close();

  // Head statistics and the `top` largest cardinalities, as Prometheus reports them.
  TsdbStatus Describe(size_t top) const;
  Head& head() { return *head_; }
  const Head& head() const { return *head_; }
  const DBStats& stats() const { return stats_; }
  std::vector<std::shared_ptr<Block>> Blocks() const;
  const DBOptions& options() const { return opts_; }

 private:
  explicit DB(DBOptions options);
  class NotifyingAppender;
  class Querier;

  std::string BlocksDir() const;
  Status LoadBlocks();
  // REQUIRES: work_mu_ held.
  Status CompactHead();
  Status CompactBlocks();
  Status ApplyRetention();
  Status DownsampleBlocks();
  bool IsCounter(const Labels& labels) const;
  // Adds opened blocks and drops the given ulids from the visible set, then deletes
  // the dropped ones' directories.
  Status Swap(std::vector<std::shared_ptr<Block>> add, const std::vector<std::string>& drop);
  bool HeadCompactable() const;
  std::unique_ptr<storage::Querier> HeadQuerier(int64_t mint, int64_t maxt);
  // Turns the head deletions within [mint, maxt) into tombstones of `block`.
  Status CarryDeletions(Block& block, int64_t mint, int64_t maxt);
  // Takes a block found damaged while querying out of the visible set and moves it to
  // blocks/corrupted/.
  void Quarantine(const std::string& ulid, const Status& why);
  void Loop();
  void Wake();

  DBOptions opts_;
  std::unique_ptr<Head> head_;
  std::unique_ptr<HeadDeletions> deletions_;
  DBStats stats_;

  mutable std::shared_mutex blocks_mu_;
  std::vector<std::shared_ptr<Block>> blocks_;  // sorted by min_time; guarded by blocks_mu_

  std::mutex work_mu_;  // one compaction round at a time
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread loop_;
  std::atomic<bool> closed_{false};
};

}  // namespace zw::tsdb
