#include "promql/ast.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/labels.h"
#include "core/time.h"
#include "promql/lexer.h"

namespace zw::promql {

std::string_view BinaryOpString(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEql:
      return "==";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kGtr:
      return ">";
    case BinaryOp::kLss:
      return "<";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "?";
}

bool IsComparison(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEql:
    case BinaryOp::kNeq:
    case BinaryOp::kGtr:
    case BinaryOp::kLss:
    case BinaryOp::kGte:
    case BinaryOp::kLte:
      return true;
    default:
      return false;
  }
}

bool IsSetOperator(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string FormatDuration(int64_t ms) { return FormatDurationMs(ms); }

std::string_view FormatNumber(double v, char (&buf)[kFormatNumberSize]) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest round-tripping digits in fixed notation, as Go's FormatFloat(v, 'f', -1, 64).
  auto res = std::to_chars(buf, buf + kFormatNumberSize, v, std::chars_format::fixed);
  return std::string_view(buf, static_cast<size_t>(res.ptr - buf));
}

std::string FormatNumber(double v) {
  char buf[kFormatNumberSize];
  return std::string(FormatNumber(v, buf));
}

namespace {

std::string JoinLabels(const std::vector<std::string>& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ", ";
    out += labels[i];
  }
  return out;
}

// " @ 123.456" / " @ start()" followed by " offset 5m", the suffix that selectors and
// subqueries share.
std::string Modifiers(const AtModifier& at, int64_t offset_ms) {
  std::string out;
  switch (at.kind) {
    case AtKind::kNone:
      break;
    case AtKind::kStart:
      out += " @ start()";
      break;
    case AtKind::kEnd:
      out += " @ end()";
      break;
    case AtKind::kTimestamp: {
      // %.3f of the seconds, computed exactly from the milliseconds.
      int64_t ms = at.timestamp_ms;
      uint64_t mag = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
      out += fmt::format(" @ {}{}.{:03d}", ms < 0 ? "-" : "", mag / 1000, mag % 1000);
      break;
    }
  }
  if (offset_ms > 0) {
    out += " offset " + FormatDuration(offset_ms);
  } else if (offset_ms < 0) {
    out += " offset -" + FormatDuration(-offset_ms);
  }
  return out;
}

std::string MatcherString(const Matcher& m) {
  return m.name() + std::string(MatchTypeString(m.type())) + QuoteString(m.value());
}

// The selector without its modifiers: name{sorted matchers}.
std::string SelectorBody(const VectorSelector& vs) {
  std::vector<std::string> parts;
  for (const Matcher& m : vs.matchers) {
    if (m.name() == kMetricNameLabel && m.type() == MatchType::kEqual && m.value() == vs.name &&
        !vs.name.empty()) {
      continue;
    }
    parts.push_back(MatcherString(m));
  }
  if (parts.empty()) return vs.name;
  std::sort(parts.begin(), parts.end());
  std::string out = vs.name + "{";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += ",";
    out += parts[i];
  }
  return out + "}";
}

std::string VectorMatchingString(const BinaryExpr& b) {
  if (!b.matching) return "";
  const VectorMatching& vm = *b.matching;
  bool grouped = vm.card == Cardinality::kManyToOne || vm.card == Cardinality::kOneToMany;
  // Prometheus prints nothing for `ignoring ()`, which would also drop a group_x modifier;
  // we keep the modifiers whenever they change the meaning.
  if (vm.matching_labels.empty() && !vm.on && !grouped) return "";
  std::string out =
      fmt::format(" {} ({})", vm.on ? "on" : "ignoring", JoinLabels(vm.matching_labels));
  if (grouped) {
    out += fmt::format(" group_{} ({})", vm.card == Cardinality::kManyToOne ? "left" : "right",
                       JoinLabels(vm.include));
  }
  return out;
}

}  // namespace

std::string ToString(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kNumberLiteral:
      return FormatNumber(e.As<NumberLiteral>().value);
    case ExprKind::kStringLiteral:
      return QuoteString(e.As<StringLiteral>().value);
    case ExprKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      return SelectorBody(vs) + Modifiers(vs.at, vs.original_offset_ms);
    }
    case ExprKind::kMatrixSelector: {
      const auto& m = e.As<MatrixSelector>();
      const VectorSelector& vs = m.vector();
      return fmt::format("{}[{}]{}", SelectorBody(vs), FormatDuration(m.range_ms),
                         Modifiers(vs.at, vs.original_offset_ms));
    }
    case ExprKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      return fmt::format("{}[{}:{}]{}", ToString(*s.expr), FormatDuration(s.range_ms),
                         s.step_ms == 0 ? "" : FormatDuration(s.step_ms),
                         Modifiers(s.at, s.original_offset_ms));
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      std::string out = std::string(c.func->name) + "(";
      for (size_t i = 0; i < c.args.size(); ++i) {
        if (i) out += ", ";
        out += ToString(*c.args[i]);
      }
      return out + ")";
    }
    case ExprKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      std::string out(GetAggregator(a.op).name);
      if (a.without) {
        out += fmt::format(" without ({}) ", JoinLabels(a.grouping));
      } else if (!a.grouping.empty()) {
        out += fmt::format(" by ({}) ", JoinLabels(a.grouping));
      }
      out += "(";
      if (a.param) out += ToString(*a.param) + ", ";
      return out + ToString(*a.expr) + ")";
    }
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      std::string lhs = ToString(*b.lhs);
      // A signed number before `^` needs parentheses: `-2 ^ x` reads as -(2 ^ x).
      if (b.op == BinaryOp::kPow && b.lhs->kind == ExprKind::kNumberLiteral && !lhs.empty() &&
          (lhs[0] == '-' || lhs[0] == '+')) {
        lhs = "(" + lhs + ")";
      }
      return fmt::format("{} {}{}{} {}", lhs, BinaryOpString(b.op), b.return_bool ? " bool" : "",
                         VectorMatchingString(b), ToString(*b.rhs));
    }
    case ExprKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      return (u.negate ? "-" : "+") + ToString(*u.expr);
    }
    case ExprKind::kParen:
      return "(" + ToString(*e.As<ParenExpr>().expr) + ")";
  }
  return "";
}

}  // namespace zw::promql
