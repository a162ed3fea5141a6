#include <algorithm>

#include "tsdb/fs/file_system.h"

namespace zw::fs {
namespace {

bool IsUnder(const std::string& path, const std::string& dir) {
  if (path == dir) return true;
  std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  return path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

class FaultInjectionFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectionFileSystem* fs, std::string path, std::unique_ptr<WritableFile> base,
       std::shared_ptr<Tracked> tracked)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)), tracked_(std::move(tracked)) {}

  Status Append(std::string_view data) override {
    size_t allowed = 0;
    Status budget = fs_->ReserveWrite(path_, data.size(), &allowed);
    if (allowed > 0) {
      ZW_RETURN_IF_ERROR(base_->Append(data.substr(0, allowed)));
      std::lock_guard lock(fs_->mu_);
      tracked_->size += allowed;
    }
    return budget;
  }

  Status Sync() override {
    uint64_t size;
    {
      std::lock_guard lock(fs_->mu_);
      if (fs_->fail_sync_)
        return Status::IOError("fsync " + path_ + ": Input/output error (injected)");
      // Only what was appended before the sync started is known to be covered by it.
      size = tracked_->size;
    }
    ZW_RETURN_IF_ERROR(base_->Sync());
    std::lock_guard lock(fs_->mu_);
    tracked_->synced = std::max(tracked_->synced, std::min(size, tracked_->size));
    ++fs_->sync_count_;
    return Status::Ok();
  }

  Status Close() override { return base_->Close(); }

  uint64_t Size() const override {
    std::lock_guard lock(fs_->mu_);
    return tracked_->size;
  }

 private:
  FaultInjectionFileSystem* const fs_;
  const std::string path_;
  const std::unique_ptr<WritableFile> base_;
  const std::shared_ptr<Tracked> tracked_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base) : base_(base) {}
FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

Status FaultInjectionFileSystem::ReserveWrite(const std::string& path, size_t n, size_t* allowed) {
  std::lock_guard lock(mu_);
  if (write_budget_ < 0 || static_cast<uint64_t>(write_budget_) >= n) {
    if (write_budget_ >= 0) write_budget_ -= static_cast<int64_t>(n);
    *allowed = n;
    return Status::Ok();
  }
  *allowed = static_cast<size_t>(write_budget_);
  write_budget_ = 0;
  return Status::Error(StatusCode::kResourceExhausted,
                       "write {}: No space left on device (injected)", path);
}

Status FaultInjectionFileSystem::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  for (auto& [path, tracked] : files_) {
    if (tracked->size == tracked->synced) continue;
    auto size = base_->FileSize(path);
    if (!size.ok()) {
      if (size.status().code() == StatusCode::kNotFound) continue;
      return size.status();
    }
    if (*size > tracked->synced) ZW_RETURN_IF_ERROR(base_->Truncate(path, tracked->synced));
    tracked->size = tracked->synced;
  }
  return Status::Ok();
}

void FaultInjectionFileSystem::SetFailWritesAfter(int64_t bytes) {
  std::lock_guard lock(mu_);
  write_budget_ = bytes < 0 ? -1 : bytes;
}

void FaultInjectionFileSystem::SetFailSync(bool fail) {
  std::lock_guard lock(mu_);
  fail_sync_ = fail;
}

uint64_t FaultInjectionFileSystem::SyncedSize(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second->synced;
}

uint64_t FaultInjectionFileSystem::SyncCount() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path, bool truncate) {
  auto base = base_->NewWritableFile(path, truncate);
  if (!base.ok()) return base.status();
  std::shared_ptr<Tracked> tracked;
  {
    std::lock_guard lock(mu_);
    auto& slot = files_[path];
    uint64_t size = (*base)->Size();
    if (truncate || !slot) {
      // Bytes already in a file we did not write are taken to be durable.
      slot = std::make_shared<Tracked>();
      slot->synced = truncate ? 0 : size;
    }
    slot->size = size;
    slot->synced = std::min(slot->synced, size);
    tracked = slot;
  }
  return std::unique_ptr<WritableFile>(
      std::make_unique<File>(this, path, std::move(base).value(), std::move(tracked)));
}

Result<std::string> FaultInjectionFileSystem::ReadFile(const std::string& path) {
  return base_->ReadFile(path);
}

Result<std::vector<std::string>> FaultInjectionFileSystem::ListDir(const std::string& dir) {
  return base_->ListDir(dir);
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& dir) {
  return base_->CreateDirs(dir);
}

Status FaultInjectionFileSystem::RemoveFile(const std::string& path) {
  ZW_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard lock(mu_);
  files_.erase(path);
  return Status::Ok();
}

Status FaultInjectionFileSystem::RemoveAll(const std::string& path) {
  ZW_RETURN_IF_ERROR(base_->RemoveAll(path));
  std::lock_guard lock(mu_);
  std::erase_if(files_, [&](const auto& kv) { return IsUnder(kv.first, path); });
  return Status::Ok();
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  ZW_RETURN_IF_ERROR(base_->Rename(from, to));
  std::lock_guard lock(mu_);
  if (from == to) return Status::Ok();
  std::erase_if(files_, [&](const auto& kv) { return IsUnder(kv.first, to); });
  std::map<std::string, std::shared_ptr<Tracked>> moved;
  for (auto it = files_.begin(); it != files_.end();) {
    if (IsUnder(it->first, from)) {
      moved[to + it->first.substr(from.size())] = std::move(it->second);
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  files_.merge(moved);
  return Status::Ok();
}

Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  ZW_RETURN_IF_ERROR(base_->Truncate(path, size));
  std::lock_guard lock(mu_);
  if (auto it = files_.find(path); it != files_.end()) {
    it->second->size = size;
    it->second->synced = std::min(it->second->synced, size);
  }
  return Status::Ok();
}

Result<uint64_t> FaultInjectionFileSystem::FileSize(const std::string& path) {
  return base_->FileSize(path);
}

bool FaultInjectionFileSystem::Exists(const std::string& path) { return base_->Exists(path); }

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) { return base_->SyncDir(dir); }

Result<std::shared_ptr<const MappedFile>> FaultInjectionFileSystem::Map(const std::string& path,
                                                                        MapOptions options) {
  return base_->Map(path, options);
}

// The new name is not tracked: its bytes count as durable, like those of other files this
// file system did not write.
Status FaultInjectionFileSystem::Link(const std::string& from, const std::string& to) {
  return base_->Link(from, to);
}

}  // namespace zw::fs
