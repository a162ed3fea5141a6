#include "remote/queue_manager.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "scrape/relabel.h"
#include "zenwatch/pusher.h"

namespace zw::remote {
namespace {

using Clock = std::chrono::steady_clock;

void UpdateMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Result<std::unique_ptr<QueueManager>> QueueManager::Create(QueueOptions options) {
  std::unique_ptr<QueueManager> q(new QueueManager(std::move(options)));
  const int n = std::min(q->opts_.config.queue_config.min_shards, kProgressBuckets);
  for (int i = 0; i < n; ++i) {
    auto client = HttpClient::Create(q->opts_.config);
    if (!client.ok()) return client.status();
    auto shard = std::make_unique<Shard>();
    shard->client = std::move(client).value();
    q->shards_.push_back(std::move(shard));
  }
  q->per_shard_.resize(q->shards_.size());
  q->stats_.shards = static_cast<int64_t>(q->shards_.size());
  for (auto& s : q->shards_) {
    Shard* shard = s.get();
    shard->thread = std::thread([qm = q.get(), shard] { qm->RunShard(*shard); });
  }
  return q;
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
        if (stopping_.load()) break;
        if (!shard.queue.empty() && Clock::now() >= shard.batch_start + deadline) break;
        if (shard.queue.empty()) {
          shard.has_data.wait(lock);
        } else {
          shard.has_data.wait_until(lock, shard.batch_start + deadline);
        }
      }
      if (shard.queue.empty()) return;                                 // stopping, nothing left
      if (stopping_.load() && Clock::now() >= stop_deadline_) return;  // the rest stays in the WAL
      const size_t n = std::min(max_batch, shard.queue.size());
      batch.assign(shard.queue.begin(), shard.queue.begin() + static_cast<ptrdiff_t>(n));
      shard.queue.erase(shard.queue.begin(), shard.queue.begin() + static_cast<ptrdiff_t>(n));
      shard.batch_start = Clock::now();
      shard.has_room.notify_all();
    }
    if (!SendBatch(shard, batch)) return;  // stopping and out of time
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
  for (auto& s : shards_) {
    std::lock_guard lock(s->mu);
    s->has_room.notify_all();
  }
}

void QueueManager::Stop() {
  std::lock_guard stop(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  Unblock();
  stop_deadline_ = Clock::now() + opts_.flush_deadline;
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
