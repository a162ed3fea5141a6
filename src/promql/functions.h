// The PromQL 2.42 function and aggregation signature tables: what the parser needs to type
// check a call (argument value types, optional/variadic arguments, return type). The
// implementations live in a separate table written alongside the evaluator; both are keyed
// by name so they cannot drift apart silently (the evaluator should assert every entry here
// has an implementation).
//
// Immutable static data; safe to use from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace zw::promql {

// The type of a PromQL expression's value, as Prometheus's parser.ValueType.
enum class ValueType : uint8_t { kNone, kScalar, kVector, kMatrix, kString };

// The name Prometheus uses in error messages: "scalar", "instant vector", "range vector",
// "string" (and "none").
std::string_view DocumentedType(ValueType t);
// The short name ("scalar", "vector", "matrix", "string"), as ValueType.String() in Go.
std::string_view ValueTypeName(ValueType t);

struct FunctionSignature {
  std::string_view name;
  // Declared argument types. With variadic != 0 the last entry is the optional/repeated one.
  std::span<const ValueType> arg_types;
  // 0: exactly arg_types.size() arguments.
  // n > 0: between arg_types.size()-1 and arg_types.size()-1+n arguments.
  // -1: at least arg_types.size()-1 arguments, extra ones of the last type.
  int variadic;
  ValueType return_type;
};

// nullptr if `name` is not a PromQL function. Names are case-sensitive.
const FunctionSignature* FindFunction(std::string_view name);
// Every function, sorted by name.
std::span<const FunctionSignature> AllFunctions();

enum class AggregateOp : uint8_t {
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kQuantile,
  kCountValues,
};

struct AggregatorInfo {
  AggregateOp op;
  std::string_view name;  // lower case, as printed
  // kNone when the aggregation takes no parameter; otherwise the parameter's type
  // (topk/bottomk/quantile: scalar, count_values: string).
  ValueType param_type;
};

// Looks up an aggregation by its (case-insensitive) keyword; nullptr if none.
const AggregatorInfo* FindAggregator(std::string_view name);
const AggregatorInfo& GetAggregator(AggregateOp op);
std::span<const AggregatorInfo> AllAggregators();

}  // namespace zw::promql
