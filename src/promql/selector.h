// Series selectors: `metric{label="value", other=~"re.*"}`, `{__name__="m"}` — the part of
// PromQL that the series, labels and label-values APIs take as match[]. The full PromQL
// parser builds on the same lexical rules.
#pragma once

#include <string_view>

#include "core/matcher.h"
#include "core/status.h"

namespace zw::promql {

// Errors: InvalidArgument with the 1-based column and what was expected, e.g.
// `1:9: parse error: unexpected character '!' in label matcher`. A selector must contain
// at least one matcher that does not match the empty string, as in Prometheus.
Result<Matchers> ParseSeriesSelector(std::string_view input);

// Unquotes a PromQL string literal body (between the quotes) with Go escape rules.
Result<std::string> UnquoteString(std::string_view quoted);

}  // namespace zw::promql
