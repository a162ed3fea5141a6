// The kinds of metric the Prometheus data model knows, plus their text names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zw {

// Stored in the WAL: do not change the numeric values.
enum class MetricType : uint8_t {
  kUnknown = 0,
  kCounter = 1,
  kGauge = 2,
  kHistogram = 3,
  kSummary = 4,
  kGaugeHistogram = 5,
  kInfo = 6,
  kStateSet = 7,
};

std::string_view MetricTypeName(MetricType t);  // "counter", "gauge", ... ("unknown")
std::optional<MetricType> ParseMetricType(std::string_view s);

// What Prometheus's /api/v1/metadata reports for a metric family.
struct MetricMetadata {
  MetricType type = MetricType::kUnknown;
  std::string help;
  std::string unit;
  friend bool operator==(const MetricMetadata&, const MetricMetadata&) = default;
};

}  // namespace zw
