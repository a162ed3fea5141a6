#include "storage/series_set.h"

#include <algorithm>

namespace zw::storage {

bool VectorIterator::Next() {
  ++pos_;
  return pos_ < samples_->size();
}

bool VectorIterator::Seek(int64_t t) {
  if (pos_ == static_cast<size_t>(-1)) pos_ = 0;
  if (pos_ >= samples_->size()) return false;
  if ((*samples_)[pos_].t >= t) return true;
  auto it = std::lower_bound(samples_->begin() + static_cast<std::ptrdiff_t>(pos_), samples_->end(),
                             t, [](const Sample& s, int64_t ts) { return s.t < ts; });
  pos_ = static_cast<size_t>(it - samples_->begin());
  return pos_ < samples_->size();
}

std::vector<Sample> ReadExact(Queryable& storage, const Labels& labels, int64_t mint,
                              int64_t maxt) {
  Matchers ms;
  for (const Label& l : labels) {
    ms.push_back(Matcher::MustMake(MatchType::kEqual, std::string(l.name), std::string(l.value)));
  }
  auto q = storage.NewQuerier(mint, maxt);
  auto set = q->Select(false, nullptr, ms);
  std::vector<Sample> out;
  while (set->Next()) {
    if (set->At().labels() != labels) continue;
    auto it = set->At().Iterator();
    while (it->Next()) out.push_back(it->At());
  }
  return out;
}

}  // namespace zw::storage
