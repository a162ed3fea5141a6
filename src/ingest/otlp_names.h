// OpenTelemetry names to Prometheus names, as Prometheus's OTLP receiver does by default
// (translation strategy UnderscoreEscapingWithSuffixes), following the OpenTelemetry
// "Prometheus and OpenMetrics Compatibility" specification. docs/otlp.md has the table.
#pragma once

#include <string>
#include <string_view>

namespace zw::ingest::otlp {

enum class NameKind {
  kCounter,  // monotonic sum: "_total" appended
  kGauge,    // gauge or non-monotonic sum: unit "1" becomes "_ratio"
  kOther,    // histogram, summary: unit suffix only
};

// The metric name: the name's runs of [a-zA-Z0-9:] joined by single underscores (so every
// other character, and runs of underscores, become one "_", with none leading or
// trailing), then the unit's words unless the name already ends with them ("By/s" ->
// "_bytes_per_second"; annotations in braces dropped), then "_total" for counters (a
// "total" word already in the name moves to the end). A leading digit gets "_" in front.
// Empty when nothing valid is left.
std::string MetricName(std::string_view name, std::string_view unit, NameKind kind);

// The Prometheus unit word(s) of an OpenTelemetry (UCUM) unit: "s" -> "seconds",
// "By/s" -> "bytes_per_second", "{request}" -> "", "1" -> "" (see MetricName for "ratio").
std::string UnitWords(std::string_view unit);

// A label name from an attribute key: every character but [a-zA-Z0-9_] becomes "_"
// (one per UTF-8 character); a leading digit gets "key_" in front and a leading "_" gets
// "key" (so no attribute makes a reserved "__" label). Empty for an empty key.
std::string LabelName(std::string_view key);

}  // namespace zw::ingest::otlp
