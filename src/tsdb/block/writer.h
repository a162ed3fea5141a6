// Writing a block: chunk segments, index and meta.json into <blocks_dir>/<ulid>.tmp, each
// file fsynced, then renamed into place and the parent directory fsynced. A crash at any
// point leaves either the finished block or only a *.tmp directory (which the DB removes at
// start), never a half-written block under its final name.
#pragma once

#include <string>

#include "core/status.h"
#include "tsdb/block/meta.h"
#include "tsdb/chunk_series.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

struct WriteBlockOptions {
  uint64_t segment_size = uint64_t{512} << 20;  // chunk segments are cut before this size
  // Store a chunk zstd-compressed (encoding 2) when that saves at least 10 %. Off by default:
  // on Gorilla chunks it saves 7-9 % of the bytes for ~25x the write time and 2x the read
  // time (bench/block_bench.cc; docs/format/blocks.md).
  bool compress_chunks = false;
  // Re-encode each series as packed chunks (encoding 4, docs/format/chunks.md) of at most
  // `packed_chunk_samples` samples, the series' chunks concatenated and cut into equal parts;
  // a part is stored as XOR instead when that is smaller. On by default: 2-3x fewer bytes on
  // disk than XOR for ~the same decoding speed (bench/block_bench.cc). Off, the chunks are
  // stored as they come (XOR, or zstd'd XOR with compress_chunks).
  bool pack_chunks = true;
  size_t packed_chunk_samples = 4096;  // 1 .. chunkenc::kPackedMaxSamples
  int packed_zstd_level = 9;           // 0: no zstd inside packed chunks
};

// Writes the series of `series` (which must come in strictly increasing Labels order, each
// chunk within [meta.min_time, meta.max_time), the chunks of a series in time order
// without overlap and, when packing, every sample within its chunk's time range and after
// the previous one) as a new block under `blocks_dir` (created if missing). `meta` gives the
// time range, level, sources, parents and resolution; the ULID is generated when empty, and
// sources default to the block's own ULID at level 1. Returns the meta written, with stats.
//
// An empty set writes nothing and returns a meta with an empty ulid and num_series 0.
// Errors: InvalidArgument for series out of order, chunks outside the range or overlapping
// (nothing is left on disk then), the set's own Err, or the file system's errors.
Result<BlockMeta> WriteBlock(fs::FileSystem* fs, const std::string& blocks_dir,
                             ChunkSeriesSet& series, BlockMeta meta,
                             const WriteBlockOptions& options = {});

}  // namespace zw::tsdb
