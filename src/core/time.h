// Wall-clock time in milliseconds and Prometheus duration strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace zw {

int64_t NowMs();

// Prometheus durations: a sequence of <number><unit> with units y, w, d, h, m, s, ms in
// that order, e.g. "1h30m", "90s", "5m". Errors name the offending text.
Result<int64_t> ParseDurationMs(std::string_view s);
// The inverse: the shortest such string ("1h30m"; "0s" for zero).
std::string FormatDurationMs(int64_t ms);

}  // namespace zw
