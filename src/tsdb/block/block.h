// An immutable on-disk block (docs/format/blocks.md): every series' samples for a time range,
// read through memory-mapped index and chunk segments.
//
// A Block is shared (std::shared_ptr) by queriers and compaction and is thread safe: its data
// never changes after Open. The one mutable part is its tombstones (Delete), swapped
// atomically under a lock; queriers and chunk sets keep the tombstones they started with.
// Queriers and sets hold the block alive through a shared_ptr; the FileSystem passed to Open
// must outlive the block. On POSIX the files are mapped: they must not be truncated or
// rewritten while a block is open (block files never are), or reads would fault.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/matcher.h"
#include "core/status.h"
#include "storage/querier.h"
#include "tsdb/block/chunks.h"
#include "tsdb/block/index.h"
#include "tsdb/block/meta.h"
#include "tsdb/block/tombstones.h"
#include "tsdb/chunk_series.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

class Block : public std::enable_shared_from_this<Block> {
 public:
  // Reads meta.json, maps the index and chunk segments, checks the index's TOC and section
  // checksums and reads the tombstones file if present. Chunk checksums are verified when a
  // chunk is read (VerifyChunks checks them all). Errors: Corruption naming the file and
  // offset; NotFound when `dir` or one of its files is missing.
  static Result<std::shared_ptr<Block>> Open(fs::FileSystem* fs, const std::string& dir);

  const BlockMeta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  // Bytes on disk: index, chunk segments, meta.json and tombstones.
  uint64_t SizeBytes() const;

  // Reads every chunk of every series and checks its CRC and its encoding.
  // Errors: Corruption naming the segment and offset (or the index).
  Status VerifyChunks() const;

  // Matchers and results as the head's querier: samples clipped to [mint, maxt] (inclusive),
  // deleted samples left out, series without chunks in range skipped, always sorted. A chunk
  // that fails its checksum ends the SeriesSet with a Corruption error naming the block.
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt);

  // Every series (Labels order) with its chunks overlapping [mint, maxt], for compaction.
  // Tombstones are applied: a chunk touched by a deleted interval is decoded, filtered and
  // re-encoded; chunks and series left without samples are skipped. Chunk bytes are XOR
  // (zstd chunks come decompressed).
  std::unique_ptr<ChunkSeriesSet> Chunks(int64_t mint, int64_t maxt);

  // Marks the samples in [mint, maxt] (inclusive) of the series matching `ms` as deleted and
  // writes the tombstones file atomically (tmp file, fsync, rename, fsync of the directory).
  // At least one matcher is required (InvalidArgument otherwise), so that a mistake cannot
  // delete everything. The interval is clipped to the block's range. On error nothing
  // changes.
  Status Delete(int64_t mint, int64_t maxt, const Matchers& ms);
  bool HasTombstones() const;

  // Cardinality, for /api/v1/status/tsdb: the `top` metric names (or name=value pairs) with
  // the most series, by count descending, then by name.
  Result<std::vector<std::pair<std::string, uint64_t>>> SeriesCountByMetricName(size_t top) const;
  Result<std::vector<std::pair<std::string, uint64_t>>> SeriesCountByLabelPair(size_t top) const;

  // Used by the querier and chunk sets (same module).
  const IndexReader& index() const { return *index_; }
  const ChunkReader& chunk_reader() const { return *chunks_; }
  std::shared_ptr<const TombstoneMap> tombstones() const;

 private:
  Block() = default;

  fs::FileSystem* fs_ = nullptr;
  std::string dir_;
  BlockMeta meta_;
  uint64_t meta_bytes_ = 0;
  std::shared_ptr<const fs::MappedFile> index_file_;
  std::unique_ptr<IndexReader> index_;
  std::unique_ptr<ChunkReader> chunks_;

  mutable std::mutex mu_;
  std::shared_ptr<const TombstoneMap> tombstones_;  // guarded by mu_; never null
  uint64_t tombstone_bytes_ = 0;                    // guarded by mu_
  std::mutex delete_mu_;                            // serializes Delete
};

}  // namespace zw::tsdb
