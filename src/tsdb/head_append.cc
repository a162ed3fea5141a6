// The head's Appender: buffers a transaction, logs it to the WAL on Commit, then applies
// it to the series.
#include <malloc.h>

#include <mutex>
#include <shared_mutex>

#include <spdlog/spdlog.h>

#include "core/names.h"
#include "tsdb/head.h"
#include "tsdb/record/record.h"

namespace zw::tsdb {
namespace {

// Samples records are split so that no single WAL record grows without bound.
constexpr size_t kSamplesPerRecord = 20000;

class HeadAppender final : public storage::Appender {
 public:
  explicit HeadAppender(Head* head)
      : head_(head), guard_(head->ReadGuard()), txn_(head->NextTxnId()) {}
  ~HeadAppender() override {
    if (!done_) Rollback();
  }

  Result<storage::SeriesRef> Append(storage::SeriesRef ref, const Labels& labels, int64_t t,
                                    double v, const storage::AppendOptions& opts) override {
    HeadStats& stats = head_->mutable_stats();
    if (t < head_->MinValidTime()) {
      stats.out_of_bounds_rejected.fetch_add(1, std::memory_order_relaxed);
      return Status::Error(StatusCode::kOutOfBounds,
                           "out-of-bounds sample for {} at {}: older than {}, the oldest time the "
                           "head accepts (older data is in blocks already)",
                           labels.empty() ? fmt::format("series ref {}", ref) : labels.ToString(),
                           t, head_->MinValidTime());
    }
    MemSeries* s = ref ? head_->GetByRef(ref) : nullptr;
    if (s && ref && !labels.empty() && s->labels() != labels) s = nullptr;  // stale cached ref
    // A series garbage-collected between the lookup and the lock is looked up again (and
    // created anew): one retry suffices unless truncations race with us repeatedly.
    for (int attempt = 0;; ++attempt) {
      if (!s) {
        s = head_->GetByLabels(labels);
        if (!s) {
          ZW_RETURN_IF_ERROR(ValidateSeriesLabels(labels));
          bool created;
          s = head_->GetOrCreate(labels, 0, &created);
          if (created) new_series_.push_back({s->ref(), s->labels()});
        }
      }
      std::lock_guard lock(s->mu);
      if (s->deleted) {
        if (labels.empty() || attempt > 100) {
          return Status::Error(StatusCode::kNotFound,
                               "series ref {} was garbage-collected; append with labels", ref);
        }
        s = nullptr;
        continue;
      }
      switch (s->Check(t, v, txn_, head_->OutOfOrderMin())) {
        case AppendCheck::kOk:
        case AppendCheck::kOutOfOrderOk:
          s->MarkPending(txn_, t, v);
          if (touched_.empty() || touched_.back() != s) {
            ++s->pending_appenders;
            touched_.push_back(s);
          }
          break;
        case AppendCheck::kIgnoreDuplicate:
          stats.duplicates_ignored.fetch_add(1, std::memory_order_relaxed);
          return s->ref();
        case AppendCheck::kOutOfOrder:
          stats.out_of_order_rejected.fetch_add(1, std::memory_order_relaxed);
          if (head_->options().ooo_window_ms > 0) {
            return Status::Error(StatusCode::kOutOfOrder,
                                 "out-of-order sample for {} at {}: older than the out-of-order "
                                 "window allows (the head accepts {} and later; the series' "
                                 "newest sample is at {})",
                                 s->labels().ToString(), t, head_->OutOfOrderMin(),
                                 s->MaxTimeLocked());
          }
          return Status::Error(
              StatusCode::kOutOfOrder,
              "out-of-order sample for {} at {}: the series already has a sample at {}",
              s->labels().ToString(), t, std::max(s->MaxTimeLocked(), t));
        case AppendCheck::kConflictingDuplicate:
          stats.duplicates_rejected.fetch_add(1, std::memory_order_relaxed);
          return Status::Error(StatusCode::kDuplicate,
                               "duplicate sample for {} at {} with a different value",
                               s->labels().ToString(), t);
      }
      break;
    }
    samples_.push_back({s->ref(), t, v});
    series_.push_back(s);
    if (opts.metadata) {
      std::string_view name = opts.family.empty() ? s->labels().MetricName() : opts.family;
      metadata_.push_back({std::string(name), *opts.metadata});
    }
    return s->ref();
  }

  Status Commit() override {
    done_ = true;
    HeadStats& stats = head_->mutable_stats();
    // Held from logging to applying: a checkpoint or SetMinValidTime waits for it.
    auto commit_lock = head_->LockCommitShared();
    // Samples that fell below the min valid time since Append (a truncation ran) are dropped
    // before they are logged: the block that covers their time is written already.
    const int64_t min_valid = head_->MinValidTime();
    size_t kept = 0;
    for (size_t i = 0; i < samples_.size(); ++i) {
      if (samples_[i].t < min_valid) {
        stats.out_of_bounds_rejected.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      samples_[kept] = samples_[i];
      series_[kept] = series_[i];
      ++kept;
    }
    samples_.resize(kept);
    series_.resize(kept);
    // Metadata is logged only when it changes what the head holds.
    std::vector<record::RefMetadata> changed;
    for (auto& m : metadata_) {
      if (head_->SetMetadata(m.metric, m.meta)) changed.push_back(std::move(m));
    }
    if (Status st = Log(changed, true); !st.ok()) {
      stats.commit_failures.fetch_add(1, std::memory_order_relaxed);
      Release();
      return st;
    }
    const HeadOptions& o = head_->options();
    const int64_t ooo_min = head_->OutOfOrderMin();
    HeadChunkDisk* disk = head_->chunk_disk();
    const uint32_t sealed_before = disk ? disk->sealed() : 0;
    int64_t mint = kMaxTime, maxt = kMinTime;
    uint64_t applied = 0, ooo = 0;
    for (size_t i = 0; i < samples_.size();) {
      MemSeries* s = series_[i];
      std::lock_guard lock(s->mu);
      // Consecutive samples of one series share one lock.
      for (; i < samples_.size() && series_[i] == s; ++i) {
        const auto& rs = samples_[i];
        switch (s->Check(rs.t, rs.v, 0, ooo_min)) {
          case AppendCheck::kOk:
            s->Append(rs.t, rs.v, o.chunk_range_ms, o.samples_per_chunk, disk);
            break;
          case AppendCheck::kOutOfOrderOk:
            s->InsertOutOfOrder(rs.t, rs.v);
            ++ooo;
            break;
          case AppendCheck::kIgnoreDuplicate:
            // The transaction held the same sample twice (out of order), or a concurrent
            // one committed it meanwhile.
            stats.duplicates_ignored.fetch_add(1, std::memory_order_relaxed);
            continue;
          case AppendCheck::kConflictingDuplicate:
            stats.duplicates_rejected.fetch_add(1, std::memory_order_relaxed);
            continue;
          case AppendCheck::kOutOfOrder:
            // Another appender committed much newer samples meanwhile.
            stats.out_of_order_rejected.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        mint = std::min(mint, rs.t);
        maxt = std::max(maxt, rs.t);
        ++applied;
      }
    }
    if (applied) head_->UpdateTimeRange(mint, maxt);
    commit_lock.unlock();
    if (disk && disk->sealed() != sealed_before) MigrateAll(*disk);
    Release();
    stats.samples_appended.fetch_add(applied, std::memory_order_relaxed);
    stats.out_of_order_appended.fetch_add(ooo, std::memory_order_relaxed);
    stats.commits.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }

  void Rollback() override {
    done_ = true;
    // Series created by this transaction exist in memory whatever happens; log them so
    // that references other appenders cache stay resolvable after a restart.
    Status st = Log({}, false);
    if (!st.ok()) spdlog::warn("rollback: could not log new series: {}", st.ToString());
    Release();
  }

 private:
  Status Log(const std::vector<record::RefMetadata>& metadata, bool with_samples) {
    wal::Wal* w = head_->wal();
    if (!w) return Status::Ok();
    if (new_series_.empty() && metadata.empty() && (!with_samples || samples_.empty()))
      return Status::Ok();
    thread_local std::vector<std::string> bufs;
    size_t n = 0;
    auto next = [&]() -> std::string& {
      if (bufs.size() <= n) bufs.emplace_back();
      bufs[n].clear();
      return bufs[n++];
    };
    if (!new_series_.empty()) record::EncodeSeries(new_series_, next());
    if (!metadata.empty()) record::EncodeMetadata(metadata, next());
    if (with_samples) {
      std::span<const record::RefSample> all(samples_);
      for (size_t i = 0; i < all.size(); i += kSamplesPerRecord) {
        record::EncodeSamples(all.subspan(i, std::min(kSamplesPerRecord, all.size() - i)), next());
      }
    }
    thread_local std::vector<std::string_view> views;
    views.assign(bufs.begin(), bufs.begin() + static_cast<std::ptrdiff_t>(n));
    return w->Log(views);
  }

  // This commit finished a head chunk file (or several): every series with chunks in it
  // swaps their heap copies for the mapping now, rather than at its next append, which
  // for a series that stops receiving samples never comes. A sweep over all series per
  // 2 MiB of chunks (~3,000 full chunks); series with nothing to move return at once,
  // then a malloc_trim.
  // Runs under this appender's epoch guard (series pointers stay valid) and outside the
  // commit lock, taking one series lock at a time.
  void MigrateAll(const HeadChunkDisk& disk) {
    for (SeriesRef ref : head_->postings().All()) {
      MemSeries* s = head_->GetByRef(ref);
      if (!s) continue;
      std::lock_guard lock(s->mu);
      s->MigrateChunks(disk);
    }
    // The heap copies just freed (2 MiB or more, in many small pieces) leave the process
    // rather than staying resident in malloc's arenas.
    malloc_trim(0);
  }

  // Lets the series this transaction touched be garbage-collected again.
  // After Commit or Rollback the appender is done with series pointers: it leaves its epoch.
  void Release() {
    for (MemSeries* s : touched_) {
      std::lock_guard lock(s->mu);
      --s->pending_appenders;
    }
    touched_.clear();
    series_.clear();
    guard_ = EpochManager::Guard();
  }

  Head* head_;
  EpochManager::Guard guard_;  // series pointers below stay valid while it lives
  const uint64_t txn_;
  std::vector<MemSeries*> touched_;  // each counted once per run in pending_appenders
  bool done_ = false;
  std::vector<record::RefSeries> new_series_;
  std::vector<record::RefSample> samples_;
  std::vector<MemSeries*> series_;
  std::vector<record::RefMetadata> metadata_;
};

}  // namespace

std::unique_ptr<storage::Appender> Head::NewAppender() {
  return std::make_unique<HeadAppender>(this);
}

}  // namespace zw::tsdb
