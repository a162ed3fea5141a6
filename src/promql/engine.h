// The PromQL engine: evaluates a query against a Queryable with Prometheus 2.42 semantics.
//
// A range query is evaluated step by step: the expression is evaluated at start, start+step,
// ..., end, and the instant vectors (or scalars) of each step are gathered into a matrix.
// An instant query is a range query of one step whose result is the step's value itself.
//
// Errors are raised deep in the evaluator and turned into a Status only here, at the
// boundary; warnings (e.g. from storage) travel beside the result in QueryResult.
//
// Limits: at most max_concurrency queries evaluate at once (the others wait in a queue and
// are admitted in arrival order);
// a query that has not finished within `timeout` (queue time included) fails; a query whose
// QueryControl::cancelled flag is raised (e.g. its HTTP client went away) stops. The
// evaluator polls the deadline and the flag per step, per series and every few hundred
// samples, so either takes effect within moments.
//
// Thread-safe: each query has its own evaluator state; the concurrency gate is shared.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
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
  // Longest a query may take, from arrival (queue time included) to result.
  std::chrono::nanoseconds timeout = std::chrono::minutes(2);
  // Queries evaluated at once; the rest wait in arrival order. 0 means no limit.
  size_t max_concurrency = 20;
};

// Per query: how it can be stopped from outside.
struct QueryControl {
  // Raised by another thread to stop the query (it then fails with kCancelled).
  std::shared_ptr<const std::atomic<bool>> cancelled = nullptr;
  // An earlier deadline than the engine's timeout, e.g. the HTTP request's.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// The status codes and messages of a stopped query (Prometheus's ErrQueryTimeout and
// ErrQueryCanceled): kUnavailable "query timed out in <phase>" and kCancelled "query was
// canceled in <phase>", phase being "query queue" or "expression evaluation".
bool IsTimeout(const Status& st);
bool IsCancelled(const Status& st);

class Engine {
 public:
  explicit Engine(EngineOptions options = {}) : options_(options) {}

  // Errors: InvalidArgument for parse errors and evaluation errors (Prometheus's messages),
  // ResourceExhausted when the sample limit is hit.
  // ResourceExhausted when the sample limit is hit; see IsTimeout and IsCancelled.
  Result<QueryResult> Instant(storage::Queryable& q, std::string_view query, int64_t t_ms,
                              const QueryControl& control = {});
  // The value is a Matrix, also when start == end. Errors for step <= 0 or end < start.
  Result<QueryResult> Range(storage::Queryable& q, std::string_view query, int64_t start,
                            int64_t end, int64_t step, const QueryControl& control = {});

  const EngineOptions& options() const { return options_; }
  // Queries evaluating now and waiting for a slot (for tests and self metrics).
  size_t active() const;
  size_t queued() const;

 private:
  Result<QueryResult> Exec(storage::Queryable& q, std::string_view query, int64_t start,
                           int64_t end, int64_t step, bool instant, const QueryControl& control);
  // Waits for an evaluation slot; false with *error set when the query timed out or was
  // cancelled while waiting.
  bool Acquire(const QueryControl& control, std::chrono::steady_clock::time_point deadline,
               Status* error);
  void Release();

  EngineOptions options_;
  mutable std::mutex mu_;
  std::condition_variable slot_freed_;
  size_t active_ = 0;           // guarded by mu_
  std::deque<uint64_t> queue_;  // tickets of waiting queries, in arrival order; mu_
  uint64_t next_ticket_ = 0;    // guarded by mu_
};

}  // namespace zw::promql
