// Numbers in the text exposition formats: sample values, timestamps, and the canonical
// spelling of histogram `le` and summary `quantile` label values.
//
// Floats follow Go's strconv.ParseFloat, which is what Prometheus uses, minus what
// Prometheus's text parsers reject up front: hexadecimal floats and digit separators
// (any 'p', 'P' or '_' is refused). Accepted: decimal with optional sign, fraction and
// exponent ("1", "-2.5", ".5", "5.", "1e-3", "1E+21"), and case-insensitively "Inf",
// "Infinity", "NaN" ("+Inf", "-inf"; NaN takes no sign). Out of range ("1e400") is an error;
// underflow rounds to zero or a denormal, as in Go.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zw::ingest {

// Returns nullopt when `s` is not a float by the rules above.
std::optional<double> ParseExpositionFloat(std::string_view s);

// Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, no overflow.
std::optional<int64_t> ParseExpositionInt(std::string_view s);

// Seconds (OpenMetrics timestamps, `_created` values) to milliseconds, rounded to the
// nearest millisecond. nullopt for NaN, infinities and values outside int64 milliseconds.
std::optional<int64_t> SecondsToMillis(double seconds);

// Appends the canonical spelling Prometheus 3 gives `le`/`quantile` values (Go's %v of the
// float, with ".0" added when it has neither '.' nor an exponent): "1" -> "1.0",
// "0.50" -> "0.5", "1e3" -> "1000.0", "+inf" -> "+Inf", 1e21 -> "1e+21".
void AppendCanonicalFloat(double v, std::string* out);

}  // namespace zw::ingest
