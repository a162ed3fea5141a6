#include "tsdb/head.h"

#include <spdlog/spdlog.h>

#include "tsdb/record/record.h"

namespace zw::tsdb {

Head::Head(HeadOptions options)
    : options_(std::move(options)), pages_(size_t{1} << 16), stripes_(new Stripe[kStripes]) {}

Head::~Head() {
  (void)Close();
  for (auto& p : pages_) delete p.load();
}

Result<std::unique_ptr<Head>> Head::Open(HeadOptions options) {
  std::unique_ptr<Head> head(new Head(std::move(options)));
  if (!head->options_.dir.empty()) {
    wal::Options wo;
    wo.fs = head->options_.fs;
    wo.dir = head->options_.dir + "/wal";
    wo.sync = head->options_.wal_sync;
    wo.sync_interval = head->options_.wal_sync_interval;
    wo.segment_size = head->options_.wal_segment_size;
    wo.on_fsync = head->options_.wal_on_fsync;
    wal::ReplayReport report;
    Head* h = head.get();
    auto w = wal::Wal::Open(
        wo, [h](std::string_view rec) { h->Replay(rec); }, &report);
    if (!w.ok()) return w.status();
    head->wal_ = std::move(w).value();
    head->stats_.wal_replay_corruptions += report.corruptions;
    size_t dropped = 0;
    for (const auto& [ref, samples] : head->replay_pending_) dropped += samples.size();
    head->replay_pending_.clear();
    head->stats_.wal_replay_unknown_refs += dropped;
    if (dropped)
      spdlog::warn("WAL replay: {} samples referenced series that were never logged", dropped);
    spdlog::info("head: replayed {} WAL records, {} series, {} corruptions repaired",
                 report.records, head->NumSeries(), report.corruptions);
  }
  return head;
}

Status Head::Close() {
  if (!wal_) return Status::Ok();
  return wal_->Close();
}

void Head::StoreRef(SeriesRef ref, MemSeries* s) {
  size_t page = ref >> kPageBits;
  if (page >= pages_.size()) {
    spdlog::critical("series reference {} exceeds the head's capacity", ref);
    std::abort();
  }
  Page* p = pages_[page].load(std::memory_order_acquire);
  if (!p) {
    std::lock_guard lock(pages_mu_);
    p = pages_[page].load(std::memory_order_acquire);
    if (!p) {
      p = new Page();
      for (auto& slot : *p) slot.store(nullptr, std::memory_order_relaxed);
      pages_[page].store(p, std::memory_order_release);
    }
  }
  (*p)[ref & (kPageSize - 1)].store(s, std::memory_order_release);
}

MemSeries* Head::GetByRef(SeriesRef ref) const {
  size_t page = ref >> kPageBits;
  if (ref == 0 || page >= pages_.size()) return nullptr;
  Page* p = pages_[page].load(std::memory_order_acquire);
  return p ? (*p)[ref & (kPageSize - 1)].load(std::memory_order_acquire) : nullptr;
}

MemSeries* Head::GetByLabels(const Labels& labels) const {
  Stripe& st = stripes_[labels.Hash() % kStripes];
  std::lock_guard lock(st.mu);
  auto [it, end] = st.by_hash.equal_range(labels.Hash());
  for (; it != end; ++it) {
    if (it->second->labels() == labels) return it->second.get();
  }
  return nullptr;
}

MemSeries* Head::GetOrCreate(const Labels& labels, SeriesRef ref, bool* created) {
  *created = false;
  Stripe& st = stripes_[labels.Hash() % kStripes];
  MemSeries* s;
  {
    std::lock_guard lock(st.mu);
    auto [it, end] = st.by_hash.equal_range(labels.Hash());
    for (; it != end; ++it) {
      if (it->second->labels() == labels) return it->second.get();
    }
    if (ref == 0) {
      ref = next_ref_.fetch_add(1, std::memory_order_relaxed);
    } else {
      SeriesRef next = next_ref_.load();
      while (next <= ref && !next_ref_.compare_exchange_weak(next, ref + 1)) {
      }
    }
    auto owned = std::make_unique<MemSeries>(ref, labels);
    s = owned.get();
    st.by_hash.emplace(labels.Hash(), std::move(owned));
    StoreRef(ref, s);
  }
  // Indexed after the stripe lock is released; the series is reachable by reference
  // already, and queries see it once it is in the postings.
  postings_.Add(ref, labels);
  num_series_.fetch_add(1, std::memory_order_relaxed);
  stats_.series_created.fetch_add(1, std::memory_order_relaxed);
  *created = true;
  return s;
}

void Head::UpdateTimeRange(int64_t mint, int64_t maxt) {
  int64_t cur = min_time_.load(std::memory_order_relaxed);
  while (mint < cur && !min_time_.compare_exchange_weak(cur, mint)) {
  }
  cur = max_time_.load(std::memory_order_relaxed);
  while (maxt > cur && !max_time_.compare_exchange_weak(cur, maxt)) {
  }
}

bool Head::SetMetadata(const std::string& metric, const MetricMetadata& meta) {
  std::lock_guard lock(meta_mu_);
  auto [it, inserted] = metadata_.try_emplace(metric, meta);
  if (inserted) return true;
  if (it->second == meta) return false;
  it->second = meta;
  return true;
}

std::optional<MetricMetadata> Head::Metadata(const std::string& metric) const {
  std::lock_guard lock(meta_mu_);
  auto it = metadata_.find(metric);
  if (it == metadata_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, MetricMetadata>> Head::Metadata() const {
  std::lock_guard lock(meta_mu_);
  return {metadata_.begin(), metadata_.end()};
}

void Head::Replay(std::string_view rec) {
  stats_.wal_replayed_records.fetch_add(1, std::memory_order_relaxed);
  // Applies one sample during replay; samples that are out of order were rejected when
  // first appended concurrently and are skipped the same way now.
  auto apply = [this](MemSeries* s, int64_t t, double v) {
    std::lock_guard lock(s->mu);
    if (s->Check(t, v, 0) != AppendCheck::kOk) return;
    s->Append(t, v, options_.chunk_range_ms, options_.samples_per_chunk);
    UpdateTimeRange(t, t);
  };
  switch (record::GetType(rec)) {
    case record::Type::kSeries: {
      std::vector<record::RefSeries> series;
      if (Status st = record::DecodeSeries(rec, series); !st.ok()) {
        spdlog::warn("WAL replay: skipping series record: {}", st.ToString());
        stats_.wal_replay_corruptions.fetch_add(1);
        return;
      }
      for (auto& rs : series) {
        bool created;
        MemSeries* s = GetOrCreate(rs.labels, rs.ref, &created);
        // The same labels logged under a second reference resolve to the first series.
        if (s->ref() != rs.ref) StoreRef(rs.ref, s);
        auto pending = replay_pending_.find(rs.ref);
        if (pending != replay_pending_.end()) {
          for (const Sample& smp : pending->second) apply(s, smp.t, smp.v);
          replay_pending_.erase(pending);
        }
      }
      return;
    }
    case record::Type::kSamples: {
      thread_local std::vector<record::RefSample> samples;
      samples.clear();
      if (Status st = record::DecodeSamples(rec, samples); !st.ok()) {
        spdlog::warn("WAL replay: skipping samples record: {}", st.ToString());
        stats_.wal_replay_corruptions.fetch_add(1);
        return;
      }
      for (const auto& rs : samples) {
        MemSeries* s = GetByRef(rs.ref);
        if (!s) {
          replay_pending_[rs.ref].push_back({rs.t, rs.v});
          continue;
        }
        apply(s, rs.t, rs.v);
      }
      return;
    }
    case record::Type::kMetadata: {
      std::vector<record::RefMetadata> meta;
      if (Status st = record::DecodeMetadata(rec, meta); !st.ok()) {
        spdlog::warn("WAL replay: skipping metadata record: {}", st.ToString());
        return;
      }
      for (const auto& m : meta) SetMetadata(m.metric, m.meta);
      return;
    }
    case record::Type::kInvalid:
      spdlog::warn("WAL replay: skipping record of unknown type");
      return;
  }
}

}  // namespace zw::tsdb
