// The PromQL abstract syntax tree, shaped like Prometheus 2.42's promql/parser/ast.go.
//
// Ownership: every node owns its children through std::unique_ptr<Expr>; a parsed query is
// one std::unique_ptr<Expr>. Nodes are plain data, immutable after parsing by convention,
// and safe to read from several threads.
//
// Walking the tree (for the evaluator): switch on `expr.kind` and downcast with As<T>():
//
//   switch (e.kind) {
//     case ExprKind::kNumberLiteral: return Scalar(e.As<NumberLiteral>().value);
//     case ExprKind::kBinary: { const auto& b = e.As<BinaryExpr>(); ... Eval(*b.lhs) ... }
//     ...
//   }
//
// Invariants established by ParseExpr (an evaluator may rely on them):
//  - Every node's Type() is what its context requires: call arguments match the function
//    signature, aggregation inputs are instant vectors, binary operands are scalars or
//    instant vectors, a subquery's inner expression is an instant vector.
//  - MatrixSelector::selector is always a VectorSelector, and the range's offset and @ are
//    stored on it: `foo[5m] offset 1m` sets the inner selector's original_offset_ms.
//  - BinaryExpr::matching is set if and only if both operands are instant vectors; for
//    and/or/unless its cardinality is many-to-many.
//  - A unary minus applied directly to a number is folded into the NumberLiteral (`-1` is
//    NumberLiteral(-1)), as Prometheus does.
//  - VectorSelector::matchers holds every matcher, including `__name__="<name>"` for a bare
//    metric name (first), and at least one matcher does not match the empty string.
//  - Durations and timestamps are in milliseconds. `offset` may be negative.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/matcher.h"
#include "promql/functions.h"

namespace zw::promql {

// Byte offsets into the query text: [start, end).
struct PosRange {
  uint32_t start = 0;
  uint32_t end = 0;
};

enum class ExprKind : uint8_t {
  kNumberLiteral,
  kStringLiteral,
  kVectorSelector,
  kMatrixSelector,
  kSubquery,
  kCall,
  kAggregate,
  kBinary,
  kUnary,
  kParen,
};

struct Expr {
  explicit Expr(ExprKind k) : kind(k) {}
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  // The type of value the expression evaluates to.
  virtual ValueType Type() const = 0;

  // REQUIRES: kind == T::kKind.
  template <typename T>
  const T& As() const {
    return static_cast<const T&>(*this);
  }
  template <typename T>
  T& As() {
    return static_cast<T&>(*this);
  }

  const ExprKind kind;
  PosRange pos;
};

using ExprPtr = std::unique_ptr<Expr>;

// The @ modifier: absent, a fixed timestamp, or the query's start()/end().
enum class AtKind : uint8_t { kNone, kTimestamp, kStart, kEnd };

struct AtModifier {
  AtKind kind = AtKind::kNone;
  int64_t timestamp_ms = 0;  // meaningful for kTimestamp only
  bool set() const { return kind != AtKind::kNone; }
};

struct NumberLiteral final : Expr {
  static constexpr ExprKind kKind = ExprKind::kNumberLiteral;
  NumberLiteral() : Expr(kKind) {}
  ValueType Type() const override { return ValueType::kScalar; }
  double value = 0;
};

struct StringLiteral final : Expr {
  static constexpr ExprKind kKind = ExprKind::kStringLiteral;
  StringLiteral() : Expr(kKind) {}
  ValueType Type() const override { return ValueType::kString; }
  std::string value;  // unquoted
};

struct VectorSelector final : Expr {
  static constexpr ExprKind kKind = ExprKind::kVectorSelector;
  VectorSelector() : Expr(kKind) {}
  ValueType Type() const override { return ValueType::kVector; }
  std::string name;                // the bare metric name, "" for `{...}` selectors
  Matchers matchers;               // includes __name__ (see the invariants above)
  int64_t original_offset_ms = 0;  // as written; negative for `offset -5m`
  AtModifier at;
};

struct MatrixSelector final : Expr {
  static constexpr ExprKind kKind = ExprKind::kMatrixSelector;
  MatrixSelector() : Expr(kKind) {}
  ValueType Type() const override { return ValueType::kMatrix; }
  const VectorSelector& vector() const { return selector->As<VectorSelector>(); }
  ExprPtr selector;  // always a VectorSelector
  int64_t range_ms = 0;
};

struct SubqueryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kSubquery;
  SubqueryExpr() : Expr(kKind) {}
  ValueType Type() const override { return ValueType::kMatrix; }
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;  // 0: the engine's default evaluation interval
  int64_t original_offset_ms = 0;
  AtModifier at;
};

struct Call final : Expr {
  static constexpr ExprKind kKind = ExprKind::kCall;
  Call() : Expr(kKind) {}
  ValueType Type() const override { return func->return_type; }
  const FunctionSignature* func = nullptr;  // never null after parsing
  std::vector<ExprPtr> args;
};

struct AggregateExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kAggregate;
  AggregateExpr() : Expr(kKind) {}
  ValueType Type() const override { return ValueType::kVector; }
  AggregateOp op = AggregateOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // topk/bottomk/quantile: scalar; count_values: string; else null
  std::vector<std::string> grouping;  // by (...) or without (...) labels
  bool without = false;
};

enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEql,  // ==
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte,
  kAnd,
  kOr,
  kUnless,
};

std::string_view BinaryOpString(BinaryOp op);  // "+", "==", "and", "atan2", ...
bool IsComparison(BinaryOp op);
bool IsSetOperator(BinaryOp op);  // and, or, unless

enum class Cardinality : uint8_t { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  // on (...) labels when `on`, else ignoring (...) labels.
  std::vector<std::string> matching_labels;
  bool on = false;
  // group_left/group_right (...) labels to copy from the "one" side.
  std::vector<std::string> include;
};

struct BinaryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kBinary;
  BinaryExpr() : Expr(kKind) {}
  ValueType Type() const override {
    return lhs->Type() == ValueType::kScalar && rhs->Type() == ValueType::kScalar
               ? ValueType::kScalar
               : ValueType::kVector;
  }
  BinaryOp op = BinaryOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;                // comparison with the `bool` modifier
  std::optional<VectorMatching> matching;  // set iff both sides are instant vectors
  uint32_t op_pos = 0;                     // where the operator is, for error messages
};

struct UnaryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kUnary;
  UnaryExpr() : Expr(kKind) {}
  ValueType Type() const override { return expr->Type(); }
  bool negate = false;  // '-' if true, '+' otherwise
  ExprPtr expr;
};

struct ParenExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kParen;
  ParenExpr() : Expr(kKind) {}
  ValueType Type() const override { return expr->Type(); }
  ExprPtr expr;
};

// Canonical PromQL for the expression, as Prometheus's String(): `sum by (job) (rate(
// http_requests_total{job="api"}[5m] offset 1m))`. Matchers are sorted, numbers use the
// shortest decimal form, durations the largest units. ParseExpr(ToString(e)) yields a tree
// that prints identically.
std::string ToString(const Expr& e);

// Prometheus's duration notation for milliseconds ("1h30m", "0s"); negative allowed.
std::string FormatDuration(int64_t ms);
// Prometheus's shortest 'f' formatting of a float: "1.5", "100000", "NaN", "+Inf", "-Inf".
std::string FormatNumber(double v);
// The same into `buf`, without allocating; returns the characters written.
inline constexpr size_t kFormatNumberSize = 400;  // the largest double needs 309 digits
std::string_view FormatNumber(double v, char (&buf)[kFormatNumberSize]);

}  // namespace zw::promql
