// The head's Querier: resolves matchers through the postings index and iterates chunk
// snapshots, so readers never hold a series lock while decoding.
#include <algorithm>

#include "storage/series_set.h"
#include "tsdb/head.h"

namespace zw::tsdb {
namespace {

class HeadSeries final : public storage::Series {
 public:
  HeadSeries() = default;
  void Reset(const Labels* labels, std::vector<ClosedChunk> chunks, std::vector<Sample> ooo,
             int64_t mint, int64_t maxt) {
    labels_ = labels;
    chunks_ = std::move(chunks);
    ooo_ = std::move(ooo);
    mint_ = mint;
    maxt_ = maxt;
  }
  const Labels& labels() const override { return *labels_; }
  std::unique_ptr<storage::SampleIterator> Iterator() const override {
    return std::make_unique<ChunksIterator>(chunks_, mint_, maxt_, ooo_);
  }

 private:
  const Labels* labels_ = nullptr;
  std::vector<ClosedChunk> chunks_;
  std::vector<Sample> ooo_;
  int64_t mint_ = 0, maxt_ = 0;
};

// Lazy: each Next takes one series' snapshot.
class HeadSeriesSet final : public storage::SeriesSet {
 public:
  HeadSeriesSet(std::vector<MemSeries*> series, int64_t mint, int64_t maxt)
      : series_(std::move(series)), mint_(mint), maxt_(maxt) {}

  bool Next() override {
    while (++pos_ < series_.size()) {
      MemSeries* s = series_[pos_];
      std::vector<ClosedChunk> chunks;
      std::vector<Sample> ooo;
      {
        std::lock_guard lock(s->mu);
        if (!s->Overlaps(mint_, maxt_)) continue;
        chunks = s->Snapshot(mint_, maxt_);
        ooo = s->OutOfOrderSnapshot(mint_, maxt_);
      }
      cur_.Reset(&s->labels(), std::move(chunks), std::move(ooo), mint_, maxt_);
      return true;
    }
    return false;
  }
  const storage::Series& At() const override { return cur_; }
  Status Err() const override { return Status::Ok(); }

 private:
  std::vector<MemSeries*> series_;
  int64_t mint_, maxt_;
  size_t pos_ = static_cast<size_t>(-1);
  HeadSeries cur_;
};

class HeadQuerier final : public storage::Querier {
 public:
  // Samples below the head's min time are in blocks (Truncate raises it): never returned
  // here. Not MinValidTime(), which the DB raises before the block holding them exists.
  HeadQuerier(Head* head, int64_t mint, int64_t maxt)
      : head_(head),
        guard_(head->ReadGuard()),
        mint_(std::max(mint, head->MinTime())),
        maxt_(maxt) {}

  std::unique_ptr<storage::SeriesSet> Select(bool sorted, const storage::SelectHints*,
                                             const Matchers& matchers) override {
    if (mint_ > maxt_) return std::make_unique<HeadSeriesSet>(std::vector<MemSeries*>{}, 0, -1);
    std::vector<MemSeries*> series = Resolve(matchers);
    if (sorted) {
      std::sort(series.begin(), series.end(),
                [](const MemSeries* a, const MemSeries* b) { return a->labels() < b->labels(); });
    }
    return std::make_unique<HeadSeriesSet>(std::move(series), mint_, maxt_);
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const Matchers& matchers) override {
    if (matchers.empty() && CoversHead()) return head_->postings().LabelValues(name);
    std::vector<std::string> out;
    for (MemSeries* s : InRange(Resolve(matchers))) {
      std::string_view v = s->labels().Get(name);
      if (!v.empty()) out.emplace_back(v);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Result<std::vector<std::string>> LabelNames(const Matchers& matchers) override {
    if (matchers.empty() && CoversHead()) return head_->postings().LabelNames();
    std::vector<std::string> out;
    for (MemSeries* s : InRange(Resolve(matchers))) {
      for (const Label& l : s->labels()) out.emplace_back(l.name);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  // The index answers label questions directly when the range holds all of the head.
  bool CoversHead() const { return mint_ <= head_->MinTime() && maxt_ >= head_->MaxTime(); }

  std::vector<MemSeries*> Resolve(const Matchers& matchers) const {
    Postings refs = head_->postings().ForMatchers(matchers);
    std::vector<MemSeries*> out;
    out.reserve(refs.size());
    for (SeriesRef r : refs) {
      if (MemSeries* s = head_->GetByRef(r)) out.push_back(s);
    }
    return out;
  }

  std::vector<MemSeries*> InRange(std::vector<MemSeries*> series) const {
    std::erase_if(series, [&](MemSeries* s) {
      std::lock_guard lock(s->mu);
      return !s->Overlaps(mint_, maxt_);
    });
    return series;
  }

  Head* head_;
  EpochManager::Guard guard_;  // series pointers handed out stay valid while it lives
  int64_t mint_, maxt_;
};

}  // namespace

std::unique_ptr<storage::Querier> Head::NewQuerier(int64_t mint, int64_t maxt) {
  return std::make_unique<HeadQuerier>(this, mint, maxt);
}

}  // namespace zw::tsdb
