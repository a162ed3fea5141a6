// FileSystem over POSIX calls. Every descriptor is opened with O_CLOEXEC so that children the
// server spawns inherit none; every call that can be interrupted by a signal is retried.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "tsdb/fs/file_system.h"

namespace zw::fs {
namespace {

Status ErrnoStatus(std::string_view op, const std::string& path, int err) {
  std::string msg = fmt::format("{} {}: {}", op, path, std::strerror(err));
  if (err == ENOENT) return Status::NotFound(std::move(msg));
  if (err == ENOSPC || err == EDQUOT)
    return Status::Error(StatusCode::kResourceExhausted, "{}", msg);
  return Status::IOError(std::move(msg));
}

Status ErrorCodeStatus(std::string_view op, const std::string& path, const std::error_code& ec) {
  if (ec.category() == std::generic_category() || ec.category() == std::system_category()) {
    return ErrnoStatus(op, path, ec.value());
  }
  return Status::IOError(fmt::format("{} {}: {}", op, path, ec.message()));
}

// Retries `call` while it fails with EINTR.
template <typename F>
auto RetryEintr(F call) {
  decltype(call()) r;
  do {
    r = call();
  } while (r < 0 && errno == EINTR);
  return r;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::IOError("append " + path_ + ": file is closed");
    while (!data.empty()) {
      ssize_t n = RetryEintr([&] { return ::write(fd_, data.data(), data.size()); });
      if (n < 0) return ErrnoStatus("write", path_, errno);
      data.remove_prefix(static_cast<size_t>(n));
      size_ += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (fd_ < 0) return Status::IOError("sync " + path_ + ": file is closed");
#if defined(__linux__)
    // Enough for appended data: fdatasync also flushes the size needed to read it back.
    int r = RetryEintr([&] { return ::fdatasync(fd_); });
#else
    int r = RetryEintr([&] { return ::fsync(fd_); });
#endif
    if (r < 0) return ErrnoStatus("fsync", path_, errno);
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int fd = fd_;
    fd_ = -1;
    // Not retried on EINTR: Linux releases the descriptor even then.
    if (::close(fd) < 0 && errno != EINTR) return ErrnoStatus("close", path_, errno);
    return Status::Ok();
  }

  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  int fd_;
  uint64_t size_;
};

// A read-only shared mapping of a whole file. An empty file has no mapping (mmap rejects a
// length of 0) and an empty view.
// With a descriptor kept open (fd >= 0), ReadAt reads with pread instead of the mapping.
class PosixMappedFile final : public MappedFile {
 public:
  PosixMappedFile(std::string path, void* addr, size_t size, int fd)
      : path_(std::move(path)), addr_(addr), size_(size), fd_(fd) {}
  ~PosixMappedFile() override {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  std::string_view data() const override {
    return size_ == 0 ? std::string_view()
                      : std::string_view(static_cast<const char*>(addr_), size_);
  }
  Status ReadAt(uint64_t offset, std::span<char> dst) const override {
    if (fd_ < 0) return MappedFile::ReadAt(offset, dst);
    if (offset > size_ || size_ - offset < dst.size()) {
      return Status::IOError(fmt::format("read {} bytes at offset {} of {}: the file has {}",
                                         dst.size(), offset, path_, size_));
    }
    while (!dst.empty()) {
      ssize_t n = RetryEintr(
          [&] { return ::pread(fd_, dst.data(), dst.size(), static_cast<off_t>(offset)); });
      if (n < 0) return ErrnoStatus("pread", path_, errno);
      if (n == 0) {
        return Status::IOError(fmt::format("pread {}: end of file at offset {}", path_, offset));
      }
      dst = dst.subspan(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

 private:
  const std::string path_;
  void* const addr_;
  const size_t size_;
  const int fd_;  // -1 unless kept open
};

class PosixFileSystemImpl final : public FileSystem {
 public:
  using FileSystem::Map;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        bool truncate) override {
    // O_APPEND always: writes go to the current end even after the file was truncated
    // underneath (the WAL cuts off a failed write that way).
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND | (truncate ? O_TRUNC : 0);
    int fd = RetryEintr([&] { return ::open(path.c_str(), flags, 0644); });
    if (fd < 0) return ErrnoStatus("open", path, errno);
    uint64_t size = 0;
    if (!truncate) {
      struct stat st;
      if (::fstat(fd, &st) < 0) {
        Status s = ErrnoStatus("stat", path, errno);
        ::close(fd);
        return s;
      }
      size = static_cast<uint64_t>(st.st_size);
    }
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd, size));
  }

  Result<std::string> ReadFile(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus("open", path, errno);
    std::string out;
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
    // Read to end of file rather than to the size seen above: the file may still grow.
    constexpr size_t kChunk = size_t{1} << 20;
    while (true) {
      size_t old = out.size();
      out.resize(old + kChunk);
      ssize_t n = RetryEintr([&] { return ::read(fd, out.data() + old, kChunk); });
      if (n < 0) {
        Status s = ErrnoStatus("read", path, errno);
        ::close(fd);
        return s;
      }
      out.resize(old + static_cast<size_t>(n));
      if (n == 0) break;
    }
    ::close(fd);
    return out;
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return ErrnoStatus("opendir", dir, errno);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoStatus("readdir", dir, err);
    std::sort(names.begin(), names.end());
    return names;
  }

  Status CreateDirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return ErrorCodeStatus("mkdir", dir, ec);
    // create_directories reports success when `dir` names an existing file on some versions.
    if (!std::filesystem::is_directory(dir, ec)) {
      return ErrorCodeStatus("mkdir", dir,
                             ec ? ec : std::make_error_code(std::errc::not_a_directory));
    }
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) < 0) return ErrnoStatus("unlink", path, errno);
    return Status::Ok();
  }

  Status RemoveAll(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return ErrorCodeStatus("remove", path, ec);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) < 0) {
      return ErrnoStatus("rename", from + " to " + to, errno);
    }
    return Status::Ok();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    int r = RetryEintr([&] { return ::truncate(path.c_str(), static_cast<off_t>(size)); });
    if (r < 0) return ErrnoStatus("truncate", path, errno);
    return Status::Ok();
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return ErrnoStatus("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<std::shared_ptr<const MappedFile>> Map(const std::string& path,
                                                MapOptions options) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) < 0) {
      Status s = ErrnoStatus("stat", path, errno);
      ::close(fd);
      return s;
    }
    auto size = static_cast<size_t>(st.st_size);
    void* addr = nullptr;
    if (size > 0) {
      addr = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (addr == MAP_FAILED) {
        Status s = ErrnoStatus("mmap", path, errno);
        ::close(fd);
        return s;
      }
    }
    if (!options.keep_open) {
      ::close(fd);  // the mapping keeps the file alive
      fd = -1;
    }
    return std::shared_ptr<const MappedFile>(
        std::make_shared<PosixMappedFile>(path, addr, size, fd));
  }

  Status Link(const std::string& from, const std::string& to) override {
    if (::link(from.c_str(), to.c_str()) < 0) return ErrnoStatus("link", from + " to " + to, errno);
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = RetryEintr([&] { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus("open", dir, errno);
    int r = RetryEintr([&] { return ::fsync(fd); });
    int err = errno;
    ::close(fd);
    if (r < 0) return ErrnoStatus("fsync", dir, err);
    return Status::Ok();
  }
};

}  // namespace

FileSystem* PosixFileSystem() {
  static FileSystem* const fs = new PosixFileSystemImpl();
  return fs;
}

}  // namespace zw::fs
