#include "storage/merge.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

namespace zw::storage {
namespace {

class MergedSeries final : public Series {
 public:
  void Reset(std::vector<const Series*> parts) { parts_ = std::move(parts); }
  const Labels& labels() const override { return parts_.front()->labels(); }
  std::unique_ptr<SampleIterator> Iterator() const override {
    if (parts_.size() == 1) return parts_.front()->Iterator();
    std::vector<std::unique_ptr<SampleIterator>> its;
    its.reserve(parts_.size());
    for (const Series* p : parts_) its.push_back(p->Iterator());
    return std::make_unique<MergeIterator>(std::move(its));
  }

 private:
  std::vector<const Series*> parts_;
};

class MergeSeriesSet final : public SeriesSet {
 public:
  explicit MergeSeriesSet(std::vector<std::unique_ptr<SeriesSet>> sets)
      : sets_(std::move(sets)), live_(sets_.size(), false) {}

  bool Next() override {
    // Inputs are advanced only now: the series handed out last time pointed into them.
    if (!started_) {
      started_ = true;
      for (size_t i = 0; i < sets_.size(); ++i) live_[i] = sets_[i]->Next();
    } else {
      for (size_t i : consumed_) live_[i] = sets_[i]->Next();
    }
    consumed_.clear();
    const Labels* min = nullptr;
    for (size_t i = 0; i < sets_.size(); ++i) {
      if (!live_[i]) continue;
      const Labels& l = sets_[i]->At().labels();
      if (min == nullptr || l < *min) min = &l;
    }
    if (min == nullptr) return false;
    std::vector<const Series*> parts;
    for (size_t i = 0; i < sets_.size(); ++i) {
      if (live_[i] && sets_[i]->At().labels() == *min) {
        consumed_.push_back(i);
        parts.push_back(&sets_[i]->At());
      }
    }
    cur_.Reset(std::move(parts));
    return true;
  }

  const Series& At() const override { return cur_; }

  Status Err() const override {
    for (const auto& s : sets_) {
      Status st = s->Err();
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  std::vector<std::string> Warnings() const override {
    std::vector<std::string> out;
    for (const auto& s : sets_) {
      std::vector<std::string> w = s->Warnings();
      out.insert(out.end(), std::make_move_iterator(w.begin()), std::make_move_iterator(w.end()));
    }
    return out;
  }

 private:
  std::vector<std::unique_ptr<SeriesSet>> sets_;
  std::vector<bool> live_;
  std::vector<size_t> consumed_;
  bool started_ = false;
  MergedSeries cur_;
};

// Sorted union of sorted string lists.
std::vector<std::string> Union(std::vector<std::vector<std::string>> lists) {
  std::vector<std::string> out;
  for (auto& l : lists) {
    std::vector<std::string> merged;
    merged.reserve(out.size() + l.size());
    std::set_union(std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()),
                   std::make_move_iterator(l.begin()), std::make_move_iterator(l.end()),
                   std::back_inserter(merged));
    out = std::move(merged);
  }
  return out;
}

class MergeQuerier final : public Querier {
 public:
  explicit MergeQuerier(std::vector<std::unique_ptr<Querier>> qs) : qs_(std::move(qs)) {}

  std::unique_ptr<SeriesSet> Select(bool, const SelectHints* hints,
                                    const Matchers& matchers) override {
    // Merging needs every input sorted; the result then is sorted too.
    std::vector<std::unique_ptr<SeriesSet>> sets;
    sets.reserve(qs_.size());
    for (auto& q : qs_) sets.push_back(q->Select(true, hints, matchers));
    return MergeSeriesSets(std::move(sets));
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const Matchers& matchers) override {
    std::vector<std::vector<std::string>> lists;
    for (auto& q : qs_) {
      auto r = q->LabelValues(name, matchers);
      if (!r.ok()) return r.status();
      lists.push_back(std::move(*r));
    }
    return Union(std::move(lists));
  }

  Result<std::vector<std::string>> LabelNames(const Matchers& matchers) override {
    std::vector<std::vector<std::string>> lists;
    for (auto& q : qs_) {
      auto r = q->LabelNames(matchers);
      if (!r.ok()) return r.status();
      lists.push_back(std::move(*r));
    }
    return Union(std::move(lists));
  }

 private:
  std::vector<std::unique_ptr<Querier>> qs_;
};

}  // namespace

std::unique_ptr<SeriesSet> MergeSeriesSets(std::vector<std::unique_ptr<SeriesSet>> sets) {
  if (sets.size() == 1) return std::move(sets.front());
  return std::make_unique<MergeSeriesSet>(std::move(sets));
}

std::unique_ptr<Querier> NewMergeQuerier(std::vector<std::unique_ptr<Querier>> queriers) {
  if (queriers.size() == 1) return std::move(queriers.front());
  return std::make_unique<MergeQuerier>(std::move(queriers));
}

MergeIterator::MergeIterator(std::vector<std::unique_ptr<SampleIterator>> its) {
  in_.reserve(its.size());
  for (auto& it : its) in_.push_back(Input{std::move(it), false, Sample{}});
}

void MergeIterator::Advance(Input& in) {
  in.live = in.it->Next();
  if (in.live) in.s = in.it->At();
}

bool MergeIterator::Pick() {
  size_t best = in_.size();
  int64_t bound = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < in_.size(); ++i) {
    const Input& in = in_[i];
    if (!in.live) continue;
    if (best == in_.size() || in.s.t < in_[best].s.t) {
      if (best != in_.size()) bound = std::min(bound, in_[best].s.t);
      best = i;
    } else {
      bound = std::min(bound, in.s.t);
    }
  }
  if (best == in_.size()) return false;
  cur_ = in_[best].s;
  last_t_ = cur_.t;
  cur_in_ = best;
  bound_ = bound;
  return true;
}

bool MergeIterator::Next() {
  if (!started_) {
    started_ = true;
    for (Input& in : in_) Advance(in);
    return Pick();
  }
  if (bound_ > last_t_) {
    // No other input sits on the current timestamp: only the current input moves, and while
    // it stays below every other input's next sample it is the merge's next sample.
    Input& in = in_[cur_in_];
    Advance(in);
    if (in.live && in.s.t < bound_) {
      cur_ = in.s;
      last_t_ = in.s.t;
      return true;
    }
    return Pick();
  }
  // Every input on the current timestamp moves past it, so ties yield one sample.
  for (Input& in : in_) {
    if (in.live && in.s.t == last_t_) Advance(in);
  }
  return Pick();
}

bool MergeIterator::Seek(int64_t t) {
  if (started_ && std::any_of(in_.begin(), in_.end(), [](const Input& in) { return in.live; }) &&
      last_t_ >= t) {
    return true;
  }
  for (Input& in : in_) {
    if (!started_ || (in.live && in.s.t < t)) {
      in.live = in.it->Seek(t);
      if (in.live) in.s = in.it->At();
    }
  }
  started_ = true;
  return Pick();
}

std::span<const Sample> MergeIterator::Buffered() const {
  // Only while no other input sits on the current timestamp (see Next); then the current
  // input's samples below bound_ are the merge's next samples, as they are.
  if (!started_ || bound_ <= last_t_) return {};
  const Input& in = in_[cur_in_];
  if (!in.live) return {};
  std::span<const Sample> rest = in.it->Buffered();
  if (rest.empty() || rest.back().t < bound_) return rest;
  auto end = std::partition_point(rest.begin(), rest.end(),
                                  [this](const Sample& s) { return s.t < bound_; });
  return rest.first(static_cast<size_t>(end - rest.begin()));
}

Status MergeIterator::Err() const {
  for (const Input& in : in_) {
    Status st = in.it->Err();
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace zw::storage
