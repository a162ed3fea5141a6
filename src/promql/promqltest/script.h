// Prometheus's PromQL test scripts (the format of promql/testdata/*.test in Prometheus 2.42):
//
//   load 5m                                   series, one sample per step from time 0
//     http_requests{job="api"} 0+10x10        expanding notation: 0, 10, ..., 100
//     other 1 _ 3 stale _x2 4x3               _ missing, stale marker, axn = a repeated
//                                             (a series given twice keeps its last line)
//   clear                                     drop all data
//   eval instant at 50m sum(http_requests)    then the expected result, one line each:
//     {} 100                                    labels and value (vector), or
//     100                                       a bare number (scalar)
//   eval_ordered instant at ...               the order of the result matters
//   eval_fail instant at ...                  the query must fail
//
// The same scripts run against any engine: RunScript takes the engine as a function.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/labels.h"
#include "core/sample.h"
#include "core/status.h"
#include "storage/appender.h"

namespace zw::promqltest {

struct LoadedSeries {
  Labels labels;
  std::vector<std::optional<double>> values;  // one per step; nullopt = no sample
};

struct LoadCmd {
  int line = 0;
  int64_t step_ms = 0;
  std::vector<LoadedSeries> series;
};

struct ClearCmd {
  int line = 0;
};

struct ExpectedSample {
  std::optional<Labels> labels;  // nullopt: the result is a scalar
  double value = 0;
};

struct EvalCmd {
  int line = 0;
  std::string expr;
  int64_t at_ms = 0;
  bool ordered = false;
  bool expect_fail = false;
  std::vector<ExpectedSample> expected;
};

using Command = std::variant<LoadCmd, ClearCmd, EvalCmd>;

// Errors: InvalidArgument "<file>:<line>: <what>".
Result<std::vector<Command>> ParseScript(std::string_view text, std::string_view file_name);

// Parses the values of a series line in expanding notation.
Result<std::vector<std::optional<double>>> ParseValues(std::string_view text);

// Appends a load command's samples (sample i at i * step) through `storage`.
Status Load(const LoadCmd& cmd, storage::Appendable& storage);

// What an engine returned for an instant query.
struct InstantResult {
  bool is_scalar = false;
  double scalar = 0;
  std::vector<std::pair<Labels, double>> vector;
};

// Prometheus's comparison: same number of samples, each expected one present with an
// almost-equal value (relative 1e-6; NaN equals NaN), in order when `cmd.ordered`.
// The error says which sample differs.
Status Compare(const EvalCmd& cmd, const InstantResult& got);

// What an engine returned for a range query: series and their points.
struct RangeSeries {
  Labels labels;  // empty for a scalar expression
  std::vector<std::pair<int64_t, double>> points;
};
using RangeResult = std::vector<RangeSeries>;

// Checks that a range query agrees with instant queries, as Prometheus's later test runner
// does: `range` is the result from start to end by step and `instants` the instant results
// at start, start+step, ..., end. Every point must equal the instant value at its time
// (bit for bit, NaN equals NaN, same label sets, no extra or missing points).
Status CrossCheck(const RangeResult& range, int64_t start, int64_t step,
                  const std::vector<InstantResult>& instants);

// Runs a whole script. `fresh` returns empty storage (for the start and each clear);
// `eval` runs one instant query at a time against it. When `range` is set, every eval
// whose instant query succeeds with a vector or scalar is also run as a range query with
// start = end = its time and as a 3-step range ending at its time (step `cross_step_ms`;
// not for `@ start()`/`@ end()`, which name the range's ends), and both must agree with the
// instant queries (CrossCheck). An instant error within the 3 steps must fail the range.
struct Engine {
  std::function<storage::Appendable&()> fresh;
  std::function<Result<InstantResult>(const std::string& expr, int64_t at_ms)> eval;
  std::function<Result<RangeResult>(const std::string& expr, int64_t start, int64_t end,
                                    int64_t step)>
      range;
  int64_t cross_step_ms = 60'000;
};
struct RunReport {
  int evals = 0;
  int passed = 0;
  int cross_checked = 0;              // evals also checked in range mode
  std::vector<std::string> failures;  // "<file>:<line>: <expr>: <why>"
};
RunReport RunScript(const std::vector<Command>& script, std::string_view file_name,
                    const Engine& engine);

}  // namespace zw::promqltest
