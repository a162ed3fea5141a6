// Runs Prometheus 2.42's PromQL test scripts (../shared/data/promqltest-v2.42, never copied
// into the repo) and our own (src/promql/testdata) through the engine against a fresh head,
// and pins how many pass so regressions fail.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "promql/engine.h"
#include "promql/promqltest/script.h"
#include "tsdb/head.h"

namespace zw::promqltest {
namespace {

std::filesystem::path SourceDir() {
  const char* src = std::getenv("ZW_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".");
}

Result<InstantResult> Evaluate(promql::Engine& engine, storage::Queryable& q,
                               const std::string& expr, int64_t at) {
  auto res = engine.Instant(q, expr, at);
  if (!res.ok()) return res.status();
  InstantResult out;
  if (const auto* s = std::get_if<promql::Scalar>(&res->value)) {
    out.is_scalar = true;
    out.scalar = s->v;
    return out;
  }
  if (const auto* v = std::get_if<promql::Vector>(&res->value)) {
    for (const auto& smp : *v) out.vector.emplace_back(smp.labels, smp.v);
    return out;
  }
  return Status::InvalidArgument("instant query returned a " +
                                 std::string(promql::ValueTypeName(promql::TypeOf(res->value))));
}

Result<RangeResult> EvaluateRange(promql::Engine& engine, storage::Queryable& q,
                                  const std::string& expr, int64_t start, int64_t end,
                                  int64_t step) {
  auto res = engine.Range(q, expr, start, end, step);
  if (!res.ok()) return res.status();
  RangeResult out;
  for (const auto& s : std::get<promql::Matrix>(res->value)) {
    RangeSeries rs{s.labels, {}};
    for (const auto& p : s.points) rs.points.emplace_back(p.t, p.v);
    out.push_back(std::move(rs));
  }
  return out;
}

// Measured with the first cut of the evaluator; raise these as the engine improves.
constexpr const char* kFullyPassing[] = {"aggregators.test", "at_modifier.test",   "collision.test",
                                         "functions.test",   "histograms.test",    "literals.test",
                                         "operators.test",   "selectors.test",     "staleness.test",
                                         "subquery.test",    "trig_functions.test"};
constexpr int kMinPassed = 566;

// Runs every *.test file in `dir`; per-file {evals, passed}.
std::map<std::string, RunReport> RunDir(const std::filesystem::path& dir) {
  std::map<std::string, RunReport> reports;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  promql::Engine engine;
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string name = path.filename().string();
    auto script = ParseScript(ss.str(), name);
    EXPECT_TRUE(script.ok()) << script.status().ToString();
    if (!script.ok()) continue;
    std::unique_ptr<tsdb::Head> head;
    Engine e;
    e.fresh = [&]() -> storage::Appendable& {
      head = std::move(tsdb::Head::Open({})).value();
      return *head;
    };
    e.eval = [&](const std::string& expr, int64_t at) { return Evaluate(engine, *head, expr, at); };
    // Only expressions a range query accepts (vector or scalar) are cross-checked.
    e.range = [&](const std::string& expr, int64_t start, int64_t end,
                  int64_t step) -> Result<RangeResult> {
      return EvaluateRange(engine, *head, expr, start, end, step);
    };
    reports[name] = RunScript(*script, name, e);
  }
  return reports;
}

void Print(const std::map<std::string, RunReport>& reports, int* evals, int* passed) {
  for (const auto& [name, rep] : reports) {
    std::printf("%-22s %3d / %3d (%d also in range mode)\n", name.c_str(), rep.passed, rep.evals,
                rep.cross_checked);
    if (std::getenv("ZW_PROMQLTEST_VERBOSE") != nullptr) {
      for (const auto& f : rep.failures) std::printf("  %s\n", f.c_str());
    }
    *evals += rep.evals;
    *passed += rep.passed;
  }
  std::printf("%-22s %3d / %3d\n", "total", *passed, *evals);
}

TEST(PrometheusScripts, PassCountsDoNotRegress) {
  auto dir = SourceDir() / ".." / "shared" / "data" / "promqltest-v2.42";
  if (!std::filesystem::exists(dir)) {
    GTEST_SKIP() << "Prometheus 2.42 test scripts not found at " << dir;
  }
  auto reports = RunDir(dir);
  int evals = 0, passed = 0;
  Print(reports, &evals, &passed);
  // Files that pass completely must keep passing.
  for (const char* name : kFullyPassing) {
    auto it = reports.find(name);
    ASSERT_NE(it, reports.end()) << name;
    EXPECT_EQ(it->second.passed, it->second.evals)
        << name << ": " << (it->second.failures.empty() ? "" : it->second.failures[0]);
  }
  EXPECT_EQ(evals, 566);
  EXPECT_GE(passed, kMinPassed);
}

TEST(OurScripts, AllPass) {
  auto dir = SourceDir() / "src" / "promql" / "testdata";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no scripts at " << dir;
  auto reports = RunDir(dir);
  int evals = 0, passed = 0;
  Print(reports, &evals, &passed);
  for (const auto& [name, rep] : reports) {
    EXPECT_EQ(rep.passed, rep.evals)
        << name << ": " << (rep.failures.empty() ? "" : rep.failures[0]);
  }
}

}  // namespace
}  // namespace zw::promqltest
