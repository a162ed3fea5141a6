// PromQL result values, as Prometheus 2.42's promql/value.go: scalar, string, instant
// vector (one sample per series at the evaluation time) and matrix (points per series).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/labels.h"
#include "core/sample.h"
#include "promql/functions.h"

namespace zw::promql {

// A matrix point is a storage sample ({t, v}): the same type, so a span of samples an
// iterator holds decoded (storage::SampleIterator::Buffered) is a span of points as it is,
// and range selectors hand their windows to functions without copying.
using Point = Sample;

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

// What a query cost, as Prometheus 2.42's stats=all reports it (promql/stats).
struct QueryStats {
  // Seconds.
  double eval_total = 0;         // preparation + inner evaluation + result sort
  double result_sort = 0;        // sorting the range result's series
  double query_preparation = 0;  // parsing-independent setup: bounds, querier
  double inner_eval = 0;         // evaluating the expression
  double exec_queue = 0;         // waiting for a concurrency slot
  double exec_total = 0;         // queue + evaluation
  // Samples read by selectors, summed over every step (a vector selector counts the one
  // sample it takes per series, a range selector every point in its window), and the most
  // samples held for one step at once.
  uint64_t total_queryable_samples = 0;
  uint64_t peak_samples = 0;
};

// What a query returns: the value and the warnings that did not stop it.
struct QueryResult {
  Value value;
  std::vector<std::string> warnings;
  QueryStats stats;
};

}  // namespace zw::promql
