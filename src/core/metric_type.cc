#include "core/metric_type.h"

#include <array>

namespace zw {

namespace {
constexpr std::array<std::string_view, 8> kNames = {
    "unknown", "counter", "gauge", "histogram", "summary", "gaugehistogram", "info", "stateset"};
}

std::string_view MetricTypeName(MetricType t) {
  auto i = static_cast<size_t>(t);
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::optional<MetricType> ParseMetricType(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == s) return static_cast<MetricType>(i);
  }
  return std::nullopt;
}

}  // namespace zw
