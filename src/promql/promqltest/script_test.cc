#include "promql/promqltest/script.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "promql/selector.h"
#include "tsdb/head.h"

namespace zw::promqltest {
namespace {

std::vector<double> Values(std::string_view s) {
  auto r = ParseValues(s);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::vector<double> out;
  for (const auto& v : *r) out.push_back(v ? *v : -12345);  // -12345 marks "missing"
  return out;
}

TEST(PromqlTestValues, ExpandingNotation) {
  EXPECT_EQ(Values("1+2x3"), (std::vector<double>{1, 3, 5, 7}));
  EXPECT_EQ(Values("-1-2x2"), (std::vector<double>{-1, -3, -5}));
  EXPECT_EQ(Values("0x3"), (std::vector<double>{0, 0, 0, 0}));  // axN: never hex here
  EXPECT_EQ(Values("_x2 5 _"), (std::vector<double>{-12345, -12345, 5, -12345}));
  EXPECT_EQ(Values("1e3+1e-1x1"), (std::vector<double>{1000, 1000.1}));
  auto specials = *ParseValues("Inf -Inf NaN stale");
  EXPECT_EQ(*specials[0], INFINITY);
  EXPECT_EQ(*specials[1], -INFINITY);
  EXPECT_TRUE(std::isnan(*specials[2]));
  EXPECT_TRUE(IsStaleNaN(*specials[3]));
}

TEST(PromqlTestValues, AccumulatesLikePrometheus) {
  // 0+1.33x10 is 0, 1.33, 2.66, ... by repeated addition, not multiplication.
  auto v = *ParseValues("0+1.33x10");
  double acc = 0;
  for (int i = 1; i <= 10; ++i) acc += 1.33;
  EXPECT_EQ(*v.back(), acc);
}

TEST(PromqlTestValues, Errors) {
  for (const char* bad : {"abc", "1+x3", "1+2xq", "--1", "+-1"})
    EXPECT_FALSE(ParseValues(bad).ok()) << bad;
}

constexpr const char* kScript = R"(# a comment
load 5m
  http_requests{job="api", instance="0"} 0+10x2
  other 1 _ 3

eval instant at 10m http_requests
  {__name__="http_requests", job="api", instance="0"} 20

eval_ordered instant at 0m other
  other 1

eval_fail instant at 0m nope(

clear
eval instant at 0m 7
  7
)";

TEST(PromqlTestScript, ParsesCommands) {
  auto s = ParseScript(kScript, "x.test");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 6u);
  const auto& load = std::get<LoadCmd>((*s)[0]);
  EXPECT_EQ(load.step_ms, 300000);
  ASSERT_EQ(load.series.size(), 2u);
  EXPECT_EQ(load.series[0].labels.Get("instance"), "0");
  EXPECT_EQ(load.series[1].values.size(), 3u);
  const auto& ev = std::get<EvalCmd>((*s)[1]);
  EXPECT_EQ(ev.line, 6);
  EXPECT_EQ(ev.at_ms, 600000);
  EXPECT_EQ(ev.expr, "http_requests");
  ASSERT_EQ(ev.expected.size(), 1u);
  EXPECT_EQ(ev.expected[0].value, 20);
  EXPECT_TRUE(std::get<EvalCmd>((*s)[2]).ordered);
  EXPECT_TRUE(std::get<EvalCmd>((*s)[3]).expect_fail);
  EXPECT_TRUE(std::holds_alternative<ClearCmd>((*s)[4]));
  const auto& scalar = std::get<EvalCmd>((*s)[5]);
  ASSERT_EQ(scalar.expected.size(), 1u);
  EXPECT_FALSE(scalar.expected[0].labels.has_value());
  EXPECT_EQ(scalar.expected[0].value, 7);
}

TEST(PromqlTestScript, ErrorsNameFileAndLine) {
  auto s = ParseScript("load 5m\n  m{a=\"b\"} 1\n\nevaluate now\n", "f.test");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "f.test:4: unknown command \"evaluate\"");
  s = ParseScript("load 5m\n  m{a=b} 1\n", "f.test");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("f.test:2:"), std::string::npos);
}

TEST(PromqlTestCompare, Rules) {
  EvalCmd ev;
  ev.expected = {{Labels{{"a", "1"}}, 1.0}, {Labels{{"a", "2"}}, NAN}};
  InstantResult got;
  got.vector = {{Labels{{"a", "2"}}, NAN}, {Labels{{"a", "1"}}, 1.0000000001}};
  EXPECT_TRUE(Compare(ev, got).ok());
  ev.ordered = true;
  EXPECT_NE(Compare(ev, got).message().find("position"), std::string::npos);
  ev.ordered = false;
  got.vector[1].second = 1.1;
  EXPECT_NE(Compare(ev, got).message().find("expected 1 for"), std::string::npos);
  got.vector.pop_back();
  EXPECT_NE(Compare(ev, got).message().find("not found"), std::string::npos);
  got.vector.push_back({Labels{{"a", "3"}}, 1});
  EXPECT_NE(Compare(ev, got).message().find("unexpected metric"), std::string::npos);
  EvalCmd scalar;
  scalar.expected = {{std::nullopt, 2}};
  InstantResult s;
  s.is_scalar = true;
  s.scalar = 2;
  EXPECT_TRUE(Compare(scalar, s).ok());
  s.scalar = 3;
  EXPECT_FALSE(Compare(scalar, s).ok());
}

// A deliberately tiny engine for testing the runner itself: number literals, and a plain
// selector answered with each series' newest sample within 5 minutes before `at`.
Result<InstantResult> TinyEngine(storage::Queryable& q, const std::string& expr, int64_t at) {
  InstantResult r;
  char* end = nullptr;
  double num = std::strtod(expr.c_str(), &end);
  if (end && *end == '\0' && end != expr.c_str()) {
    r.is_scalar = true;
    r.scalar = num;
    return r;
  }
  auto ms = promql::ParseSeriesSelector(expr);
  if (!ms.ok()) return ms.status();
  auto querier = q.NewQuerier(at - 300000, at);
  auto set = querier->Select(true, nullptr, *ms);
  while (set->Next()) {
    auto it = set->At().Iterator();
    std::optional<double> last;
    while (it->Next()) last = it->At().v;
    if (last) r.vector.emplace_back(set->At().labels(), *last);
  }
  return r;
}

TEST(PromqlTestRunner, LoadsAndRunsAgainstRealStorage) {
  auto script = ParseScript(kScript, "x.test");
  ASSERT_TRUE(script.ok());
  std::unique_ptr<tsdb::Head> head;
  Engine engine;
  engine.fresh = [&]() -> storage::Appendable& {
    head = std::move(tsdb::Head::Open({})).value();
    return *head;
  };
  engine.eval = [&](const std::string& expr, int64_t at) { return TinyEngine(*head, expr, at); };
  RunReport rep = RunScript(*script, "x.test", engine);
  EXPECT_EQ(rep.evals, 4);
  EXPECT_EQ(rep.passed, 4) << (rep.failures.empty() ? "" : rep.failures[0]);
}

TEST(PromqlTestCrossCheck, RangeMustMatchEveryInstantStep) {
  const Labels a{{"x", "a"}}, b{{"x", "b"}};
  InstantResult at0, at1;
  at0.vector = {{a, 1}, {b, 2}};
  at1.vector = {{a, std::nan("")}};
  RangeResult range = {{a, {{0, 1}, {60, std::nan("")}}}, {b, {{0, 2}}}};
  EXPECT_TRUE(CrossCheck(range, 0, 60, {at0, at1}).ok());
  // A different value, an extra point, a missing point and wrong labels are all caught.
  RangeResult other = {{a, {{0, 1}, {60, 5}}}, {b, {{0, 2}}}};
  EXPECT_FALSE(CrossCheck(other, 0, 60, {at0, at1}).ok());
  RangeResult extra = {{a, {{0, 1}, {60, std::nan("")}}}, {b, {{0, 2}, {60, 2}}}};
  EXPECT_FALSE(CrossCheck(extra, 0, 60, {at0, at1}).ok());
  RangeResult missing = {{a, {{0, 1}, {60, std::nan("")}}}};
  EXPECT_FALSE(CrossCheck(missing, 0, 60, {at0, at1}).ok());
  RangeResult relabelled = {{a, {{0, 1}, {60, std::nan("")}}}, {Labels{{"x", "c"}}, {{0, 2}}}};
  EXPECT_FALSE(CrossCheck(relabelled, 0, 60, {at0, at1}).ok());
  // A scalar is one series without labels.
  InstantResult scalar;
  scalar.is_scalar = true;
  scalar.scalar = 7;
  EXPECT_TRUE(CrossCheck({{Labels(), {{0, 7}}}}, 0, 60, {scalar}).ok());
  EXPECT_FALSE(CrossCheck({{Labels(), {{0, 8}}}}, 0, 60, {scalar}).ok());
}

TEST(PromqlTestRunner, RangeModeDisagreementIsAFailure) {
  auto script = ParseScript(kScript, "x.test");
  ASSERT_TRUE(script.ok());
  std::unique_ptr<tsdb::Head> head;
  Engine engine;
  engine.fresh = [&]() -> storage::Appendable& {
    head = std::move(tsdb::Head::Open({})).value();
    return *head;
  };
  engine.eval = [&](const std::string& expr, int64_t at) { return TinyEngine(*head, expr, at); };
  // A broken range mode: every point is off by one.
  engine.range = [&](const std::string& expr, int64_t start, int64_t end,
                     int64_t step) -> Result<RangeResult> {
    RangeResult out;
    for (int64_t t = start; t <= end; t += step) {
      auto r = TinyEngine(*head, expr, t);
      if (!r.ok()) return r.status();
      if (r->is_scalar) {
        out.push_back({Labels(), {{t, r->scalar + 1}}});
        continue;
      }
      for (auto& [l, v] : r->vector) out.push_back({l, {{t, v + 1}}});
    }
    return out;
  };
  RunReport rep = RunScript(*script, "x.test", engine);
  EXPECT_EQ(rep.passed, 1);  // only the eval_fail, which has no range mode
  EXPECT_EQ(rep.cross_checked, 0);
  ASSERT_EQ(rep.failures.size(), 3u);
  EXPECT_NE(rep.failures[0].find("range mode"), std::string::npos) << rep.failures[0];
}

std::filesystem::path SharedScripts() {
  const char* src = std::getenv("ZW_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".") / ".." / "shared" / "data" / "promqltest-v2.42";
}

// Every script of Prometheus 2.42 parses, and its data loads into the head.
TEST(PromqlTestScript, Prometheus242ScriptsParseAndLoad) {
  auto dir = SharedScripts();
  if (!std::filesystem::exists(dir))
    GTEST_SKIP() << "Prometheus 2.42 test scripts not found at " << dir;
  int files = 0, evals = 0;
  size_t samples = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".test") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    auto script = ParseScript(ss.str(), entry.path().filename().string());
    ASSERT_TRUE(script.ok()) << script.status().ToString();
    ++files;
    auto head = std::move(tsdb::Head::Open({})).value();
    for (const Command& c : *script) {
      if (const auto* load = std::get_if<LoadCmd>(&c)) {
        Status st = Load(*load, *head);
        ASSERT_TRUE(st.ok()) << entry.path() << ":" << load->line << ": " << st.ToString();
      } else if (std::holds_alternative<ClearCmd>(c)) {
        samples += head->stats().samples_appended.load();
        head = std::move(tsdb::Head::Open({})).value();
      } else {
        ++evals;
      }
    }
    samples += head->stats().samples_appended.load();
  }
  EXPECT_EQ(files, 11);
  EXPECT_EQ(evals, 566);
  EXPECT_GT(samples, 10000u);
}

}  // namespace
}  // namespace zw::promqltest
