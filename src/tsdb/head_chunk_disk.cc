#include "tsdb/head_chunk_disk.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace zw::tsdb {

Result<std::unique_ptr<HeadChunkDisk>> HeadChunkDisk::Open(fs::FileSystem* fs, std::string dir,
                                                           uint64_t file_size) {
  if (file_size == 0 || file_size > UINT32_MAX) {
    return Status::InvalidArgument(
        fmt::format("head chunks: file size {} is not in 1..{}", file_size, UINT32_MAX));
  }
  // A cache of what the WAL rebuilds: whatever an earlier process left is stale.
  ZW_RETURN_IF_ERROR(fs->RemoveAll(dir));
  ZW_RETURN_IF_ERROR(fs->CreateDirs(dir));
  return std::unique_ptr<HeadChunkDisk>(new HeadChunkDisk(fs, std::move(dir), file_size));
}

std::string HeadChunkDisk::Path(uint32_t file) const {
  return fs::JoinPath(dir_, fmt::format("{:08d}", file));
}

namespace {
constexpr size_t kFlushBytes = size_t{1} << 20;
}  // namespace

HeadChunkDisk::Ref HeadChunkDisk::Write(std::string_view bytes, int64_t max_t) {
  std::lock_guard lock(mu_);
  Status s;
  const uint64_t size = flushed_ + buf_.size();
  if (size > 0 && size + bytes.size() > file_size_) {
    s = SealLocked();
  } else if (buf_.size() >= kFlushBytes) {
    s = FlushLocked();
  }
  if (!s.ok()) {
    if (write_errors_++ == 0) spdlog::error("head chunks: {}; chunks stay in memory", s.ToString());
    AbandonLocked();
    return Ref{};
  }
  Ref ref{current_, static_cast<uint32_t>(flushed_ + buf_.size())};
  buf_.append(bytes);
  current_max_t_ = std::max(current_max_t_, max_t);
  return ref;
}

void HeadChunkDisk::AbandonLocked() {
  // Chunks queued for the abandoned file keep their heap copies (they are never mapped).
  if (file_) (void)file_->Close();
  file_.reset();
  (void)fs_->RemoveFile(Path(current_));
  buf_.clear();
  flushed_ = 0;
  current_max_t_ = INT64_MIN;
  ++current_;
}

Status HeadChunkDisk::FlushLocked() {
  if (buf_.empty()) return Status::Ok();
  if (!file_) {
    auto f = fs_->NewWritableFile(Path(current_), /*truncate=*/true);
    if (!f.ok()) return f.status();
    file_ = std::move(f).value();
  }
  ZW_RETURN_IF_ERROR(file_->Append(buf_));
  flushed_ += buf_.size();
  buf_.clear();
  if (buf_.capacity() > 2 * kFlushBytes) std::string().swap(buf_);
  return Status::Ok();
}

Status HeadChunkDisk::SealLocked() {
  ZW_RETURN_IF_ERROR(FlushLocked());
  ZW_RETURN_IF_ERROR(file_->Close());
  file_.reset();
  // No fsync: the files are a cache, rebuilt from the WAL after a restart.
  // Kept open so that queries read chunks with pread (ClosedChunk::Load) rather than
  // through the mapping, whose touched pages would count as resident memory.
  auto map = fs_->Map(Path(current_), fs::MapOptions{.keep_open = true});
  if (!map.ok()) return map.status();
  files_[current_] = Sealed{std::move(map).value(), current_max_t_};
  flushed_ = 0;
  current_max_t_ = INT64_MIN;
  ++current_;
  sealed_.fetch_add(1, std::memory_order_release);
  return Status::Ok();
}

std::shared_ptr<const fs::MappedFile> HeadChunkDisk::Mapped(uint32_t file) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(file);
  return it == files_.end() ? nullptr : it->second.map;
}

Status HeadChunkDisk::TruncateBefore(int64_t mint) {
  std::vector<uint32_t> drop;
  {
    std::lock_guard lock(mu_);
    for (auto it = files_.begin(); it != files_.end();) {
      if (it->second.max_t < mint) {
        drop.push_back(it->first);
        it = files_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Readers holding chunks of these files keep their mappings (and so the bytes).
  for (uint32_t file : drop) ZW_RETURN_IF_ERROR(fs_->RemoveFile(Path(file)));
  return Status::Ok();
}

}  // namespace zw::tsdb
