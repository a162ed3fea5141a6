// Validation of metric names, label names and label values by Prometheus's rules.
#pragma once

#include <string_view>

#include "core/labels.h"
#include "core/status.h"

namespace zw {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view s);
// [a-zA-Z_][a-zA-Z0-9_]*
bool IsValidLabelName(std::string_view s);
// Names starting with "__" are reserved for internal use (e.g. __name__).
inline bool IsReservedLabelName(std::string_view s) { return s.starts_with("__"); }
// Label values may be any valid UTF-8.
bool IsValidUtf8(std::string_view s);
// Length of the well-formed UTF-8 sequence that starts at s[i], or 0 if it is not one
// (stray continuation byte, truncated, overlong, surrogate, past U+10FFFF).
// REQUIRES: i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// A series' labels are valid when non-empty, __name__ is a valid metric name, every other
// name is a valid label name and every value valid UTF-8. The error names the culprit.
Status ValidateSeriesLabels(const Labels& labels);

}  // namespace zw
