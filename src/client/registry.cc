#include "zenwatch/registry.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "client/validate.h"
#include "zenwatch/text_format.h"

namespace zenwatch {
namespace {

[[noreturn]] void Throw(std::string message) {
  throw std::invalid_argument("zenwatch: " + message);
}

// A family whose samples a callback computes at scrape time.
class CallbackFamily final : public detail::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::function<void(std::vector<Sample>&)> fn)
      : FamilyBase(std::move(name), std::move(help), type), fn_(std::move(fn)) {}

  void Collect(MetricFamilySnapshot& out) const override {
    fn_(out.samples);
    for (Sample& sample : out.samples) {
      std::sort(sample.labels.begin(), sample.labels.end());
      for (std::size_t i = 0; i < sample.labels.size(); ++i) {
        internal::CheckLabelName(Name(), sample.labels[i].first);
        if (i > 0 && sample.labels[i - 1].first == sample.labels[i].first) {
          Throw("collector of metric " + Name() + " gave label \"" + sample.labels[i].first +
                "\" twice in one sample");
        }
      }
    }
    std::stable_sort(out.samples.begin(), out.samples.end(),
                     [](const Sample& a, const Sample& b) { return a.labels < b.labels; });
  }

 private:
  std::function<void(std::vector<Sample>&)> fn_;
};

void CheckLabels(std::string_view metric, MetricType type,
                 const std::vector<std::string>& label_names, Labels& const_labels) {
  std::vector<std::string_view> all;
  for (const auto& name : label_names) {
    internal::CheckLabelName(metric, name);
    all.push_back(name);
  }
  for (const auto& [name, value] : const_labels) {
    internal::CheckLabelName(metric, name);
    internal::CheckLabelValue(metric, name, value);
    all.push_back(name);
  }
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0 && all[i - 1] == all[i]) {
      Throw("label \"" + std::string(all[i]) + "\" declared twice for metric " +
            std::string(metric));
    }
    if (type == MetricType::kHistogram && all[i] == "le") {
      Throw("label \"le\" is reserved for the buckets of histogram " + std::string(metric));
    }
  }
  std::sort(const_labels.begin(), const_labels.end());
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::Reserve(std::string_view name, MetricType type) {
  std::vector<std::string> names{std::string(name)};
  if (type == MetricType::kHistogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) names.push_back(names[0] + suffix);
  }
  for (const auto& n : names) {
    if (exposed_names_.contains(n)) {
      Throw("metric " + std::string(name) + " clashes with another family writing series " + n);
    }
  }
  exposed_names_.insert(names.begin(), names.end());
}

template <typename T>
Family<T>& Registry::Add(std::string_view name, std::string_view help, MetricType type,
                         std::vector<std::string> label_names, Labels const_labels,
                         std::vector<double> buckets) {
  internal::CheckMetricName(name);
  CheckLabels(name, type, label_names, const_labels);
  if constexpr (std::is_same_v<T, Histogram>) {
    const Histogram normalised(std::move(buckets));  // throws on bad bounds
    buckets.assign(normalised.UpperBounds().begin(), normalised.UpperBounds().end());
  }
  std::lock_guard lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    auto* existing = dynamic_cast<Family<T>*>(it->second.get());
    if (existing == nullptr || existing->Help() != help || existing->LabelNames() != label_names ||
        existing->ConstLabels() != const_labels || existing->Buckets() != buckets) {
      Throw("metric " + std::string(name) +
            " is already registered with a different type, help, labels or buckets");
    }
    return *existing;
  }
  Reserve(name, type);
  auto* family = new Family<T>(std::string(name), std::string(help), std::move(label_names),
                               std::move(const_labels), std::move(buckets));
  families_.emplace(std::string(name), std::unique_ptr<detail::FamilyBase>(family));
  return *family;
}

Family<Counter>& Registry::AddCounter(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names, Labels const_labels) {
  return Add<Counter>(name, help, MetricType::kCounter, std::move(label_names),
                      std::move(const_labels), {});
}

Family<Gauge>& Registry::AddGauge(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names, Labels const_labels) {
  return Add<Gauge>(name, help, MetricType::kGauge, std::move(label_names), std::move(const_labels),
                    {});
}

Family<Histogram>& Registry::AddHistogram(std::string_view name, std::string_view help,
                                          std::vector<double> buckets,
                                          std::vector<std::string> label_names,
                                          Labels const_labels) {
  return Add<Histogram>(name, help, MetricType::kHistogram, std::move(label_names),
                        std::move(const_labels), std::move(buckets));
}

void Registry::AddCallbackFamily(std::string_view name, std::string_view help, MetricType type,
                                 std::function<void(std::vector<Sample>&)> fn) {
  internal::CheckMetricName(name);
  if (type == MetricType::kHistogram) {
    Throw("collector " + std::string(name) + ": only counter, gauge and untyped are supported");
  }
  std::lock_guard lock(mu_);
  if (families_.contains(name)) Throw("metric " + std::string(name) + " is already registered");
  Reserve(name, type);
  families_.emplace(
      std::string(name),
      std::make_unique<CallbackFamily>(std::string(name), std::string(help), type, std::move(fn)));
}

void Registry::AddCallbackGauge(std::string_view name, std::string_view help,
                                std::function<double()> fn) {
  AddCallbackFamily(name, help, MetricType::kGauge, [fn = std::move(fn)](std::vector<Sample>& out) {
    out.push_back({{}, fn()});
  });
}

void Registry::AddCallbackCounter(std::string_view name, std::string_view help,
                                  std::function<double()> fn) {
  AddCallbackFamily(name, help, MetricType::kCounter,
                    [fn = std::move(fn)](std::vector<Sample>& out) {
                      out.push_back({{}, fn()});
                    });
}

void Registry::AddCollector(std::string_view name, std::string_view help, MetricType type,
                            std::function<void(std::vector<Sample>&)> fn) {
  AddCallbackFamily(name, help, type, std::move(fn));
}

std::vector<MetricFamilySnapshot> Registry::Collect() const {
  std::vector<const detail::FamilyBase*> families;
  std::map<std::string, std::string, std::less<>> units;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
    units = units_;
  }
  std::vector<MetricFamilySnapshot> out;
  out.reserve(families.size());
  for (const detail::FamilyBase* family : families) {
    MetricFamilySnapshot snapshot;
    snapshot.name = family->Name();
    snapshot.help = family->Help();
    snapshot.type = family->Type();
    if (auto u = units.find(snapshot.name); u != units.end()) snapshot.unit = u->second;
    family->Collect(snapshot);
    if (snapshot.samples.empty() && snapshot.histograms.empty()) continue;
    out.push_back(std::move(snapshot));
  }
  return out;
}

std::string Registry::ExpositionText() const { return TextFormat(Collect()); }

std::string Registry::Exposition(ExpositionFormat format) const {
  return format == ExpositionFormat::kOpenMetrics ? OpenMetrics(Collect()) : ExpositionText();
}

void Registry::SetUnit(std::string_view name, std::string_view unit) {
  internal::CheckMetricName(name);
  if (unit.empty() || unit.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789_:") != std::string_view::npos) {
    Throw("unit \"" + std::string(unit) + "\" of metric " + std::string(name) +
          " must be [a-zA-Z0-9_:]+");
  }
  std::string_view family = name;
  if (family.ends_with("_total")) family.remove_suffix(6);
  std::string suffix = "_" + std::string(unit);
  if (!family.ends_with(suffix)) {
    Throw("metric " + std::string(name) + " must end in \"" + suffix + "\" to have unit " +
          std::string(unit));
  }
  std::lock_guard lock(mu_);
  units_[std::string(name)] = std::string(unit);
}

}  // namespace zenwatch
