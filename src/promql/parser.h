// The PromQL parser: query text to a type-checked AST (ast.h), with Prometheus 2.42's
// grammar, precedence and error messages.
//
// Precedence, lowest to highest: `or`; `and` `unless`; `==` `!=` `<=` `<` `>=` `>`; `+` `-`;
// `*` `/` `%` `atan2`; unary `+`/`-`; `^` (right-associative, so -2^2 is -(2^2)); then the
// postfix `[range]`, `[range:step]`, `offset` and `@`, which bind to the closest primary.
// All binary operators except `^` are left-associative.
//
// Thread-safe: no shared state.
#pragma once

#include <memory>
#include <string_view>

#include "core/status.h"
#include "promql/ast.h"

namespace zw::promql {

// Errors: InvalidArgument shaped like Prometheus's, `<line>:<col>: parse error: <message>`
// with 1-based line and column (in bytes), e.g.
// `1:8: parse error: unknown function with name "foo"`. Only the first error is reported.
Result<std::unique_ptr<Expr>> ParseExpr(std::string_view input);

}  // namespace zw::promql
