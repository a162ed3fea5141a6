#include "remote/remote_storage.h"

#include <climits>

#include <spdlog/spdlog.h>

#include "tsdb/fs/file_system.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/framing.h"

namespace zw::remote {
namespace {

// Samples in the complete records of a segment file (0 when it cannot be read).
uint64_t CountSegmentSamples(const std::string& path) {
  auto data = fs::PosixFileSystem()->ReadFile(path);
  if (!data.ok()) return 0;
  wal::SegmentReader reader(*data, path);
  std::string_view rec;
  std::vector<record::RefSample> samples;
  uint64_t n = 0;
  while (reader.Next(&rec)) {
    if (record::GetType(rec) != record::Type::kSamples) continue;
    samples.clear();
    if (record::DecodeSamples(rec, samples).ok()) n += samples.size();
  }
  return n;
}

}  // namespace

RemoteStorage::RemoteStorage(RemoteStorageOptions options) : opts_(std::move(options)) {
  if (opts_.wal) {
    wal::Retention r;
    r.lowest_needed = [this] { return LowestSegmentNeeded(); };
    r.max_bytes = opts_.wal_retention_max_bytes;
    r.on_drop = [this](int from, int to) { CountLost(from, to); };
    opts_.wal->SetRetention(std::move(r));
  }
}

RemoteStorage::~RemoteStorage() {
  if (opts_.wal) opts_.wal->SetRetention({});
  Stop();
}

int RemoteStorage::LowestSegmentNeeded() const {
  std::lock_guard lock(mu_);
  int lowest = INT_MAX;
  for (const auto& [name, r] : remotes_) {
    int need = r->watcher->stats().segment.load();
    // A restart resumes at the acknowledged watermark, which may be further back.
    const Progress p = r->queue->CurrentProgress();
    if (p.watermark != WalPosition{}) need = std::min(need, p.watermark.segment);
    lowest = std::min(lowest, need);
  }
  return lowest;
}

void RemoteStorage::CountLost(int from, int to) {
  std::map<int, uint64_t> counted;  // segment → samples, read once for all remotes
  std::lock_guard lock(mu_);
  for (const auto& [name, r] : remotes_) {
    // The segment being read is held open by the watcher: only later ones are lost.
    const int reading = r->watcher->stats().segment.load();
    uint64_t lost = 0;
    for (int seg = std::max(from, reading + 1); seg < to; ++seg) {
      auto it = counted.find(seg);
      if (it == counted.end())
        it =
            counted
                .emplace(seg, CountSegmentSamples(opts_.wal_dir + "/" + wal::Wal::SegmentName(seg)))
                .first;
      lost += it->second;
    }
    if (lost == 0) continue;
    r->queue->CountLost(lost);
    spdlog::error(
        "remote_write {}: {} samples in WAL segments {} to {} are lost for this remote: it had "
        "not read them and the segments kept for lagging remotes exceed {} bytes",
        name, lost, std::max(from, reading + 1), to - 1, opts_.wal_retention_max_bytes);
  }
}

void RemoteStorage::StopRemote(Remote& r) {
  r.queue->Unblock();
  r.watcher->Stop();
  r.queue->Stop();
}

Result<std::unique_ptr<RemoteStorage::Remote>> RemoteStorage::StartRemote(
    const RemoteWriteConfig& config) {
  const std::string dir = opts_.data_dir + "/remote_write/" + config.RemoteName();
  ZW_RETURN_IF_ERROR(fs::PosixFileSystem()->CreateDirs(dir));
  QueueOptions qo;
  qo.config = config;
  qo.progress_path = dir + "/progress";
  qo.flush_deadline = opts_.flush_deadline;
  auto saved = LoadProgress(qo.progress_path);
  if (!saved.ok()) return saved.status();
  qo.resume = *saved;
  auto queue = QueueManager::Create(std::move(qo));
  if (!queue.ok()) return queue.status();
  auto r = std::make_unique<Remote>();
  r->queue = std::move(queue).value();
  WatcherOptions wo;
  wo.wal_dir = opts_.wal_dir;
  wo.name = config.RemoteName();
  wo.poll_interval = opts_.poll_interval;
  r->watcher = std::make_unique<WalWatcher>(wo, r->queue.get());
  std::optional<WalPosition> from;
  if (*saved) from = (*saved)->watermark;
  r->watcher->Start(from);
  spdlog::info("remote_write {}: sending to {} with {} shards", config.RemoteName(), config.url,
               config.queue_config.min_shards);
  return r;
}

Status RemoteStorage::ApplyConfig(const std::vector<RemoteWriteConfig>& configs) {
  std::lock_guard apply(apply_mu_);
  std::map<std::string, const RemoteWriteConfig*> wanted;
  for (const RemoteWriteConfig& c : configs) wanted[c.RemoteName()] = &c;
  // Stop removed and changed remotes first, so that a changed one's progress is saved
  // before its successor reads it.
  std::vector<std::unique_ptr<Remote>> stopping;
  {
    std::lock_guard lock(mu_);
    for (auto it = remotes_.begin(); it != remotes_.end();) {
      auto w = wanted.find(it->first);
      if (w != wanted.end() && w->second->fingerprint == it->second->queue->config().fingerprint) {
        ++it;
        continue;
      }
      stopping.push_back(std::move(it->second));
      it = remotes_.erase(it);
    }
  }
  for (auto& r : stopping) StopRemote(*r);
  Status first_error;
  for (const RemoteWriteConfig& c : configs) {
    {
      std::lock_guard lock(mu_);
      if (remotes_.count(c.RemoteName())) continue;
    }
    auto r = StartRemote(c);
    if (!r.ok()) {
      spdlog::error("remote_write {}: cannot start: {}", c.RemoteName(), r.status().ToString());
      if (first_error.ok()) first_error = r.status();
      continue;
    }
    std::lock_guard lock(mu_);
    remotes_[c.RemoteName()] = std::move(r).value();
  }
  return first_error;
}

void RemoteStorage::Stop() {
  std::lock_guard apply(apply_mu_);
  std::map<std::string, std::unique_ptr<Remote>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(remotes_);
  }
  // Unblock every remote first so that their flushes overlap.
  for (auto& [name, r] : all) {
    r->queue->Unblock();
    r->watcher->Stop();
  }
  std::vector<std::thread> stops;
  for (auto& [name, r] : all) stops.emplace_back([q = r->queue.get()] { q->Stop(); });
  for (auto& t : stops) t.join();
}

void RemoteStorage::ForEach(const std::function<void(const RemoteWriteConfig&, const QueueStats&,
                                                     const WatcherStats&)>& fn) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, r] : remotes_)
    fn(r->queue->config(), r->queue->stats(), r->watcher->stats());
}

}  // namespace zw::remote
