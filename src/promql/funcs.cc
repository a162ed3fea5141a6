// The PromQL function implementations: one table keyed by name, parallel to the signature
// table in functions.h, with shared helpers (rate/increase/delta are one extrapolatedRate).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <numbers>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "promql/eval.h"
#include "promql/extrapolation.h"
#include "promql/lane_sum.h"
#include "promql/quantile.h"

namespace zw::promql {
namespace {

const double kNaN = std::nan("");

std::pair<double, double> KahanSumInc(double inc, double sum, double c) {
  double t = sum + inc;
  if (std::abs(sum) >= std::abs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  return {t, c};
}

// ---- Range-vector functions -------------------------------------------------------------

// Prometheus's instantValue: irate and idelta.
std::optional<double> InstantValue(const MatrixCall& c, bool is_rate) {
  const auto& p = c.points;
  if (p.size() < 2) return std::nullopt;
  const Point& last = p[p.size() - 1];
  const Point& prev = p[p.size() - 2];
  double result = is_rate && last.v < prev.v ? last.v : last.v - prev.v;
  int64_t interval = last.t - prev.t;
  if (interval == 0) return std::nullopt;
  if (is_rate) result /= static_cast<double>(interval) / 1000;
  return result;
}

std::pair<double, double> LinearRegression(std::span<const Point> p, int64_t intercept_time) {
  double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
  double init_y = p[0].v;
  bool const_y = true;
  for (size_t i = 0; i < p.size(); ++i) {
    if (const_y && i > 0 && p[i].v != init_y) const_y = false;
    n += 1;
    double x = static_cast<double>(p[i].t - intercept_time) / 1e3;
    std::tie(sx, cx) = KahanSumInc(x, sx, cx);
    std::tie(sy, cy) = KahanSumInc(p[i].v, sy, cy);
    std::tie(sxy, cxy) = KahanSumInc(x * p[i].v, sxy, cxy);
    std::tie(sx2, cx2) = KahanSumInc(x * x, sx2, cx2);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {kNaN, kNaN};
    return {0, init_y};
  }
  sx += cx;
  sy += cy;
  sxy += cxy;
  sx2 += cx2;
  double cov = sxy - sx * sy / n;
  double var = sx2 - sx * sx / n;
  double slope = cov / var;
  return {slope, sy / n - slope * sx / n};
}

double CalcTrend(int i, double tf, double s0, double s1, double b) {
  if (i == 0) return b;
  return tf * (s1 - s0) + (1 - tf) * b;
}

std::optional<double> HoltWinters(const MatrixCall& c) {
  double sf = c.scalars[0], tf = c.scalars[1];
  if (sf <= 0 || sf >= 1) Fail("invalid smoothing factor. Expected: 0 < sf < 1, got: {:f}", sf);
  if (tf <= 0 || tf >= 1) Fail("invalid trend factor. Expected: 0 < tf < 1, got: {:f}", tf);
  const auto& p = c.points;
  if (p.size() < 2) return std::nullopt;
  double s0 = 0, s1 = p[0].v, b = p[1].v - p[0].v;
  for (size_t i = 1; i < p.size(); ++i) {
    double x = sf * p[i].v;
    b = CalcTrend(static_cast<int>(i) - 1, tf, s0, s1, b);
    double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

// Prometheus 2.42's running mean: two dependent divisions per point, but finite whenever
// the points are, and its own rules for infinities.
double RunningMean(std::span<const Point> points) {
  double mean = 0, count = 0, comp = 0;
  for (const Point& p : points) {
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(p.v) && (mean > 0) == (p.v > 0)) continue;
      if (!std::isinf(p.v) && !std::isnan(p.v)) continue;
    }
    std::tie(mean, comp) = KahanSumInc(p.v / count - mean / count, mean, comp);
  }
  return std::isinf(mean) ? mean : mean + comp;
}

// A compensated sum divided once by the count, as Prometheus does since prometheus#14413
// (2024), instead of 2.42's running mean, which costs two dependent divisions per point.
// The points go to four sums (lane_sum.h), so that the additions do not wait on each
// other. When the sum is not finite (an infinite or NaN point, or an overflow) the
// running mean decides, as in 2.42. Results differ from 2.42's in the last bits, and where
// large values cancel the sum keeps the small ones that the running mean loses.
std::optional<double> AvgOverTime(const MatrixCall& c) {
  const auto& p = c.points;
  NeumaierLanes lanes;
  AddToLanes(p, lanes);
  double s0 = lanes.sum[0], s1 = lanes.sum[1], s2 = lanes.sum[2], s3 = lanes.sum[3];
  double comp = (lanes.comp[0] + lanes.comp[1]) + (lanes.comp[2] + lanes.comp[3]);
  NeumaierAdd(s1, s0, comp);
  NeumaierAdd(s3, s2, comp);
  NeumaierAdd(s2, s0, comp);
  if (!std::isfinite(s0)) return RunningMean(p);
  return (s0 + comp) / static_cast<double>(p.size());
}

std::optional<double> SumOverTime(const MatrixCall& c) {
  double sum = 0, comp = 0;
  for (const Point& p : c.points) std::tie(sum, comp) = KahanSumInc(p.v, sum, comp);
  return std::isinf(sum) ? sum : sum + comp;
}

std::optional<double> StdvarOverTime(const MatrixCall& c) {
  double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
  for (const Point& p : c.points) {
    count++;
    double delta = p.v - (mean + cmean);
    std::tie(mean, cmean) = KahanSumInc(delta / count, mean, cmean);
    std::tie(aux, caux) = KahanSumInc(delta * (p.v - (mean + cmean)), aux, caux);
  }
  return (aux + caux) / count;
}

std::optional<double> MaxOverTime(const MatrixCall& c) {
  double m = c.points[0].v;
  for (const Point& p : c.points) {
    if (p.v > m || std::isnan(m)) m = p.v;
  }
  return m;
}

std::optional<double> MinOverTime(const MatrixCall& c) {
  double m = c.points[0].v;
  for (const Point& p : c.points) {
    if (p.v < m || std::isnan(m)) m = p.v;
  }
  return m;
}

std::optional<double> QuantileOverTime(const MatrixCall& c) {
  std::vector<double> values;
  for (const Point& p : c.points) values.push_back(p.v);
  return Quantile(c.scalars[0], values);
}

std::optional<double> Changes(const MatrixCall& c) {
  double n = 0;
  for (size_t i = 1; i < c.points.size(); ++i) {
    double cur = c.points[i].v, prev = c.points[i - 1].v;
    if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) n++;
  }
  return n;
}

std::optional<double> Resets(const MatrixCall& c) {
  double n = 0;
  for (size_t i = 1; i < c.points.size(); ++i) {
    if (c.points[i].v < c.points[i - 1].v) n++;
  }
  return n;
}

std::optional<double> Deriv(const MatrixCall& c) {
  if (c.points.size() < 2) return std::nullopt;
  return LinearRegression(c.points, c.points[0].t).first;
}

std::optional<double> PredictLinear(const MatrixCall& c) {
  if (c.points.size() < 2) return std::nullopt;
  auto [slope, intercept] = LinearRegression(c.points, c.ts);
  return slope * c.scalars[0] + intercept;
}

// ---- Instant-vector and scalar functions -----------------------------------------------

using Args = std::span<Value>;

Vector& Vec(Value& v) { return std::get<Vector>(v); }
double Num(const Value& v) { return std::get<Scalar>(v).v; }

// Applies f to every sample, dropping the metric name (Prometheus's simpleFunc).
template <typename F>
Value Simple(Args args, int64_t ts, F f) {
  Vector out;
  for (auto& s : Vec(args[0])) out.push_back({DropMetricName(s.labels), ts, f(s.v)});
  return out;
}

#define ZW_MATH_FN(fn_name, expr)                                 \
  Value fn_name(Args args, const Call&, Evaluator&, int64_t ts) { \
    return Simple(args, ts, [](double v) { return expr; });       \
  }

ZW_MATH_FN(Abs, std::abs(v))
ZW_MATH_FN(Ceil, std::ceil(v))
ZW_MATH_FN(Floor, std::floor(v))
ZW_MATH_FN(Exp, std::exp(v))
ZW_MATH_FN(Sqrt, std::sqrt(v))
ZW_MATH_FN(Ln, std::log(v))
ZW_MATH_FN(Log2, std::log2(v))
ZW_MATH_FN(Log10, std::log10(v))
ZW_MATH_FN(Sin, std::sin(v))
ZW_MATH_FN(Cos, std::cos(v))
ZW_MATH_FN(Tan, std::tan(v))
ZW_MATH_FN(Asin, std::asin(v))
ZW_MATH_FN(Acos, std::acos(v))
ZW_MATH_FN(Atan, std::atan(v))
ZW_MATH_FN(Sinh, std::sinh(v))
ZW_MATH_FN(Cosh, std::cosh(v))
ZW_MATH_FN(Tanh, std::tanh(v))
ZW_MATH_FN(Asinh, std::asinh(v))
ZW_MATH_FN(Acosh, std::acosh(v))
ZW_MATH_FN(Atanh, std::atanh(v))
ZW_MATH_FN(Deg, v * 180 / std::numbers::pi)
ZW_MATH_FN(Rad, v* std::numbers::pi / 180)
ZW_MATH_FN(Sgn, v < 0 ? -1.0 : (v > 0 ? 1.0 : v))
#undef ZW_MATH_FN

Value Round(Args args, const Call&, Evaluator&, int64_t ts) {
  double to_nearest = args.size() > 1 ? Num(args[1]) : 1;
  double inv = 1.0 / to_nearest;
  return Simple(args, ts, [inv](double v) { return std::floor(v * inv + 0.5) / inv; });
}

Value Clamp(Args args, const Call&, Evaluator&, int64_t ts) {
  double lo = Num(args[1]), hi = Num(args[2]);
  if (hi < lo) return Vector{};
  return Simple(args, ts, [=](double v) { return GoMax(lo, GoMin(hi, v)); });
}
Value ClampMax(Args args, const Call&, Evaluator&, int64_t ts) {
  double hi = Num(args[1]);
  return Simple(args, ts, [=](double v) { return GoMin(hi, v); });
}
Value ClampMin(Args args, const Call&, Evaluator&, int64_t ts) {
  double lo = Num(args[1]);
  return Simple(args, ts, [=](double v) { return GoMax(lo, v); });
}

Value Time(Args, const Call&, Evaluator&, int64_t ts) {
  return Scalar{ts, static_cast<double>(ts) / 1000};
}
Value Pi(Args, const Call&, Evaluator&, int64_t ts) { return Scalar{ts, std::numbers::pi}; }

Value Timestamp(Args args, const Call&, Evaluator&, int64_t ts) {
  Vector out;
  for (auto& s : Vec(args[0])) {
    out.push_back({DropMetricName(s.labels), ts, static_cast<double>(s.t) / 1000});
  }
  return out;
}

Value VectorFn(Args args, const Call&, Evaluator&, int64_t ts) {
  return Vector{{Labels(), ts, Num(args[0])}};
}

Value ScalarFn(Args args, const Call&, Evaluator&, int64_t ts) {
  const Vector& v = Vec(args[0]);
  return Scalar{ts, v.size() == 1 ? v[0].v : kNaN};
}

Value SortFn(Args args, bool desc) {
  Vector v = std::move(Vec(args[0]));
  std::stable_sort(v.begin(), v.end(), [desc](const VectorSample& a, const VectorSample& b) {
    if (std::isnan(a.v)) return false;
    if (std::isnan(b.v)) return true;
    return desc ? a.v > b.v : a.v < b.v;
  });
  return v;
}
Value Sort(Args args, const Call&, Evaluator&, int64_t) { return SortFn(args, false); }
Value SortDesc(Args args, const Call&, Evaluator&, int64_t) { return SortFn(args, true); }

// Go's regexp.Expand for label_replace's replacement: $1, ${1}, $name, ${name}, $$.
std::string Expand(std::string_view tmpl, const RE2& re, std::span<const re2::StringPiece> groups) {
  std::string out;
  const auto& named = re.NamedCapturingGroups();
  auto group = [&](std::string_view name) -> std::string_view {
    int idx = -1;
    if (!name.empty() &&
        std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      idx = name.size() > 9 ? -1 : std::atoi(std::string(name).c_str());
    } else if (auto it = named.find(std::string(name)); it != named.end()) {
      idx = it->second;
    }
    if (idx < 0 || static_cast<size_t>(idx) >= groups.size() || groups[idx].data() == nullptr) {
      return {};
    }
    return {groups[idx].data(), groups[idx].size()};
  };
  auto is_name = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
  };
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] != '$') {
      out += tmpl[i++];
      continue;
    }
    if (i + 1 < tmpl.size() && tmpl[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    size_t j = i + 1;
    std::string_view name;
    if (j < tmpl.size() && tmpl[j] == '{') {
      size_t k = j + 1;
      while (k < tmpl.size() && is_name(tmpl[k])) ++k;
      if (k < tmpl.size() && tmpl[k] == '}' && k > j + 1) {
        name = tmpl.substr(j + 1, k - j - 1);
        j = k + 1;
      }
    } else {
      size_t k = j;
      while (k < tmpl.size() && is_name(tmpl[k])) ++k;
      if (k > j) {
        name = tmpl.substr(j, k - j);
        j = k;
      }
    }
    if (name.empty()) {  // not a valid reference: a literal '$'
      out += '$';
      ++i;
      continue;
    }
    out += group(name);
    i = j;
  }
  return out;
}

Value LabelReplace(Args args, const Call&, Evaluator&, int64_t ts) {
  const std::string& dst = std::get<String>(args[1]).v;
  const std::string& repl = std::get<String>(args[2]).v;
  const std::string& src = std::get<String>(args[3]).v;
  const std::string& regex = std::get<String>(args[4]).v;
  RE2 re("^(?:" + regex + ")$", RE2::Quiet);
  if (!re.ok()) Fail("invalid regular expression in label_replace(): {}", regex);
  if (!IsValidLabelName(dst)) Fail("invalid destination label name in label_replace(): {}", dst);
  std::vector<re2::StringPiece> groups(static_cast<size_t>(re.NumberOfCapturingGroups()) + 1);
  Vector out;
  for (auto& s : Vec(args[0])) {
    std::string_view v = s.labels.Get(src);
    re2::StringPiece input(v.data(), v.size());
    Labels l = s.labels;
    if (re.Match(input, 0, v.size(), RE2::UNANCHORED, groups.data(),
                 static_cast<int>(groups.size()))) {
      l = LabelsBuilder(l).Set(dst, Expand(repl, re, groups)).Build();
    }
    out.push_back({std::move(l), ts, s.v});
  }
  return out;
}

Value LabelJoin(Args args, const Call&, Evaluator&, int64_t ts) {
  const std::string& dst = std::get<String>(args[1]).v;
  const std::string& sep = std::get<String>(args[2]).v;
  std::vector<std::string> srcs;
  for (size_t i = 3; i < args.size(); ++i) {
    srcs.push_back(std::get<String>(args[i]).v);
    if (!IsValidLabelName(srcs.back())) {
      Fail("invalid source label name in label_join(): {}", srcs.back());
    }
  }
  if (!IsValidLabelName(dst)) Fail("invalid destination label name in label_join(): {}", dst);
  Vector out;
  for (auto& s : Vec(args[0])) {
    std::string joined;
    for (size_t i = 0; i < srcs.size(); ++i) {
      if (i > 0) joined += sep;
      joined += s.labels.Get(srcs[i]);
    }
    out.push_back({LabelsBuilder(s.labels).Set(dst, joined).Build(), ts, s.v});
  }
  return out;
}

Value Absent(Args args, const Call& call, Evaluator&, int64_t ts) {
  if (!Vec(args[0]).empty()) return Vector{};
  return Vector{{AbsentLabels(*call.args[0]), ts, 1}};
}

// histogram_quantile's view of a bucket series: its upper bound, false when le is missing or
// not a number (the series is ignored), and the key of its histogram.
bool ReadBucket(const Labels& l, double* upper_bound, uint64_t* key) {
  std::string bound(l.Get("le"));
  char* end = nullptr;
  *upper_bound = std::strtod(bound.c_str(), &end);
  if (bound.empty() || end != bound.c_str() + bound.size() || std::isspace(bound[0])) return false;
  // Keyed by every label but le: series differing only in name are separate histograms.
  // HashWithout leaves the name out as well, so its hash is mixed back in; no labels are
  // built for the key (this runs for every bucket at every step of a range query).
  static const std::vector<std::string> kLe = {"le"};
  const uint64_t name_hash = std::hash<std::string_view>{}(l.MetricName());
  *key = l.HashWithout(kLe) ^ (name_hash * 0x9e3779b97f4a7c15ULL);
  return true;
}

// The labels of a histogram's quantile: its buckets' less the name and le.
Labels HistogramLabels(const Labels& l) {
  return LabelsBuilder(l).Del(kMetricNameLabel).Del("le").Build();
}

Value HistogramQuantile(Args args, const Call&, Evaluator&, int64_t ts) {
  double q = Num(args[0]);
  struct Group {
    Labels labels;
    std::vector<Bucket> buckets;
  };
  std::vector<Group> groups;
  std::unordered_map<uint64_t, size_t> index;
  for (auto& s : Vec(args[1])) {
    double ub = 0;
    uint64_t key = 0;
    if (!ReadBucket(s.labels, &ub, &key)) continue;
    auto [it, inserted] = index.emplace(key, groups.size());
    if (inserted) groups.push_back({HistogramLabels(s.labels), {}});
    groups[it->second].buckets.push_back({ub, s.v});
  }
  Vector out;
  for (auto& g : groups) out.push_back({std::move(g.labels), ts, BucketQuantile(q, g.buckets)});
  return out;
}

Value NoFloats(Args, const Call&, Evaluator&, int64_t) { return Vector{}; }

// ---- Date functions ---------------------------------------------------------------------

struct Civil {
  int64_t year;
  int month, day, hour, minute, wday, yday;
};

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

Civil ToCivil(int64_t secs) {
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  Civil c{};
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem % 3600 / 60);
  c.wday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  // Howard Hinnant's civil_from_days.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  static constexpr int kCum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  c.yday = kCum[c.month - 1] + c.day + (c.month > 2 && IsLeap(c.year) ? 1 : 0);
  return c;
}

int DaysIn(const Civil& c) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[c.month - 1] + (c.month == 2 && IsLeap(c.year) ? 1 : 0);
}

template <typename F>
Value DateFn(Args args, int64_t ts, F f) {
  if (args.empty()) {
    return Vector{{Labels(), ts, f(ToCivil(ts / 1000))}};
  }
  return Simple(args, ts, [&](double v) {
    if (std::isnan(v) || std::isinf(v)) return kNaN;
    return f(ToCivil(static_cast<int64_t>(v)));
  });
}

#define ZW_DATE_FN(fn_name, expr)                                                      \
  Value fn_name(Args args, const Call&, Evaluator&, int64_t ts) {                      \
    return DateFn(args, ts, [](const Civil& c) { return static_cast<double>(expr); }); \
  }
ZW_DATE_FN(DaysInMonth, DaysIn(c))
ZW_DATE_FN(DayOfMonth, c.day)
ZW_DATE_FN(DayOfWeek, c.wday)
ZW_DATE_FN(DayOfYear, c.yday)
ZW_DATE_FN(Hour, c.hour)
ZW_DATE_FN(Minute, c.minute)
ZW_DATE_FN(Month, c.month)
ZW_DATE_FN(Year, c.year)
#undef ZW_DATE_FN

// ---- The table --------------------------------------------------------------------------

using MFn = std::optional<double> (*)(const MatrixCall&);

constexpr FunctionImpl M(std::string_view name, MFn fn) { return {name, fn, nullptr}; }
constexpr FunctionImpl V(std::string_view name,
                         Value (*fn)(std::span<Value>, const Call&, Evaluator&, int64_t)) {
  return {name, nullptr, fn};
}

const FunctionImpl kImpls[] = {
    V("abs", Abs),
    V("absent", Absent),
    // absent_over_time is answered by the evaluator from the whole range vector.
    M("absent_over_time", [](const MatrixCall&) -> std::optional<double> { return 1; }),
    V("acos", Acos),
    V("acosh", Acosh),
    V("asin", Asin),
    V("asinh", Asinh),
    V("atan", Atan),
    V("atanh", Atanh),
    M("avg_over_time", AvgOverTime),
    V("ceil", Ceil),
    M("changes", Changes),
    V("clamp", Clamp),
    V("clamp_max", ClampMax),
    V("clamp_min", ClampMin),
    V("cos", Cos),
    V("cosh", Cosh),
    M("count_over_time",
      [](const MatrixCall& c) -> std::optional<double> {
        return static_cast<double>(c.points.size());
      }),
    V("day_of_month", DayOfMonth),
    V("day_of_week", DayOfWeek),
    V("day_of_year", DayOfYear),
    V("days_in_month", DaysInMonth),
    V("deg", Deg),
    M("delta", [](const MatrixCall& c) { return ExtrapolatedRate(c, false, false); }),
    M("deriv", Deriv),
    V("exp", Exp),
    V("floor", Floor),
    V("histogram_count", NoFloats),
    V("histogram_fraction", NoFloats),
    V("histogram_quantile", HistogramQuantile),
    V("histogram_sum", NoFloats),
    M("holt_winters", HoltWinters),
    V("hour", Hour),
    M("idelta", [](const MatrixCall& c) { return InstantValue(c, false); }),
    M("increase", [](const MatrixCall& c) { return ExtrapolatedRate(c, true, false); }),
    M("irate", [](const MatrixCall& c) { return InstantValue(c, true); }),
    V("label_join", LabelJoin),
    V("label_replace", LabelReplace),
    M("last_over_time",
      [](const MatrixCall& c) -> std::optional<double> { return c.points.back().v; }),
    V("ln", Ln),
    V("log10", Log10),
    V("log2", Log2),
    M("max_over_time", MaxOverTime),
    M("min_over_time", MinOverTime),
    V("minute", Minute),
    V("month", Month),
    V("pi", Pi),
    M("predict_linear", PredictLinear),
    M("present_over_time", [](const MatrixCall&) -> std::optional<double> { return 1; }),
    M("quantile_over_time", QuantileOverTime),
    V("rad", Rad),
    M("rate", [](const MatrixCall& c) { return ExtrapolatedRate(c, true, true); }),
    M("resets", Resets),
    V("round", Round),
    V("scalar", ScalarFn),
    V("sgn", Sgn),
    V("sin", Sin),
    V("sinh", Sinh),
    V("sort", Sort),
    V("sort_desc", SortDesc),
    V("sqrt", Sqrt),
    M("stddev_over_time",
      [](const MatrixCall& c) -> std::optional<double> { return std::sqrt(*StdvarOverTime(c)); }),
    M("stdvar_over_time", StdvarOverTime),
    M("sum_over_time", SumOverTime),
    V("tan", Tan),
    V("tanh", Tanh),
    V("time", Time),
    V("timestamp", Timestamp),
    V("vector", VectorFn),
    V("year", Year),
};

}  // namespace

const FunctionImpl* FindFunctionImpl(std::string_view name) {
  for (const auto& f : kImpls) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Stepped Evaluator::StepHistogramQuantile(const Call& c) {
  // What StepByStep does over HistogramQuantile, step for step and in the same order (the
  // histograms in order of their first bucket in the step's vector, the output series in
  // order of first value), but each series' bound and histogram, and each histogram's
  // labels, are found once rather than at every step.
  Stepped qs = RangeEval(*c.args[0]);
  Stepped in = RangeEval(*c.args[1]);
  const size_t n = NumSteps();
  constexpr size_t kNone = static_cast<size_t>(-1);
  struct Histogram {
    Labels labels;
    // Its buckets' series: by bound (stably) unless a bound is NaN, else in input order, so
    // that BucketQuantile finds each step's buckets in its own order.
    std::vector<size_t> members;
    size_t out = kNone;  // its output series, once it has a value
  };
  std::vector<Histogram> hists;
  std::vector<size_t> hist_of(in.m.size(), kNone);
  std::vector<double> bound(in.m.size());
  {
    std::unordered_map<uint64_t, size_t> index;
    for (size_t j = 0; j < in.m.size(); ++j) {
      uint64_t key = 0;
      if (!ReadBucket(in.m[j].labels, &bound[j], &key)) continue;
      auto [it, inserted] = index.emplace(key, hists.size());
      if (inserted) hists.push_back({HistogramLabels(in.m[j].labels), {}, kNone});
      hist_of[j] = it->second;
      hists[it->second].members.push_back(j);
    }
  }
  for (Histogram& h : hists) {
    if (std::none_of(h.members.begin(), h.members.end(),
                     [&](size_t j) { return std::isnan(bound[j]); })) {
      std::stable_sort(h.members.begin(), h.members.end(),
                       [&](size_t a, size_t b) { return bound[a] < bound[b]; });
    }
  }
  std::vector<size_t> next(in.m.size(), 0);         // per series: its next point
  std::vector<size_t> at_step(in.m.size(), kNone);  // per series: the step of its last value
  std::vector<double> value(in.m.size());
  std::vector<size_t> touched;  // histograms in order of their first bucket this step
  std::vector<uint8_t> is_touched(hists.size(), 0);
  std::vector<Bucket> buckets;
  std::unordered_map<Labels, size_t, LabelsHash> out_index;
  Stepped out;
  uint64_t produced = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t ts = StepTime(i);
    CheckInterrupt();
    BeginStep();
    const Matrix& qm = qs.m;
    const double q = qm.empty() || i >= qm[0].points.size() ? kNaN : qm[0].points[i].v;
    touched.clear();
    for (size_t j = 0; j < in.m.size(); ++j) {
      size_t& p = next[j];
      const std::vector<Point>& pts = in.m[j].points;
      if (p >= pts.size() || pts[p].t != ts) continue;
      value[j] = pts[p++].v;
      at_step[j] = i;
      const size_t h = hist_of[j];
      if (h == kNone || is_touched[h]) continue;
      is_touched[h] = 1;
      touched.push_back(h);
    }
    for (size_t h : touched) {
      is_touched[h] = 0;
      Histogram& hist = hists[h];
      buckets.clear();
      for (size_t j : hist.members) {
        if (at_step[j] == i) buckets.push_back({bound[j], value[j]});
      }
      const double v = BucketQuantile(q, buckets);
      if (hist.out == kNone) {
        auto [pos, inserted] = out_index.emplace(hist.labels, out.m.size());
        if (inserted) out.m.push_back({hist.labels, {}});
        hist.out = pos->second;
      }
      std::vector<Point>& points = out.m[hist.out].points;
      // Two histograms whose labels coincide once the name is dropped, both with a value.
      if (!points.empty() && points.back().t == ts) {
        CheckNoDuplicateLabelsets(Vector{{hist.labels, ts, 0}, {hist.labels, ts, 0}});
      }
      points.push_back({ts, v});
      ++produced;
    }
  }
  Hold(produced);
  for (const auto& s : qs.m) Unhold(s.points.size());
  for (const auto& s : in.m) Unhold(s.points.size());
  return out;
}

bool AllFunctionsImplemented() {
  for (const auto& sig : AllFunctions()) {
    if (FindFunctionImpl(sig.name) == nullptr) return false;
  }
  return true;
}

}  // namespace zw::promql
