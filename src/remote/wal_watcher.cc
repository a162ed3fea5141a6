#include "remote/wal_watcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include <spdlog/spdlog.h>

#include "tsdb/fs/file_system.h"
#include "tsdb/wal/checkpoint.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/wal.h"

namespace zw::remote {
namespace {

constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();
constexpr size_t kFirstChunk = 1 << 20;

// The index in an eight-digit name, or -1.
int EightDigits(std::string_view s) {
  if (s.size() != 8) return -1;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool ReadAt(int fd, uint64_t offset, size_t n, std::string& out) {
  out.resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      out.resize(done);
      return false;
    }
    done += static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

WalWatcher::WalWatcher(WatcherOptions options, WriteTo* to) : opts_(std::move(options)), to_(to) {}

WalWatcher::~WalWatcher() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
}

void WalWatcher::Start(std::optional<WalPosition> from) {
  const bool fresh = !from;
  if (fresh) {
    // The end of the WAL now, so that whatever is logged after Start returns is sent. The
    // size may cut a record being written; Run starts after the last complete one before it.
    std::vector<int> segs = Segments();
    WalPosition end{segs.empty() ? 0 : segs.back(), 0};
    if (auto size = fs::PosixFileSystem()->FileSize(SegmentPath(end.segment)); size.ok())
      end.offset = *size;
    from = end;
  }
  thread_ = std::thread([this, from, fresh] { Run(*from, fresh); });
}

void WalWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool WalWatcher::Sleep() {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, opts_.poll_interval, [this] { return stop_; });
  return !stop_;
}

std::string WalWatcher::SegmentPath(int segment) const {
  return opts_.wal_dir + "/" + wal::Wal::SegmentName(segment);
}

std::vector<int> WalWatcher::Segments() const {
  std::vector<int> out;
  auto names = fs::PosixFileSystem()->ListDir(opts_.wal_dir);
  if (!names.ok()) return out;
  for (const std::string& n : *names) {
    if (int i = EightDigits(n); i >= 0) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int WalWatcher::NewestCheckpoint() const {
  int newest = -1;
  auto names = fs::PosixFileSystem()->ListDir(opts_.wal_dir);
  if (!names.ok()) return newest;
  constexpr std::string_view kPrefix = "checkpoint.";
  for (std::string_view n : *names) {
    if (!n.starts_with(kPrefix)) continue;
    newest = std::max(newest, EightDigits(n.substr(kPrefix.size())));  // ".tmp" ones give -1
  }
  return newest;
}

Status WalWatcher::ReadCheckpoint(int index) {
  std::vector<record::RefSeries> series;
  auto n = wal::ReplayCheckpoint(
      fs::PosixFileSystem(), opts_.wal_dir + "/" + wal::CheckpointDirName(index),
      [&](std::string_view rec) {
        if (record::GetType(rec) != record::Type::kSeries) return;
        series.clear();
        if (Status st = record::DecodeSeries(rec, series); !st.ok()) {
          stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
          spdlog::warn("remote_write {}: skipping a series record of checkpoint {}: {}", opts_.name,
                       index, st.ToString());
          return;
        }
        to_->StoreSeries(series, index);
      });
  checkpoint_read_ = index;  // also on failure: not read again and again
  if (!n.ok()) {
    spdlog::warn("remote_write {}: cannot read WAL checkpoint {}: {}", opts_.name, index,
                 n.status().ToString());
    return n.status();
  }
  stats_.checkpoints_read.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

WalWatcher::ReadResult WalWatcher::ReadSegment(int segment, uint64_t* offset, Mode mode,
                                               uint64_t limit) {
  ReadResult res;
  const std::string path = SegmentPath(segment);
  if (fd_segment_ != segment) {
    if (fd_ >= 0) ::close(fd_);
    fd_segment_ = -1;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      res.missing = errno == ENOENT;
      res.damaged = !res.missing;
      return res;
    }
    fd_segment_ = segment;
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    res.damaged = true;
    return res;
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < *offset) {
    res.damaged = true;  // cut back under us (a repair); nothing sensible to read
    return res;
  }
  std::string buf;
  std::vector<record::RefSeries> series;
  std::vector<record::RefSample> samples;
  size_t chunk = kFirstChunk;
  while (*offset < size && *offset < limit) {
    {
      std::lock_guard lock(mu_);
      if (stop_) {
        res.stop = true;
        return res;
      }
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, size - *offset));
    if (!ReadAt(fd_, *offset, n, buf)) {
      res.damaged = true;
      return res;
    }
    const bool to_eof = *offset + n == size;
    wal::SegmentReader reader(buf, path, *offset);
    bool progressed = false;
    std::string_view rec;
    while (reader.Next(&rec)) {
      const uint64_t end = reader.good_end();
      if (end > limit) return res;
      switch (record::GetType(rec)) {
        case record::Type::kSeries:
          series.clear();
          if (Status s = record::DecodeSeries(rec, series); !s.ok()) {
            stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("remote_write {}: skipping a series record: {}", opts_.name, s.ToString());
            break;
          }
          to_->StoreSeries(series, segment);
          break;
        case record::Type::kSamples:
          if (mode == Mode::kSeriesOnly) break;
          samples.clear();
          if (Status s = record::DecodeSamples(rec, samples); !s.ok()) {
            stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("remote_write {}: skipping a samples record: {}", opts_.name,
                         s.ToString());
            break;
          }
          if (!to_->Append(samples, WalPosition{segment, end})) {
            res.stop = true;
            return res;
          }
          break;
        default:
          break;
      }
      *offset = end;
      progressed = true;
      stats_.offset.store(end, std::memory_order_relaxed);
      stats_.records_read.fetch_add(1, std::memory_order_relaxed);
    }
    if (reader.status().ok()) {
      if (to_eof) break;
      // Only padding in the chunk: step over it.
      if (!progressed) *offset = std::max(*offset, reader.good_end());
      if (!progressed) chunk *= 2;
      continue;
    }
    if (to_eof) {
      res.damaged = true;  // a torn tail (a write in progress) or damage
      return res;
    }
    if (!progressed) chunk *= 2;  // a record larger than the chunk
  }
  return res;
}

void WalWatcher::Run(WalPosition from, bool fresh) {
  // Series first: the newest checkpoint, then the segments up to the start position.
  int cp = NewestCheckpoint();
  if (cp >= 0) {
    if (Status st = ReadCheckpoint(cp); st.ok()) to_->SeriesReset(cp);
  }
  std::vector<int> segs = Segments();
  int first = std::max(cp, segs.empty() ? 0 : segs.front());
  WalPosition pos = from;
  // Segments the checkpoint covers but the WAL kept for a lagging remote (wal::Retention):
  // resume in them, their series records and the checkpoint's give every series.
  if (!segs.empty() && pos.segment < first && pos.segment >= segs.front()) first = segs.front();
  {
    if (pos.segment < first) {
      stats_.segments_skipped.fetch_add(static_cast<uint64_t>(first - pos.segment));
      spdlog::warn(
          "remote_write {}: WAL segments {} to {} were removed before they were sent; their "
          "samples are lost for this remote",
          opts_.name, pos.segment, first - 1);
      pos = {first, 0};
    }
  }
  for (int seg = first; seg <= pos.segment; ++seg) {
    uint64_t off = 0;
    const uint64_t limit = seg == pos.segment ? pos.offset : kNoLimit;
    ReadResult r = ReadSegment(seg, &off, Mode::kSeriesOnly, limit);
    if (r.stop) return;
    // At a record boundary even when the limit cut a record (a fresh start during a write).
    if (seg == pos.segment) pos.offset = off;
  }
  if (fresh) {
    spdlog::info(
        "remote_write {}: no saved progress, starting at the end of the WAL (segment {}, "
        "offset {})",
        opts_.name, pos.segment, pos.offset);
  } else {
    spdlog::info("remote_write {}: resuming at WAL segment {}, offset {}", opts_.name, pos.segment,
                 pos.offset);
  }

  int seg = pos.segment;
  uint64_t off = pos.offset;
  stats_.segment = seg;
  stats_.offset = off;
  while (true) {
    ReadResult r = ReadSegment(seg, &off, Mode::kAll, kNoLimit);
    if (r.stop) return;
    segs = Segments();
    const bool newer = !segs.empty() && segs.back() > seg;
    if (r.missing) {
      if (!newer) {
        if (!Sleep()) return;
        continue;
      }
      // Deleted under us: a checkpoint replaced it.
      // Continue at the next segment present: the checkpoint's first, or one before it
      // that the WAL kept for a lagging remote (wal::Retention).
      auto it = std::upper_bound(segs.begin(), segs.end(), seg);
      int next = it == segs.end() ? seg + 1 : *it;
      cp = NewestCheckpoint();
      if (cp > seg) {
        // Its series cover what the deleted segments defined; forget the dead ones only
        // once no kept segment before the checkpoint remains to be read.
        if (Status st = ReadCheckpoint(cp); st.ok() && next >= cp) to_->SeriesReset(cp);
        if (next > cp) next = cp;
      }
      stats_.segments_skipped.fetch_add(static_cast<uint64_t>(next - seg));
      spdlog::warn(
          "remote_write {}: WAL segments {} to {} were removed by a checkpoint before they "
          "were sent; their samples are lost for this remote",
          opts_.name, seg, next - 1);
      seg = next;
      off = 0;
      stats_.segment = seg;
      continue;
    }
    if (!newer) {
      // A checkpoint written since the watcher reached this segment (the head cuts the
      // segment first, then writes the checkpoint): forget the series it dropped.
      cp = NewestCheckpoint();
      if (cp > checkpoint_read_ && cp <= seg) {
        if (Status st = ReadCheckpoint(cp); st.ok()) to_->SeriesReset(cp);
      }
      if (!Sleep()) return;
      continue;
    }
    // The head has moved on: this segment is complete. Read what arrived since, then go on.
    r = ReadSegment(seg, &off, Mode::kAll, kNoLimit);
    if (r.stop) return;
    if (r.damaged) {
      stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("remote_write {}: WAL segment {} is damaged at offset {}; skipping its rest",
                   opts_.name, seg, off);
    }
    ++seg;
    off = 0;
    stats_.segment = seg;
    stats_.offset = 0;
    cp = NewestCheckpoint();
    if (cp > checkpoint_read_ && cp <= seg) {
      if (Status st = ReadCheckpoint(cp); st.ok()) to_->SeriesReset(cp);
    }
  }
}

}  // namespace zw::remote
