// The head's Appender: buffers a transaction, logs it to the WAL on Commit, then applies
// it to the series.
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
  explicit HeadAppender(Head* head) : head_(head), txn_(head->NextTxnId()) {}
  ~HeadAppender() override {
    if (!done_) Rollback();
  }

  Result<storage::SeriesRef> Append(storage::SeriesRef ref, const Labels& labels, int64_t t,
                                    double v, const storage::AppendOptions& opts) override {
    MemSeries* s = ref ? head_->GetByRef(ref) : nullptr;
    if (s && ref && !labels.empty() && s->labels() != labels) s = nullptr;  // stale cached ref
    if (!s) {
      s = head_->GetByLabels(labels);
      if (!s) {
        ZW_RETURN_IF_ERROR(ValidateSeriesLabels(labels));
        bool created;
        s = head_->GetOrCreate(labels, 0, &created);
        if (created) new_series_.push_back({s->ref(), s->labels()});
      }
    }
    {
      std::lock_guard lock(s->mu);
      switch (s->Check(t, v, txn_)) {
        case AppendCheck::kOk:
          s->MarkPending(txn_, t, v);
          break;
        case AppendCheck::kIgnoreDuplicate:
          head_->mutable_stats().duplicates_ignored.fetch_add(1, std::memory_order_relaxed);
          return s->ref();
        case AppendCheck::kOutOfOrder:
          head_->mutable_stats().out_of_order_rejected.fetch_add(1, std::memory_order_relaxed);
          return Status::Error(
              StatusCode::kOutOfOrder,
              "out-of-order sample for {} at {}: the series already has a sample at {}",
              s->labels().ToString(), t, std::max(s->MaxTimeLocked(), t));
        case AppendCheck::kConflictingDuplicate:
          head_->mutable_stats().duplicates_rejected.fetch_add(1, std::memory_order_relaxed);
          return Status::Error(StatusCode::kDuplicate,
                               "duplicate sample for {} at {} with a different value",
                               s->labels().ToString(), t);
      }
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
    // Metadata is logged only when it changes what the head holds.
    std::vector<record::RefMetadata> changed;
    for (auto& m : metadata_) {
      if (head_->SetMetadata(m.metric, m.meta)) changed.push_back(std::move(m));
    }
    if (Status st = Log(changed, true); !st.ok()) {
      head_->mutable_stats().commit_failures.fetch_add(1, std::memory_order_relaxed);
      return st;
    }
    const HeadOptions& o = head_->options();
    int64_t mint = kMaxTime, maxt = kMinTime;
    uint64_t applied = 0;
    for (size_t i = 0; i < samples_.size();) {
      MemSeries* s = series_[i];
      std::lock_guard lock(s->mu);
      // Consecutive samples of one series share one lock.
      for (; i < samples_.size() && series_[i] == s; ++i) {
        const auto& rs = samples_[i];
        if (s->Check(rs.t, rs.v, 0) != AppendCheck::kOk) {
          // Another appender committed a newer sample to this series meanwhile.
          head_->mutable_stats().out_of_order_rejected.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        s->Append(rs.t, rs.v, o.chunk_range_ms, o.samples_per_chunk);
        mint = std::min(mint, rs.t);
        maxt = std::max(maxt, rs.t);
        ++applied;
      }
    }
    if (applied) head_->UpdateTimeRange(mint, maxt);
    auto& st = head_->mutable_stats();
    st.samples_appended.fetch_add(applied, std::memory_order_relaxed);
    st.commits.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }

  void Rollback() override {
    done_ = true;
    // Series created by this transaction exist in memory whatever happens; log them so
    // that references other appenders cache stay resolvable after a restart.
    Status st = Log({}, false);
    if (!st.ok()) spdlog::warn("rollback: could not log new series: {}", st.ToString());
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

  Head* head_;
  const uint64_t txn_;
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
