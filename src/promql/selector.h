// Series selectors: `metric{label="value", other=~"re.*"}`, `{__name__="m"}` — the part of
// PromQL that the series, labels and label-values APIs take as match[]. Parsed by the one
// PromQL parser (parser.h); this only checks that the query is a plain selector.
#pragma once

#include <string_view>

#include "core/matcher.h"
#include "core/status.h"
#include "promql/lexer.h"  // UnquoteString, for existing callers

namespace zw::promql {

// Errors: InvalidArgument in Prometheus's shape, `1:5: parse error: <what>`. As in
// Prometheus, a selector must contain at least one matcher that does not match the empty
// string, and may name the metric only once. A bare metric name's __name__ matcher comes
// first in the result.
Result<Matchers> ParseSeriesSelector(std::string_view input);

}  // namespace zw::promql
