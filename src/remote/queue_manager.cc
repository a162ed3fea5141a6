#include "remote/queue_manager.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "remote/sharding.h"
#include "scrape/relabel.h"
#include "zenwatch/pusher.h"

namespace zw::remote {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void UpdateMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Result<std::unique_ptr<QueueManager>> QueueManager::Create(QueueOptions options) {
  std::unique_ptr<QueueManager> q(new QueueManager(std::move(options)));
  const QueueConfig& qc = q->opts_.config.queue_config;
  // A series' shard is its bucket modulo the shard count: more shards than buckets idle.
  const int max = std::clamp(qc.max_shards, 1, kProgressBuckets);
  const int n = std::clamp(qc.min_shards, 1, max);
  q->stats_.shards_min = n;
  q->stats_.shards_max = max;
  q->stats_.shards_desired = n;
  q->wanted_shards_ = n;
  for (int i = 0; i < n; ++i) {
    auto shard = q->StartShard();
    if (!shard.ok()) {
      q->Stop();
      return shard.status();
    }
    std::lock_guard lock(q->shards_mu_);
    q->shards_.push_back(std::move(shard).value());
  }
  q->per_shard_.resize(q->shards_.size());
  q->stats_.shards = static_cast<int64_t>(q->shards_.size());
  q->last_send_end_ns_ = NowNanos();
  if (q->opts_.reshard_interval.count() > 0 && n < max)
    q->tuner_ = std::thread([qm = q.get()] { qm->RunTuner(); });
  return q;
}

Result<std::unique_ptr<QueueManager::Shard>> QueueManager::StartShard() {
  auto client = HttpClient::Create(opts_.config);
  if (!client.ok()) return client.status();
  auto shard = std::make_unique<Shard>();
  shard->client = std::move(client).value();
  Shard* s = shard.get();
  s->thread = std::thread([this, s] { RunShard(*s); });
  return shard;
}

void QueueManager::RequestShards(int n) {
  wanted_shards_ = std::clamp(n, static_cast<int>(stats_.shards_min.load()),
                              static_cast<int>(stats_.shards_max.load()));
}

void QueueManager::RunTuner() {
  const QueueConfig& qc = opts_.config.queue_config;
  ShardTuner tuner(static_cast<int>(stats_.shards_min.load()),
                   static_cast<int>(stats_.shards_max.load()));
  auto last = Clock::now();
  std::unique_lock lock(tuner_mu_);
  while (!tuner_cv_.wait_for(lock, opts_.reshard_interval, [this] { return tuner_stop_; })) {
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - last).count();
    last = now;
    ShardCounters c;
    c.samples_in = stats_.samples_in.load();
    c.samples_out = stats_.samples_sent.load() + stats_.samples_failed.load();
    c.send_nanos = stats_.send_nanos.load();
    c.highest_read_ms = stats_.highest_read_ms.load();
    c.highest_sent_ms = stats_.highest_sent_ms.load();
    const int current = wanted_shards_.load();
    // Sending is failing when nothing finished within two batch deadlines while samples
    // wait; an idle queue counts as fine.
    const bool idle = stats_.samples_pending.load() == 0;
    const bool sending_ok = idle || NowNanos() - last_send_end_ns_.load() <=
                                        int64_t{2} * qc.batch_send_deadline_ms * 1000000;
    const ShardDecision d = tuner.Update(c, seconds, current, sending_ok);
    stats_.shards_desired = d.desired;
    if (d.shards != current) {
      spdlog::info("remote_write {}: resharding from {} to {} shards (desired {:.2f})",
                   opts_.config.RemoteName(), current, d.shards, d.desired);
      RequestShards(d.shards);
    }
  }
}

bool QueueManager::Reshard(int n) {
  // Drain: every shard sends what it holds now; wait until all are empty and idle.
  for (auto& s : shards_) {
    std::lock_guard lock(s->mu);
    s->flush = true;
    s->has_data.notify_all();
  }
  bool drained = true;
  for (auto& s : shards_) {
    std::unique_lock lock(s->mu);
    s->idle.wait(lock, [&] { return (s->queue.empty() && !s->busy) || unblocked_.load(); });
    if (unblocked_.load()) drained = false;
  }
  for (auto& s : shards_) {
    std::lock_guard lock(s->mu);
    s->flush = false;
  }
  if (!drained) return false;
  std::vector<std::unique_ptr<Shard>> removed;
  {
    std::lock_guard lock(shards_mu_);
    if (unblocked_.load()) return false;
    while (static_cast<int>(shards_.size()) > n) {
      removed.push_back(std::move(shards_.back()));
      shards_.pop_back();
    }
    while (static_cast<int>(shards_.size()) < n) {
      auto shard = StartShard();
      if (!shard.ok()) {
        spdlog::error("remote_write {}: cannot add a shard: {}", opts_.config.RemoteName(),
                      shard.status().ToString());
        wanted_shards_ = static_cast<int>(shards_.size());
        break;
      }
      shards_.push_back(std::move(shard).value());
    }
  }
  for (auto& s : removed) {
    {
      std::lock_guard lock(s->mu);
      s->quit = true;
      s->has_data.notify_all();
    }
    s->thread.join();
  }
  per_shard_.resize(shards_.size());
  stats_.shards = static_cast<int64_t>(shards_.size());
  stats_.reshards.fetch_add(1, std::memory_order_relaxed);
  return true;
}

QueueManager::QueueManager(QueueOptions options) : opts_(std::move(options)) {
  if (opts_.resume) progress_ = *opts_.resume;
}

QueueManager::~QueueManager() { Stop(); }

void QueueManager::StoreSeries(std::span<const record::RefSeries> series, int segment) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (const record::RefSeries& rs : series) {
    auto it = series_.find(rs.ref);
    if (it != series_.end() && it->second->labels == rs.labels) {
      it->second->last_segment = std::max(it->second->last_segment, segment);
      continue;
    }
    auto s = std::make_unique<Series>();
    s->labels = rs.labels;
    s->last_segment = segment;
    std::optional<Labels> out =
        opts_.config.write_relabel_configs.empty()
            ? std::optional<Labels>(rs.labels)
            : scrape::Relabel(rs.labels, opts_.config.write_relabel_configs);
    if (out) {
      pairs.clear();
      for (const Label& l : *out) pairs.emplace_back(l.name, l.value);
      zenwatch::AppendRemoteWriteLabels(pairs, s->encoded);
      s->bucket = static_cast<int>(out->Hash() % kProgressBuckets);
    }
    if (it != series_.end()) {
      // A reference logged again with other labels (a restarted head): the old entry may
      // still be queued.
      std::lock_guard lock(ack_mu_);
      graveyard_.emplace_back(first_seq_ + records_.size(), std::move(it->second));
      it->second = std::move(s);
    } else {
      series_.emplace(rs.ref, std::move(s));
    }
  }
  stats_.series = static_cast<int64_t>(series_.size());
}

void QueueManager::SeriesReset(int segment) {
  std::lock_guard lock(ack_mu_);
  const uint64_t seq = first_seq_ + records_.size();
  for (auto it = series_.begin(); it != series_.end();) {
    if (it->second->last_segment < segment) {
      graveyard_.emplace_back(seq, std::move(it->second));
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
  stats_.series = static_cast<int64_t>(series_.size());
}

bool QueueManager::Append(std::span<const record::RefSample> samples, WalPosition end) {
  if (unblocked_.load()) return false;
  if (const int want = wanted_shards_.load(); want != static_cast<int>(shards_.size())) {
    if (!Reshard(want)) return false;
  }
  const size_t nshards = shards_.size();
  for (auto& v : per_shard_) v.clear();
  uint32_t count = 0;
  int64_t newest = 0;
  uint64_t dropped = 0, unknown = 0, skipped = 0;
  const uint64_t seq = [&] {
    std::lock_guard lock(ack_mu_);
    return first_seq_ + records_.size();
  }();
  for (const record::RefSample& rs : samples) {
    newest = std::max(newest, rs.t);
    auto it = series_.find(rs.ref);
    if (it == series_.end()) {
      ++unknown;
      continue;
    }
    const Series* s = it->second.get();
    if (s->encoded.empty()) {
      ++dropped;
      continue;
    }
    if (opts_.resume && end <= opts_.resume->buckets[static_cast<size_t>(s->bucket)]) {
      ++skipped;
      continue;
    }
    per_shard_[static_cast<size_t>(s->bucket) % nshards].push_back({s, rs.t, rs.v, seq});
    ++count;
  }
  UpdateMax(stats_.highest_read_ms, newest);
  if (dropped) stats_.samples_dropped.fetch_add(dropped, std::memory_order_relaxed);
  if (unknown) stats_.samples_unknown_series.fetch_add(unknown, std::memory_order_relaxed);
  if (skipped) stats_.samples_skipped.fetch_add(skipped, std::memory_order_relaxed);
  {
    std::lock_guard lock(ack_mu_);
    records_.push_back({end, count});
    if (count == 0) Ack({});  // may advance the watermark past this record
  }
  if (count == 0) return true;
  stats_.samples_in.fetch_add(count, std::memory_order_relaxed);
  const size_t capacity = static_cast<size_t>(opts_.config.queue_config.capacity);
  for (size_t i = 0; i < nshards; ++i) {
    std::vector<Queued>& items = per_shard_[i];
    if (items.empty()) continue;
    Shard& shard = *shards_[i];
    size_t next = 0;
    std::unique_lock lock(shard.mu);
    while (next < items.size()) {
      shard.has_room.wait(lock, [&] { return shard.queue.size() < capacity || unblocked_.load(); });
      if (unblocked_.load()) return false;
      if (shard.queue.empty()) shard.batch_start = Clock::now();
      const size_t before = next;
      while (next < items.size() && shard.queue.size() < capacity)
        shard.queue.push_back(items[next++]);
      stats_.samples_pending.fetch_add(static_cast<int64_t>(next - before),
                                       std::memory_order_relaxed);
      shard.has_data.notify_one();
    }
  }
  return true;
}

void QueueManager::RunShard(Shard& shard) {
  const QueueConfig& qc = opts_.config.queue_config;
  const size_t max_batch = static_cast<size_t>(qc.max_samples_per_send);
  const auto deadline = std::chrono::milliseconds(qc.batch_send_deadline_ms);
  std::vector<Queued> batch;
  while (true) {
    {
      std::unique_lock lock(shard.mu);
      while (true) {
        if (shard.queue.size() >= max_batch) break;
        if (stopping_.load() || shard.quit) break;
        if (!shard.queue.empty() && shard.flush) break;
        if (!shard.queue.empty() && Clock::now() >= shard.batch_start + deadline) break;
        if (shard.queue.empty()) {
          shard.has_data.wait(lock);
        } else {
          shard.has_data.wait_until(lock, shard.batch_start + deadline);
        }
      }
      if (shard.queue.empty()) return;  // stopping or removed, nothing left
      if (stopping_.load() && Clock::now() >= stop_deadline_) return;  // the rest stays in the WAL
      const size_t n = std::min(max_batch, shard.queue.size());
      batch.assign(shard.queue.begin(), shard.queue.begin() + static_cast<ptrdiff_t>(n));
      shard.queue.erase(shard.queue.begin(), shard.queue.begin() + static_cast<ptrdiff_t>(n));
      shard.batch_start = Clock::now();
      shard.busy = true;
      shard.has_room.notify_all();
    }
    const auto begin = Clock::now();
    const bool finished = SendBatch(shard, batch);
    stats_.send_nanos.fetch_add(
        static_cast<uint64_t>(std::chrono::nanoseconds(Clock::now() - begin).count()),
        std::memory_order_relaxed);
    if (finished) last_send_end_ns_ = NowNanos();
    std::lock_guard lock(shard.mu);
    shard.busy = false;
    if (shard.queue.empty()) shard.idle.notify_all();
    if (!finished) return;  // stopping and out of time
  }
}

bool QueueManager::SendBatch(Shard& shard, std::vector<Queued>& batch) {
  const QueueConfig& qc = opts_.config.queue_config;
  // One TimeSeries per series: group by series, keeping each series' samples in WAL order.
  std::stable_sort(batch.begin(), batch.end(),
                   [](const Queued& a, const Queued& b) { return a.series < b.series; });
  std::string proto;
  std::vector<zenwatch::RemoteWriteSample> samples;
  int64_t newest = 0;
  for (size_t i = 0; i < batch.size();) {
    size_t j = i;
    samples.clear();
    for (; j < batch.size() && batch[j].series == batch[i].series; ++j) {
      samples.push_back({batch[j].t, batch[j].v});
      newest = std::max(newest, batch[j].t);
    }
    zenwatch::AppendRemoteWriteTimeSeries(batch[i].series->encoded, samples, proto);
    i = j;
  }
  const std::string body = zenwatch::SnappyCompressBlock(proto);
  auto backoff = std::chrono::milliseconds(qc.min_backoff_ms);
  const auto timeout = std::chrono::milliseconds(opts_.config.remote_timeout_ms);
  const std::string remote = opts_.config.RemoteName();
  while (true) {
    auto attempt_timeout = timeout;
    if (stopping_.load()) {
      attempt_timeout =
          std::max(std::chrono::milliseconds(1),
                   std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                         stop_deadline_ - Clock::now())));
    }
    HttpResult r = shard.client->Post(body, attempt_timeout);
    if (r.status >= 200 && r.status < 300) {
      stats_.samples_sent.fetch_add(batch.size(), std::memory_order_relaxed);
      stats_.requests_sent.fetch_add(1, std::memory_order_relaxed);
      stats_.bytes_sent.fetch_add(body.size(), std::memory_order_relaxed);
      UpdateMax(stats_.highest_sent_ms, newest);
      Ack(batch);
      return true;
    }
    stats_.requests_failed.fetch_add(1, std::memory_order_relaxed);
    const bool recoverable =
        r.status == 0 || r.status >= 500 || (r.status == 429 && qc.retry_on_http_429);
    if (!recoverable) {
      spdlog::error(
          "remote_write {} ({}): HTTP status {} refused {} samples; not retrying (non-recoverable "
          "error): {}",
          remote, opts_.config.url, r.status, batch.size(), r.body);
      stats_.samples_failed.fetch_add(batch.size(), std::memory_order_relaxed);
      Ack(batch);
      return true;
    }
    stats_.samples_retried.fetch_add(batch.size(), std::memory_order_relaxed);
    spdlog::warn("remote_write {} ({}): {} samples not sent ({}); retrying in {} ms", remote,
                 opts_.config.url, batch.size(),
                 r.status ? "HTTP status " + std::to_string(r.status) + ": " + r.body : r.error,
                 backoff.count());
    std::unique_lock lock(shard.mu);
    const auto wake = Clock::now() + backoff;
    while (Clock::now() < wake) {
      if (stopping_.load() && Clock::now() >= stop_deadline_) break;
      shard.has_data.wait_until(lock, stopping_.load() ? std::min(wake, stop_deadline_) : wake);
    }
    if (stopping_.load() && Clock::now() >= stop_deadline_) {
      // Not acknowledged: the progress stays before these samples, which a restart resends.
      stats_.samples_pending.fetch_sub(static_cast<int64_t>(batch.size()));
      return false;
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(qc.max_backoff_ms));
  }
}

void QueueManager::Ack(std::span<const Queued> batch) {
  {
    std::unique_lock lock(ack_mu_, std::defer_lock);
    if (!batch.empty()) lock.lock();  // Append's empty ack already holds it
    for (const Queued& q : batch) {
      RecordAck& r = records_[q.seq - first_seq_];
      WalPosition& b = progress_.buckets[static_cast<size_t>(q.series->bucket)];
      b = std::max(b, r.end);
      --r.pending;
    }
    bool moved = !batch.empty();
    while (!records_.empty() && records_.front().pending == 0) {
      progress_.watermark = std::max(progress_.watermark, records_.front().end);
      records_.pop_front();
      ++first_seq_;
      moved = true;
    }
    if (moved) ++progress_version_;
    std::erase_if(graveyard_, [this](const auto& g) { return g.first < first_seq_; });
  }
  if (!batch.empty()) {
    stats_.samples_pending.fetch_sub(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
    SaveProgress(false);
  }
}

Progress QueueManager::CurrentProgress() const {
  std::lock_guard lock(ack_mu_);
  Progress p = progress_;
  for (WalPosition& b : p.buckets) b = std::max(b, p.watermark);
  return p;
}

void QueueManager::SaveProgress(bool sync) {
  if (opts_.progress_path.empty()) return;
  std::lock_guard save(save_mu_);
  Progress p;
  uint64_t version;
  {
    std::lock_guard lock(ack_mu_);
    version = progress_version_;
    p = progress_;
  }
  if (version == saved_version_ && !sync) return;
  if (Status st = remote::SaveProgress(opts_.progress_path, p, sync); !st.ok()) {
    spdlog::error("remote_write {}: cannot save progress: {}", opts_.config.RemoteName(),
                  st.ToString());
    return;
  }
  saved_version_ = version;
}

void QueueManager::Unblock() {
  unblocked_ = true;
  std::lock_guard shards(shards_mu_);
  for (auto& s : shards_) {
    std::lock_guard lock(s->mu);
    s->has_room.notify_all();
    s->idle.notify_all();
  }
}

void QueueManager::Stop() {
  std::lock_guard stop(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  Unblock();
  {
    std::lock_guard lock(tuner_mu_);
    tuner_stop_ = true;
  }
  tuner_cv_.notify_all();
  if (tuner_.joinable()) tuner_.join();
  stop_deadline_ = Clock::now() + opts_.flush_deadline;
  std::lock_guard shards(shards_mu_);
  stopping_ = true;
  for (auto& s : shards_) {
    std::lock_guard lock(s->mu);
    s->has_data.notify_all();
  }
  for (auto& s : shards_) {
    if (s->thread.joinable()) s->thread.join();
  }
  size_t left = 0;
  for (auto& s : shards_) left += s->queue.size();
  if (left) {
    spdlog::warn(
        "remote_write {}: {} samples not sent before the shutdown deadline; they are sent "
        "after a restart (they stay in the WAL)",
        opts_.config.RemoteName(), left);
    stats_.samples_pending.fetch_sub(static_cast<int64_t>(left));
  }
  SaveProgress(true);
}

}  // namespace zw::remote
