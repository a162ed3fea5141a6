#include "tsdb/postings.h"

#include <algorithm>
#include <mutex>

namespace zw::tsdb {

void MemPostings::InsertSorted(Postings& list, SeriesRef ref) {
  // Grown by a quarter rather than doubled: the lists hold one reference per series and
  // label pair, and a doubled list carries up to as much spare room again, for good.
  if (list.size() == list.capacity()) list.reserve(list.size() + list.size() / 4 + 4);
  list.push_back(ref);
  for (size_t i = list.size() - 1; i > 0 && list[i - 1] > list[i]; --i)
    std::swap(list[i - 1], list[i]);
}

void MemPostings::Add(SeriesRef ref, const Labels& labels) {
  std::unique_lock lock(mu_);
  for (const Label& l : labels) InsertSorted(index_[l.name][l.value], ref);
  InsertSorted(all_, ref);
}

void MemPostings::Delete(SeriesRef ref, const Labels& labels) {
  auto erase = [ref](Postings& p) {
    auto it = std::lower_bound(p.begin(), p.end(), ref);
    if (it != p.end() && *it == ref) p.erase(it);
  };
  std::unique_lock lock(mu_);
  for (const Label& l : labels) {
    auto n = index_.find(l.name);
    if (n == index_.end()) continue;
    auto v = n->second.find(l.value);
    if (v == n->second.end()) continue;
    erase(v->second);
    if (v->second.empty()) n->second.erase(v);
    if (n->second.empty()) index_.erase(n);
  }
  erase(all_);
}

void MemPostings::Delete(std::span<const std::pair<SeriesRef, const Labels*>> series) {
  if (series.empty()) return;
  Postings refs;
  refs.reserve(series.size());
  // The affected lists, each once; keys view the index's own interned strings.
  std::unordered_map<std::string_view, std::vector<std::string_view>> affected;
  std::unique_lock lock(mu_);
  for (const auto& [ref, labels] : series) {
    refs.push_back(ref);
    for (const Label& l : *labels) {
      auto n = index_.find(l.name);
      if (n == index_.end()) continue;
      auto v = n->second.find(l.value);
      if (v == n->second.end()) continue;
      affected[n->first].push_back(v->first);
    }
  }
  std::sort(refs.begin(), refs.end());
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  auto remove = [&refs](Postings& p) {
    std::erase_if(p,
                  [&refs](SeriesRef r) { return std::binary_search(refs.begin(), refs.end(), r); });
  };
  for (auto& [name, values] : affected) {
    auto n = index_.find(name);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (std::string_view value : values) {
      auto v = n->second.find(value);
      remove(v->second);
      if (v->second.empty()) n->second.erase(v);
    }
    if (n->second.empty()) index_.erase(n);
  }
  remove(all_);
}

Postings MemPostings::Get(std::string_view name, std::string_view value) const {
  std::shared_lock lock(mu_);
  auto n = index_.find(name);
  if (n == index_.end()) return {};
  auto v = n->second.find(value);
  return v == n->second.end() ? Postings{} : v->second;
}

Postings MemPostings::All() const {
  std::shared_lock lock(mu_);
  return all_;
}

std::vector<std::string> MemPostings::LabelNames() const {
  std::vector<std::string> out;
  {
    std::shared_lock lock(mu_);
    out.reserve(index_.size());
    for (const auto& [name, values] : index_) out.emplace_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> MemPostings::LabelValues(std::string_view name) const {
  std::vector<std::string> out;
  {
    std::shared_lock lock(mu_);
    auto n = index_.find(name);
    if (n != index_.end()) {
      out.reserve(n->second.size());
      for (const auto& [value, refs] : n->second) out.emplace_back(value);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t MemPostings::NumLabelPairs() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [name, values] : index_) n += values.size();
  return n;
}

Postings MemPostings::UnionOfValues(std::string_view name, const Matcher& m,
                                    bool want_match) const {
  std::shared_lock lock(mu_);
  auto n = index_.find(name);
  if (n == index_.end()) return {};
  std::vector<const Postings*> lists;
  const auto& set = m.SetMatches();
  if (want_match && !set.empty()) {
    for (const std::string& v : set) {
      auto it = n->second.find(v);
      if (it != n->second.end()) lists.push_back(&it->second);
    }
  } else {
    for (const auto& [value, refs] : n->second) {
      if (m.Matches(value) == want_match) lists.push_back(&refs);
    }
  }
  return Merge(std::move(lists));
}

// A matcher that does not match "" selects exactly the series whose value matches it.
// One that does match "" also selects series without the label, so it is applied as a
// subtraction of the series whose value does not match.
Postings MemPostings::ForMatchers(const Matchers& matchers) const {
  std::vector<Postings> positive;
  std::vector<Postings> negative;
  for (const Matcher& m : matchers) {
    if (!m.MatchesEmpty()) {
      if (m.type() == MatchType::kEqual) {
        positive.push_back(Get(m.name(), m.value()));
      } else {
        positive.push_back(UnionOfValues(m.name(), m, true));
      }
      if (positive.back().empty()) return {};
    } else {
      negative.push_back(UnionOfValues(m.name(), m, false));
    }
  }
  Postings result;
  if (positive.empty()) {
    result = All();
  } else {
    std::sort(positive.begin(), positive.end(),
              [](const Postings& a, const Postings& b) { return a.size() < b.size(); });
    result = std::move(positive[0]);
    for (size_t i = 1; i < positive.size() && !result.empty(); ++i)
      result = Intersect(result, positive[i]);
  }
  for (const Postings& n : negative) {
    if (result.empty()) break;
    result = Subtract(result, n);
  }
  return result;
}

Postings Intersect(const Postings& a, const Postings& b) {
  Postings out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

Postings Subtract(const Postings& a, const Postings& b) {
  Postings out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

Postings Merge(std::vector<const Postings*> lists) {
  if (lists.empty()) return {};
  if (lists.size() == 1) return *lists[0];
  size_t total = 0;
  for (const Postings* p : lists) total += p->size();
  Postings out;
  out.reserve(total);
  for (const Postings* p : lists) out.insert(out.end(), p->begin(), p->end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace zw::tsdb
