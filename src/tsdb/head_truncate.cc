// Truncation: dropping what blocks hold, garbage-collecting empty series, and freeing them
// once no reader can hold them.
#include <malloc.h>

#include <spdlog/spdlog.h>

#include "tsdb/head.h"

namespace zw::tsdb {

void Head::SetMinValidTime(int64_t t) {
  int64_t cur = min_valid_time_.load();
  bool raised = false;
  while (t > cur) {
    if (min_valid_time_.compare_exchange_weak(cur, t)) {
      raised = true;
      break;
    }
  }
  // Commits that checked their samples against the old bound finish before this returns;
  // later ones check against the new bound.
  if (raised) (void)LockCommitExclusive();
}

std::vector<std::unique_ptr<MemSeries>> Head::CollectGarbage(int64_t mint) {
  std::vector<std::unique_ptr<MemSeries>> dead;
  for (size_t i = 0; i < kStripes; ++i) {
    Stripe& st = stripes_[i];
    std::lock_guard lock(st.mu);
    for (auto it = st.by_hash.begin(); it != st.by_hash.end();) {
      MemSeries* s = it->second.get();
      std::lock_guard series_lock(s->mu);
      s->TruncateBefore(mint);
      if (disk_) s->MigrateChunks(*disk_);
      if (s->EmptyLocked() && s->pending_appenders == 0) {
        s->deleted = true;
        StoreRef(s->ref(), nullptr);
        dead.push_back(std::move(it->second));
        it = st.by_hash.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::vector<std::pair<SeriesRef, const Labels*>> unindex;
  unindex.reserve(dead.size());
  for (const auto& s : dead) unindex.emplace_back(s->ref(), &s->labels());
  postings_.Delete(unindex);
  return dead;
}

Status Head::Truncate(int64_t mint) {
  if (EpochManager::InGuard()) {
    return Status::InvalidArgument(
        "head: Truncate called by a thread that holds a querier, appender or chunk set; it "
        "would wait for itself");
  }
  std::lock_guard truncate_lock(truncate_mu_);
  SetMinValidTime(mint);
  // The head's time range now starts at mint (when it holds anything at or after it).
  int64_t cur = min_time_.load();
  while (cur < mint && !min_time_.compare_exchange_weak(cur, mint)) {
  }
  std::vector<std::unique_ptr<MemSeries>> dead = CollectGarbage(mint);
  num_series_.fetch_sub(dead.size(), std::memory_order_relaxed);
  stats_.series_removed.fetch_add(dead.size(), std::memory_order_relaxed);
  // Queriers, appenders and chunk sets that started before the unlinking may still hold the
  // dead series; once they are gone nobody can.
  epochs_.Synchronize();
  dead.clear();
  // What truncation freed (chunks, series, index entries) is scattered through malloc's
  // heaps; without this it stays resident until reused.
  malloc_trim(0);
  if (disk_) {
    // Files whose chunks are all below mint; readers keep the mappings they hold.
    if (Status st = disk_->TruncateBefore(mint); !st.ok()) {
      spdlog::warn("head: cannot delete old head chunk files: {}", st.ToString());
    }
  }
  stats_.truncations.fetch_add(1, std::memory_order_relaxed);
  Status s = Checkpoint();
  if (!s.ok()) {
    stats_.checkpoint_failures.fetch_add(1, std::memory_order_relaxed);
    stats_.truncation_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("head: WAL checkpoint after truncation at {} failed: {}", mint, s.ToString());
    return s;
  }
  if (wal_) stats_.checkpoints.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

}  // namespace zw::tsdb
