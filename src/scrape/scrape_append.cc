#include "scrape/scrape_append.h"

#include <vector>

#include <fmt/format.h>

#include "core/sample.h"

namespace zw::scrape {

Labels ScrapeAppender::SeriesLabels(const ingest::ExpositionParser& p) const {
  LabelsBuilder b;
  b.Set(kMetricNameLabel, p.MetricName());
  p.ForEachLabel([&](std::string_view n, std::string_view v) { b.Set(n, v); });
  for (const Label& l : target_) {
    std::string_view existing = b.Get(l.name);
    if (existing.empty()) {
      b.Set(l.name, l.value);
    } else if (!options_.honor_labels) {
      b.Set("exported_" + std::string(l.name), existing);
      b.Set(l.name, l.value);
    }
  }
  return b.Build();
}

uint64_t ScrapeAppender::MarkAllStale(storage::Appender& app, int64_t t) {
  uint64_t n = 0;
  for (auto& [key, e] : cache_) {
    if (!e.live) continue;
    e.live = false;
    if (app.Append(e.ref, e.labels, t, StaleNaN()).ok()) ++n;
  }
  return n;
}

Status ScrapeAppender::AppendSynthetic(storage::Appender& app, int64_t t, double up,
                                       double duration, const ScrapeReport& r) {
  auto add = [&](std::string_view name, double v) -> Status {
    Labels ls = LabelsBuilder(target_).Set(kMetricNameLabel, name).Build();
    auto res = app.Append(0, ls, t, v);
    return res.ok() || res.status().code() == StatusCode::kOutOfOrder ? Status::Ok() : res.status();
  };
  ZW_RETURN_IF_ERROR(add("up", up));
  ZW_RETURN_IF_ERROR(add("scrape_duration_seconds", duration));
  ZW_RETURN_IF_ERROR(add("scrape_samples_scraped", static_cast<double>(r.scraped)));
  ZW_RETURN_IF_ERROR(
      add("scrape_samples_post_metric_relabeling", static_cast<double>(r.post_relabel)));
  return add("scrape_series_added", static_cast<double>(r.series_added));
}

Result<ScrapeReport> ScrapeAppender::Succeeded(storage::Appendable& storage, std::string_view body,
                                               ingest::ExpositionFormat format, int64_t t,
                                               double duration) {
  ScrapeReport r;
  auto app = storage.NewAppender();
  auto parser = ingest::ExpositionParser::New(body, format);
  const uint64_t epoch = ++epoch_;
  Entry scratch;
  // Without the cache, the series of this scrape by label hash, as staleness needs them.
  std::unordered_map<uint64_t, Labels> uncached_seen;
  MetricMetadata meta;
  std::string meta_family;
  bool meta_pending = false;
  for (ingest::Entry e = parser->Next(); e != ingest::Entry::kEnd && e != ingest::Entry::kEof;
       e = parser->Next()) {
    switch (e) {
      case ingest::Entry::kError:
        app->Rollback();
        return parser->Err();
      case ingest::Entry::kType:
      case ingest::Entry::kHelp:
      case ingest::Entry::kUnit:
        if (meta_family != parser->FamilyName()) {
          meta_family = std::string(parser->FamilyName());
          meta = MetricMetadata{};
        }
        if (e == ingest::Entry::kType) meta.type = parser->FamilyType();
        if (e == ingest::Entry::kHelp) meta.help = std::string(parser->Text());
        if (e == ingest::Entry::kUnit) meta.unit = std::string(parser->Text());
        meta_pending = true;
        break;
      case ingest::Entry::kSeries: {
        ++r.scraped;
        key_.assign(parser->MetricName());
        parser->ForEachLabel([this](std::string_view n, std::string_view v) {
          key_ += '\xff';
          key_ += n;
          key_ += '\xfe';
          key_ += v;
        });
        auto it = options_.cache_series ? cache_.find(std::string_view(key_)) : cache_.end();
        if (it == cache_.end()) {
          Entry fresh;
          fresh.labels = SeriesLabels(*parser);
          if (!options_.metric_relabel_configs.empty()) {
            std::optional<Labels> relabelled =
                Relabel(fresh.labels, options_.metric_relabel_configs);
            if (relabelled && relabelled->MetricName().empty()) {
              app->Rollback();
              return Status::InvalidArgument("metric_relabel_configs removed __name__ from " +
                                             fresh.labels.ToString());
            }
            fresh.dropped = !relabelled;
            if (relabelled) fresh.labels = std::move(*relabelled);
          }
          if (options_.cache_series) {
            it = cache_.emplace(key_, std::move(fresh)).first;
          } else {
            scratch = std::move(fresh);
          }
        }
        Entry& entry = it == cache_.end() ? scratch : it->second;
        if (entry.dropped) {
          entry.seen_epoch = epoch;
          break;
        }
        ++r.post_relabel;
        if (options_.sample_limit && r.post_relabel > options_.sample_limit) {
          app->Rollback();
          return Status::Error(StatusCode::kResourceExhausted, "sample limit of {} exceeded",
                               options_.sample_limit);
        }
        int64_t ts = t;
        if (options_.honor_timestamps && parser->Timestamp()) ts = *parser->Timestamp();
        storage::AppendOptions opts;
        if (meta_pending && parser->FamilyName() == meta_family) {
          opts.metadata = &meta;
          opts.family = meta_family;
          meta_pending = false;
        }
        auto res = app->Append(entry.ref, entry.labels, ts, parser->Value(), opts);
        if (!res.ok()) {
          if (res.status().code() == StatusCode::kInvalidArgument) {
            app->Rollback();
            return res.status();
          }
          ++r.out_of_order;  // older than stored, or a conflicting duplicate: skipped
          continue;
        }
        entry.ref = *res;
        ++r.appended;
        if (!options_.cache_series) {
          uint64_t h = entry.labels.Hash();
          if (!cache_.count(std::to_string(h)) && !uncached_seen.count(h)) ++r.series_added;
          uncached_seen.emplace(h, entry.labels);
        } else if (entry.seen_epoch != epoch) {
          if (!entry.live) ++r.series_added;
          entry.seen_epoch = epoch;
        }
        break;
      }
      default:
        break;
    }
  }
  if (options_.cache_series) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      Entry& e = it->second;
      if (e.seen_epoch != epoch) {
        if (e.live && app->Append(e.ref, e.labels, t, StaleNaN()).ok()) ++r.stale_markers;
        it = cache_.erase(it);
      } else {
        e.live = !e.dropped;
        ++it;
      }
    }
  } else {
    // Entries keyed by label hash stand for the previous scrape's series.
    for (auto& [key, e] : cache_) {
      if (e.live && !uncached_seen.count(e.labels.Hash()) &&
          app->Append(0, e.labels, t, StaleNaN()).ok())
        ++r.stale_markers;
    }
    cache_.clear();
    for (auto& [h, ls] : uncached_seen) {
      Entry e;
      e.labels = std::move(ls);
      e.live = true;
      cache_.emplace(std::to_string(h), std::move(e));
    }
  }
  ZW_RETURN_IF_ERROR(AppendSynthetic(*app, t, 1, duration, r));
  ZW_RETURN_IF_ERROR(app->Commit());
  return r;
}

Status ScrapeAppender::Failed(storage::Appendable& storage, int64_t t, double duration) {
  auto app = storage.NewAppender();
  MarkAllStale(*app, t);
  ZW_RETURN_IF_ERROR(AppendSynthetic(*app, t, 0, duration, ScrapeReport{}));
  ZW_RETURN_IF_ERROR(app->Commit());
  return Status::Ok();
}

Status ScrapeAppender::Stopped(storage::Appendable& storage, int64_t t) {
  auto app = storage.NewAppender();
  MarkAllStale(*app, t);
  for (std::string_view name : {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                                "scrape_samples_post_metric_relabeling", "scrape_series_added"}) {
    (void)app->Append(0, LabelsBuilder(target_).Set(kMetricNameLabel, name).Build(), t, StaleNaN());
  }
  ZW_RETURN_IF_ERROR(app->Commit());
  return Status::Ok();
}

}  // namespace zw::scrape
