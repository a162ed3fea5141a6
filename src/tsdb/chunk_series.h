// Series as chunks: how samples move between the head, blocks and compaction without being
// decoded when they need not be.
//
// The head hands the block writer a ChunkSeriesSet for a time range; a block hands its own to
// compaction; merging several (MergeChunkSeriesSets in tsdb/block) yields one. Chunks are the
// head's Gorilla XOR chunks (docs/format/chunks.md), in time order and not overlapping.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/labels.h"
#include "core/status.h"

namespace zw::tsdb {

// One chunk of a series: its encoded bytes and the times of its first and last sample
// (both inclusive). `bytes` stays valid until the set it came from moves to the next series.
struct ChunkMeta {
  int64_t min_t = 0;
  int64_t max_t = 0;
  std::string_view bytes;
};

// Series in Labels order, each with at least one chunk. Used by one thread at a time.
class ChunkSeriesSet {
 public:
  virtual ~ChunkSeriesSet() = default;
  // Moves to the next series; false at the end or on error (see Err).
  virtual bool Next() = 0;
  // REQUIRES: the last Next returned true. Valid until the next call to Next.
  virtual const Labels& labels() const = 0;
  virtual std::span<const ChunkMeta> chunks() const = 0;
  virtual Status Err() const = 0;
};

}  // namespace zw::tsdb
