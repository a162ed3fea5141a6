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

}  // namespace zw::storage
