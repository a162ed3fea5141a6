// Follows a head's write-ahead log for one remote, as Prometheus's wlog watcher does: reads
// the series records of the newest checkpoint and of the segments before the start
// position, then tails the segments record by record from there, following new segments as
// the head cuts them. Series records go to WriteTo::StoreSeries, samples records to
// WriteTo::Append (which blocks while the queue is full: the watcher stops reading, the WAL
// keeps the data). Metadata records are skipped.
//
// The tail of the segment being written may hold a torn record (a write in progress): the
// watcher stops before it and reads it again later. Damage in a finished segment (a newer
// one exists) is logged and counted, and reading continues with the next segment. When the
// segment to read next was deleted by a checkpoint (the sender fell behind a head truncation
// further than the WAL's retention kept for it), the watcher reads that checkpoint's series
// and continues at the next segment present (one kept by a wal::Retention, or the
// checkpoint's first); the samples of the deleted segments are lost and counted in
// segments_skipped. Kept segments are read as usual, also after a restart.
// Whenever a newer checkpoint appears behind the watcher, its series are re-read and series
// not in it are forgotten (WriteTo::SeriesReset), so references of dead series are freed.
//
// The watcher only reads: it never deletes anything in the WAL directory (unlike
// wal::FindCheckpoint, which removes leftover temporary checkpoints).
//
// Thread safety: Start/Stop from one thread; stats() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "core/status.h"
#include "remote/progress.h"
#include "tsdb/record/record.h"

namespace zw::remote {

// Where the watcher delivers what it reads. Called from the watcher's thread only.
class WriteTo {
 public:
  virtual ~WriteTo() = default;
  // Series read in `segment` (a checkpoint's series count as read in its first segment).
  virtual void StoreSeries(std::span<const record::RefSeries> series, int segment) = 0;
  // A checkpoint covering segments below `segment` was read: series last seen before it
  // are gone from the head.
  virtual void SeriesReset(int segment) = 0;
  // The samples of one record that ends at `end`. May block; false means stop reading.
  virtual bool Append(std::span<const record::RefSample> samples, WalPosition end) = 0;
};

struct WatcherStats {
  std::atomic<int> segment{0};      // being read
  std::atomic<uint64_t> offset{0};  // in it, at a record boundary
  std::atomic<uint64_t> records_read{0};
  std::atomic<uint64_t> corruptions{0};       // damaged places skipped in finished segments
  std::atomic<uint64_t> segments_skipped{0};  // deleted before they were read
  std::atomic<uint64_t> checkpoints_read{0};
};

struct WatcherOptions {
  std::string wal_dir;
  std::string name;  // for log lines
  std::chrono::milliseconds poll_interval{50};
};

class WalWatcher {
 public:
  WalWatcher(WatcherOptions options, WriteTo* to);
  ~WalWatcher();  // Stop()

  // Starts the reading thread. `from`: resume there (series before it are read, samples
  // are not); nullopt: start at the end of the WAL as it is when Start is called.
  void Start(std::optional<WalPosition> from);
  // Stops and joins the thread. The WriteTo must make a blocked Append return first (see
  // QueueManager::Unblock). Idempotent.
  void Stop();

  const WatcherStats& stats() const { return stats_; }

 private:
  enum class Mode { kSeriesOnly, kAll };
  struct ReadResult {
    bool stop = false;     // Append said stop, or Stop() was called
    bool missing = false;  // the segment file does not exist
    bool damaged = false;  // bytes after `offset` that are not (yet) a complete record
  };

  void Run(WalPosition from, bool fresh);
  // Reads segment `segment` from *offset to its current end (or, in series-only mode, up to
  // `limit`), handing records over; advances *offset past the last complete record.
  ReadResult ReadSegment(int segment, uint64_t* offset, Mode mode, uint64_t limit);
  // Delivers the series of checkpoint `index` (counted as seen in segment `index`).
  Status ReadCheckpoint(int index);
  // The newest complete checkpoint's index, or -1.
  int NewestCheckpoint() const;
  // Segment indices present, ascending.
  std::vector<int> Segments() const;
  std::string SegmentPath(int segment) const;
  bool Sleep();  // false when stopping

  const WatcherOptions opts_;
  WriteTo* const to_;
  WatcherStats stats_;
  int checkpoint_read_ = -1;  // newest checkpoint whose series were delivered
  // The segment being read stays open, so that a checkpoint deleting it after the watcher
  // started on it takes nothing away.
  int fd_ = -1;
  int fd_segment_ = -1;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace zw::remote
