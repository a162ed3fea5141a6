// The OpenMetrics 1.0 text exposition format, and choosing between it and Prometheus text
// 0.0.4 from a scraper's Accept header.
//
// Differences from text 0.0.4 (text_format.h), per the OpenMetrics specification:
//   - a counter's family is its name without "_total" and its sample is always
//     "<family>_total" (a counter registered as "jobs" is exposed as "jobs_total");
//     untyped families are "unknown";
//   - "# UNIT <family> <unit>" after TYPE when the family has a unit (Registry::SetUnit);
//   - HELP escapes double quotes too; bucket bounds are canonical floats ("1.0", "+Inf");
//   - the exposition ends with "# EOF\n". No _created samples and no exemplars are written.
// Samples are written in the order given: Registry::Collect() sorts them.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "zenwatch/snapshot.h"

namespace zenwatch {

inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

enum class ExpositionFormat { kPrometheusText, kOpenMetrics };

// Thread-safe (pure functions).
void AppendOpenMetrics(std::span<const MetricFamilySnapshot> families, std::string& out);
std::string OpenMetrics(std::span<const MetricFamilySnapshot> families);

// OpenMetrics when `accept` lists application/openmetrics-text with a q above that of
// text/plain (and above 0), else Prometheus text (also for an empty or unparsable header).
ExpositionFormat NegotiateExpositionFormat(std::string_view accept);
std::string_view ContentType(ExpositionFormat format);

}  // namespace zenwatch
