#include "promql/functions.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace zw::promql {
namespace {

constexpr ValueType S = ValueType::kScalar;
constexpr ValueType V = ValueType::kVector;
constexpr ValueType M = ValueType::kMatrix;
constexpr ValueType T = ValueType::kString;

// Argument lists shared between signatures.
constexpr std::array<ValueType, 0> kNoArgs{};
constexpr std::array kV{V};
constexpr std::array kM{M};
constexpr std::array kS{S};
constexpr std::array kVS{V, S};
constexpr std::array kVSS{V, S, S};
constexpr std::array kMS{M, S};
constexpr std::array kMSS{M, S, S};
constexpr std::array kSM{S, M};
constexpr std::array kSV{S, V};
constexpr std::array kSSV{S, S, V};
constexpr std::array kVTTT{V, T, T, T};
constexpr std::array kVTTTT{V, T, T, T, T};

// Prometheus 2.42 promql/parser/functions.go, sorted by name.
constexpr std::array<FunctionSignature, 70> kFunctions{{
    {"abs", kV, 0, V},
    {"absent", kV, 0, V},
    {"absent_over_time", kM, 0, V},
    {"acos", kV, 0, V},
    {"acosh", kV, 0, V},
    {"asin", kV, 0, V},
    {"asinh", kV, 0, V},
    {"atan", kV, 0, V},
    {"atanh", kV, 0, V},
    {"avg_over_time", kM, 0, V},
    {"ceil", kV, 0, V},
    {"changes", kM, 0, V},
    {"clamp", kVSS, 0, V},
    {"clamp_max", kVS, 0, V},
    {"clamp_min", kVS, 0, V},
    {"cos", kV, 0, V},
    {"cosh", kV, 0, V},
    {"count_over_time", kM, 0, V},
    {"day_of_month", kV, 1, V},
    {"day_of_week", kV, 1, V},
    {"day_of_year", kV, 1, V},
    {"days_in_month", kV, 1, V},
    {"deg", kV, 0, V},
    {"delta", kM, 0, V},
    {"deriv", kM, 0, V},
    {"exp", kV, 0, V},
    {"floor", kV, 0, V},
    {"histogram_count", kV, 0, V},
    {"histogram_fraction", kSSV, 0, V},
    {"histogram_quantile", kSV, 0, V},
    {"histogram_sum", kV, 0, V},
    {"holt_winters", kMSS, 0, V},
    {"hour", kV, 1, V},
    {"idelta", kM, 0, V},
    {"increase", kM, 0, V},
    {"irate", kM, 0, V},
    {"label_join", kVTTT, -1, V},
    {"label_replace", kVTTTT, 0, V},
    {"last_over_time", kM, 0, V},
    {"ln", kV, 0, V},
    {"log10", kV, 0, V},
    {"log2", kV, 0, V},
    {"max_over_time", kM, 0, V},
    {"min_over_time", kM, 0, V},
    {"minute", kV, 1, V},
    {"month", kV, 1, V},
    {"pi", kNoArgs, 0, S},
    {"predict_linear", kMS, 0, V},
    {"present_over_time", kM, 0, V},
    {"quantile_over_time", kSM, 0, V},
    {"rad", kV, 0, V},
    {"rate", kM, 0, V},
    {"resets", kM, 0, V},
    {"round", kVS, 1, V},
    {"scalar", kV, 0, S},
    {"sgn", kV, 0, V},
    {"sin", kV, 0, V},
    {"sinh", kV, 0, V},
    {"sort", kV, 0, V},
    {"sort_desc", kV, 0, V},
    {"sqrt", kV, 0, V},
    {"stddev_over_time", kM, 0, V},
    {"stdvar_over_time", kM, 0, V},
    {"sum_over_time", kM, 0, V},
    {"tan", kV, 0, V},
    {"tanh", kV, 0, V},
    {"time", kNoArgs, 0, S},
    {"timestamp", kV, 0, V},
    {"vector", kS, 0, V},
    {"year", kV, 1, V},
}};

static_assert(std::is_sorted(kFunctions.begin(), kFunctions.end(),
                             [](const FunctionSignature& a, const FunctionSignature& b) {
                               return a.name < b.name;
                             }),
              "FindFunction binary-searches kFunctions");

constexpr std::array<AggregatorInfo, 12> kAggregators{{
    {AggregateOp::kSum, "sum", ValueType::kNone},
    {AggregateOp::kAvg, "avg", ValueType::kNone},
    {AggregateOp::kCount, "count", ValueType::kNone},
    {AggregateOp::kMin, "min", ValueType::kNone},
    {AggregateOp::kMax, "max", ValueType::kNone},
    {AggregateOp::kGroup, "group", ValueType::kNone},
    {AggregateOp::kStddev, "stddev", ValueType::kNone},
    {AggregateOp::kStdvar, "stdvar", ValueType::kNone},
    {AggregateOp::kTopk, "topk", S},
    {AggregateOp::kBottomk, "bottomk", S},
    {AggregateOp::kQuantile, "quantile", S},
    {AggregateOp::kCountValues, "count_values", T},
}};

static_assert(kAggregators[static_cast<size_t>(AggregateOp::kCountValues)].op ==
                  AggregateOp::kCountValues,
              "GetAggregator indexes kAggregators by AggregateOp");

}  // namespace

std::string_view DocumentedType(ValueType t) {
  switch (t) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    case ValueType::kString:
      return "string";
    case ValueType::kNone:
      break;
  }
  return "none";
}

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
    case ValueType::kNone:
      break;
  }
  return "none";
}

const FunctionSignature* FindFunction(std::string_view name) {
  const auto& t = kFunctions;
  auto it =
      std::lower_bound(t.begin(), t.end(), name,
                       [](const FunctionSignature& f, std::string_view n) { return f.name < n; });
  if (it == t.end() || it->name != name) return nullptr;
  return &*it;
}

std::span<const FunctionSignature> AllFunctions() { return kFunctions; }

const AggregatorInfo* FindAggregator(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const AggregatorInfo& a : kAggregators) {
    if (a.name == lower) return &a;
  }
  return nullptr;
}

const AggregatorInfo& GetAggregator(AggregateOp op) {
  return kAggregators[static_cast<size_t>(op)];
}

std::span<const AggregatorInfo> AllAggregators() { return kAggregators; }

}  // namespace zw::promql
