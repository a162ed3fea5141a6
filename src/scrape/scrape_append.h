// What one scrape writes: the exposition body parsed into samples with the target's
// labels, the synthetic series (up, scrape_duration_seconds, ...), and staleness markers
// for series the target stopped exposing. No networking: the loop hands it a body.
//
// metric_relabel_configs run on every scraped series before it is stored. Each raw series
// (name and labels as the target wrote them) is cached with its final labels, whether
// relabelling dropped it, and the storage's series reference, so a steady-state scrape
// neither rebuilds labels nor relabels nor looks series up by labels: it appends by
// reference. The cache holds the series of the latest scrape.
//
// Not thread-safe: one per target, used by its scrape loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/labels.h"
#include "core/status.h"
#include "ingest/exposition_parser.h"
#include "scrape/relabel.h"
#include "storage/appender.h"

namespace zw::scrape {

struct ScrapeOptions {
  bool honor_labels = false;
  bool honor_timestamps = true;
  uint64_t sample_limit = 0;  // 0 = none, else a limit on samples left after relabelling
  std::vector<RelabelConfig> metric_relabel_configs;
  bool cache_series = true;  // false: every sample is relabelled and looked up by labels
};

struct ScrapeReport {
  uint64_t scraped = 0;       // samples in the body
  uint64_t post_relabel = 0;  // samples metric_relabel_configs kept
  uint64_t appended = 0;      // samples stored
  uint64_t series_added = 0;  // series not seen in the previous scrape
  uint64_t out_of_order = 0;  // samples storage refused (kept going)
  uint64_t stale_markers = 0;
};

class ScrapeAppender {
 public:
  // `target` carries job, instance and the static labels.
  ScrapeAppender(Labels target, ScrapeOptions options)
      : target_(std::move(target)), options_(options) {}

  // Appends a successful scrape's samples at time `t` (ms) plus staleness markers for
  // series that disappeared, and the synthetic series with up=1. A body that does not
  // parse, or exceeds the sample limit, stores nothing of the body and returns the error
  // (the caller then calls Failed).
  Result<ScrapeReport> Succeeded(storage::Appendable& storage, std::string_view body,
                                 ingest::ExpositionFormat format, int64_t t,
                                 double duration_seconds);
  // Writes up=0 and the other synthetic series, and stale markers for every series of
  // the previous scrape.
  Status Failed(storage::Appendable& storage, int64_t t, double duration_seconds);
  // Stale markers for every series of the previous scrape and for the synthetic series
  // (the target went away).
  Status Stopped(storage::Appendable& storage, int64_t t);

  const Labels& target() const { return target_; }

 private:
  // Builds a scraped series' labels: the target's labels win unless honor_labels, in
  // which case the scraped ones do; a clash without honor_labels renames the scraped label
  // to exported_<name>.
  Labels SeriesLabels(const ingest::ExpositionParser& p) const;
  Status AppendSynthetic(storage::Appender& app, int64_t t, double up, double duration,
                         const ScrapeReport& r);
  // Stale markers for every series of the previous successful scrape; forgets them.
  uint64_t MarkAllStale(storage::Appender& app, int64_t t);

  struct Entry {
    Labels labels;  // after target labels and metric relabelling
    storage::SeriesRef ref = 0;
    bool dropped = false;     // by metric_relabel_configs
    bool live = false;        // stored by the previous successful scrape
    uint64_t seen_epoch = 0;  // the latest scrape that had it
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Labels target_;
  ScrapeOptions options_;
  // Raw series key (name and labels as scraped) -> its entry.
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> cache_;
  uint64_t epoch_ = 0;
  std::string key_;  // reused buffer
};

}  // namespace zw::scrape
