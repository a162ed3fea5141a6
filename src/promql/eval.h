// Internal to the engine: the per-query evaluator shared by eval.cc (selectors, dispatch,
// subqueries), binary.cc (operators), aggregate.cc (aggregations) and funcs.cc (the
// function implementation table). Not a public API.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "promql/ast.h"
#include "promql/engine.h"
#include "promql/value.h"
#include "storage/querier.h"

namespace zw::promql {

// An evaluation error: thrown deep in the evaluator, caught at the Engine boundary.
class EvalError : public std::runtime_error {
 public:
  EvalError(StatusCode code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  StatusCode code() const { return code_; }

 private:
  StatusCode code_;
};

template <typename... Args>
[[noreturn]] void Fail(fmt::format_string<Args...> f, Args&&... args) {
  throw EvalError(StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
}

// Labels without __name__.
Labels DropMetricName(const Labels& l);
// Throws "vector cannot contain metrics with the same labelset" on duplicates.
void CheckNoDuplicateLabelsets(const Vector& v);
// Go's math.Max / math.Min (NaN wins).
double GoMax(double a, double b);
double GoMin(double a, double b);
bool IsValidLabelName(std::string_view name);
const Expr& Unparen(const Expr& e);
// The labels absent()/absent_over_time() give their output (equality matchers of a selector).
Labels AbsentLabels(const Expr& arg);

// The arguments a matrix function sees for one series at one step.
struct MatrixCall {
  std::span<const Point> points;  // within [range_start, range_end], at least one
  int64_t ts = 0;                 // evaluation time (after @)
  int64_t range_start = 0;
  int64_t range_end = 0;
  int64_t range_ms = 0;
  std::span<const double> scalars;  // the other (scalar) arguments, in order
  // Set when the caller knows no point's value is below its predecessor's (no counter
  // reset), so rate and increase can skip looking for one.
  bool no_drops = false;
  // rate/increase/delta's extrapolation for the last window shape seen (the sample times
  // relative to the range and the sample count decide it): evenly spaced samples repeat
  // the shape from step to step and series to series, so its divisions are done once.
  // A MatrixCall serves one call of one function, and range_end - range_start is always
  // range_ms: the two gaps and the count are the whole key.
  struct Extrapolation {
    int64_t start_gap_ms = -1, end_gap_ms = -1;
    size_t n = 0;
    double to_start = 0, to_end = 0, sampled = 0, avg_between = 0, factor = 0;
  };
  mutable Extrapolation extrapolation;
};

class Evaluator;

// Aggregations StepAggregate computes (those without a parameter or a per-step heap).
bool IsSteppedAggregation(AggregateOp op);
// Whether range evaluation of `c` streams its matrix argument `i` (a matrix selector without
// @, the other arguments scalars): Evaluator::StreamMatrixCall.
bool StreamsMatrixArg(const Call& c, size_t i);
// Whether the series StreamMatrixCallEach hands out for `c` have distinct labels, so need no
// merging: the function keeps the name, or the selector names a single metric.
bool StreamedSeriesStayDistinct(const Call& c, size_t i);

// The implementation table (funcs.cc): one entry per signature in functions.h.
struct FunctionImpl {
  std::string_view name;
  // For functions taking a range vector: the value for one series, or nullopt for none.
  std::optional<double> (*matrix)(const MatrixCall& c) = nullptr;
  // For the others: the result from the evaluated arguments.
  Value (*vector)(std::span<Value> args, const Call& call, Evaluator& ev, int64_t ts) = nullptr;
};
const FunctionImpl* FindFunctionImpl(std::string_view name);
// Every signature has an implementation (checked by a test).
bool AllFunctionsImplemented();

struct StoredSeries {
  Labels labels;
  std::vector<Point> points;  // stale markers kept
};

// A node's value at every step of a range query (range_eval.cc): a scalar is one series with
// no labels and a point per step; a vector, the series it has at some step, each with its
// points in step order.
struct Stepped {
  bool scalar = false;
  Matrix m;
};

class Evaluator {
 public:
  Evaluator(const EngineOptions& opts, storage::Querier& querier, int64_t start, int64_t end,
            std::vector<std::string>& warnings, int64_t step = 1)
      : opts_(opts),
        querier_(querier),
        start_(start),
        end_(end),
        step_(step),
        warnings_(warnings) {}

  // Stop with "query timed out" after `deadline` and "query was canceled" once
  // control.cancelled is raised. Checked by Interrupted() and, cheaply, by Poll().
  void SetLimits(const QueryControl& control, std::chrono::steady_clock::time_point deadline) {
    cancelled_ = control.cancelled;
    deadline_ = deadline;
  }
  // Throws if the query was cancelled or its deadline passed.
  void CheckInterrupt();
  // CheckInterrupt every 256th call: for inner loops.
  void Poll() {
    if ((++polls_ & 255) == 0) CheckInterrupt();
  }
  // Poll() for `n` units of work at once.
  void Poll(size_t n) {
    if (CountPolls(polls_, n)) CheckInterrupt();
  }
  // Adds `n` units of work to the count `polls`; true when CheckInterrupt is due. Poll(n)
  // is CountPolls on polls_; an inner loop may count in a local and store it back.
  static bool CountPolls(uint32_t& polls, size_t n) {
    const uint32_t before = polls;
    polls += static_cast<uint32_t>(n);
    return (before >> 8) != (polls >> 8) || n > 255;
  }

  // The value of `e` at time `ts`.
  Value Eval(const Expr& e, int64_t ts);

  // The value of `e` (a vector or scalar expression) at every step from start to end
  // (range_eval.cc). Selectors and functions of range selectors are streamed a series at a
  // time, holding only their output; operators, aggregations and the other functions run
  // step by step over their operands' stepped values; what cannot be streamed (subqueries,
  // `@`) is evaluated step by step as by Eval.
  Stepped RangeEval(const Expr& e);
  // Samples held in stepped values now, and the most held at once.
  uint64_t held_samples() const { return held_; }
  // Evaluates to a vector or throws (for arguments known to be instant vectors).
  Vector EvalVector(const Expr& e, int64_t ts);
  double EvalScalar(const Expr& e, int64_t ts);

  // binary.cc
  Value EvalBinary(const BinaryExpr& b, int64_t ts);
  // aggregate.cc
  Vector EvalAggregate(const AggregateExpr& a, int64_t ts);

  // The samples of a vector selector at ts; with keep_sample_ts the samples carry their
  // own timestamps (for timestamp()).
  Vector SelectVector(const VectorSelector& vs, int64_t ts, bool keep_sample_ts);

  const EngineOptions& options() const { return opts_; }
  void AddSamples(uint64_t n);
  void BeginStep() { step_samples_ = 0; }
  // Samples read by selectors so far (a subquery counts the points it produces, as in
  // Prometheus 2.42), and the most held for one step.
  uint64_t queryable_samples() const { return queryable_samples_; }
  uint64_t peak_samples() const { return peak_samples_; }
  // What each selector will read, passed to Select (computed with the querier's range).
  void SetHints(std::unordered_map<const VectorSelector*, storage::SelectHints> hints) {
    hints_ = std::move(hints);
  }

 private:
  Value EvalCall(const Call& c, int64_t ts);
  Value EvalMatrixCall(const Call& c, size_t matrix_arg, int64_t ts);
  Matrix SelectMatrix(const MatrixSelector& ms, int64_t ts);
  Matrix EvalSubquery(const SubqueryExpr& sq, int64_t ts);
  int64_t AtTime(const AtModifier& at, int64_t ts) const;
  const std::vector<StoredSeries>& Load(const VectorSelector& vs);
  // range_eval.cc
  size_t NumSteps() const { return static_cast<size_t>((end_ - start_) / step_) + 1; }
  int64_t StepTime(size_t i) const { return start_ + static_cast<int64_t>(i) * step_; }
  Stepped StreamSelector(const VectorSelector& vs);
  // StreamSelector handing each series to `f` as it is read instead of keeping it (the points
  // still count as held, as when kept; the caller unholds them). `f` may move from it.
  void StreamSelectorEach(const VectorSelector& vs, const std::function<void(Series&)>& f);
  Stepped StreamMatrixCall(const Call& c, size_t matrix_arg);
  // StreamMatrixCall handing each output series to `f` as it is computed, as
  // StreamSelectorEach does; series whose labels coincide once the name is dropped are not
  // merged (see StreamedSeriesStayDistinct). With `name_ignored` (f looks at no label by the
  // name __name__) the series keep their name, which spares a copy of their labels.
  void StreamMatrixCallEach(const Call& c, size_t matrix_arg, const std::function<void(Series&)>& f,
                            bool name_ignored = false);
  Stepped StepByStep(const Expr& e, const std::vector<const Expr*>& operands);
  // sum, avg, count, group, min, max, stddev, stdvar over stepped input, without building a
  // vector per step (aggregate.cc).
  Stepped StepAggregate(const AggregateExpr& a);
  // topk and bottomk over every step: EvalAggregate's heaps, of series numbers.
  Stepped StepTopk(const AggregateExpr& a);
  // histogram_quantile over every step, each series' bucket read once (funcs.cc).
  Stepped StepHistogramQuantile(const Call& c);
  void Hold(uint64_t n);
  void Unhold(uint64_t n) { held_ -= n; }
  // Notes that `n` samples are held at once (for peakSamples); throws past max_samples.
  // Only a new peak can pass the limit (the query ends at the first that does), so the
  // common case is one comparison.
  void HoldingAtOnce(uint64_t n) {
    if (n > peak_samples_) [[unlikely]] {
      NewPeak(n);
    }
  }
  // HoldingAtOnce for n above the peak so far.
  void NewPeak(uint64_t n);

  const EngineOptions& opts_;
  storage::Querier& querier_;
  int64_t start_;
  int64_t end_;
  int64_t step_;
  std::vector<std::string>& warnings_;
  // Operands' values at the current step, set by StepByStep for Eval to take.
  std::unordered_map<const Expr*, Value> operands_;
  uint64_t held_ = 0;
  std::unordered_map<const VectorSelector*, std::vector<StoredSeries>> cache_;
  std::unordered_map<const VectorSelector*, storage::SelectHints> hints_;
  uint64_t step_samples_ = 0;
  uint64_t peak_samples_ = 0;
  uint64_t queryable_samples_ = 0;
  std::shared_ptr<const std::atomic<bool>> cancelled_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  uint32_t polls_ = 0;
};

}  // namespace zw::promql
