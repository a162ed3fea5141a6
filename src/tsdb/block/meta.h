// What a block is: its meta.json (docs/format/blocks.md) and the ULIDs that name blocks.
//
// Plain values; thread-compatible. NewUlid is thread safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

struct BlockMeta {
  std::string ulid;
  int64_t min_time = 0;  // [min_time, max_time), ms
  int64_t max_time = 0;
  uint64_t num_samples = 0, num_series = 0, num_chunks = 0;
  int level = 1;  // 1 for blocks cut from the head, max(inputs)+1 after compaction
  std::vector<std::string> sources;  // the level-1 blocks whose data this holds
  std::vector<std::string> parents;  // the blocks compacted into this one
  int64_t resolution_ms = 0;         // 0: raw samples
  int version = 1;
  friend bool operator==(const BlockMeta&, const BlockMeta&) = default;
};

std::string EncodeMeta(const BlockMeta& meta);
// Errors: Corruption naming `file` when the JSON or a field is malformed.
Result<BlockMeta> DecodeMeta(std::string_view json, const std::string& file);

// A new ULID: 48 bits of milliseconds since the epoch and 80 random bits, as 26 characters
// of Crockford base32. Strictly increasing within the process (the random part is
// incremented when the clock does not advance), so block directories sort by creation.
std::string NewUlid();
// The same for a given time, for tests. Not monotonic across calls.
std::string UlidAt(int64_t unix_ms, uint64_t rand_hi16, uint64_t rand_lo64);
bool IsUlid(std::string_view s);

}  // namespace zw::tsdb
