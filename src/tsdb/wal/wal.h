// The write-ahead log: a directory of segment files holding opaque records (what they mean is
// tsdb/record's business). Framing: tsdb/wal/framing.h; format: docs/format/wal.md.
//
//   wal::Options o;
//   o.dir = data_dir + "/wal";
//   wal::ReplayReport report;
//   auto w = wal::Wal::Open(o, [&](std::string_view rec) { head.Replay(rec); }, &report);
//   ...
//   ZW_RETURN_IF_ERROR((*w)->Log(records));
//
// Durability: Log() returns after the batch is in the operating system, so a killed process
// loses nothing it acknowledged; SyncMode says when it also survives a power loss.
//
// Failures: a failed write is undone (the segment is truncated back) before the next Log(),
// so Log() works again once the cause (a full disk) is gone. A failed fsync is permanent: the
// kernel may have dropped the data it could not write, so every later Log() and Sync() fails
// and the process has to reopen the WAL, which replays and repairs it.
//
// Thread safe: all methods may be called concurrently; Log() calls are serialised.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "tsdb/fs/file_system.h"

namespace zw::wal {

enum class SyncMode {
  kInterval,  // a background thread fsyncs every sync_interval, if anything was written
  kAlways,    // Log() fsyncs before it returns
};

struct Options {
  fs::FileSystem* fs = fs::PosixFileSystem();
  std::string dir;
  // A multiple of 32 KiB. A segment grows past it only to hold a single larger record.
  uint64_t segment_size = 128 << 20;
  SyncMode sync = SyncMode::kInterval;
  std::chrono::milliseconds sync_interval{1000};
  // Called after every fsync with its duration in seconds (e.g. to feed a histogram).
  // Runs on the syncing thread; must be cheap and must not call back into the WAL.
  std::function<void(double)> on_fsync;
  // Segments with a lower index are covered by a checkpoint (tsdb/wal/checkpoint.h): Open
  // deletes them, oldest first, without replaying them, and never writes below this index.
  int first_segment = 0;
  // Open leaves the segments below first_segment in place (still unread) instead of deleting
  // them: a lagging reader (the remote_write sender) may need them after a restart. The next
  // TruncateBefore deletes them, as its Retention allows.
  bool keep_below_first_segment = false;
};

// Lets readers that may lag behind the head (the remote_write sender) keep the segments they
// have not read yet when a checkpoint truncates the WAL. See Wal::SetRetention.
struct Retention {
  // The lowest segment index some reader still needs (INT_MAX: none). Called by
  // TruncateBefore, from the truncating thread, with no WAL lock held but the retention's
  // own (SetRetention waits for a call in progress): it must not call back into the WAL.
  std::function<int()> lowest_needed;
  // Segments kept for readers beyond the truncation point take at most this many bytes; the
  // oldest ones beyond it are deleted anyway.
  uint64_t max_bytes = 0;
  // Called before segments [from, to) that a reader still needed are deleted anyway (over
  // max_bytes), while they still exist: e.g. to count the samples lost. May be empty.
  std::function<void(int from, int to)> on_drop;
};

// What Open() found while replaying.
struct ReplayReport {
  uint64_t records = 0;        // handed to the replay function
  uint64_t corruptions = 0;    // damaged places found (and cut off)
  uint64_t bytes_dropped = 0;  // bytes cut off or deleted by the repair
  std::vector<Status> errors;  // one kCorruption per damaged place, with segment and offset
};

// Counters for the server's /metrics. Updated with relaxed atomics; read them one by one.
struct Stats {
  std::atomic<uint64_t> records_written{0};
  std::atomic<uint64_t> record_bytes_written{0};  // the records' own bytes
  std::atomic<uint64_t> bytes_written{0};         // written to segments: framing, padding, records
  std::atomic<uint64_t> batches_written{0};       // successful Log() calls
  std::atomic<uint64_t> write_failures{0};
  std::atomic<uint64_t> fsyncs{0};
  std::atomic<uint64_t> fsync_nanos_total{0};
  std::atomic<uint64_t> fsync_nanos_max{0};
  std::atomic<uint64_t> fsync_failures{0};
  std::atomic<uint64_t> segments_created{0};
  std::atomic<uint64_t> corruptions{0};  // found by replay
  std::atomic<uint64_t> records_replayed{0};
  std::atomic<uint64_t> segments_retained{0};        // gauge: kept below the last truncation point
  std::atomic<uint64_t> segments_retained_bytes{0};  // gauge: their bytes
  std::atomic<uint64_t> retained_segments_dropped{0};  // needed by a reader, deleted over max_bytes
};

class Wal {
 public:
  // Creates o.dir if missing and replays every record in it, in order, through `replay` (a
  // record's view is valid only during the call). The first damage found (a torn tail, a bad
  // checksum, an impossible length or fragment sequence, a missing segment) is logged with
  // segment and offset, counted in `report` and stats(), and repaired: every later segment is
  // removed and the damaged one truncated after its last good record, so nothing after the
  // damage is ever read. Then a new segment, after the last one, is opened for writing.
  // `report` may be null.
  static Result<std::unique_ptr<Wal>> Open(const Options& o,
                                           const std::function<void(std::string_view)>& replay,
                                           ReplayReport* report);

  // Closes, ignoring errors.
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends the records in order and writes them to the operating system before returning:
  // one write per segment touched. With SyncMode::kAlways also fsyncs. Starts a new segment
  // first whenever a record would not fit in the current one. On error, a prefix of the
  // records may have been written (those that went to a segment finished before the failure).
  Status Log(std::span<const std::string_view> records);
  Status Log(std::string_view record);

  // Fsyncs everything logged so far.
  Status Sync();

  // Stops the background syncer, fsyncs and closes. Idempotent: later calls return the first
  // call's result. Later Log() and Sync() calls fail.
  Status Close();

  const Stats& stats() const { return stats_; }
  const std::string& dir() const { return opts_.dir; }

  // Segment management, for checkpointing.
  // The index of the segment being written.
  int CurrentSegment() const;
  // The indices of the segment files in the directory, ascending.
  Result<std::vector<int>> Segments() const;
  // Finishes the current segment and starts the next; returns the new segment's index.
  Result<int> NextSegment();
  // Deletes every segment with an index below n, oldest first (so that a crash in between
  // leaves no gap), except those a Retention keeps. REQUIRES: n <= CurrentSegment().
  Status TruncateBefore(int n);
  // Installs (or, with an empty lowest_needed, removes) the retention TruncateBefore
  // consults. Segments it keeps are deleted by a later TruncateBefore once no longer needed.
  // Open() deletes segments below Options::first_segment unless keep_below_first_segment.
  void SetRetention(Retention r);

  static std::string SegmentName(int index);

 private:
  explicit Wal(const Options& o);

  std::string SegmentPath(int index) const;
  Status Replay(const std::function<void(std::string_view)>& replay, ReplayReport* report);
  // Removes segments indices[from..], newest first, adding their sizes to *bytes.
  Status RemoveSegmentsFrom(const std::vector<int>& indices, size_t from, uint64_t* bytes);
  void ReportDamage(const Status& damage, uint64_t bytes_dropped, size_t segments_removed,
                    ReplayReport* report);

  // REQUIRES: mu_ held.
  Status ReadyToWriteLocked();
  Status OpenSegmentLocked(int index);
  Status CutLocked();
  Status WriteLocked(std::string_view bytes);

  // Fsyncs retired segments, the current one and the directory, unless everything up to byte
  // `target` (counted over the life of this object) is durable already. A failure is sticky.
  // REQUIRES: neither mu_ nor sync_mu_ held.
  Status SyncTo(uint64_t target);
  Status SyncFile(fs::WritableFile& f);
  void SyncLoop();

  const Options opts_;
  Stats stats_;

  // Lock order: sync_mu_ before mu_. Writing takes mu_ only; fsyncs hold sync_mu_ but not
  // mu_, so Log() never waits for an fsync it did not ask for.
  std::mutex close_mu_;  // held through Close(), so that a second caller waits for the first
  std::mutex sync_mu_;
  mutable std::mutex mu_;

  // Guarded by mu_:
  std::shared_ptr<fs::WritableFile> file_;  // null before the first segment, after Close()
  int segment_ = -1;                        // index of file_, or of the last segment
  uint64_t segment_offset_ = 0;             // bytes of file_ known to be good
  uint64_t written_ = 0;                    // bytes written, over all segments
  uint64_t synced_ = 0;                     // of which durable
  std::vector<std::shared_ptr<fs::WritableFile>> retired_;  // finished, not yet fsynced and closed
  bool dir_dirty_ = false;     // a segment was created since the last SyncDir
  bool needs_repair_ = false;  // a write failed; truncate to segment_offset_
  Status failed_;              // a failed fsync: permanent
  bool closed_ = false;
  Status close_status_;
  bool stop_ = false;  // tells the syncer to exit
  std::string buf_;    // encoded fragments of the batch being logged

  std::condition_variable cv_;
  std::thread syncer_;

  std::mutex retention_mu_;  // held through TruncateBefore's use of retention_
  Retention retention_;
};

}  // namespace zw::wal
