// Parameters of the Prometheus HTTP API: timestamps, durations and match[] selectors.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "core/matcher.h"
#include "core/status.h"

namespace zw::api {

// A Prometheus API timestamp: Unix seconds with optional fraction ("1700000000.5") or
// RFC 3339 ("2023-11-14T22:13:20.5Z", "...+01:00"). Returns milliseconds.
Result<int64_t> ParseTimestampMs(std::string_view s);
// The request's parameter `name` as a timestamp, or `def` when absent. Errors name the
// parameter: invalid parameter "start": cannot parse "x" to a valid timestamp.
Result<int64_t> TimeParam(const HttpRequest& req, std::string_view name, int64_t def);
// Every match[] selector of the request, parsed. Errors name the selector.
Result<std::vector<Matchers>> MatchParams(const HttpRequest& req);

}  // namespace zw::api
