// Deletions of head data (DB::Delete, the delete_series API).
//
// The head's chunks are never rewritten. Instead the series that matched at the time of the
// deletion are remembered with the deleted interval (clamped to the newest sample then held,
// so samples appended later are not affected), in <data>/head_deletions, written atomically.
// Head queries skip those samples; when the head is cut into a block, the deletions become the
// block's tombstones (dropped for good at its next compaction), and deletions that lie wholly
// below the head's minimum valid time are forgotten.
//
// File format: magic u32 BE "ZWHD", then per entry: uvarint label count, (name, value)
// length-prefixed, uvarint interval count, (varint mint, varint maxt)*; then u32 BE CRC32C of
// everything before it.
//
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/labels.h"
#include "storage/querier.h"
#include "tsdb/block/tombstones.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

class HeadDeletions {
 public:
  using Map = std::unordered_map<Labels, Intervals, LabelsHash>;

  // `path` empty: nothing is persisted (in-memory databases).
  HeadDeletions(fs::FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}

  // Reads the file if it exists. A damaged file is a kCorruption error naming it.
  Status Load();
  // Records [mint, maxt] as deleted for every series in `series` and persists.
  Status Add(const std::vector<Labels>& series, int64_t mint, int64_t maxt);
  // Forgets intervals that end before `t` and persists if anything changed.
  Status Forget(int64_t t);
  // The current deletions; immutable, cheap to take.
  std::shared_ptr<const Map> Snapshot() const;

 private:
  Status Persist(const Map& m);

  fs::FileSystem* fs_;
  std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const Map> map_ = std::make_shared<Map>();
};

std::string EncodeHeadDeletions(const HeadDeletions::Map& m);
Result<HeadDeletions::Map> DecodeHeadDeletions(std::string_view data, const std::string& file);

// A querier that hides the samples `deleted` covers; `q` itself when there are none.
std::unique_ptr<storage::Querier> HideDeleted(std::unique_ptr<storage::Querier> q,
                                              std::shared_ptr<const HeadDeletions::Map> deleted);

}  // namespace zw::tsdb
