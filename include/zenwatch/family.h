// Family: the series of one metric, one per combination of label values.
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zenwatch/counter.h"
#include "zenwatch/gauge.h"
#include "zenwatch/histogram.h"
#include "zenwatch/snapshot.h"
#include "zenwatch/types.h"

namespace zenwatch {

class Registry;

namespace detail {

// What a Registry needs of every family: its identity and, at scrape time, its series.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& Name() const { return name_; }
  const std::string& Help() const { return help_; }
  MetricType Type() const { return type_; }

  // Fills out.samples or out.histograms, sorted by labels; leaves name, help and type alone.
  virtual void Collect(MetricFamilySnapshot& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, MetricType type)
      : name_(std::move(name)), help_(std::move(help)), type_(type) {}

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
};

// Orders series keys (label values in declared order) and lets them be looked up by views.
struct ValuesLess {
  using is_transparent = void;
  bool operator()(std::span<const std::string> a, std::span<const std::string> b) const;
  bool operator()(std::span<const std::string> a, std::span<const std::string_view> b) const;
  bool operator()(std::span<const std::string_view> a, std::span<const std::string> b) const;
};

}  // namespace detail

// T is Counter, Gauge or Histogram. Made by Registry::Add{Counter,Gauge,Histogram}, owned by
// the registry, alive as long as it is; so is every series it has made.
//
// Thread safety: every method may be called concurrently. With() takes a shared lock to find
// an existing series, and an exclusive lock (and allocates) only the first time it sees a
// combination of label values. Cache the reference it returns for hot paths.
template <typename T>
class Family final : public detail::FamilyBase {
 public:
  // The series for these labels, made on first use. The names must be exactly the declared
  // label names, in any order; otherwise std::invalid_argument names the metric and the
  // missing or unexpected label. Values may be any UTF-8 (invalid UTF-8 throws too).
  // The reference stays valid as long as the registry.
  T& With(std::initializer_list<LabelRef> labels) {
    return With(std::span<const LabelRef>(labels.begin(), labels.size()));
  }
  T& With(std::span<const LabelRef> labels);
  T& With(const Labels& labels);

  const std::vector<std::string>& LabelNames() const { return label_names_; }
  const Labels& ConstLabels() const { return const_labels_; }
  // Bucket bounds of every series; empty unless T is Histogram.
  const std::vector<double>& Buckets() const { return buckets_; }

  void Collect(MetricFamilySnapshot& out) const override;

 private:
  friend class Registry;

  // REQUIRES: arguments validated by the registry.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         Labels const_labels, std::vector<double> buckets);

  template <typename Pairs>
  T& WithPairs(const Pairs& labels);
  T& Find(std::span<const std::string_view> values);

  std::vector<std::string> label_names_;
  Labels const_labels_;
  std::vector<double> buckets_;

  mutable std::shared_mutex mu_;
  // Keyed by label values in the order of label_names_.
  std::map<std::vector<std::string>, std::unique_ptr<T>, detail::ValuesLess> series_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace zenwatch
