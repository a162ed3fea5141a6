// Merging series as chunks, and compaction of blocks into one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "tsdb/block/block.h"
#include "tsdb/block/writer.h"
#include "tsdb/chunk_series.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

// The most samples a chunk re-encoded by a merge holds (as the head cuts them).
inline constexpr int kMergedChunkSamples = 120;

// A k-way merge of sets by labels. A series found in several sets gets all their chunks in
// time order; chunks that overlap in time are decoded, merged (for a timestamp present more
// than once, the sample of the set listed first is kept) and re-encoded into chunks of at
// most kMergedChunkSamples samples. Chunks that overlap nothing pass through untouched.
// The first error of any input ends the merge and is its Err.
std::unique_ptr<ChunkSeriesSet> MergeChunkSeriesSets(
    std::vector<std::unique_ptr<ChunkSeriesSet>> sets);

// Merges `blocks` into one new block under `blocks_dir`: level = max(levels) + 1, sources =
// union of the inputs' sources, parents = the inputs' ULIDs, time range = union of theirs,
// resolution of the first; tombstoned data is dropped. The inputs are left in place (the
// caller deletes them once the new block is opened). Returns its meta; an empty ulid (and
// nothing on disk) when every sample was deleted.
// REQUIRES: blocks non-empty, all of one resolution.
Result<BlockMeta> CompactBlocks(fs::FileSystem* fs, const std::string& blocks_dir,
                                const std::vector<std::shared_ptr<Block>>& blocks,
                                const WriteBlockOptions& options = {});

}  // namespace zw::tsdb
