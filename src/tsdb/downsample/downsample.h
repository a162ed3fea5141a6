// Downsampling a block: a raw block becomes a 5-minute one, a 5-minute one a 1-hour one
// (docs/downsampling.md). The result is an ordinary block (docs/format/blocks.md) whose
// meta has the resolution set and in which every raw series S is stored as up to five
// series, S plus __zw_aggr__="count" | "sum" | "min" | "max" | "counter" (aggregate.h).
//
// Thread safe: the source block is only read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/status.h"
#include "tsdb/block/block.h"
#include "tsdb/block/meta.h"
#include "tsdb/chunk_series.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

inline constexpr int64_t kResolution5m = 5 * 60 * 1000;
inline constexpr int64_t kResolution1h = 60 * 60 * 1000;

// Writes the downsampled copy of `source` at `resolution_ms` as a new block under
// `blocks_dir` and returns its meta: same time range, level and sources as the source,
// parents = {source's ULID}. `is_counter` tells which raw series get a counter aggregate;
// when empty, DefaultIsCounter decides. It is not consulted for a 5-minute source (its
// counter series already exist). Tombstoned samples of the source are left out. A source
// without samples writes nothing and returns a meta with an empty ulid.
// Errors: InvalidArgument unless (source raw, 5 m) or (source 5 m, 1 h), or when a raw
// series already carries __zw_aggr__, or a 5-minute series lacks or misnames it; Corruption
// from the source's chunks; the file system's errors. Nothing is left on disk on error.
// The output is built in memory before it is written (adding the label reorders series), so
// this holds about the size of the output block: a fifth of the raw block at 5 m.
Result<BlockMeta> DownsampleBlock(fs::FileSystem* fs, const std::string& blocks_dir, Block& source,
                                  int64_t resolution_ms,
                                  const std::function<bool(const Labels&)>& is_counter);

// A series held as encoded XOR chunks in memory.
struct EncodedSeries {
  struct Chunk {
    int64_t min_t = 0, max_t = 0;
    std::string bytes;
  };
  Labels labels;
  std::vector<Chunk> chunks;
};

// Encodes samples (strictly increasing timestamps) into chunks of at most
// `samples_per_chunk` samples. REQUIRES: 0 < samples_per_chunk <= 65535.
EncodedSeries EncodeSeries(Labels labels, std::span<const Sample> samples,
                           int samples_per_chunk = 120);

// A ChunkSeriesSet over series held in memory, in the order given. WriteBlock wants them in
// strictly increasing Labels order, each with at least one chunk.
std::unique_ptr<ChunkSeriesSet> NewVectorChunkSeriesSet(std::vector<EncodedSeries> series);

}  // namespace zw::tsdb
