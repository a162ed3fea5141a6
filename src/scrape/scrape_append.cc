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

uint64_t ScrapeAppender::MarkStale(storage::Appender& app,
                                   const std::unordered_map<uint64_t, Labels>& gone, int64_t t) {
  uint64_t n = 0;
  for (const auto& [hash, ls] : gone) {
    if (app.Append(0, ls, t, StaleNaN()).ok()) ++n;
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
  ZW_RETURN_IF_ERROR(add("scrape_samples_post_metric_relabeling", static_cast<double>(r.scraped)));
  return add("scrape_series_added", static_cast<double>(r.series_added));
}

Result<ScrapeReport> ScrapeAppender::Succeeded(storage::Appendable& storage, std::string_view body,
                                               ingest::ExpositionFormat format, int64_t t,
                                               double duration) {
  ScrapeReport r;
  auto app = storage.NewAppender();
  auto parser = ingest::ExpositionParser::New(body, format);
  std::unordered_map<uint64_t, Labels> seen;
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
        if (options_.sample_limit && r.scraped > options_.sample_limit) {
          app->Rollback();
          return Status::Error(StatusCode::kResourceExhausted, "sample limit of {} exceeded",
                               options_.sample_limit);
        }
        Labels ls = SeriesLabels(*parser);
        int64_t ts = t;
        if (options_.honor_timestamps && parser->Timestamp()) ts = *parser->Timestamp();
        storage::AppendOptions opts;
        if (meta_pending && parser->FamilyName() == meta_family) {
          opts.metadata = &meta;
          opts.family = meta_family;
          meta_pending = false;
        }
        auto res = app->Append(0, ls, ts, parser->Value(), opts);
        if (!res.ok()) {
          if (res.status().code() == StatusCode::kInvalidArgument) {
            app->Rollback();
            return res.status();
          }
          ++r.out_of_order;  // older than stored, or a conflicting duplicate: skipped
          continue;
        }
        ++r.appended;
        uint64_t h = ls.Hash();
        if (!last_.count(h)) ++r.series_added;
        seen.emplace(h, std::move(ls));
        break;
      }
      default:
        break;
    }
  }
  std::unordered_map<uint64_t, Labels> gone;
  for (auto& [h, ls] : last_) {
    if (!seen.count(h)) gone.emplace(h, ls);
  }
  r.stale_markers = MarkStale(*app, gone, t);
  ZW_RETURN_IF_ERROR(AppendSynthetic(*app, t, 1, duration, r));
  ZW_RETURN_IF_ERROR(app->Commit());
  last_ = std::move(seen);
  return r;
}

Status ScrapeAppender::Failed(storage::Appendable& storage, int64_t t, double duration) {
  auto app = storage.NewAppender();
  MarkStale(*app, last_, t);
  ZW_RETURN_IF_ERROR(AppendSynthetic(*app, t, 0, duration, ScrapeReport{}));
  ZW_RETURN_IF_ERROR(app->Commit());
  last_.clear();
  return Status::Ok();
}

Status ScrapeAppender::Stopped(storage::Appendable& storage, int64_t t) {
  auto app = storage.NewAppender();
  MarkStale(*app, last_, t);
  for (std::string_view name : {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                                "scrape_samples_post_metric_relabeling", "scrape_series_added"}) {
    (void)app->Append(0, LabelsBuilder(target_).Set(kMetricNameLabel, name).Build(), t, StaleNaN());
  }
  ZW_RETURN_IF_ERROR(app->Commit());
  last_.clear();
  return Status::Ok();
}

}  // namespace zw::scrape
