// WAL checkpoints: what a truncated head still needs from the segments it lets go.
//
// A checkpoint is a directory `<wal>/checkpoint.NNNNNNNN` (eight digits: the index N of the
// first segment it does NOT cover) holding one segment file, `00000000`, in the WAL's own
// framing (docs/format/wal.md). Its records replace every segment below N: a head replays
// the newest checkpoint first, then the segments from N on (wal::Options::first_segment).
//
// Writing is crash-safe: records go to `checkpoint.NNNNNNNN.tmp`, which is fsynced and then
// renamed into place (and the WAL directory fsynced) by Commit. Only then may the caller delete
// the segments below N and older checkpoints. A leftover `.tmp` directory is garbage: Find
// removes it.
//
// Not thread safe: one writer at a time (the head serialises truncations).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tsdb/fs/file_system.h"

namespace zw::wal {

// "checkpoint.00000012" for index 12.
std::string CheckpointDirName(int index);

struct CheckpointRef {
  int index = 0;    // the first segment not covered
  std::string dir;  // full path
};

// The newest complete checkpoint in `wal_dir`, if any. Removes leftover `.tmp` checkpoints
// and complete checkpoints older than the newest one (a crash may have left them).
Result<std::optional<CheckpointRef>> FindCheckpoint(fs::FileSystem* fs, const std::string& wal_dir);

// Hands every record of the checkpoint in `dir` to `replay`, in order, and returns how many.
// A checkpoint was fsynced before it became visible, so any damage is reported as an error
// (kCorruption with file and offset) rather than repaired.
Result<uint64_t> ReplayCheckpoint(fs::FileSystem* fs, const std::string& dir,
                                  const std::function<void(std::string_view)>& replay);

// Deletes complete checkpoints with an index below `index`, oldest first.
Status DeleteCheckpointsBefore(fs::FileSystem* fs, const std::string& wal_dir, int index);

class CheckpointWriter {
 public:
  // Starts checkpoint `index` in `wal_dir` (removing a stale `.tmp` of the same index).
  static Result<std::unique_ptr<CheckpointWriter>> Create(fs::FileSystem* fs,
                                                          const std::string& wal_dir, int index);
  // Abandons an uncommitted checkpoint: its `.tmp` directory is removed (best effort).
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Adds one record (buffered; written in large pieces).
  Status Add(std::string_view record);
  // Writes what is buffered, fsyncs the file and the directory, renames the checkpoint into
  // place and fsyncs the WAL directory. After OK the checkpoint replaces segments < index.
  Status Commit();

  uint64_t records() const { return records_; }
  uint64_t bytes() const { return offset_; }

 private:
  CheckpointWriter(fs::FileSystem* fs, std::string wal_dir, int index);
  Status Flush();

  fs::FileSystem* const fs_;
  const std::string wal_dir_;
  const int index_;
  const std::string tmp_dir_;
  std::unique_ptr<fs::WritableFile> file_;
  std::string buf_;
  uint64_t offset_ = 0;  // bytes of the segment encoded so far (written + buffered)
  uint64_t records_ = 0;
  bool committed_ = false;
};

}  // namespace zw::wal
