#include "tsdb/wal/checkpoint.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tsdb/wal/framing.h"

namespace zw::wal {
namespace {

constexpr std::string_view kPrefix = "checkpoint.";
constexpr std::string_view kTmpSuffix = ".tmp";
constexpr std::string_view kSegment = "00000000";
constexpr size_t kFlushBytes = size_t{1} << 20;

// Parses "checkpoint.NNNNNNNN" (and, with tmp, "checkpoint.NNNNNNNN.tmp").
bool ParseCheckpointName(std::string_view name, int* index, bool* tmp) {
  if (!name.starts_with(kPrefix)) return false;
  name.remove_prefix(kPrefix.size());
  *tmp = name.ends_with(kTmpSuffix);
  if (*tmp) name.remove_suffix(kTmpSuffix.size());
  if (name.size() != 8) return false;
  int v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *index = v;
  return true;
}

struct Found {
  std::vector<int> complete;  // ascending
  std::vector<std::string> tmp;
};

Result<Found> List(fs::FileSystem* fs, const std::string& wal_dir) {
  auto names = fs->ListDir(wal_dir);
  if (!names.ok()) return names.status();
  Found f;
  for (const std::string& name : *names) {
    int index;
    bool tmp;
    if (!ParseCheckpointName(name, &index, &tmp)) continue;
    if (tmp) {
      f.tmp.push_back(name);
    } else {
      f.complete.push_back(index);
    }
  }
  std::sort(f.complete.begin(), f.complete.end());
  return f;
}

}  // namespace

std::string CheckpointDirName(int index) { return fmt::format("{}{:08d}", kPrefix, index); }

Result<std::optional<CheckpointRef>> FindCheckpoint(fs::FileSystem* fs,
                                                    const std::string& wal_dir) {
  auto found = List(fs, wal_dir);
  if (!found.ok()) return found.status();
  bool changed = false;
  for (const std::string& name : found->tmp) {
    spdlog::info("WAL {}: removing unfinished checkpoint {}", wal_dir, name);
    ZW_RETURN_IF_ERROR(fs->RemoveAll(fs::JoinPath(wal_dir, name)));
    changed = true;
  }
  std::optional<CheckpointRef> out;
  if (!found->complete.empty()) {
    const int newest = found->complete.back();
    for (int index : found->complete) {
      if (index == newest) break;
      ZW_RETURN_IF_ERROR(fs->RemoveAll(fs::JoinPath(wal_dir, CheckpointDirName(index))));
      changed = true;
    }
    out = CheckpointRef{newest, fs::JoinPath(wal_dir, CheckpointDirName(newest))};
  }
  if (changed) ZW_RETURN_IF_ERROR(fs->SyncDir(wal_dir));
  return out;
}

Result<uint64_t> ReplayCheckpoint(fs::FileSystem* fs, const std::string& dir,
                                  const std::function<void(std::string_view)>& replay) {
  const std::string path = fs::JoinPath(dir, kSegment);
  auto data = fs->ReadFile(path);
  if (!data.ok()) return data.status();
  SegmentReader reader(*data, path);
  std::string_view record;
  uint64_t n = 0;
  while (reader.Next(&record)) {
    replay(record);
    ++n;
  }
  if (!reader.status().ok()) return reader.status();
  return n;
}

Status DeleteCheckpointsBefore(fs::FileSystem* fs, const std::string& wal_dir, int index) {
  auto found = List(fs, wal_dir);
  if (!found.ok()) return found.status();
  bool changed = false;
  for (int i : found->complete) {
    if (i >= index) break;
    ZW_RETURN_IF_ERROR(fs->RemoveAll(fs::JoinPath(wal_dir, CheckpointDirName(i))));
    changed = true;
  }
  return changed ? fs->SyncDir(wal_dir) : Status::Ok();
}

CheckpointWriter::CheckpointWriter(fs::FileSystem* fs, std::string wal_dir, int index)
    : fs_(fs),
      wal_dir_(std::move(wal_dir)),
      index_(index),
      tmp_dir_(fs::JoinPath(wal_dir_, CheckpointDirName(index) + std::string(kTmpSuffix))) {}

CheckpointWriter::~CheckpointWriter() {
  if (committed_) return;
  if (file_) (void)file_->Close();
  file_.reset();
  (void)fs_->RemoveAll(tmp_dir_);
}

Result<std::unique_ptr<CheckpointWriter>> CheckpointWriter::Create(fs::FileSystem* fs,
                                                                   const std::string& wal_dir,
                                                                   int index) {
  if (index < 0) return Status::InvalidArgument("checkpoint: negative segment index");
  std::unique_ptr<CheckpointWriter> w(new CheckpointWriter(fs, wal_dir, index));
  ZW_RETURN_IF_ERROR(fs->RemoveAll(w->tmp_dir_));
  ZW_RETURN_IF_ERROR(fs->CreateDirs(w->tmp_dir_));
  auto f = fs->NewWritableFile(fs::JoinPath(w->tmp_dir_, kSegment), /*truncate=*/true);
  if (!f.ok()) return f.status();
  w->file_ = std::move(f).value();
  return w;
}

Status CheckpointWriter::Add(std::string_view record) {
  if (!file_ || committed_) return Status::InvalidArgument("checkpoint: writer is finished");
  const size_t before = buf_.size();
  EncodeRecord(record, offset_, buf_);
  offset_ += buf_.size() - before;
  ++records_;
  if (buf_.size() >= kFlushBytes) return Flush();
  return Status::Ok();
}

Status CheckpointWriter::Flush() {
  if (buf_.empty()) return Status::Ok();
  Status s = file_->Append(buf_);
  buf_.clear();
  return s;
}

Status CheckpointWriter::Commit() {
  if (!file_ || committed_) return Status::InvalidArgument("checkpoint: writer is finished");
  ZW_RETURN_IF_ERROR(Flush());
  ZW_RETURN_IF_ERROR(file_->Sync());
  ZW_RETURN_IF_ERROR(file_->Close());
  file_.reset();
  ZW_RETURN_IF_ERROR(fs_->SyncDir(tmp_dir_));
  const std::string final_dir = fs::JoinPath(wal_dir_, CheckpointDirName(index_));
  // A complete checkpoint of the same index can only be one whose caller crashed before
  // deleting the segments it covers; this one supersedes it.
  ZW_RETURN_IF_ERROR(fs_->RemoveAll(final_dir));
  ZW_RETURN_IF_ERROR(fs_->Rename(tmp_dir_, final_dir));
  ZW_RETURN_IF_ERROR(fs_->SyncDir(wal_dir_));
  committed_ = true;
  return Status::Ok();
}

}  // namespace zw::wal
