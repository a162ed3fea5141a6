// The Prometheus text exposition format, version 0.0.4.
//
// Per family: "# HELP name text" (omitted when the help is empty; backslash and newline
// escaped), "# TYPE name type", then one line per sample, "name{label="value",...} value",
// label values escaping backslash, double quote and newline. Histograms write name_bucket
// lines with a final le label, cumulative and ending with le="+Inf", then name_sum and
// name_count. Values are the shortest text that parses back to the same double; whole numbers
// below 2^63 are written as integers ("3", never "3e+00"); infinities and NaN as +Inf, -Inf,
// NaN. Samples are written in the order given: Registry::Collect() sorts them.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "zenwatch/snapshot.h"

namespace zenwatch {

inline constexpr std::string_view kTextFormatContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Appends the families to `out`. Thread-safe (a pure function).
void AppendTextFormat(std::span<const MetricFamilySnapshot> families, std::string& out);
std::string TextFormat(std::span<const MetricFamilySnapshot> families);

// Appends `value` as described above: the number format shared by every exposition line.
void AppendSampleValue(double value, std::string& out);

}  // namespace zenwatch
