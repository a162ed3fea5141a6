#include "zenwatch/family.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>
#include <type_traits>

#include "client/validate.h"

namespace zenwatch {
namespace detail {
namespace {

template <typename A, typename B>
bool LexLess(std::span<A> a, std::span<B> b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](std::string_view x, std::string_view y) { return x < y; });
}

}  // namespace

bool ValuesLess::operator()(std::span<const std::string> a, std::span<const std::string> b) const {
  return LexLess(a, b);
}
bool ValuesLess::operator()(std::span<const std::string> a,
                            std::span<const std::string_view> b) const {
  return LexLess(a, b);
}
bool ValuesLess::operator()(std::span<const std::string_view> a,
                            std::span<const std::string> b) const {
  return LexLess(a, b);
}

}  // namespace detail

namespace {

template <typename T>
constexpr MetricType TypeOf() {
  if constexpr (std::is_same_v<T, Counter>) return MetricType::kCounter;
  if constexpr (std::is_same_v<T, Gauge>) return MetricType::kGauge;
  return MetricType::kHistogram;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Labels beyond this many are looked up through a heap-allocated key.
constexpr std::size_t kInlineLabels = 16;

}  // namespace

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  Labels const_labels, std::vector<double> buckets)
    : FamilyBase(std::move(name), std::move(help), TypeOf<T>()),
      label_names_(std::move(label_names)),
      const_labels_(std::move(const_labels)),
      buckets_(std::move(buckets)) {
  if (label_names_.empty()) Find({});
}

template <typename T>
T& Family<T>::With(std::span<const LabelRef> labels) {
  return WithPairs(labels);
}

template <typename T>
T& Family<T>::With(const Labels& labels) {
  return WithPairs(labels);
}

template <typename T>
template <typename Pairs>
T& Family<T>::WithPairs(const Pairs& labels) {
  const std::size_t n = label_names_.size();
  std::array<std::string_view, kInlineLabels> inline_values;
  std::vector<std::string_view> heap_values;
  std::span<std::string_view> values(inline_values.data(), n);
  if (n > kInlineLabels) {
    heap_values.resize(n);
    values = heap_values;
  }
  std::size_t matched = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto it = std::find_if(labels.begin(), labels.end(), [&](const auto& l) {
      return std::string_view(l.first) == label_names_[i];
    });
    if (it == labels.end()) {
      throw std::invalid_argument("zenwatch: metric " + Name() + " needs label \"" +
                                  label_names_[i] + "\" (its labels: " + Join(label_names_) + ")");
    }
    values[i] = it->second;
    ++matched;
  }
  if (labels.size() != matched) {
    for (const auto& l : labels) {
      const std::string_view name = l.first;
      if (std::find(label_names_.begin(), label_names_.end(), name) == label_names_.end()) {
        throw std::invalid_argument("zenwatch: metric " + Name() + " has no label \"" +
                                    std::string(name) + "\" (its labels: " + Join(label_names_) +
                                    ")");
      }
    }
    throw std::invalid_argument("zenwatch: metric " + Name() +
                                " got a label twice (its labels: " + Join(label_names_) + ")");
  }
  return Find(values);
}

template <typename T>
T& Family<T>::Find(std::span<const std::string_view> values) {
  {
    std::shared_lock lock(mu_);
    if (auto it = series_.find(values); it != series_.end()) return *it->second;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    internal::CheckLabelValue(Name(), label_names_[i], values[i]);
  }
  std::unique_ptr<T> series;
  if constexpr (std::is_same_v<T, Histogram>) {
    series = std::make_unique<Histogram>(buckets_);
  } else {
    series = std::make_unique<T>();
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] =
      series_.try_emplace(std::vector<std::string>(values.begin(), values.end()), nullptr);
  if (inserted) it->second = std::move(series);
  return *it->second;
}

template <typename T>
void Family<T>::Collect(MetricFamilySnapshot& out) const {
  std::shared_lock lock(mu_);
  for (const auto& [values, series] : series_) {
    Labels labels = const_labels_;
    labels.reserve(const_labels_.size() + values.size());
    for (std::size_t i = 0; i < values.size(); ++i) labels.emplace_back(label_names_[i], values[i]);
    if constexpr (std::is_same_v<T, Histogram>) {
      out.histograms.push_back({std::move(labels), series->Snapshot()});
    } else {
      out.samples.push_back({std::move(labels), series->Value()});
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace zenwatch
