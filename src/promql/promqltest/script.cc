#include "promql/promqltest/script.h"

// GCC 12 reports false "may be used uninitialized" warnings inside std::variant's move
// constructor when commands are pushed into the vector (a known GCC 12 issue).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/names.h"
#include "core/time.h"
#include "promql/selector.h"

namespace zw::promqltest {
namespace {

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// A float as Go's ParseFloat reads it in these scripts: decimal, exponent, Inf, NaN.
std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    body.remove_prefix(1);
    if (body.empty() || body[0] == '+' || body[0] == '-') return std::nullopt;
  }
  auto lower = [](std::string_view v) {
    std::string out(v);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  std::string l = lower(body);
  if (l == "inf" || l == "infinity") return neg ? -INFINITY : INFINITY;
  if (l == "nan") return std::numeric_limits<double>::quiet_NaN();
  double v;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec != std::errc() || p != body.data() + body.size()) return std::nullopt;
  return neg ? -v : v;
}

std::optional<uint64_t> ParseCount(std::string_view s) {
  uint64_t n;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n > 1000000) return std::nullopt;
  return n;
}

// Splits a value term "a+b" / "a-b" into its start and signed step; the sign that
// separates them is the last one not at the start and not part of an exponent.
std::optional<std::pair<double, double>> StartAndStep(std::string_view body) {
  for (size_t i = body.size(); i-- > 1;) {
    char c = body[i];
    if ((c == '+' || c == '-') && body[i - 1] != 'e' && body[i - 1] != 'E') {
      auto a = ParseNumber(body.substr(0, i));
      auto b = ParseNumber(body.substr(i));
      if (a && b) return std::make_pair(*a, *b);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// name{a="b", ...}, {…} or name: the labels of a series line, and where they end.
Result<std::pair<Labels, size_t>> ParseLabelSet(std::string_view line) {
  std::vector<std::pair<std::string, std::string>> owned;
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t') ++i;
  std::string name(line.substr(0, i));
  if (!name.empty()) {
    if (!IsValidMetricName(name))
      return Status::InvalidArgument("invalid metric name \"" + name + "\"");
    owned.emplace_back(std::string(kMetricNameLabel), name);
  }
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
      if (i >= line.size()) return Status::InvalidArgument("unterminated label set");
      if (line[i] == '}') {
        ++i;
        break;
      }
      size_t j = i;
      while (j < line.size() && line[j] != '=' && line[j] != ' ') ++j;
      std::string label(line.substr(i, j - i));
      if (!IsValidLabelName(label))
        return Status::InvalidArgument("invalid label name \"" + label + "\"");
      while (j < line.size() && line[j] == ' ') ++j;
      if (j >= line.size() || line[j] != '=')
        return Status::InvalidArgument("expected = after label " + label);
      ++j;
      while (j < line.size() && line[j] == ' ') ++j;
      if (j >= line.size() || (line[j] != '"' && line[j] != '\'')) {
        return Status::InvalidArgument("expected a quoted value for label " + label);
      }
      char q = line[j];
      size_t k = j + 1;
      while (k < line.size() && line[k] != q) k += line[k] == '\\' ? 2 : 1;
      if (k >= line.size()) return Status::InvalidArgument("unterminated value for label " + label);
      auto value = promql::UnquoteString(line.substr(j, k - j + 1));
      if (!value.ok()) return value.status();
      owned.emplace_back(label, *value);
      i = k + 1;
    }
  }
  std::vector<std::pair<std::string_view, std::string_view>> pairs(owned.begin(), owned.end());
  return std::make_pair(Labels::FromPairs(std::move(pairs)), i);
}

Status LineError(std::string_view file, int line, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}:{}: {}", file, line, what));
}

bool AlmostEqual(double a, double b) {
  constexpr double kEpsilon = 0.000001;
  constexpr double kMinNormal = 2.2250738585072014e-308;
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  double diff = std::abs(a - b);
  if (a == 0 || b == 0 || diff < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / (std::abs(a) + std::abs(b)) < kEpsilon;
}

}  // namespace

Result<std::vector<std::optional<double>>> ParseValues(std::string_view text) {
  std::vector<std::optional<double>> out;
  for (std::string_view tok : Fields(text)) {
    if (tok == "_") {
      out.emplace_back();
      continue;
    }
    if (tok == "stale") {
      out.emplace_back(StaleNaN());
      continue;
    }
    size_t x = tok.rfind('x');
    std::optional<uint64_t> times;
    std::string_view body = tok;
    if (x != std::string_view::npos && x > 0 && x + 1 < tok.size()) {
      times = ParseCount(tok.substr(x + 1));
      if (times) body = tok.substr(0, x);
    }
    if (!times) {
      auto v = ParseNumber(tok);
      if (!v) return Status::InvalidArgument("invalid value \"" + std::string(tok) + "\"");
      out.emplace_back(*v);
      continue;
    }
    if (body == "_") {  // _xN: N missing samples
      for (uint64_t i = 0; i < *times; ++i) out.emplace_back();
      continue;
    }
    if (auto plain = ParseNumber(body)) {  // axN: N+1 times a
      for (uint64_t i = 0; i <= *times; ++i) out.emplace_back(*plain);
      continue;
    }
    auto ss = StartAndStep(body);
    if (!ss) return Status::InvalidArgument("invalid value sequence \"" + std::string(tok) + "\"");
    // Accumulated step by step, as Prometheus does, so float rounding matches.
    double v = ss->first;
    out.emplace_back(v);
    for (uint64_t i = 1; i <= *times; ++i) {
      v += ss->second;
      out.emplace_back(v);
    }
  }
  return out;
}

Result<std::vector<Command>> ParseScript(std::string_view text, std::string_view file) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  std::vector<Command> out;
  auto block_end = [&](size_t i) { return i >= lines.size() || Trim(lines[i]).empty(); };
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = Trim(lines[i]);
    int lineno = static_cast<int>(i) + 1;
    if (l.empty() || l[0] == '#') continue;
    auto f = Fields(l);
    if (f[0] == "clear") {
      out.push_back(ClearCmd{lineno});
      continue;
    }
    if (f[0] == "load") {
      if (f.size() != 2) return LineError(file, lineno, "expected \"load <step>\"");
      auto step = ParseDurationMs(f[1]);
      if (!step.ok()) return LineError(file, lineno, step.status().message());
      LoadCmd cmd{lineno, *step, {}};
      while (!block_end(i + 1)) {
        ++i;
        std::string_view sl = Trim(lines[i]);
        if (sl[0] == '#') continue;
        auto ls = ParseLabelSet(sl);
        if (!ls.ok()) return LineError(file, static_cast<int>(i) + 1, ls.status().message());
        auto vals = ParseValues(sl.substr(ls->second));
        if (!vals.ok()) return LineError(file, static_cast<int>(i) + 1, vals.status().message());
        // As in Prometheus, a series given twice in one block keeps its last definition.
        auto same = std::find_if(cmd.series.begin(), cmd.series.end(),
                                 [&](const LoadedSeries& e) { return e.labels == ls->first; });
        if (same != cmd.series.end()) {
          same->values = std::move(vals).value();
        } else {
          cmd.series.push_back({ls->first, std::move(vals).value()});
        }
      }
      out.push_back(std::move(cmd));
      continue;
    }
    if (f[0] == "eval" || f[0] == "eval_ordered" || f[0] == "eval_fail") {
      if (f.size() < 5 || f[1] != "instant" || f[2] != "at") {
        return LineError(file, lineno, "expected \"eval instant at <time> <expr>\"");
      }
      EvalCmd cmd;
      cmd.line = lineno;
      cmd.ordered = f[0] == "eval_ordered";
      cmd.expect_fail = f[0] == "eval_fail";
      auto at = ParseDurationMs(f[3]);
      if (!at.ok()) return LineError(file, lineno, at.status().message());
      cmd.at_ms = *at;
      cmd.expr =
          std::string(Trim(l.substr(static_cast<size_t>(f[3].data() + f[3].size() - l.data()))));
      while (!block_end(i + 1)) {
        ++i;
        std::string_view el = Trim(lines[i]);
        if (el[0] == '#') continue;
        if (auto num = ParseNumber(el)) {
          cmd.expected.push_back({std::nullopt, *num});
          continue;
        }
        auto ls = ParseLabelSet(el);
        if (!ls.ok()) return LineError(file, static_cast<int>(i) + 1, ls.status().message());
        auto vals = ParseValues(el.substr(ls->second));
        if (!vals.ok()) return LineError(file, static_cast<int>(i) + 1, vals.status().message());
        if (vals->size() != 1 || !(*vals)[0]) {
          return LineError(file, static_cast<int>(i) + 1,
                           "an instant result has exactly one value");
        }
        cmd.expected.push_back({ls->first, *(*vals)[0]});
      }
      out.push_back(std::move(cmd));
      continue;
    }
    return LineError(file, lineno, "unknown command \"" + std::string(f[0]) + "\"");
  }
  return out;
}

Status Load(const LoadCmd& cmd, storage::Appendable& storage) {
  auto app = storage.NewAppender();
  for (const LoadedSeries& s : cmd.series) {
    storage::SeriesRef ref = 0;
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (!s.values[i]) continue;
      auto r = app->Append(ref, s.labels, static_cast<int64_t>(i) * cmd.step_ms, *s.values[i]);
      if (!r.ok())
        return Status::Error(r.status().code(), "line {}: {}", cmd.line, r.status().message());
      ref = *r;
    }
  }
  return app->Commit();
}

Status Compare(const EvalCmd& cmd, const InstantResult& got) {
  if (!cmd.expected.empty() && !cmd.expected[0].labels) {
    if (!got.is_scalar) return Status::InvalidArgument("expected a scalar, got a vector");
    if (!AlmostEqual(cmd.expected[0].value, got.scalar)) {
      return Status::InvalidArgument(
          fmt::format("expected scalar {} but got {}", cmd.expected[0].value, got.scalar));
    }
    return Status::Ok();
  }
  if (got.is_scalar)
    return Status::InvalidArgument(fmt::format("expected a vector, got scalar {}", got.scalar));
  std::set<size_t> seen;
  for (size_t pos = 0; pos < got.vector.size(); ++pos) {
    const auto& [labels, value] = got.vector[pos];
    size_t k = 0;
    while (k < cmd.expected.size() && *cmd.expected[k].labels != labels) ++k;
    if (k == cmd.expected.size()) {
      return Status::InvalidArgument("unexpected metric " + labels.ToString() + " in result");
    }
    if (cmd.ordered && k != pos) {
      return Status::InvalidArgument(fmt::format("expected metric {} at position {} but was at {}",
                                                 labels.ToString(), k + 1, pos + 1));
    }
    if (!AlmostEqual(cmd.expected[k].value, value)) {
      return Status::InvalidArgument(fmt::format("expected {} for {} but got {}",
                                                 cmd.expected[k].value, labels.ToString(), value));
    }
    seen.insert(k);
  }
  for (size_t k = 0; k < cmd.expected.size(); ++k) {
    if (!seen.count(k)) {
      return Status::InvalidArgument(fmt::format("expected metric {} with {} not found",
                                                 cmd.expected[k].labels->ToString(),
                                                 cmd.expected[k].value));
    }
  }
  return Status::Ok();
}

namespace {

bool SameValue(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b;
}

std::string Describe(const Labels& l) { return l.ToString(); }

}  // namespace

Status CrossCheck(const RangeResult& range, int64_t start, int64_t step,
                  const std::vector<InstantResult>& instants) {
  // Every (labels, time) the instant queries produced, to be matched off by the range.
  std::map<std::pair<Labels, int64_t>, double> want;
  for (size_t i = 0; i < instants.size(); ++i) {
    const int64_t t = start + static_cast<int64_t>(i) * step;
    const InstantResult& r = instants[i];
    if (r.is_scalar) {
      want[{Labels(), t}] = r.scalar;
      continue;
    }
    for (const auto& [l, v] : r.vector) want[{l, t}] = v;
  }
  for (const RangeSeries& s : range) {
    for (const auto& [t, v] : s.points) {
      auto it = want.find({s.labels, t});
      if (it == want.end()) {
        return Status::InvalidArgument(fmt::format(
            "range mode: extra point {} {} at {} that the instant query at that time lacks",
            Describe(s.labels), v, t));
      }
      if (!SameValue(it->second, v)) {
        return Status::InvalidArgument(
            fmt::format("range mode: {} at {} is {}, the instant query gives {}",
                        Describe(s.labels), t, v, it->second));
      }
      want.erase(it);
    }
  }
  if (!want.empty()) {
    const auto& [key, v] = *want.begin();
    return Status::InvalidArgument(
        fmt::format("range mode: missing {} {} at {}", Describe(key.first), v, key.second));
  }
  return Status::Ok();
}

namespace {

// The range-mode cross-check of one successful eval: start = end = its time, then three
// steps ending at its time.
Status RangeAgrees(const Engine& engine, const EvalCmd& ev, const InstantResult& instant) {
  auto one = engine.range(ev.expr, ev.at_ms, ev.at_ms, engine.cross_step_ms);
  if (!one.ok()) return Status::InvalidArgument("range mode failed: " + one.status().message());
  if (Status st = CrossCheck(*one, ev.at_ms, engine.cross_step_ms, {instant}); !st.ok()) {
    return Status::InvalidArgument("start = end: " + st.message());
  }
  // `@ start()` and `@ end()` mean the range's ends, which differ from each step's time:
  // only the one-step range can agree with the instant queries.
  if (ev.expr.find("start()") != std::string::npos || ev.expr.find("end()") != std::string::npos) {
    return Status::Ok();
  }
  const int64_t step = engine.cross_step_ms;
  const int64_t start = ev.at_ms - 2 * step;
  std::vector<InstantResult> instants;
  Status instant_error;
  for (int i = 0; i < 3 && instant_error.ok(); ++i) {
    auto r = engine.eval(ev.expr, start + i * step);
    if (r.ok()) {
      instants.push_back(std::move(*r));
    } else {
      instant_error = r.status();
    }
  }
  auto three = engine.range(ev.expr, start, ev.at_ms, step);
  if (!instant_error.ok()) {
    // An error at an earlier step (e.g. duplicate series there) must fail the range too.
    if (three.ok()) {
      return Status::InvalidArgument(
          "3 steps: the range query succeeded but an instant query "
          "in it failed: " +
          instant_error.message());
    }
    return Status::Ok();
  }
  if (!three.ok()) {
    return Status::InvalidArgument("3-step range failed: " + three.status().message());
  }
  if (Status st = CrossCheck(*three, start, step, instants); !st.ok()) {
    return Status::InvalidArgument("3 steps: " + st.message());
  }
  return Status::Ok();
}

}  // namespace

RunReport RunScript(const std::vector<Command>& script, std::string_view file,
                    const Engine& engine) {
  RunReport report;
  storage::Appendable* storage = &engine.fresh();
  auto fail = [&](int line, std::string_view expr, std::string_view why) {
    report.failures.push_back(fmt::format("{}:{}: {}: {}", file, line, expr, why));
  };
  for (const Command& c : script) {
    if (std::holds_alternative<ClearCmd>(c)) {
      storage = &engine.fresh();
    } else if (const auto* load = std::get_if<LoadCmd>(&c)) {
      if (Status st = Load(*load, *storage); !st.ok()) fail(load->line, "load", st.message());
    } else {
      const auto& ev = std::get<EvalCmd>(c);
      ++report.evals;
      auto r = engine.eval(ev.expr, ev.at_ms);
      if (ev.expect_fail) {
        if (r.ok())
          fail(ev.line, ev.expr, "expected an error, got a result");
        else
          ++report.passed;
        continue;
      }
      if (!r.ok()) {
        fail(ev.line, ev.expr, r.status().message());
        continue;
      }
      if (Status st = Compare(ev, *r); !st.ok()) {
        fail(ev.line, ev.expr, st.message());
        continue;
      }
      if (engine.range) {
        Status st = RangeAgrees(engine, ev, *r);
        if (!st.ok()) {
          fail(ev.line, ev.expr, st.message());
          continue;
        }
        ++report.cross_checked;
      }
      ++report.passed;
    }
  }
  return report;
}

}  // namespace zw::promqltest
