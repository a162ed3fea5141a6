// Closed head chunks on disk, memory-mapped: resident memory follows the active series, not
// the history the head holds.
//
// Files `<dir>/chunks_head/NNNNNNNN` hold closed chunks' bytes back to back (nothing else:
// the series keeps each chunk's file, offset, length and time range in memory). A chunk is
// first kept on the heap and queued for the file being written; when that file is full it is
// written out, closed and mapped (fs::FileSystem::Map), and series swap their heap copies for
// views of the mapping (MemSeries::MigrateChunks). A file is deleted once every chunk in it is
// older than the head's truncation point; mappings stay valid for readers that hold them.
//
// The files are a cache only: recovery comes from the WAL, and Open deletes chunks_head/.
//
// Thread safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

class HeadChunkDisk {
 public:
  // Empties (or creates) `dir`.
  static Result<std::unique_ptr<HeadChunkDisk>> Open(fs::FileSystem* fs, std::string dir,
                                                     uint64_t file_size);

  struct Ref {
    uint32_t file = 0;  // 1-based; 0: not on disk
    uint32_t offset = 0;
  };
  // Queues a closed chunk's bytes; max_t is its newest sample. An error (disk full) is
  // counted and logged once; the chunk then simply stays on the heap (file 0).
  Ref Write(std::string_view bytes, int64_t max_t);
  // The mapping of a finished file, or null while it is being written (or gone).
  std::shared_ptr<const fs::MappedFile> Mapped(uint32_t file) const;
  // How many files have been finished so far: series compare it with what they saw last to
  // know when migrating can help.
  uint32_t sealed() const { return sealed_.load(std::memory_order_acquire); }
  // Deletes finished files whose chunks are all older than mint.
  Status TruncateBefore(int64_t mint);

  uint64_t write_errors() const {
    std::lock_guard lock(mu_);
    return write_errors_;
  }

 private:
  HeadChunkDisk(fs::FileSystem* fs, std::string dir, uint64_t file_size)
      : fs_(fs), dir_(std::move(dir)), file_size_(file_size) {}
  std::string Path(uint32_t file) const;
  // REQUIRES: mu_ held. Writes buf_ out.
  Status FlushLocked();
  // REQUIRES: mu_ held. Writes, closes and maps the current file.
  Status SealLocked();
  // REQUIRES: mu_ held. Forgets the current file after a failed write.
  void AbandonLocked();

  fs::FileSystem* const fs_;
  const std::string dir_;
  const uint64_t file_size_;

  mutable std::mutex mu_;
  uint32_t current_ = 1;                    // file being filled
  std::unique_ptr<fs::WritableFile> file_;  // open on it once something was flushed
  uint64_t flushed_ = 0;                    // bytes of it written to file_
  std::string buf_;                         // bytes of it not yet written
  int64_t current_max_t_ = INT64_MIN;
  std::atomic<uint32_t> sealed_{0};  // written under mu_, read without it
  uint64_t write_errors_ = 0;
  struct Sealed {
    std::shared_ptr<const fs::MappedFile> map;
    int64_t max_t;
  };
  std::map<uint32_t, Sealed> files_;
};

}  // namespace zw::tsdb
