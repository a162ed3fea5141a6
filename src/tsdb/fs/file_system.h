// The storage engine's one seam to the operating system's files.
//
// Everything under src/tsdb reads and writes files through a FileSystem, never through POSIX
// or <filesystem> directly, so that tests can run on memory (NewMemFileSystem) or simulate
// crashes, power loss and full disks (FaultInjectionFileSystem) without real crashes.
//
// Paths are plain strings joined with '/'. Errors come back as Status: kNotFound when the
// path (or, when creating a file, its directory) does not exist, kIOError otherwise; the
// message names the path and the operating system's reason.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zw::fs {

// A file being written, always at its current end: after the file is truncated through the
// FileSystem, the next Append() continues at the new end. Append() hands the bytes to the OS
// before it returns (no buffering in user space), so a crash of the process after Append()
// loses nothing; only Sync() makes them survive a power loss.
//
// Thread safety: Sync() may run on one thread while another Appends. Any other concurrent use
// needs external locking. Destroying an open file closes it, ignoring errors.
class WritableFile {
 public:
  virtual ~WritableFile();

  virtual Status Append(std::string_view data) = 0;
  virtual Status Sync() = 0;
  // Further Append/Sync calls fail. Closing twice is OK.
  virtual Status Close() = 0;
  // Bytes in the file as seen by this handle: its size when opened plus what was appended
  // (truncating the file underneath does not change it).
  virtual uint64_t Size() const = 0;
};

// The read-only contents of a whole file, for immutable files read at random (block index
// and chunk segments). The bytes stay valid and unchanged for the object's lifetime, also if
// the file is removed meanwhile; destroying it releases them (munmap). Thread safe.
class MappedFile {
 public:
  virtual ~MappedFile();
  virtual std::string_view data() const = 0;
  // Copies dst.size() bytes at `offset` into dst; an error when the range is not within the
  // file (or the read fails). A file mapped with MapOptions::keep_open reads them through the
  // OS (pread on POSIX): they pass through the page cache, which the process's resident
  // memory does not count, and the mapping's pages are not touched (a touched page is
  // mapped together with up to 15 cached neighbours, all counted as resident). Otherwise,
  // and on other file systems, the bytes are copied from data().
  virtual Status ReadAt(uint64_t offset, std::span<char> dst) const;
};

struct MapOptions {
  // Keep a descriptor open for ReadAt (one per mapped file, until the object is destroyed).
  bool keep_open = false;
};

// Thread safe: all methods may be called concurrently.
class FileSystem {
 public:
  virtual ~FileSystem();

  // truncate=true creates the file or empties it; truncate=false opens it for appending,
  // creating it if missing. The directory must exist.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                bool truncate) = 0;
  // The whole file.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // The names (not paths) of the entries of `dir`, files and directories, sorted bytewise.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` and any missing parents. OK if it exists already.
  virtual Status CreateDirs(const std::string& dir) = 0;
  // Removes one file (not a directory).
  virtual Status RemoveFile(const std::string& path) = 0;
  // Removes a file, or a directory with everything under it. OK if `path` does not exist.
  virtual Status RemoveAll(const std::string& path) = 0;
  // Renames a file or a directory, replacing an existing file (or empty directory) at `to`.
  // Atomic on POSIX file systems.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Cuts the file to `size` bytes, or extends it with zeros.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // True for files and directories.
  virtual bool Exists(const std::string& path) = 0;
  // Makes the directory's entries (files created, renamed or removed in it) durable.
  virtual Status SyncDir(const std::string& dir) = 0;

  // Maps the whole file for reading. The file must not be written to while mapped (block
  // files never are): on POSIX, later writes would show through the mapping. The default
  // reads the file into memory, so the result is an immutable copy (in-memory file systems).
  virtual Result<std::shared_ptr<const MappedFile>> Map(const std::string& path,
                                                        MapOptions options);
  Result<std::shared_ptr<const MappedFile>> Map(const std::string& path) {
    return Map(path, MapOptions{});
  }
  // Makes `to` a second name of the file `from` (a hard link), for snapshots. `to` must not
  // exist. The default copies the bytes and syncs the copy, which is what a file system
  // without links can offer; the directory of `to` still needs SyncDir to be durable.
  virtual Status Link(const std::string& from, const std::string& to);
};

// The real file system. Process-wide; never deleted.
FileSystem* PosixFileSystem();

// An empty file system held in memory. Directories "/" and "" (relative paths) exist from the
// start. Thread safe. Files removed while a WritableFile is open on them keep accepting its
// writes, unseen, as an unlinked inode would.
std::unique_ptr<FileSystem> NewMemFileSystem();

// Wraps another file system to simulate what crashes and full disks do to it.
//
// It remembers, for each file written through it, how many bytes were made durable by
// WritableFile::Sync(). DropUnsyncedData() then truncates every such file to that size, as a
// power loss would (a file opened with truncate=false counts its existing bytes as durable; a
// file created or emptied and never synced loses everything). Directory entries are taken to
// be durable at once.
//
// SetFailWritesAfter(n) lets n more bytes be appended, over all files, and then makes Append
// fail as ENOSPC would: the bytes that fit are written, the rest are not, and the call returns
// an error; every later Append fails too until the budget is reset. SetFailSync(true) makes
// Sync() fail without syncing anything.
//
// Thread safe. `base` is not owned and must outlive this object and the files it opens.
class FaultInjectionFileSystem : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;

  // Truncates every tracked file to its last synced size.
  Status DropUnsyncedData();
  // Fail Append after `bytes` more bytes; a negative value turns the failure off.
  void SetFailWritesAfter(int64_t bytes);
  void SetFailSync(bool fail);
  // The durable size of a file written through this file system (0 if unknown).
  uint64_t SyncedSize(const std::string& path) const;
  // How many WritableFile::Sync() calls succeeded, over all files.
  uint64_t SyncCount() const;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        bool truncate) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveAll(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  bool Exists(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  using FileSystem::Map;
  Result<std::shared_ptr<const MappedFile>> Map(const std::string& path,
                                                MapOptions options) override;
  Status Link(const std::string& from, const std::string& to) override;

 private:
  class File;
  struct Tracked {
    uint64_t size = 0;    // bytes in the file as far as this file system knows
    uint64_t synced = 0;  // of which durable
  };

  // For File: how many of `n` bytes may be written to `path` now, and the error to report
  // when that is fewer than n.
  Status ReserveWrite(const std::string& path, size_t n, size_t* allowed);

  FileSystem* const base_;
  mutable std::mutex mu_;
  // Files written through this file system. Open files hold their entry, so that it follows
  // renames; a removed file's entry is dropped from the map.
  std::map<std::string, std::shared_ptr<Tracked>> files_;  // guarded by mu_
  int64_t write_budget_ = -1;                              // guarded by mu_; < 0: unlimited
  bool fail_sync_ = false;                                 // guarded by mu_
  uint64_t sync_count_ = 0;                                // guarded by mu_
};

// Joins two path parts with exactly one '/'.
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace zw::fs
