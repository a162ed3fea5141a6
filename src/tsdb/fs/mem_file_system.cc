// An in-memory FileSystem for tests: a map of paths to shared buffers and a set of
// directories, behaving like POSIX where tests can tell (missing directories, removing open
// files, renaming directories).
#include <algorithm>
#include <atomic>
#include <set>

#include "tsdb/fs/file_system.h"

namespace zw::fs {
namespace {

struct MemFile {
  std::mutex mu;
  std::string data;  // guarded by mu
};

// Collapses repeated '/', drops "." components and a trailing '/' (except for the root).
std::string Normalize(std::string_view path) {
  std::string out;
  bool absolute = !path.empty() && path.front() == '/';
  if (absolute) out.push_back('/');
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (!part.empty() && part != ".") {
      if (!out.empty() && out.back() != '/') out.push_back('/');
      out.append(part);
    }
    i = j + 1;
  }
  return out;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// What every path strictly below `dir` starts with.
std::string ChildPrefix(const std::string& dir) {
  if (dir.empty() || dir == "/") return dir;
  return dir + "/";
}

bool IsBelow(const std::string& path, const std::string& prefix) {
  if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  // Relative paths live below "", absolute ones do not.
  return !(prefix.empty() && path.front() == '/');
}

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemFile> file, uint64_t size)
      : path_(std::move(path)), file_(std::move(file)), size_(size) {}

  Status Append(std::string_view data) override {
    if (closed_) return Status::IOError("append " + path_ + ": file is closed");
    std::lock_guard lock(file_->mu);
    file_->data.append(data);
    size_ += data.size();
    return Status::Ok();
  }
  Status Sync() override {
    if (closed_) return Status::IOError("sync " + path_ + ": file is closed");
    return Status::Ok();
  }
  Status Close() override {
    closed_ = true;
    return Status::Ok();
  }
  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  const std::shared_ptr<MemFile> file_;
  std::atomic<uint64_t> size_;
  std::atomic<bool> closed_{false};
};

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem() : dirs_{"", "/"} {}

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& raw,
                                                        bool truncate) override {
    std::string path = Normalize(raw);
    std::lock_guard lock(mu_);
    if (dirs_.count(path)) return Status::IOError("open " + raw + ": Is a directory");
    if (!dirs_.count(Parent(path)))
      return Status::NotFound("open " + raw + ": No such file or directory");
    auto& file = files_[path];
    if (!file) file = std::make_shared<MemFile>();
    std::lock_guard file_lock(file->mu);
    if (truncate) file->data.clear();
    return std::unique_ptr<WritableFile>(
        std::make_unique<MemWritableFile>(path, file, file->data.size()));
  }

  Result<std::string> ReadFile(const std::string& raw) override {
    std::shared_ptr<MemFile> file;
    {
      std::lock_guard lock(mu_);
      auto it = files_.find(Normalize(raw));
      if (it == files_.end()) return Missing("open", raw);
      file = it->second;
    }
    std::lock_guard file_lock(file->mu);
    return file->data;
  }

  Result<std::vector<std::string>> ListDir(const std::string& raw) override {
    std::string dir = Normalize(raw);
    std::lock_guard lock(mu_);
    if (!dirs_.count(dir)) {
      if (files_.count(dir)) return Status::IOError("opendir " + raw + ": Not a directory");
      return Missing("opendir", raw);
    }
    std::string prefix = ChildPrefix(dir);
    std::vector<std::string> names;
    auto collect = [&](const std::string& path) {
      if (!IsBelow(path, prefix)) return;
      std::string_view rest = std::string_view(path).substr(prefix.size());
      if (rest.find('/') == std::string_view::npos) names.emplace_back(rest);
    };
    for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.starts_with(prefix);
         ++it) {
      collect(it->first);
    }
    for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && it->starts_with(prefix); ++it) {
      collect(*it);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  Status CreateDirs(const std::string& raw) override {
    std::string dir = Normalize(raw);
    std::lock_guard lock(mu_);
    std::vector<std::string> missing;
    for (std::string d = dir; !dirs_.count(d); d = Parent(d)) {
      if (files_.count(d))
        return Status::IOError("mkdir " + raw + ": " + d + " is not a directory");
      missing.push_back(d);
    }
    dirs_.insert(missing.begin(), missing.end());
    return Status::Ok();
  }

  Status RemoveFile(const std::string& raw) override {
    std::lock_guard lock(mu_);
    std::string path = Normalize(raw);
    if (dirs_.count(path)) return Status::IOError("unlink " + raw + ": Is a directory");
    if (files_.erase(path) == 0) return Missing("unlink", raw);
    return Status::Ok();
  }

  Status RemoveAll(const std::string& raw) override {
    std::string path = Normalize(raw);
    std::lock_guard lock(mu_);
    files_.erase(path);
    if (path != "/" && !path.empty()) dirs_.erase(path);
    std::string prefix = ChildPrefix(path);
    std::erase_if(files_, [&](const auto& kv) { return IsBelow(kv.first, prefix); });
    std::erase_if(dirs_, [&](const std::string& d) { return IsBelow(d, prefix); });
    return Status::Ok();
  }

  Status Rename(const std::string& raw_from, const std::string& raw_to) override {
    std::string from = Normalize(raw_from), to = Normalize(raw_to);
    std::string what = raw_from + " to " + raw_to;
    std::lock_guard lock(mu_);
    if (from == to && (files_.count(from) || dirs_.count(from))) return Status::Ok();
    if (!dirs_.count(Parent(to))) return Missing("rename", what);
    if (auto it = files_.find(from); it != files_.end()) {
      if (dirs_.count(to)) return Status::IOError("rename " + what + ": Is a directory");
      auto file = it->second;
      files_.erase(it);
      files_[to] = std::move(file);
      return Status::Ok();
    }
    if (!dirs_.count(from) || from == "/" || from.empty()) return Missing("rename", what);
    if (files_.count(to)) return Status::IOError("rename " + what + ": Not a directory");
    std::string from_prefix = ChildPrefix(from), to_prefix = ChildPrefix(to);
    if (IsBelow(to, from_prefix))
      return Status::InvalidArgument("rename " + what + ": into itself");
    if (dirs_.count(to)) {
      bool empty = std::none_of(files_.begin(), files_.end(),
                                [&](const auto& kv) { return IsBelow(kv.first, to_prefix); }) &&
                   std::none_of(dirs_.begin(), dirs_.end(),
                                [&](const std::string& d) { return IsBelow(d, to_prefix); });
      if (!empty) return Status::IOError("rename " + what + ": Directory not empty");
    }
    std::map<std::string, std::shared_ptr<MemFile>> moved_files;
    for (auto it = files_.begin(); it != files_.end();) {
      if (IsBelow(it->first, from_prefix)) {
        moved_files[to_prefix + it->first.substr(from_prefix.size())] = std::move(it->second);
        it = files_.erase(it);
      } else {
        ++it;
      }
    }
    std::set<std::string> moved_dirs{to};
    dirs_.erase(from);
    for (auto it = dirs_.begin(); it != dirs_.end();) {
      if (IsBelow(*it, from_prefix)) {
        moved_dirs.insert(to_prefix + it->substr(from_prefix.size()));
        it = dirs_.erase(it);
      } else {
        ++it;
      }
    }
    files_.merge(moved_files);
    dirs_.merge(moved_dirs);
    return Status::Ok();
  }

  Status Truncate(const std::string& raw, uint64_t size) override {
    std::shared_ptr<MemFile> file;
    {
      std::lock_guard lock(mu_);
      auto it = files_.find(Normalize(raw));
      if (it == files_.end()) return Missing("truncate", raw);
      file = it->second;
    }
    std::lock_guard file_lock(file->mu);
    file->data.resize(size, '\0');
    return Status::Ok();
  }

  Result<uint64_t> FileSize(const std::string& raw) override {
    std::shared_ptr<MemFile> file;
    {
      std::lock_guard lock(mu_);
      std::string path = Normalize(raw);
      if (dirs_.count(path)) return uint64_t{0};
      auto it = files_.find(path);
      if (it == files_.end()) return Missing("stat", raw);
      file = it->second;
    }
    std::lock_guard file_lock(file->mu);
    return static_cast<uint64_t>(file->data.size());
  }

  bool Exists(const std::string& raw) override {
    std::string path = Normalize(raw);
    std::lock_guard lock(mu_);
    return files_.count(path) > 0 || dirs_.count(path) > 0;
  }

  Status SyncDir(const std::string& raw) override {
    std::lock_guard lock(mu_);
    if (!dirs_.count(Normalize(raw))) return Missing("open", raw);
    return Status::Ok();
  }

 private:
  static Status Missing(std::string_view op, const std::string& path) {
    return Status::NotFound(fmt::format("{} {}: No such file or directory", op, path));
  }

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemFile>> files_;  // guarded by mu_
  std::set<std::string> dirs_;                             // guarded by mu_
};

}  // namespace

std::unique_ptr<FileSystem> NewMemFileSystem() { return std::make_unique<MemFileSystem>(); }

}  // namespace zw::fs
