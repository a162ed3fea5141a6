// One series in the head: its labels and its samples as Gorilla chunks — the closed ones
// (immutable, shared with readers) and the open one being appended to — plus the samples
// that arrived out of order (older than the newest one, within the head's out-of-order
// window), kept sorted in a small side buffer and merged in by readers.
//
// Thread-safe through `mu`: appenders and readers lock it briefly; readers take a
// snapshot (closed chunks by reference, the open chunk's bytes by copy) and decode
// outside the lock.
//
// Memory: the head holds one per active series, so the layout is kept tight (a 4-byte
// lock, labels as one shared pointer, 48-byte chunk entries); see docs/storage.md.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/sample.h"
#include "storage/querier.h"
#include "tsdb/chunkenc/xor_chunk.h"
#include "tsdb/head_chunk_disk.h"
#include "tsdb/head_mutex.h"
#include "tsdb/postings.h"

namespace zw::tsdb {

// A closed chunk (or a copy of the open one): its bytes live on the heap or in a mapped
// head chunk file, and `owner` keeps them alive for whoever holds the struct. On the heap it
// points at the first byte; for a mapped chunk it points at the fs::MappedFile (sharing its
// ownership) and the bytes are at disk.offset in it.
struct ClosedChunk {
  std::shared_ptr<const void> owner;
  int64_t min_t = 0;
  int64_t max_t = 0;
  uint32_t size = 0;
  bool mapped = false;      // bytes are in the mapping rather than the heap
  HeadChunkDisk::Ref disk;  // where it was queued on disk (file 0: nowhere)

  // The bytes in place: for a mapped chunk this touches the mapping, whose pages then count
  // as the process's resident memory (with their neighbours: the kernel maps pages around a
  // fault). Queries use Load instead.
  std::string_view bytes() const {
    if (!mapped) return {static_cast<const char*>(owner.get()), size};
    return static_cast<const fs::MappedFile*>(owner.get())->data().substr(disk.offset, size);
  }
  std::span<const uint8_t> data() const {
    std::string_view b = bytes();
    return {reinterpret_cast<const uint8_t*>(b.data()), b.size()};
  }
  // The bytes for a reader: a heap chunk's in place, a mapped chunk's read into *scratch
  // through the file (fs::MappedFile::ReadAt) without touching the mapping.
  Result<std::span<const uint8_t>> Load(std::vector<uint8_t>* scratch) const;

  // A heap copy of `data`, in one allocation with its reference count.
  static ClosedChunk Copy(std::span<const uint8_t> data, int64_t min_t, int64_t max_t);
};
static_assert(sizeof(ClosedChunk) <= 48);

// What an append of (t, v) would do to a series: kOk appends in order, kOutOfOrderOk goes
// to the out-of-order buffer, kOutOfOrder is too old for the window.
enum class AppendCheck { kOk, kOutOfOrderOk, kIgnoreDuplicate, kOutOfOrder, kConflictingDuplicate };

class MemSeries {
 public:
  MemSeries(SeriesRef ref, Labels labels) : ref_(ref), labels_(std::move(labels)) {}

  SeriesRef ref() const { return ref_; }
  const Labels& labels() const { return labels_; }

  SmallMutex mu;

  // REQUIRES: mu held. Checks (t, v) against committed samples and, when `txn` is the
  // transaction that last marked this series, against its pending samples too. A sample
  // older than the newest one is kOutOfOrderOk when t >= ooo_min (pass kMaxTime when
  // out-of-order samples are disabled); an exact duplicate of any held sample is ignored.
  AppendCheck Check(int64_t t, double v, uint64_t txn, int64_t ooo_min) const;
  // REQUIRES: mu held. Remembers (t, v) as pending in transaction `txn`.
  void MarkPending(uint64_t txn, int64_t t, double v);
  // REQUIRES: mu held. The value bits of the sample held at exactly t, if any.
  std::optional<uint64_t> Lookup(int64_t t) const;
  // REQUIRES: mu held, Check returned kOutOfOrderOk.
  void InsertOutOfOrder(int64_t t, double v);
  // REQUIRES: mu held, Check returned kOk. Cuts the open chunk before appending when `t`
  // crosses the next multiple of `chunk_range` after its start, and right after the append
  // that makes it hold `max_samples` (so a full chunk never waits on the heap for the next
  // sample); a cut chunk is queued on `disk` (when given) and older ones are swapped for
  // their mappings.
  void Append(int64_t t, double v, int64_t chunk_range, int max_samples,
              HeadChunkDisk* disk = nullptr);
  // REQUIRES: mu held. Replaces heap copies of chunks whose file is now mapped by views of
  // the mapping. Cheap when no file was finished since the last call (Append calls it).
  void MigrateChunks(const HeadChunkDisk& disk);

  // REQUIRES: mu held. Whether any sample lies in [mint, maxt].
  bool Overlaps(int64_t mint, int64_t maxt) const;
  // REQUIRES: mu held. The chunks overlapping [mint, maxt], in time order.
  std::vector<ClosedChunk> Snapshot(int64_t mint, int64_t maxt) const;
  // REQUIRES: mu held. The out-of-order samples within [mint, maxt], in time order.
  std::vector<Sample> OutOfOrderSnapshot(int64_t mint, int64_t maxt) const;

  // REQUIRES: mu held. Drops closed chunks and out-of-order samples entirely below mint, and
  // the open chunk too when all of it is below mint. A chunk straddling mint stays (readers
  // clamp to the head's min valid time). Keeps the newest timestamp and value, so ordering
  // checks still hold. Returns how many samples were dropped (of dropped chunks, roughly).
  void TruncateBefore(int64_t mint);
  // REQUIRES: mu held. No samples at all.
  bool EmptyLocked() const { return closed_.empty() && open_.NumSamples() == 0 && ooo_.empty(); }
  // REQUIRES: mu held. The oldest sample's time, kMaxTime when empty.
  int64_t MinTimeLocked() const;

  // Open appenders that hold samples for this series: it must not be garbage-collected.
  // Guarded by mu.
  int32_t pending_appenders = 0;
  // Set (under mu) when the head garbage-collects the series: an appender that finds it set
  // must look the labels up again. The object itself stays valid until every reader that
  // could hold it is gone (the head's epochs).
  bool deleted = false;

  int64_t MaxTimeLocked() const { return max_t_; }
  double LastValueLocked() const;
  size_t NumChunksLocked() const { return closed_.size() + (open_.NumSamples() ? 1 : 0); }
  size_t NumOutOfOrderLocked() const { return ooo_.size(); }
  bool HasOpenChunkLocked() const { return open_.NumSamples() > 0; }
  // The open chunk's first sample time. REQUIRES: HasOpenChunkLocked().
  int64_t OpenMinTimeLocked() const { return open_.MinTime(); }
  // Bytes of chunk data held, for memory accounting.
  size_t ChunkBytesLocked() const;

 private:
  void CutChunk(HeadChunkDisk* disk);

  const SeriesRef ref_;
  const Labels labels_;

  // Guarded by mu.
  uint32_t seen_sealed_ = 0;  // HeadChunkDisk::sealed() at the last MigrateChunks
  std::vector<ClosedChunk> closed_;
  chunkenc::XorChunk open_;  // its MinTime() is the open chunk's first sample time
  int64_t max_t_ = kMinTime;
  uint64_t last_bits_ = 0;
  uint64_t txn_ = 0;
  int64_t txn_max_t_ = kMinTime;
  uint64_t txn_last_bits_ = 0;
  std::vector<Sample> ooo_;  // sorted by time, no duplicate times
};

// Iterates the samples of a snapshot within [mint, maxt]. Out-of-order samples, when given,
// are merged in (their times never equal a chunk sample's: the series rejects that).
//
// The chunks are decoded up to kBuffer samples at a time into a buffer (several 120-sample
// head chunks in one go, across chunk ends; XorIterator::NextBatch decodes straight into it,
// the maxt cut-off is a scan of each batch), which Buffered() hands out when no out-of-order
// samples are merged in: batch readers (range selectors, the merge with blocks) then walk
// head data as spans too, without a virtual call per sample. A decoding error ends the
// iteration after the samples decoded before it; Err() may report it while those are still
// being handed out.
class ChunksIterator final : public storage::SampleIterator {
 public:
  ChunksIterator(std::vector<ClosedChunk> chunks, int64_t mint, int64_t maxt,
                 std::vector<Sample> ooo = {});
  ~ChunksIterator() override;
  ChunksIterator(const ChunksIterator&) = delete;
  ChunksIterator& operator=(const ChunksIterator&) = delete;
  bool Next() override;
  bool Seek(int64_t t) override;
  Sample At() const override { return merged_ ? out_ : buf_[pos_]; }
  Status Err() const override { return err_; }
  std::span<const Sample> Buffered() const override {
    if (merged_ || pos_ >= len_) return {};
    return std::span<const Sample>(buf_).subspan(pos_, len_ - pos_);
  }

  // 512 samples (8 KiB): a range selector's window of 1 h at 15 s (240 samples) then mostly
  // lies within one span and is viewed in place; with 128 it was copied across span ends
  // (instant avg_over_time(g[1h]) over a 20k-series head: 12 % less CPU).
  static constexpr size_t kBuffer = 512;

 private:
  // The chunk stream alone.
  bool ChunkNext();
  bool ChunkSeek(int64_t t);
  // Picks the smaller of the chunk stream's and the out-of-order buffer's heads.
  bool Pick();

  bool OpenChunk(size_t i);
  // Decodes the chunk stream's samples from the first one at or after t on into buf_.
  // REQUIRES: t >= mint_, t after every sample decoded before.
  bool Fill(int64_t t);

  std::vector<ClosedChunk> chunks_;
  int64_t mint_, maxt_;
  size_t idx_ = 0;
  std::vector<uint8_t> scratch_;  // the current chunk's bytes when it is mapped
  std::optional<chunkenc::XorIterator> it_;
  // buf_[pos_, len_) are the chunk stream's current sample and the decoded ones after it; the
  // buffer (kBuffer samples) is taken on first use from those of finished iterators.
  std::vector<Sample> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  Status err_;
  bool done_ = false;         // nothing left to decode
  bool started_ = false;      // Fill ran
  bool chunk_valid_ = false;  // buf_[pos_] is the chunk stream's unconsumed head (merged mode)
  // Out-of-order samples (merged mode only).
  std::vector<Sample> ooo_;
  size_t ooo_pos_ = 0;
  bool merged_ = false;
  bool out_started_ = false;
  Sample out_;
};

}  // namespace zw::tsdb
