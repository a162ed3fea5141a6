// The PromQL engine: evaluates a query against a Queryable with Prometheus 2.42 semantics.
//
// A range query is evaluated step by step: the expression is evaluated at start, start+step,
// ..., end, and the instant vectors (or scalars) of each step are gathered into a matrix.
// An instant query is a range query of one step whose result is the step's value itself.
//
// Errors are raised deep in the evaluator and turned into a Status only here, at the
// boundary; warnings (e.g. from storage) travel beside the result in QueryResult.
//
// Thread-safe: an Engine holds only options; each query has its own evaluator state.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "promql/value.h"
#include "storage/querier.h"

namespace zw::promql {

struct EngineOptions {
  // How far back an instant vector selector looks for a sample.
  int64_t lookback_ms = 5 * 60 * 1000;
  // Samples a query may hold in memory at once (per step).
  uint64_t max_samples = 50'000'000;
  // Subquery step when the query does not give one ([5m:]).
  int64_t default_subquery_step_ms = 60 * 1000;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {}) : options_(options) {}

  // Errors: InvalidArgument for parse errors and evaluation errors (Prometheus's messages),
  // ResourceExhausted when the sample limit is hit.
  Result<QueryResult> Instant(storage::Queryable& q, std::string_view query, int64_t t_ms);
  // The value is a Matrix. REQUIRES: step > 0, end >= start.
  Result<QueryResult> Range(storage::Queryable& q, std::string_view query, int64_t start,
                            int64_t end, int64_t step);

  const EngineOptions& options() const { return options_; }

 private:
  EngineOptions options_;
};

}  // namespace zw::promql
