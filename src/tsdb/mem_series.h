// One series in the head: its labels and its samples as Gorilla chunks — the closed ones
// (immutable, shared with readers) and the open one being appended to.
//
// Thread-safe through `mu`: appenders and readers lock it briefly; readers take a
// snapshot (closed chunks by reference, the open chunk's bytes by copy) and decode
// outside the lock.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/sample.h"
#include "storage/querier.h"
#include "tsdb/chunkenc/xor_chunk.h"
#include "tsdb/postings.h"

namespace zw::tsdb {

struct ClosedChunk {
  std::shared_ptr<const std::string> bytes;
  int64_t min_t;
  int64_t max_t;
};

// What an append of (t, v) would do to a series.
enum class AppendCheck { kOk, kIgnoreDuplicate, kOutOfOrder, kConflictingDuplicate };

class MemSeries {
 public:
  MemSeries(SeriesRef ref, Labels labels) : ref_(ref), labels_(std::move(labels)) {}

  SeriesRef ref() const { return ref_; }
  const Labels& labels() const { return labels_; }

  std::mutex mu;

  // REQUIRES: mu held. Checks (t, v) against committed samples and, when `txn` is the
  // transaction that last marked this series, against its pending samples too.
  AppendCheck Check(int64_t t, double v, uint64_t txn) const;
  // REQUIRES: mu held. Remembers (t, v) as pending in transaction `txn`.
  void MarkPending(uint64_t txn, int64_t t, double v);
  // REQUIRES: mu held, Check returned kOk. Cuts a new chunk when the open one holds
  // `max_samples` or `t` crosses the next multiple of `chunk_range` after its start.
  void Append(int64_t t, double v, int64_t chunk_range, int max_samples);

  // REQUIRES: mu held. Whether any sample lies in [mint, maxt].
  bool Overlaps(int64_t mint, int64_t maxt) const;
  // REQUIRES: mu held. The chunks overlapping [mint, maxt], in time order.
  std::vector<ClosedChunk> Snapshot(int64_t mint, int64_t maxt) const;

  int64_t MaxTimeLocked() const { return max_t_; }
  double LastValueLocked() const;
  size_t NumChunksLocked() const { return closed_.size() + (open_.NumSamples() ? 1 : 0); }
  // Bytes of chunk data held, for memory accounting.
  size_t ChunkBytesLocked() const;

 private:
  void CutChunk();

  const SeriesRef ref_;
  const Labels labels_;

  // Guarded by mu.
  std::vector<ClosedChunk> closed_;
  chunkenc::XorChunk open_;
  int64_t open_min_t_ = 0;
  int64_t max_t_ = kMinTime;
  uint64_t last_bits_ = 0;
  uint64_t txn_ = 0;
  int64_t txn_max_t_ = kMinTime;
  uint64_t txn_last_bits_ = 0;
};

// Iterates the samples of a snapshot within [mint, maxt].
class ChunksIterator final : public storage::SampleIterator {
 public:
  ChunksIterator(std::vector<ClosedChunk> chunks, int64_t mint, int64_t maxt);
  bool Next() override;
  bool Seek(int64_t t) override;
  Sample At() const override { return cur_; }
  Status Err() const override { return err_; }

 private:
  bool OpenChunk(size_t i);
  // Moves to the first sample with timestamp >= t (t >= mint_), never backwards.
  bool SeekFrom(int64_t t);

  std::vector<ClosedChunk> chunks_;
  int64_t mint_, maxt_;
  size_t idx_ = 0;
  std::optional<chunkenc::XorIterator> it_;
  Sample cur_;
  Status err_;
  bool done_ = false;
  bool started_ = false;  // cur_ holds a sample
};

}  // namespace zw::tsdb
