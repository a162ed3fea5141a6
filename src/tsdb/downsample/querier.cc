#include "tsdb/downsample/querier.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "storage/series_set.h"

namespace zw::tsdb {

namespace {

using SeriesMap = std::map<Labels, std::vector<Sample>>;

// sum / count at the timestamps both hold (they share the window stamps).
std::vector<Sample> Average(const std::vector<Sample>& sum, const std::vector<Sample>& count) {
  std::vector<Sample> out;
  size_t i = 0, j = 0;
  while (i < sum.size() && j < count.size()) {
    if (sum[i].t < count[j].t) {
      ++i;
    } else if (count[j].t < sum[i].t) {
      ++j;
    } else {
      out.push_back({sum[i].t, sum[i].v / count[j].v});
      ++i;
      ++j;
    }
  }
  return out;
}

class DownsampledQuerier final : public storage::Querier {
 public:
  DownsampledQuerier(const std::shared_ptr<Block>& block, int64_t mint, int64_t maxt)
      : inner_(block->NewQuerier(mint, maxt)) {}

  std::unique_ptr<storage::SeriesSet> Select(bool, const storage::SelectHints* hints,
                                             const Matchers& matchers) override {
    Matchers ms;
    if (!UserMatchers(matchers, &ms)) return Empty();
    bool avg = false;
    Aggr aggr = AggrForHints(hints, &avg);

    SeriesMap chosen;
    if (!avg) {
      Status s = Load(ms, aggr, &chosen);
      if (!s.ok()) return storage::ErrorSeriesSet(s);
    }
    if (avg || aggr == Aggr::kCounter) {
      SeriesMap sums, counts;
      Status s = Load(ms, Aggr::kSum, &sums);
      if (s.ok()) s = Load(ms, Aggr::kCount, &counts);
      if (!s.ok()) return storage::ErrorSeriesSet(s);
      for (auto& [labels, sum] : sums) {
        if (chosen.contains(labels)) continue;  // has a counter aggregate
        auto c = counts.find(labels);
        if (c == counts.end()) continue;
        std::vector<Sample> points = Average(sum, c->second);
        if (!points.empty()) chosen.emplace(labels, std::move(points));
      }
    }
    // The map keeps Labels order, so the output is sorted whether asked or not.
    std::vector<storage::VectorSeries> out;
    out.reserve(chosen.size());
    for (auto& [labels, points] : chosen) out.emplace_back(labels, std::move(points));
    return std::make_unique<storage::VectorSeriesSet>(std::move(out));
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const Matchers& matchers) override {
    Matchers ms;
    if (name == kAggrLabel || !UserMatchers(matchers, &ms)) return std::vector<std::string>{};
    return inner_->LabelValues(name, ms);
  }

  Result<std::vector<std::string>> LabelNames(const Matchers& matchers) override {
    Matchers ms;
    if (!UserMatchers(matchers, &ms)) return std::vector<std::string>{};
    auto names = inner_->LabelNames(ms);
    if (!names.ok()) return names;
    std::erase(*names, std::string(kAggrLabel));
    return names;
  }

 private:
  static std::unique_ptr<storage::SeriesSet> Empty() {
    return std::make_unique<storage::VectorSeriesSet>(std::vector<storage::VectorSeries>{});
  }

  // The caller's matchers without those on __zw_aggr__, which are decided against the
  // empty value; false when one of them excludes every series.
  static bool UserMatchers(const Matchers& in, Matchers* out) {
    for (const Matcher& m : in) {
      if (m.name() != kAggrLabel) {
        out->push_back(m);
      } else if (!m.Matches("")) {
        return false;
      }
    }
    return true;
  }

  // The points of aggregate `aggr` of every series matching `ms`, by labels without the
  // aggregate label.
  Status Load(const Matchers& ms, Aggr aggr, SeriesMap* out) {
    Matchers with = ms;
    with.push_back(
        Matcher::MustMake(MatchType::kEqual, std::string(kAggrLabel), std::string(AggrName(aggr))));
    std::unique_ptr<storage::SeriesSet> set = inner_->Select(false, nullptr, with);
    while (set->Next()) {
      const storage::Series& s = set->At();
      std::vector<Sample> points;
      std::unique_ptr<storage::SampleIterator> it = s.Iterator();
      while (it->Next()) points.push_back(it->At());
      ZW_RETURN_IF_ERROR(it->Err());
      if (points.empty()) continue;
      Labels base = LabelsBuilder(s.labels()).Del(kAggrLabel).Build();
      out->insert_or_assign(std::move(base), std::move(points));
    }
    return set->Err();
  }

  std::unique_ptr<storage::Querier> inner_;  // holds the block alive
};

}  // namespace

bool IsRateLike(std::string_view func) {
  return func == "rate" || func == "increase" || func == "irate" || func == "resets" ||
         func == "delta" || func == "idelta";
}

Aggr AggrForHints(const storage::SelectHints* hints, bool* is_avg) {
  *is_avg = false;
  std::string_view f = hints != nullptr ? std::string_view(hints->func) : std::string_view();
  if (f == "min_over_time") return Aggr::kMin;
  if (f == "max_over_time") return Aggr::kMax;
  if (f == "sum_over_time") return Aggr::kSum;
  if (f == "count_over_time") return Aggr::kCount;
  if (IsRateLike(f)) return Aggr::kCounter;
  *is_avg = true;
  return Aggr::kSum;
}

bool ResolutionFits(const storage::SelectHints* hints, int64_t resolution_ms) {
  if (resolution_ms == 0) return true;
  if (hints == nullptr || hints->range <= 0) return false;
  const std::string& f = hints->func;
  if (hints->step < resolution_ms) return false;
  if (f == "min_over_time" || f == "max_over_time" || f == "sum_over_time" ||
      f == "avg_over_time" || f == "present_over_time") {
    return hints->range >= resolution_ms;
  }
  if (IsRateLike(f)) return hints->range >= 2 * resolution_ms;
  return false;
}

std::unique_ptr<storage::Querier> NewDownsampledQuerier(std::shared_ptr<Block> block, int64_t mint,
                                                        int64_t maxt) {
  return std::make_unique<DownsampledQuerier>(block, mint, maxt);
}

}  // namespace zw::tsdb
