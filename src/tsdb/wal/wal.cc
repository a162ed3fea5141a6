#include "tsdb/wal/wal.h"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include "tsdb/wal/framing.h"

namespace zw::wal {
namespace {

// A batch buffer grown past this by a huge record is released after use.
constexpr size_t kMaxRetainedBuffer = size_t{8} << 20;
constexpr uint64_t kEverything = std::numeric_limits<uint64_t>::max();

bool ParseSegmentName(std::string_view name, int* index) {
  if (name.size() != 8) return false;
  int v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *index = v;
  return true;
}

Result<std::vector<int>> ListSegments(fs::FileSystem* fs, const std::string& dir) {
  auto names = fs->ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<int> out;
  for (const std::string& name : *names) {
    int index;
    if (ParseSegmentName(name, &index)) out.push_back(index);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void UpdateMax(std::atomic<uint64_t>& max, uint64_t v) {
  uint64_t cur = max.load(std::memory_order_relaxed);
  while (v > cur && !max.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Wal::Wal(const Options& o) : opts_(o) {}

Wal::~Wal() { (void)Close(); }

std::string Wal::SegmentName(int index) { return fmt::format("{:08d}", index); }

std::string Wal::SegmentPath(int index) const {
  return fs::JoinPath(opts_.dir, SegmentName(index));
}

Result<std::unique_ptr<Wal>> Wal::Open(const Options& o,
                                       const std::function<void(std::string_view)>& replay,
                                       ReplayReport* report) {
  if (o.fs == nullptr) return Status::InvalidArgument("wal: no file system");
  if (o.dir.empty()) return Status::InvalidArgument("wal: no directory");
  if (o.segment_size < kPageSize || o.segment_size % kPageSize != 0) {
    return Status::InvalidArgument(fmt::format(
        "wal: segment size {} is not a positive multiple of {}", o.segment_size, kPageSize));
  }
  if (o.sync == SyncMode::kInterval && o.sync_interval.count() <= 0) {
    return Status::InvalidArgument("wal: sync interval must be positive");
  }
  ReplayReport ignored;
  if (report == nullptr) report = &ignored;

  if (o.first_segment < 0) return Status::InvalidArgument("wal: negative first segment");
  ZW_RETURN_IF_ERROR(o.fs->CreateDirs(o.dir));
  std::unique_ptr<Wal> w(new Wal(o));
  if (o.first_segment > 0 && o.keep_below_first_segment) {
    w->segment_ = o.first_segment - 1;  // Replay skips the segments below
  } else if (o.first_segment > 0) {
    // Left behind by a crash between writing a checkpoint and deleting what it covers.
    auto listed = ListSegments(o.fs, o.dir);
    if (!listed.ok()) return listed.status();
    bool removed = false;
    for (int index : *listed) {
      if (index >= o.first_segment) break;
      ZW_RETURN_IF_ERROR(o.fs->RemoveFile(w->SegmentPath(index)));
      removed = true;
    }
    if (removed) ZW_RETURN_IF_ERROR(o.fs->SyncDir(o.dir));
    w->segment_ = o.first_segment - 1;
  }
  ZW_RETURN_IF_ERROR(w->Replay(replay, report));
  {
    std::lock_guard lock(w->mu_);
    ZW_RETURN_IF_ERROR(w->OpenSegmentLocked(w->segment_ + 1));
    w->dir_dirty_ = false;
  }
  ZW_RETURN_IF_ERROR(o.fs->SyncDir(o.dir));
  if (o.sync == SyncMode::kInterval) w->syncer_ = std::thread([p = w.get()] { p->SyncLoop(); });
  return w;
}

Status Wal::Replay(const std::function<void(std::string_view)>& replay, ReplayReport* report) {
  auto listed = ListSegments(opts_.fs, opts_.dir);
  if (!listed.ok()) return listed.status();
  std::vector<int>& segments = *listed;
  // Covered by the checkpoint, kept for a reader (Options::keep_below_first_segment).
  std::erase_if(segments, [this](int index) { return index < opts_.first_segment; });
  for (size_t i = 0; i < segments.size(); ++i) {
    const int index = segments[i];
    if (i > 0 && index != segments[i - 1] + 1) {
      Status damage = Status::Corruption(
          SegmentPath(segments[i - 1] + 1), 0,
          fmt::format("segment missing, {} later segment(s) follow the gap", segments.size() - i));
      uint64_t dropped = 0;
      ZW_RETURN_IF_ERROR(RemoveSegmentsFrom(segments, i, &dropped));
      ReportDamage(damage, dropped, segments.size() - i, report);
      return Status::Ok();
    }
    const std::string path = SegmentPath(index);
    auto data = opts_.fs->ReadFile(path);
    if (!data.ok()) return data.status();
    SegmentReader reader(*data, path);
    std::string_view record;
    while (reader.Next(&record)) {
      replay(record);
      ++report->records;
      stats_.records_replayed.fetch_add(1, std::memory_order_relaxed);
    }
    segment_ = index;
    if (!reader.status().ok()) {
      uint64_t dropped = data->size() - reader.good_end();
      // Later segments go first: until the damaged segment is cut, its damage stops a replay
      // after a crash in the middle of this repair from reaching them.
      ZW_RETURN_IF_ERROR(RemoveSegmentsFrom(segments, i + 1, &dropped));
      ZW_RETURN_IF_ERROR(opts_.fs->Truncate(path, reader.good_end()));
      // The cut must be durable before new segments follow it, or a power loss could bring
      // the damage back in front of them.
      auto f = opts_.fs->NewWritableFile(path, /*truncate=*/false);
      if (!f.ok()) return f.status();
      ZW_RETURN_IF_ERROR((*f)->Sync());
      ZW_RETURN_IF_ERROR((*f)->Close());
      ReportDamage(reader.status(), dropped, segments.size() - i - 1, report);
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status Wal::RemoveSegmentsFrom(const std::vector<int>& indices, size_t from, uint64_t* bytes) {
  if (from >= indices.size()) return Status::Ok();
  for (size_t i = indices.size(); i-- > from;) {
    const std::string path = SegmentPath(indices[i]);
    auto size = opts_.fs->FileSize(path);
    if (size.ok()) *bytes += *size;
    ZW_RETURN_IF_ERROR(opts_.fs->RemoveFile(path));
  }
  return opts_.fs->SyncDir(opts_.dir);
}

void Wal::ReportDamage(const Status& damage, uint64_t bytes_dropped, size_t segments_removed,
                       ReplayReport* report) {
  spdlog::warn("WAL {}: {}; repaired by dropping {} bytes ({} later segment(s) removed)", opts_.dir,
               damage.ToString(), bytes_dropped, segments_removed);
  ++report->corruptions;
  report->bytes_dropped += bytes_dropped;
  report->errors.push_back(damage);
  stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
}

Status Wal::OpenSegmentLocked(int index) {
  auto f = opts_.fs->NewWritableFile(SegmentPath(index), /*truncate=*/true);
  if (!f.ok()) return f.status();
  file_ = std::move(f).value();
  segment_ = index;
  segment_offset_ = 0;
  dir_dirty_ = true;
  stats_.segments_created.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

Status Wal::ReadyToWriteLocked() {
  if (closed_) return Status::Error(StatusCode::kUnavailable, "WAL {} is closed", opts_.dir);
  if (!failed_.ok()) return failed_;
  if (needs_repair_) {
    Status s = opts_.fs->Truncate(SegmentPath(segment_), segment_offset_);
    if (!s.ok()) {
      return Status::IOError(
          fmt::format("WAL {}: cannot undo a failed write: {}", opts_.dir, s.ToString()));
    }
    needs_repair_ = false;
  }
  if (!file_) return OpenSegmentLocked(segment_ + 1);
  return Status::Ok();
}

Status Wal::WriteLocked(std::string_view bytes) {
  if (bytes.empty()) return Status::Ok();
  Status s = file_->Append(bytes);
  if (!s.ok()) {
    // Some of the bytes may be in the file: cut them off before anything else is written.
    needs_repair_ = true;
    stats_.write_failures.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  segment_offset_ += bytes.size();
  written_ += bytes.size();
  stats_.bytes_written.fetch_add(bytes.size(), std::memory_order_relaxed);
  return Status::Ok();
}

// Writes what buf_ holds for the current segment and pads its last page, then moves on. The
// finished segment is fsynced and closed by the next SyncTo().
Status Wal::CutLocked() {
  buf_.append(PaddingToPageEnd(segment_offset_ + buf_.size()), '\0');
  Status s = WriteLocked(buf_);
  buf_.clear();
  ZW_RETURN_IF_ERROR(s);
  retired_.push_back(std::move(file_));
  file_.reset();
  return OpenSegmentLocked(segment_ + 1);
}

Status Wal::Log(std::string_view record) {
  return Log(std::span<const std::string_view>(&record, 1));
}

Status Wal::Log(std::span<const std::string_view> records) {
  std::unique_lock lock(mu_);
  ZW_RETURN_IF_ERROR(ReadyToWriteLocked());
  if (records.empty()) return Status::Ok();
  buf_.clear();
  uint64_t record_bytes = 0;
  for (std::string_view record : records) {
    uint64_t pos = segment_offset_ + buf_.size();
    // An empty segment takes any record, however large.
    if (pos > 0 && !FitsInSegment(record.size(), pos, opts_.segment_size)) {
      ZW_RETURN_IF_ERROR(CutLocked());
      pos = 0;
    }
    EncodeRecord(record, pos, buf_);
    record_bytes += record.size();
  }
  Status s = WriteLocked(buf_);
  if (buf_.capacity() > kMaxRetainedBuffer) std::string().swap(buf_);
  ZW_RETURN_IF_ERROR(s);
  stats_.records_written.fetch_add(records.size(), std::memory_order_relaxed);
  stats_.record_bytes_written.fetch_add(record_bytes, std::memory_order_relaxed);
  stats_.batches_written.fetch_add(1, std::memory_order_relaxed);
  const uint64_t end = written_;
  lock.unlock();
  if (opts_.sync == SyncMode::kAlways) return SyncTo(end);
  return Status::Ok();
}

Status Wal::Sync() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Error(StatusCode::kUnavailable, "WAL {} is closed", opts_.dir);
  }
  return SyncTo(kEverything);
}

Status Wal::SyncFile(fs::WritableFile& f) {
  auto start = std::chrono::steady_clock::now();
  Status s = f.Sync();
  auto nanos = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  stats_.fsyncs.fetch_add(1, std::memory_order_relaxed);
  stats_.fsync_nanos_total.fetch_add(nanos, std::memory_order_relaxed);
  UpdateMax(stats_.fsync_nanos_max, nanos);
  if (!s.ok()) stats_.fsync_failures.fetch_add(1, std::memory_order_relaxed);
  if (opts_.on_fsync) opts_.on_fsync(static_cast<double>(nanos) / 1e9);
  return s;
}

Status Wal::SyncTo(uint64_t target) {
  std::lock_guard sync_lock(sync_mu_);
  std::vector<std::shared_ptr<fs::WritableFile>> retired;
  std::shared_ptr<fs::WritableFile> current;
  uint64_t end;
  bool sync_dir;
  {
    std::lock_guard lock(mu_);
    if (!failed_.ok()) return failed_;
    // Someone else's fsync may already have covered the bytes the caller wrote.
    if (synced_ >= target) return Status::Ok();
    if (synced_ >= written_ && retired_.empty() && !dir_dirty_) return Status::Ok();
    retired.swap(retired_);
    current = file_;
    end = written_;
    sync_dir = dir_dirty_;
    dir_dirty_ = false;
  }
  Status s;
  for (auto& f : retired) {
    s = SyncFile(*f);
    if (s.ok()) s = f->Close();
    if (!s.ok()) break;
  }
  if (s.ok() && current) s = SyncFile(*current);
  if (s.ok() && sync_dir) s = opts_.fs->SyncDir(opts_.dir);

  std::lock_guard lock(mu_);
  if (!s.ok()) {
    // After a failed fsync the kernel may have dropped the dirty pages; nothing written later
    // could be trusted to follow a durable prefix.
    if (failed_.ok()) {
      failed_ = Status::IOError(fmt::format("WAL {}: fsync failed, refusing further writes: {}",
                                            opts_.dir, s.ToString()));
    }
    return failed_;
  }
  synced_ = std::max(synced_, end);
  return Status::Ok();
}

void Wal::SyncLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, opts_.sync_interval, [this] { return stop_; });
    if (stop_) return;
    if (!failed_.ok() || (synced_ >= written_ && retired_.empty() && !dir_dirty_)) continue;
    lock.unlock();
    Status s = SyncTo(kEverything);
    if (!s.ok()) spdlog::error("WAL {}: background fsync failed: {}", opts_.dir, s.ToString());
    lock.lock();
  }
}

Status Wal::Close() {
  std::lock_guard close_lock(close_mu_);
  {
    std::lock_guard lock(mu_);
    if (closed_) return close_status_;
    closed_ = true;
    stop_ = true;
    if (needs_repair_ && file_ && opts_.fs->Truncate(SegmentPath(segment_), segment_offset_).ok()) {
      needs_repair_ = false;
    }
  }
  cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();

  Status s = SyncTo(kEverything);
  std::lock_guard sync_lock(sync_mu_);
  std::lock_guard lock(mu_);
  for (auto& f : retired_) {
    Status c = f->Close();
    if (s.ok()) s = c;
  }
  retired_.clear();
  if (file_) {
    Status c = file_->Close();
    if (s.ok()) s = c;
    file_.reset();
  }
  close_status_ = s;
  return s;
}

int Wal::CurrentSegment() const {
  std::lock_guard lock(mu_);
  return segment_;
}

Result<std::vector<int>> Wal::Segments() const { return ListSegments(opts_.fs, opts_.dir); }

Result<int> Wal::NextSegment() {
  std::lock_guard lock(mu_);
  ZW_RETURN_IF_ERROR(ReadyToWriteLocked());
  buf_.clear();
  ZW_RETURN_IF_ERROR(CutLocked());
  return segment_;
}

Status Wal::TruncateBefore(int n) {
  int current = CurrentSegment();
  if (n > current) {
    return Status::InvalidArgument(fmt::format(
        "WAL {}: cannot delete segments before {}: {} is being written", opts_.dir, n, current));
  }
  std::lock_guard retention(retention_mu_);
  auto segments = Segments();
  if (!segments.ok()) return segments.status();
  // Segments a lagging reader still needs stay, newest first, up to max_bytes.
  int keep_from = n;
  if (retention_.lowest_needed) {
    const int needed = std::max(0, retention_.lowest_needed());
    uint64_t bytes = 0;
    for (auto it =
             std::make_reverse_iterator(std::lower_bound(segments->begin(), segments->end(), n));
         it != segments->rend() && *it >= needed; ++it) {
      auto size = opts_.fs->FileSize(SegmentPath(*it));
      const uint64_t sz = size.ok() ? *size : 0;
      if (bytes + sz > retention_.max_bytes) break;
      bytes += sz;
      keep_from = *it;
    }
    stats_.segments_retained_bytes.store(bytes, std::memory_order_relaxed);
    if (needed < keep_from) {
      const int first_present = segments->empty() ? keep_from : std::max(needed, segments->front());
      if (first_present < keep_from) {
        spdlog::warn(
            "WAL {}: deleting segments {} to {} that a reader still needs: the segments kept "
            "for readers would exceed {} bytes",
            opts_.dir, first_present, keep_from - 1, retention_.max_bytes);
        if (retention_.on_drop) retention_.on_drop(first_present, keep_from);
        stats_.retained_segments_dropped.fetch_add(static_cast<uint64_t>(keep_from - first_present),
                                                   std::memory_order_relaxed);
      }
    }
  } else {
    stats_.segments_retained_bytes.store(0, std::memory_order_relaxed);
  }
  stats_.segments_retained.store(static_cast<uint64_t>(n - keep_from), std::memory_order_relaxed);
  for (int index : *segments) {
    if (index >= keep_from) break;
    Status s = opts_.fs->RemoveFile(SegmentPath(index));
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  return opts_.fs->SyncDir(opts_.dir);
}

void Wal::SetRetention(Retention r) {
  std::lock_guard lock(retention_mu_);
  retention_ = std::move(r);
}

}  // namespace zw::wal
