#include "tsdb/head_deletions.h"

#include "core/coding.h"
#include "core/crc32c.h"

namespace zw::tsdb {
namespace {

constexpr uint32_t kMagic = 0x5A574844;  // "ZWHD"

class FilteredIterator final : public storage::SampleIterator {
 public:
  FilteredIterator(std::unique_ptr<storage::SampleIterator> it, const Intervals* ivs)
      : it_(std::move(it)), ivs_(ivs) {}
  bool Next() override { return it_->Next() && SkipDeleted(); }
  bool Seek(int64_t t) override { return it_->Seek(t) && SkipDeleted(); }
  Sample At() const override { return it_->At(); }
  Status Err() const override { return it_->Err(); }

 private:
  bool SkipDeleted() {
    while (IsDeleted(*ivs_, it_->At().t)) {
      if (!it_->Next()) return false;
    }
    return true;
  }
  std::unique_ptr<storage::SampleIterator> it_;
  const Intervals* ivs_;
};

class FilteredSeries final : public storage::Series {
 public:
  void Reset(const storage::Series* s, const Intervals* ivs) {
    s_ = s;
    ivs_ = ivs;
  }
  const Labels& labels() const override { return s_->labels(); }
  std::unique_ptr<storage::SampleIterator> Iterator() const override {
    if (ivs_ == nullptr) return s_->Iterator();
    return std::make_unique<FilteredIterator>(s_->Iterator(), ivs_);
  }

 private:
  const storage::Series* s_ = nullptr;
  const Intervals* ivs_ = nullptr;
};

class FilteredSet final : public storage::SeriesSet {
 public:
  FilteredSet(std::unique_ptr<storage::SeriesSet> s, std::shared_ptr<const HeadDeletions::Map> m)
      : s_(std::move(s)), m_(std::move(m)) {}
  bool Next() override {
    if (!s_->Next()) return false;
    auto it = m_->find(s_->At().labels());
    cur_.Reset(&s_->At(), it == m_->end() ? nullptr : &it->second);
    return true;
  }
  const storage::Series& At() const override { return cur_; }
  Status Err() const override { return s_->Err(); }
  std::vector<std::string> Warnings() const override { return s_->Warnings(); }

 private:
  std::unique_ptr<storage::SeriesSet> s_;
  std::shared_ptr<const HeadDeletions::Map> m_;
  FilteredSeries cur_;
};

class FilteredQuerier final : public storage::Querier {
 public:
  FilteredQuerier(std::unique_ptr<storage::Querier> q, std::shared_ptr<const HeadDeletions::Map> m)
      : q_(std::move(q)), m_(std::move(m)) {}
  std::unique_ptr<storage::SeriesSet> Select(bool sorted, const storage::SelectHints* hints,
                                             const Matchers& matchers) override {
    return std::make_unique<FilteredSet>(q_->Select(sorted, hints, matchers), m_);
  }
  // Label lists are not narrowed by deletions (as Prometheus does not until compaction).
  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const Matchers& matchers) override {
    return q_->LabelValues(name, matchers);
  }
  Result<std::vector<std::string>> LabelNames(const Matchers& matchers) override {
    return q_->LabelNames(matchers);
  }

 private:
  std::unique_ptr<storage::Querier> q_;
  std::shared_ptr<const HeadDeletions::Map> m_;
};

}  // namespace

std::string EncodeHeadDeletions(const HeadDeletions::Map& m) {
  std::string out;
  PutBE32(out, kMagic);
  for (const auto& [labels, ivs] : m) {
    PutUvarint(out, labels.size());
    for (const Label& l : labels) {
      PutLengthPrefixed(out, l.name);
      PutLengthPrefixed(out, l.value);
    }
    PutUvarint(out, ivs.size());
    for (const Interval& iv : ivs) {
      PutVarint(out, iv.mint);
      PutVarint(out, iv.maxt);
    }
  }
  PutBE32(out, Crc32c(out));
  return out;
}

Result<HeadDeletions::Map> DecodeHeadDeletions(std::string_view data, const std::string& file) {
  if (data.size() < 8) return Status::Corruption(file, 0, "head deletions file too short");
  std::string_view body = data.substr(0, data.size() - 4);
  uint32_t want = 0;
  for (char c : data.substr(data.size() - 4)) want = (want << 8) | static_cast<uint8_t>(c);
  uint32_t magic = 0;
  for (char c : body.substr(0, 4)) magic = (magic << 8) | static_cast<uint8_t>(c);
  if (magic != kMagic) return Status::Corruption(file, 0, "not a head deletions file");
  if (Crc32c(body) != want) {
    return Status::Corruption(file, data.size() - 4, "head deletions checksum mismatch");
  }
  Decoder d(body.substr(4));
  HeadDeletions::Map m;
  while (!d.empty()) {
    uint64_t n = 0;
    if (!d.Uvarint(&n) || n > d.remaining()) {
      return Status::Corruption(file, 4 + d.offset(), "bad label count");
    }
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view name, value;
      if (!d.LengthPrefixed(&name) || !d.LengthPrefixed(&value)) {
        return Status::Corruption(file, 4 + d.offset(), "bad label");
      }
      pairs.emplace_back(name, value);
    }
    uint64_t k = 0;
    if (!d.Uvarint(&k) || k > d.remaining()) {
      return Status::Corruption(file, 4 + d.offset(), "bad interval count");
    }
    Intervals ivs;
    for (uint64_t i = 0; i < k; ++i) {
      Interval iv;
      if (!d.Varint(&iv.mint) || !d.Varint(&iv.maxt)) {
        return Status::Corruption(file, 4 + d.offset(), "bad interval");
      }
      ivs.push_back(iv);
    }
    m[Labels::FromPairs(std::move(pairs))] = std::move(ivs);
  }
  return m;
}

Status HeadDeletions::Load() {
  if (path_.empty() || !fs_->Exists(path_)) return Status::Ok();
  auto data = fs_->ReadFile(path_);
  if (!data.ok()) return data.status();
  auto m = DecodeHeadDeletions(*data, path_);
  if (!m.ok()) return m.status();
  std::lock_guard lock(mu_);
  map_ = std::make_shared<Map>(std::move(*m));
  return Status::Ok();
}

Status HeadDeletions::Add(const std::vector<Labels>& series, int64_t mint, int64_t maxt) {
  if (series.empty() || maxt < mint) return Status::Ok();
  std::lock_guard lock(mu_);
  auto next = std::make_shared<Map>(*map_);
  for (const Labels& l : series) AddInterval((*next)[l], Interval{mint, maxt});
  ZW_RETURN_IF_ERROR(Persist(*next));
  map_ = std::move(next);
  return Status::Ok();
}

Status HeadDeletions::Forget(int64_t t) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<Map>();
  bool changed = false;
  for (const auto& [labels, ivs] : *map_) {
    Intervals keep;
    for (const Interval& iv : ivs) {
      if (iv.maxt >= t) keep.push_back(iv);
    }
    changed = changed || keep.size() != ivs.size();
    if (!keep.empty()) (*next)[labels] = std::move(keep);
  }
  if (!changed) return Status::Ok();
  ZW_RETURN_IF_ERROR(Persist(*next));
  map_ = std::move(next);
  return Status::Ok();
}

std::shared_ptr<const HeadDeletions::Map> HeadDeletions::Snapshot() const {
  std::lock_guard lock(mu_);
  return map_;
}

Status HeadDeletions::Persist(const Map& m) {
  if (path_.empty()) return Status::Ok();
  if (m.empty()) return fs_->RemoveAll(path_);
  std::string tmp = path_ + ".tmp";
  auto f = fs_->NewWritableFile(tmp, true);
  if (!f.ok()) return f.status();
  ZW_RETURN_IF_ERROR((*f)->Append(EncodeHeadDeletions(m)));
  ZW_RETURN_IF_ERROR((*f)->Sync());
  ZW_RETURN_IF_ERROR((*f)->Close());
  ZW_RETURN_IF_ERROR(fs_->Rename(tmp, path_));
  size_t slash = path_.find_last_of('/');
  return fs_->SyncDir(slash == std::string::npos ? "." : path_.substr(0, slash));
}

std::unique_ptr<storage::Querier> HideDeleted(std::unique_ptr<storage::Querier> q,
                                              std::shared_ptr<const HeadDeletions::Map> deleted) {
  if (deleted->empty()) return q;
  return std::make_unique<FilteredQuerier>(std::move(q), std::move(deleted));
}

}  // namespace zw::tsdb
