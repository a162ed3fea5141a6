#include "tsdb/head.h"

#include <spdlog/spdlog.h>

namespace zw::tsdb {

Head::Head(HeadOptions options)
    : options_(std::move(options)), pages_(size_t{1} << 16), stripes_(new Stripe[kStripes]) {
  min_valid_time_.store(options_.min_valid_time);
}

Head::~Head() {
  (void)Close();
  for (auto& p : pages_) delete p.load();
}

Result<std::unique_ptr<Head>> Head::Open(HeadOptions options) {
  if (options.ooo_window_ms < 0) {
    return Status::InvalidArgument(
        fmt::format("head: negative out-of-order window {} ms", options.ooo_window_ms));
  }
  std::unique_ptr<Head> head(new Head(std::move(options)));
  const HeadOptions& o = head->options_;
  if (!o.dir.empty() && o.head_chunk_file_size > 0) {
    auto disk =
        HeadChunkDisk::Open(o.fs, fs::JoinPath(o.dir, "chunks_head"), o.head_chunk_file_size);
    if (!disk.ok()) return disk.status();
    head->disk_ = std::move(disk).value();
  }
  if (!o.dir.empty()) ZW_RETURN_IF_ERROR(head->OpenWal());
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
    // Indexed under the stripe lock, so that a truncation (which unlinks under it too) never
    // sees the series registered but not yet indexed.
    postings_.Add(ref, labels);
    num_series_.fetch_add(1, std::memory_order_relaxed);
  }
  stats_.series_created.fetch_add(1, std::memory_order_relaxed);
  *created = true;
  return s;
}

int64_t Head::OutOfOrderMin() const {
  if (options_.ooo_window_ms <= 0) return kMaxTime;
  int64_t maxt = MaxTime();
  if (maxt == kMinTime) return kMaxTime;  // empty head: nothing is out of order yet
  if (maxt < kMinTime + options_.ooo_window_ms) return kMinTime;
  return maxt - options_.ooo_window_ms;
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

}  // namespace zw::tsdb
