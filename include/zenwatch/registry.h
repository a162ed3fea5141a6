// Registry: the metric families of an application, and what it exposes at scrape time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "zenwatch/family.h"
#include "zenwatch/openmetrics_format.h"
#include "zenwatch/snapshot.h"
#include "zenwatch/types.h"

namespace zenwatch {

// Thread safety: every method may be called concurrently. Registration and Collect() take
// the registry's mutex briefly; Collect() runs families and callbacks outside it, so a callback
// may itself use the registry. The registry must outlive every family and series it made.
//
// Registration errors are programmer errors and throw std::invalid_argument naming the
// culprit: an invalid metric or label name (Prometheus rules: metric [a-zA-Z_:][a-zA-Z0-9_:]*,
// label [a-zA-Z_][a-zA-Z0-9_]* not starting with "__"), a duplicate label name, "le" on a
// histogram, or a name clash with another family (a histogram "x" also owns "x_bucket",
// "x_sum" and "x_count"). Adding a family that exists with identical type, help, label names,
// const labels and buckets returns the existing one; any difference throws.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // `label_names` are the labels With() takes; `const_labels` are added to every series.
  // A family without label names has its single series from the start (With({})).
  Family<Counter>& AddCounter(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names = {}, Labels const_labels = {});
  Family<Gauge>& AddGauge(std::string_view name, std::string_view help,
                          std::vector<std::string> label_names = {}, Labels const_labels = {});
  Family<Histogram>& AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> buckets,
                                  std::vector<std::string> label_names = {},
                                  Labels const_labels = {});

  // Metrics computed at scrape time. The callbacks run on the scraping thread, possibly
  // concurrently with themselves when scrapes overlap, and must not throw (an exception
  // propagates out of Collect()). A callback family's name must be new.
  void AddCallbackGauge(std::string_view name, std::string_view help, std::function<double()> fn);
  void AddCallbackCounter(std::string_view name, std::string_view help, std::function<double()> fn);
  // `fn` appends one Sample per series; type is kCounter, kGauge or kUntyped. Label names are
  // checked at scrape time (an invalid one throws std::invalid_argument from Collect()).
  void AddCollector(std::string_view name, std::string_view help, MetricType type,
                    std::function<void(std::vector<Sample>&)> fn);

  // Declares the OpenMetrics unit of family `name` (registered or not yet). REQUIRES, else
  // std::invalid_argument: unit is [a-zA-Z0-9_:]+ and the family name (without a counter's
  // "_total") ends in "_<unit>", as OpenMetrics demands.
  void SetUnit(std::string_view name, std::string_view unit);

  // Every family with at least one series, sorted by name; series sorted by label values.
  std::vector<MetricFamilySnapshot> Collect() const;
  // Collect() in the Prometheus text format 0.0.4 (see text_format.h).
  std::string ExpositionText() const;
  // Collect() in `format` (openmetrics_format.h); serve with ContentType(format).
  std::string Exposition(ExpositionFormat format) const;

 private:
  template <typename T>
  Family<T>& Add(std::string_view name, std::string_view help, MetricType type,
                 std::vector<std::string> label_names, Labels const_labels,
                 std::vector<double> buckets);
  // REQUIRES: mu_ held. Throws if `name` or a name it exposes is taken.
  void Reserve(std::string_view name, MetricType type);
  void AddCallbackFamily(std::string_view name, std::string_view help, MetricType type,
                         std::function<void(std::vector<Sample>&)> fn);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;
  std::set<std::string, std::less<>> exposed_names_;       // every series name any family writes
  std::map<std::string, std::string, std::less<>> units_;  // family name -> unit
};

}  // namespace zenwatch
