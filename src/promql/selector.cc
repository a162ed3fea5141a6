#include "promql/selector.h"

#include "promql/parser.h"

namespace zw::promql {

Result<Matchers> ParseSeriesSelector(std::string_view input) {
  auto expr = ParseExpr(input);
  if (!expr.ok()) return expr.status();
  const Expr& e = **expr;
  if (e.kind != ExprKind::kVectorSelector) {
    return Status::InvalidArgument(
        "1:1: parse error: expected a series selector such as metric{label=\"value\"}, got " +
        std::string(DocumentedType(e.Type())) + " expression");
  }
  const auto& vs = e.As<VectorSelector>();
  if (vs.original_offset_ms != 0 || vs.at.set()) {
    return Status::InvalidArgument(
        "1:1: parse error: offset and @ modifiers are not allowed in a series selector");
  }
  return vs.matchers;
}

}  // namespace zw::promql
