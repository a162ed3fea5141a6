#include "ingest/remote_write.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <snappy.h>
#include <xxhash.h>

#include "core/names.h"
#include "core/symbols.h"
#include "ingest/remote_write_proto.h"

namespace zw::ingest {
namespace {

// Name of a label set given as views, for error messages: name{a="b", ...}.
std::string ViewsToString(const std::vector<Label>& ls) {
  std::string out;
  for (const Label& l : ls) {
    if (l.name == kMetricNameLabel) out.append(l.value);
  }
  out.push_back('{');
  bool first = true;
  for (const Label& l : ls) {
    if (l.name == kMetricNameLabel) continue;
    if (!first) out += ", ";
    first = false;
    fmt::format_to(std::back_inserter(out), "{}=\"{}\"", l.name, l.value);
  }
  out.push_back('}');
  return out;
}

// Validation of a new series, on views so that bad input is never interned.
Status ValidateViews(const std::vector<Label>& ls) {
  if (ls.empty()) return Status::InvalidArgument("series has no labels");
  std::string_view name;
  for (const Label& l : ls) {
    if (l.name == kMetricNameLabel) {
      name = l.value;
    } else if (!IsValidLabelName(l.name)) {
      return Status::InvalidArgument(
          fmt::format("invalid label name \"{}\" in {}", l.name, ViewsToString(ls)));
    }
    if (!IsValidUtf8(l.value)) {
      return Status::InvalidArgument(fmt::format(
          "label {} of {} has a value that is not valid UTF-8", l.name, ViewsToString(ls)));
    }
  }
  if (name.empty()) {
    return Status::InvalidArgument(
        fmt::format("series {} has no metric name (__name__)", ViewsToString(ls)));
  }
  if (!IsValidMetricName(name)) {
    return Status::InvalidArgument(fmt::format("invalid metric name \"{}\"", name));
  }
  return Status::Ok();
}

MetricType FromWire(int32_t t) {
  switch (static_cast<prompb::WireMetricType>(t)) {
    case prompb::WireMetricType::kCounter:
      return MetricType::kCounter;
    case prompb::WireMetricType::kGauge:
      return MetricType::kGauge;
    case prompb::WireMetricType::kHistogram:
      return MetricType::kHistogram;
    case prompb::WireMetricType::kGaugeHistogram:
      return MetricType::kGaugeHistogram;
    case prompb::WireMetricType::kSummary:
      return MetricType::kSummary;
    case prompb::WireMetricType::kInfo:
      return MetricType::kInfo;
    case prompb::WireMetricType::kStateSet:
      return MetricType::kStateSet;
    default:
      return MetricType::kUnknown;
  }
}

// Suffixes a sample name may add to its family's name.
constexpr std::string_view kFamilySuffixes[] = {"_bucket",  "_sum",  "_count", "_total",
                                                "_created", "_info", "_gsum",  "_gcount"};

// Per-thread buffers reused across requests, so steady-state requests allocate nothing.
struct Scratch {
  std::string raw;
  prompb::WriteRequest req;
  std::vector<prompb::LabelView> wire_labels;
  std::vector<Label> labels;
};

Scratch& ThreadScratch() {
  thread_local Scratch s;
  return s;
}

// Keeps a one-off huge request from pinning its buffers in every worker thread.
void TrimScratch(Scratch& s) {
  constexpr size_t kKeepBytes = 16u << 20;
  if (s.raw.capacity() > kKeepBytes) std::string().swap(s.raw);
  if (s.req.labels.capacity() > kKeepBytes / sizeof(prompb::LabelView)) s.req = {};
}

// Whether the wire bytes of a series' labels (label_bytes of a TimeSeriesView) stand for
// exactly `labels`, as the receiver normalises them: empty values dropped, sorted by name.
// `scratch` is reused across calls. Senders put labels in order (Prometheus does), which
// is the quick case; otherwise the views are sorted first.
bool WireMatches(std::string_view wire, const Labels& labels,
                 std::vector<prompb::LabelView>& scratch) {
  scratch.clear();
  if (!prompb::DecodeLabels(wire, &scratch).ok()) return false;
  std::erase_if(scratch, [](const prompb::LabelView& l) { return l.value.empty(); });
  if (scratch.size() != labels.size()) return false;
  auto by_name = [](const prompb::LabelView& x, const prompb::LabelView& y) {
    return x.name < y.name;
  };
  if (!std::is_sorted(scratch.begin(), scratch.end(), by_name))
    std::stable_sort(scratch.begin(), scratch.end(), by_name);
  for (size_t i = 0; i < scratch.size(); ++i) {
    if (scratch[i].name != labels[i].name || scratch[i].value != labels[i].value) return false;
  }
  return true;
}

}  // namespace

// Hash of a series' label wire bytes -> series, open addressing with linear probing over a
// power-of-two table kept at most half full. The wire bytes are not kept (they would cost
// about as much as the labels again per series): a slot whose hash matches is confirmed
// by comparing the request's labels with the entry's, so a hash collision costs a
// comparison, never a wrong series. Entries live in a deque so that their addresses are
// stable while requests hold them under the shared lock; a slot is 8 bytes (the upper half
// of the hash and the entry's index), the entry keeps the whole hash for growing.
class RemoteWriteIngester::SeriesCache {
 public:
  struct Entry {
    Entry(uint64_t h, Labels l, storage::SeriesRef r) : hash(h), labels(std::move(l)), ref(r) {}
    uint64_t hash;  // of the wire bytes it was cached under, to re-place it when growing
    Labels labels;
    // Updated when storage hands out a new reference (the series was garbage-collected
    // and re-created), so later appends go by reference again.
    std::atomic<storage::SeriesRef> ref;
    // The pending-metadata generation this series' family was last checked against.
    std::atomic<uint32_t> meta_gen{0};
  };

  // The entry whose labels `wire` (a series' label wire bytes, hashing to `hash`) encodes.
  Entry* Find(uint64_t hash, std::string_view wire, std::vector<prompb::LabelView>& scratch) const {
    return Probe(hash, [&](const Entry& e) { return WireMatches(wire, e.labels, scratch); });
  }

  // Adds the series unless an entry with this hash has equal labels.
  void Insert(uint64_t hash, const Labels& labels, storage::SeriesRef ref) {
    if (Probe(hash, [&](const Entry& e) { return e.labels == labels; })) return;
    if (entries_.size() >= UINT32_MAX - 1) return;  // indices are 32-bit; never near in practice
    if ((entries_.size() + 1) * 2 > slots_.size()) Grow();
    entries_.emplace_back(hash, labels, ref);
    Place(hash, static_cast<uint32_t>(entries_.size()));
  }

  void Clear() {
    slots_.clear();
    entries_.clear();
    mask_ = 0;
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Slot {
    uint32_t tag = 0;    // the hash's upper 32 bits
    uint32_t entry = 0;  // index into entries_ + 1; 0: empty
  };
  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

  template <typename Same>
  Entry* Probe(uint64_t hash, Same same) const {
    if (slots_.empty()) return nullptr;
    const uint32_t tag = Tag(hash);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.entry == 0) return nullptr;
      if (s.tag == tag) {
        Entry& e = const_cast<Entry&>(entries_[s.entry - 1]);
        if (same(e)) return &e;
      }
    }
  }

  void Place(uint64_t hash, uint32_t entry) {
    size_t i = hash & mask_;
    while (slots_[i].entry != 0) i = (i + 1) & mask_;
    slots_[i] = {Tag(hash), entry};
  }

  void Grow() {
    slots_.assign(std::max<size_t>(1024, slots_.size() * 2), Slot{});
    mask_ = slots_.size() - 1;
    for (size_t i = 0; i < entries_.size(); ++i)
      Place(entries_[i].hash, static_cast<uint32_t>(i + 1));
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::deque<Entry> entries_;
};

// One request's appends. Holds the series cache's shared lock while appending.
class RemoteWriteIngester::Request {
 public:
  Request(RemoteWriteIngester* ing, Scratch& s) : ing_(ing), s_(s), req_(s.req) {}

  Result<RemoteWriteResult> Run() {
    ZW_RETURN_IF_ERROR(CheckHistograms());
    ZW_RETURN_IF_ERROR(CollectMetadata());
    auto app = ing_->storage_->NewAppender();
    {
      std::shared_lock lock(ing_->cache_mu_);
      gen_ = ing_->meta_gen_.load(std::memory_order_acquire);
      may_attach_ =
          !local_meta_.empty() || ing_->pending_count_.load(std::memory_order_relaxed) > 0;
      for (size_t i = 0; i < req_.series.size(); ++i) {
        if (Status st = Series(i, *app); !st.ok()) {
          return Status::Error(st.code(), "timeseries[{}]: {}", i, st.message());
        }
      }
    }
    ZW_RETURN_IF_ERROR(app->Commit());
    Remember();
    return RemoteWriteResult{req_.series.size(), samples_, req_.metadata.size()};
  }

 private:
  struct NewSeries {
    uint64_t hash;
    const Labels* labels;
    storage::SeriesRef ref;
  };

  Status CheckHistograms() {
    if (req_.histograms == 0) return Status::Ok();
    for (size_t i = 0; i < req_.series.size(); ++i) {
      const auto& ts = req_.series[i];
      if (ts.histograms == 0) continue;
      std::vector<prompb::LabelView> wire;
      std::vector<Label> ls;
      if (prompb::DecodeLabels(ts.label_bytes, &wire).ok()) {
        for (const auto& l : wire) ls.push_back({l.name, l.value});
      }
      return Status::InvalidArgument(
          fmt::format("timeseries[{}] {}: native histograms are not supported ({} in the request); "
                      "send classic histograms (_bucket/_sum/_count series) instead",
                      i, ViewsToString(ls), req_.histograms));
    }
    return Status::Ok();
  }

  Status CollectMetadata() {
    for (size_t i = 0; i < req_.metadata.size(); ++i) {
      const prompb::MetadataView& m = req_.metadata[i];
      if (!IsValidMetricName(m.family)) {
        return Status::InvalidArgument(
            fmt::format("metadata[{}]: invalid metric family name \"{}\"", i, m.family));
      }
      if (!IsValidUtf8(m.help) || !IsValidUtf8(m.unit)) {
        return Status::InvalidArgument(
            fmt::format("metadata[{}]: help or unit of {} is not valid UTF-8", i, m.family));
      }
      local_meta_.insert_or_assign(
          std::string(m.family),
          MetricMetadata{FromWire(m.type), std::string(m.help), std::string(m.unit)});
    }
    return Status::Ok();
  }

  // Normalises series i's labels into s_.labels: empty values dropped, sorted by name,
  // names unique.
  Status Normalise(const prompb::TimeSeriesView& ts) {
    s_.wire_labels.clear();
    if (Status st = prompb::DecodeLabels(ts.label_bytes, &s_.wire_labels); !st.ok()) {
      return Status::InvalidArgument("invalid protobuf WriteRequest: " + st.message());
    }
    auto& ls = s_.labels;
    ls.clear();
    bool sorted = true;
    for (const prompb::LabelView& l : s_.wire_labels) {
      if (l.value.empty()) continue;
      if (!ls.empty() && !(ls.back().name < l.name)) sorted = false;
      ls.push_back({l.name, l.value});
    }
    if (!sorted) {
      std::stable_sort(ls.begin(), ls.end(),
                       [](const Label& a, const Label& b) { return a.name < b.name; });
    }
    for (size_t k = 1; k < ls.size(); ++k) {
      if (ls[k].name == ls[k - 1].name) {
        return Status::InvalidArgument(
            fmt::format("duplicate label name \"{}\" in {}", ls[k].name, ViewsToString(ls)));
      }
    }
    if (ls.empty()) return Status::InvalidArgument("series has no labels");
    return Status::Ok();
  }

  Status Series(size_t i, storage::Appender& app) {
    const prompb::TimeSeriesView& ts = req_.series[i];
    if (ts.exemplars)
      ing_->stats_.exemplars_ignored.fetch_add(ts.exemplars, std::memory_order_relaxed);
    uint64_t hash = ing_->options_.series_hash_for_testing
                        ? ing_->options_.series_hash_for_testing(ts.label_bytes)
                        : XXH3_64bits(ts.label_bytes.data(), ts.label_bytes.size());
    const Labels* labels = nullptr;
    storage::SeriesRef ref = 0;
    SeriesCache::Entry* entry = ing_->cache_->Find(hash, ts.label_bytes, s_.wire_labels);
    if (entry) {
      labels = &entry->labels;
      ref = entry->ref.load(std::memory_order_relaxed);
    } else {
      ZW_RETURN_IF_ERROR(Normalise(ts));
      ZW_RETURN_IF_ERROR(ValidateViews(s_.labels));
      std::vector<Label> interned;
      interned.reserve(s_.labels.size());
      for (const Label& l : s_.labels) interned.push_back({Intern(l.name), Intern(l.value)});
      new_labels_.push_back(Labels::FromSortedInterned(std::move(interned)));
      labels = &new_labels_.back();
      ing_->stats_.cache_misses.fetch_add(1, std::memory_order_relaxed);
    }
    if (ts.samples_begin == ts.samples_end) return Status::Ok();

    storage::AppendOptions opts;
    if (may_attach_ && (!entry || entry->meta_gen.load(std::memory_order_relaxed) != gen_ ||
                        !local_meta_.empty())) {
      if (!FindMetadata(labels->MetricName(), &opts) && entry) {
        entry->meta_gen.store(gen_, std::memory_order_relaxed);
      }
    }
    for (uint32_t k = ts.samples_begin; k < ts.samples_end; ++k) {
      const prompb::SampleView& sm = req_.samples[k];
      auto r = app.Append(ref, *labels, sm.timestamp, sm.value, opts);
      if (!r.ok()) return r.status();
      ref = *r;
      opts = {};  // metadata rides on the first sample only
    }
    samples_ += ts.samples_end - ts.samples_begin;
    if (entry && entry->ref.load(std::memory_order_relaxed) != ref)
      entry->ref.store(ref, std::memory_order_relaxed);
    if (!entry && !ts.labels_interleaved) new_series_.push_back({hash, labels, ref});
    return Status::Ok();
  }

  // Finds metadata waiting for a sample of `name`'s family and not yet attached by this
  // request, and attaches it to opts. Returns whether any family of `name` has metadata
  // waiting (attached now or earlier in this request).
  bool FindMetadata(std::string_view name, storage::AppendOptions* opts) {
    bool waiting = false;
    auto try_family = [&](std::string_view family) {
      std::optional<MetricMetadata> found;
      if (auto it = local_meta_.find(family); it != local_meta_.end()) {
        found = it->second;
      } else if (ing_->pending_count_.load(std::memory_order_relaxed) > 0) {
        std::lock_guard lock(ing_->meta_mu_);
        if (auto p = ing_->pending_meta_.find(family); p != ing_->pending_meta_.end())
          found = p->second;
      }
      if (!found) return;
      waiting = true;
      if (opts->metadata || attached_names_.contains(family)) return;
      attached_names_.insert(std::string(family));
      attached_.emplace_back(std::string(family), std::move(*found));
      opts->metadata = &attached_.back().second;
      opts->family = attached_.back().first;
    };
    try_family(name);
    for (std::string_view suffix : kFamilySuffixes) {
      if (name.size() > suffix.size() && name.ends_with(suffix))
        try_family(name.substr(0, name.size() - suffix.size()));
    }
    return waiting;
  }

  // After a successful commit: cache new series; metadata handed to storage becomes known,
  // metadata of this request that found no sample waits for one.
  void Remember() {
    if (!new_series_.empty()) {
      std::unique_lock lock(ing_->cache_mu_);
      if (ing_->cache_->size() + new_series_.size() > ing_->options_.max_cached_series)
        ing_->cache_->Clear();
      for (const NewSeries& n : new_series_) ing_->cache_->Insert(n.hash, *n.labels, n.ref);
    }
    if (attached_.empty() && local_meta_.empty()) return;
    std::lock_guard lock(ing_->meta_mu_);
    for (const auto& [family, meta] : attached_) {
      ing_->known_meta_.insert_or_assign(family, meta);
      if (auto it = ing_->pending_meta_.find(family);
          it != ing_->pending_meta_.end() && it->second == meta)
        ing_->pending_meta_.erase(it);
    }
    bool added = false;
    for (auto& [family, meta] : local_meta_) {
      if (attached_names_.contains(family)) continue;
      auto known = ing_->known_meta_.find(family);
      if (known != ing_->known_meta_.end() && known->second == meta) {
        ing_->pending_meta_.erase(family);
        continue;
      }
      auto pending = ing_->pending_meta_.find(family);
      if (pending != ing_->pending_meta_.end()) {
        if (pending->second != meta) {
          pending->second = meta;
          added = true;
        }
      } else if (ing_->pending_meta_.size() < ing_->options_.max_pending_metadata) {
        ing_->pending_meta_.emplace(family, meta);
        added = true;
      }
    }
    if (added) ing_->meta_gen_.fetch_add(1, std::memory_order_release);
    ing_->pending_count_.store(ing_->pending_meta_.size(), std::memory_order_relaxed);
  }

  RemoteWriteIngester* ing_;
  Scratch& s_;
  const prompb::WriteRequest& req_;
  size_t samples_ = 0;
  uint32_t gen_ = 0;
  bool may_attach_ = false;
  std::deque<Labels> new_labels_;  // stable addresses: appends hold pointers into it
  std::vector<NewSeries> new_series_;
  std::unordered_map<std::string, MetricMetadata, StringHash, std::equal_to<>> local_meta_;
  std::deque<std::pair<std::string, MetricMetadata>> attached_;  // copies appends point into
  std::unordered_set<std::string, StringHash, std::equal_to<>> attached_names_;
};

RemoteWriteIngester::RemoteWriteIngester(storage::Storage* storage, RemoteWriteOptions options)
    : storage_(storage), options_(options), cache_(std::make_unique<SeriesCache>()) {
  for (auto& [name, meta] : storage_->Metadata()) known_meta_.insert_or_assign(name, meta);
}

RemoteWriteIngester::~RemoteWriteIngester() = default;

size_t RemoteWriteIngester::cached_series() const {
  std::shared_lock lock(cache_mu_);
  return cache_->size();
}

Result<RemoteWriteResult> RemoteWriteIngester::Write(std::string_view body) {
  Scratch& s = ThreadScratch();
  size_t n = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &n)) {
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return Status::InvalidArgument(
        "invalid snappy block: the body does not start with a valid uncompressed length "
        "(remote_write bodies are snappy block format, not framed)");
  }
  if (n > options_.max_decompressed_bytes) {
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return Status::InvalidArgument(
        fmt::format("decompressed body of {} bytes exceeds the limit of {} bytes", n,
                    options_.max_decompressed_bytes));
  }
  s.raw.resize(n);
  if (!snappy::RawUncompress(body.data(), body.size(), s.raw.data())) {
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return Status::InvalidArgument("invalid snappy block: corrupt compressed data");
  }
  auto r = WriteDecompressed(s.raw);
  TrimScratch(s);
  return r;
}

Result<RemoteWriteResult> RemoteWriteIngester::WriteDecompressed(std::string_view proto) {
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  Scratch& s = ThreadScratch();
  if (Status st = prompb::DecodeWriteRequest(proto, &s.req, {.labels = false}); !st.ok()) {
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return Status::InvalidArgument("invalid protobuf WriteRequest: " + st.message());
  }
  auto r = Request(this, s).Run();
  if (!r.ok()) {
    stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    return r;
  }
  stats_.series.fetch_add(r->series, std::memory_order_relaxed);
  stats_.samples.fetch_add(r->samples, std::memory_order_relaxed);
  stats_.metadata.fetch_add(r->metadata, std::memory_order_relaxed);
  return r;
}

}  // namespace zw::ingest
