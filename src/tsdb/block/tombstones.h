// Deletions recorded against a block (docs/format/blocks.md, "Tombstones"): for each series
// id, the time intervals whose samples are deleted. Applied at read time until compaction
// rewrites the data without them.
//
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zw::tsdb {

inline constexpr uint32_t kTombstonesMagic = 0x5A575453;  // "ZWTS"; on-disk, do not change

// [mint, maxt], both inclusive.
struct Interval {
  int64_t mint = 0;
  int64_t maxt = 0;
  friend bool operator==(const Interval&, const Interval&) = default;
};

// Sorted, disjoint and not adjacent.
using Intervals = std::vector<Interval>;

// Adds `iv` to `ivs`, merging overlapping and adjacent intervals.
void AddInterval(Intervals& ivs, Interval iv);
// Whether t lies in one of the intervals.
bool IsDeleted(const Intervals& ivs, int64_t t);
// Whether every time in [mint, maxt] is deleted.
bool CoversRange(const Intervals& ivs, int64_t mint, int64_t maxt);

using TombstoneMap = std::map<uint64_t, Intervals>;  // series id → intervals

std::string EncodeTombstones(const TombstoneMap& t);
// Errors: Corruption naming `file` and the offset.
Result<TombstoneMap> DecodeTombstones(std::string_view data, const std::string& file);

}  // namespace zw::tsdb
