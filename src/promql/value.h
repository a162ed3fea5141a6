// PromQL result values, as Prometheus 2.42's promql/value.go: scalar, string, instant
// vector (one sample per series at the evaluation time) and matrix (points per series).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/labels.h"
#include "promql/functions.h"

namespace zw::promql {

struct Point {
  int64_t t = 0;
  double v = 0;
};

struct Scalar {
  int64_t t = 0;
  double v = 0;
};

struct String {
  int64_t t = 0;
  std::string v;
};

// One element of an instant vector.
struct VectorSample {
  Labels labels;
  int64_t t = 0;
  double v = 0;
};
using Vector = std::vector<VectorSample>;

struct Series {
  Labels labels;
  std::vector<Point> points;  // ascending by t
};
using Matrix = std::vector<Series>;

using Value = std::variant<Scalar, String, Vector, Matrix>;

ValueType TypeOf(const Value& v);

// What a query returns: the value and the warnings that did not stop it.
struct QueryResult {
  Value value;
  std::vector<std::string> warnings;
};

}  // namespace zw::promql
