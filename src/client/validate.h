// Name and value rules of the Prometheus data model, and the exceptions that report breaking
// them at registration time. Internal to the client library.
#pragma once

#include <string_view>

namespace zenwatch::internal {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*
bool IsValidLabelName(std::string_view name);
bool IsValidUtf8(std::string_view s);

// Throw std::invalid_argument with the offending name (and metric) in the message.
void CheckMetricName(std::string_view metric);
// Also rejects names starting with "__", which Prometheus reserves.
void CheckLabelName(std::string_view metric, std::string_view label);
void CheckLabelValue(std::string_view metric, std::string_view label, std::string_view value);

}  // namespace zenwatch::internal
