// Range evaluation: a node's value at every step of a range query at once.
//
// Prometheus 2.42 evaluates a range query node by node: selectors and functions of range
// selectors walk one series at a time across all steps; everything else combines its
// operands' values step by step. Doing the same keeps what a query holds to what it produces:
// a selector never materialises the samples it reads, only the points it outputs, and the
// samples of one series' window at a time.
#include <algorithm>
#include <iterator>
#include <limits>
#include <span>

#include "promql/eval.h"

namespace zw::promql {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsOperandType(const Expr& e) {
  ValueType t = e.Type();
  return t == ValueType::kVector || t == ValueType::kScalar;
}

// Whether two step-ordered point lists share a step.
bool ShareAStep(const std::vector<Point>& a, const std::vector<Point>& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].t == b[j].t) return true;
    if (a[i].t < b[j].t) {
      ++i;
    } else {
      ++j;
    }
  }
  return false;
}

// One sample lookahead over a series' samples. Where the iterator hands out its decoded
// samples as a span (SampleIterator::Buffered), the cursor walks the span and calls the
// iterator again only past its end.
class Cursor {
 public:
  explicit Cursor(storage::SampleIterator& it) : it_(it) {
    valid_ = it_.Next();
    if (valid_) Load();
  }
  bool valid() {
    Settle();
    return valid_;
  }
  // REQUIRES: valid().
  const Sample& at() const { return buf_[pos_]; }
  // REQUIRES: valid().
  void Advance() {
    if (++pos_ < buf_.size()) return;
    if (!buffered_) {
      valid_ = it_.Next();
    } else if (buf_.back().t == kMaxTime) {
      valid_ = false;
    } else {
      valid_ = it_.Seek(buf_.back().t + 1);
    }
    if (valid_) Load();
  }
  // Moves past every sample at or before t; false when there was none, else the last of
  // them is in *last.
  bool TakeThrough(int64_t t, Sample* last) {
    Settle();
    bool any = false;
    while (valid_) {
      const Sample* b = buf_.data();
      const size_t n = buf_.size();
      size_t p = pos_;
      if (b[p].t > t) break;
      while (p + 1 < n && b[p + 1].t <= t) ++p;
      *last = b[p];
      any = true;
      if (p + 1 < n) {  // the next sample is after t: done, no call on the iterator
        pos_ = p + 1;
        break;
      }
      pos_ = p;
      Advance();
    }
    return any;
  }
  // The next samples at or before t that lie together in memory, moved past: call again
  // until it returns an empty span (no sample at or before t is left). A span stays valid
  // until the next call on the cursor.
  std::span<const Sample> RunThrough(int64_t t) {
    Settle();
    if (!valid_) return {};
    const Sample* b = buf_.data();
    const size_t n = buf_.size();
    const size_t from = pos_;
    if (b[from].t > t) return {};
    size_t end = from + 1;
    while (end < n && b[end].t <= t) ++end;
    pos_ = end;  // when that is the end of buf_, the iterator moves on at the next call
    return buf_.subspan(from, end - from);
  }
  // To the first sample at or after t (never backwards).
  void SkipTo(int64_t t) {
    Settle();
    if (!valid_ || at().t >= t) return;
    if (buf_.back().t >= t) {
      pos_ = static_cast<size_t>(
          std::partition_point(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), buf_.end(),
                               [t](const Sample& s) { return s.t < t; }) -
          buf_.begin());
      return;
    }
    valid_ = it_.Seek(t);
    if (valid_) Load();
  }

 private:
  void Load() {
    buf_ = it_.Buffered();
    buffered_ = !buf_.empty();
    if (!buffered_) {
      one_ = it_.At();
      buf_ = std::span<const Sample>(&one_, 1);
    }
    pos_ = 0;
  }
  // Completes a move RunThrough left at the end of buf_.
  void Settle() {
    if (valid_ && pos_ == buf_.size()) {
      --pos_;
      Advance();
    }
  }

  storage::SampleIterator& it_;
  bool valid_ = false;
  bool buffered_ = false;        // buf_ is the iterator's span, not one_
  std::span<const Sample> buf_;  // buf_[pos_] is the current sample, when valid_
  size_t pos_ = 0;
  Sample one_{};
};

}  // namespace

void Evaluator::Hold(uint64_t n) {
  held_ += n;
  HoldingAtOnce(held_);
}

bool StreamsMatrixArg(const Call& c, size_t i) {
  const Expr& arg = Unparen(*c.args[i]);
  if (arg.kind != ExprKind::kMatrixSelector || arg.As<MatrixSelector>().vector().at.set()) {
    return false;
  }
  for (size_t j = 0; j < c.args.size(); ++j) {
    if (j != i && c.args[j]->Type() != ValueType::kScalar) return false;
  }
  return c.func->name != "absent_over_time";
}

bool StreamedSeriesStayDistinct(const Call& c, size_t i) {
  if (c.func->name == "last_over_time") return true;  // keeps the name
  for (const Matcher& m : Unparen(*c.args[i]).As<MatrixSelector>().vector().matchers) {
    if (m.name() == kMetricNameLabel && m.type() == MatchType::kEqual) return true;
  }
  return false;
}

Stepped Evaluator::RangeEval(const Expr& e) {
  std::vector<const Expr*> operands;
  auto operand = [&](const Expr& o) {
    if (IsOperandType(o)) operands.push_back(&Unparen(o));
  };
  switch (e.kind) {
    case ExprKind::kParen:
      return RangeEval(*e.As<ParenExpr>().expr);
    case ExprKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      if (!vs.at.set()) return StreamSelector(vs);
      break;  // one fixed time: step by step reads it once
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      for (size_t i = 0; i < c.args.size(); ++i) {
        const Expr& arg = Unparen(*c.args[i]);
        if (arg.kind == ExprKind::kSubquery) return StepByStep(e, {});
        if (arg.kind != ExprKind::kMatrixSelector) continue;
        if (StreamsMatrixArg(c, i)) return StreamMatrixCall(c, i);
        return StepByStep(e, {});
      }
      // timestamp() of a selector reads the samples' own times, not a stepped value.
      if (c.func->name == "timestamp") return StepByStep(e, {});
      for (const auto& a : c.args) operand(*a);
      break;
    }
    case ExprKind::kUnary:
      operand(*e.As<UnaryExpr>().expr);
      break;
    case ExprKind::kBinary:
      operand(*e.As<BinaryExpr>().lhs);
      operand(*e.As<BinaryExpr>().rhs);
      break;
    case ExprKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      if (IsSteppedAggregation(a.op)) return StepAggregate(a);
      if (a.op == AggregateOp::kTopk || a.op == AggregateOp::kBottomk) return StepTopk(a);
      if (a.param) operand(*a.param);
      operand(*a.expr);
      break;
    }
    default:
      break;
  }
  return StepByStep(e, operands);
}

Stepped Evaluator::StreamSelector(const VectorSelector& vs) {
  Stepped out;
  // The points are copied into a vector of their size: `s` keeps its capacity for the next
  // series, rather than a fresh vector growing by doubling (and copying) for every series.
  StreamSelectorEach(vs, [&](Series& s) {
    out.m.push_back({std::move(s.labels), std::vector<Point>(s.points.begin(), s.points.end())});
  });
  return out;
}

void Evaluator::StreamSelectorEach(const VectorSelector& vs,
                                   const std::function<void(Series&)>& f) {
  auto h = hints_.find(&vs);
  auto set = querier_.Select(true, h == hints_.end() ? nullptr : &h->second, vs.matchers);
  const size_t n = NumSteps();
  Series series;
  while (set->Next()) {
    CheckInterrupt();
    const auto& s = set->At();
    auto it = s.Iterator();
    Cursor next(*it);
    series.labels = s.labels();
    series.points.clear();
    bool have = false;
    Sample cur{};
    for (size_t i = 0; i < n && (next.valid() || have); ++i) {
      const int64_t ts = StepTime(i);
      const int64_t ref = ts - vs.original_offset_ms;
      if (next.valid() && next.at().t < ref - opts_.lookback_ms) {
        // Nothing before ref - lookback can be this step's sample: jump over long gaps.
        have = false;
        next.SkipTo(ref - opts_.lookback_ms);
      }
      if (next.TakeThrough(ref, &cur)) have = true;
      if (!have || cur.t < ref - opts_.lookback_ms || IsStaleNaN(cur.v)) continue;
      series.points.push_back({ts, cur.v});
    }
    if (Status st = it->Err(); !st.ok()) throw EvalError(st.code(), st.message());
    if (series.points.empty()) continue;
    queryable_samples_ += series.points.size();
    Hold(series.points.size());
    f(series);
  }
  if (Status st = set->Err(); !st.ok()) throw EvalError(st.code(), st.message());
  for (auto& w : set->Warnings()) warnings_.push_back(std::move(w));
}

Stepped Evaluator::StreamMatrixCall(const Call& c, size_t matrix_arg) {
  Stepped out;
  std::unordered_map<Labels, size_t, LabelsHash> index;
  StreamMatrixCallEach(c, matrix_arg, [&](Series& s) {
    Series series{std::move(s.labels), std::vector<Point>(s.points.begin(), s.points.end())};
    auto [pos, inserted] = index.emplace(series.labels, out.m.size());
    if (inserted) {
      out.m.push_back(std::move(series));
      return;
    }
    // Two inputs that differ only in their name: an error at any step both have a value,
    // as in the step-by-step evaluation.
    Series& other = out.m[pos->second];
    if (ShareAStep(other.points, series.points)) {
      CheckNoDuplicateLabelsets(Vector{{other.labels, 0, 0}, {series.labels, 0, 0}});
    }
    std::vector<Point> merged;
    merged.reserve(other.points.size() + series.points.size());
    std::merge(other.points.begin(), other.points.end(), series.points.begin(), series.points.end(),
               std::back_inserter(merged),
               [](const Point& a, const Point& b) { return a.t < b.t; });
    other.points = std::move(merged);
  });
  return out;
}

void Evaluator::StreamMatrixCallEach(const Call& c, size_t matrix_arg,
                                     const std::function<void(Series&)>& f) {
  const FunctionImpl* impl = FindFunctionImpl(c.func->name);
  if (impl == nullptr || impl->matrix == nullptr) Fail("function {} not implemented", c.func->name);
  const auto& ms = Unparen(*c.args[matrix_arg]).As<MatrixSelector>();
  const VectorSelector& vs = ms.vector();
  // The other arguments are scalars, one value per step.
  std::vector<Stepped> scalar_args;
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (i != matrix_arg) scalar_args.push_back(RangeEval(*c.args[i]));
  }
  std::vector<double> scalars(scalar_args.size());
  const bool keep_name = c.func->name == "last_over_time";
  const size_t n = NumSteps();

  auto h = hints_.find(&vs);
  auto set = querier_.Select(true, h == hints_.end() ? nullptr : &h->second, vs.matchers);
  std::vector<Point> window;
  Series series;  // the current series' output; its points' capacity is reused
  MatrixCall mc;
  mc.range_ms = ms.range_ms;
  while (set->Next()) {
    CheckInterrupt();
    const auto& s = set->At();
    auto it = s.Iterator();
    Cursor next(*it);
    series.points.clear();
    window.clear();
    size_t head = 0;  // window[head, end) is the current range
    // The time of the newest point whose value is below its predecessor's: while it is not
    // after the window's first point, the window has no counter reset.
    int64_t last_drop = INT64_MIN;
    for (size_t i = 0; i < n; ++i) {
      const int64_t ts = StepTime(i);
      const int64_t ref = ts - vs.original_offset_ms;
      const int64_t lo = ref - ms.range_ms;
      while (head < window.size() && window[head].t < lo) ++head;
      next.SkipTo(lo);
      for (auto run = next.RunThrough(ref); !run.empty(); run = next.RunThrough(ref)) {
        Poll(run.size());
        bool have_back = !window.empty();
        double back = have_back ? window.back().v : 0;
        int64_t drop = last_drop;
        for (const Sample& smp : run) {
          if (IsStaleNaN(smp.v)) continue;
          if (have_back && smp.v < back) drop = smp.t;
          back = smp.v;
          have_back = true;
          window.push_back({smp.t, smp.v});
        }
        last_drop = drop;
      }
      if (head == window.size()) {
        if (!next.valid()) break;
        continue;
      }
      if (head > 256 && head * 2 > window.size()) {
        window.erase(window.begin(), window.begin() + static_cast<std::ptrdiff_t>(head));
        head = 0;
      }
      for (size_t k = 0; k < scalar_args.size(); ++k) {
        const auto& m = scalar_args[k].m;
        scalars[k] = m.empty() || i >= m[0].points.size() ? kNaN : m[0].points[i].v;
      }
      mc.points = std::span<const Point>(window.data() + head, window.size() - head);
      mc.ts = ts;
      mc.range_start = lo;
      mc.range_end = ref;
      mc.scalars = scalars;
      mc.no_drops = last_drop <= window[head].t;
      // As in Prometheus, the window counts against the limit while it is held.
      const uint64_t in_window = window.size() - head;
      HoldingAtOnce(held_ + in_window);
      queryable_samples_ += in_window;
      if (std::optional<double> v = impl->matrix(mc)) series.points.push_back({ts, *v});
    }
    if (Status st = it->Err(); !st.ok()) throw EvalError(st.code(), st.message());
    if (series.points.empty()) continue;
    Hold(series.points.size());
    series.labels = keep_name ? s.labels() : DropMetricName(s.labels());
    f(series);
  }
  if (Status st = set->Err(); !st.ok()) throw EvalError(st.code(), st.message());
  for (auto& w : set->Warnings()) warnings_.push_back(std::move(w));
  for (const auto& a : scalar_args) {
    for (const auto& s : a.m) Unhold(s.points.size());
  }
}

Stepped Evaluator::StepByStep(const Expr& e, const std::vector<const Expr*>& operands) {
  std::vector<Stepped> values;
  values.reserve(operands.size());
  for (const Expr* o : operands) values.push_back(RangeEval(*o));
  // Per operand and series: the next point to hand out.
  std::vector<std::vector<size_t>> next(values.size());
  for (size_t k = 0; k < values.size(); ++k) next[k].assign(values[k].m.size(), 0);

  Stepped out;
  out.scalar = e.Type() == ValueType::kScalar;
  std::unordered_map<Labels, size_t, LabelsHash> index;
  uint64_t produced = 0;
  const size_t n = NumSteps();
  for (size_t i = 0; i < n; ++i) {
    const int64_t ts = StepTime(i);
    CheckInterrupt();
    BeginStep();
    for (size_t k = 0; k < values.size(); ++k) {
      const Matrix& m = values[k].m;
      if (values[k].scalar) {
        operands_[operands[k]] =
            Scalar{ts, m.empty() || i >= m[0].points.size() ? kNaN : m[0].points[i].v};
        continue;
      }
      Vector v;
      for (size_t j = 0; j < m.size(); ++j) {
        size_t& p = next[k][j];
        if (p < m[j].points.size() && m[j].points[p].t == ts) {
          v.push_back({m[j].labels, ts, m[j].points[p].v});
          ++p;
        }
      }
      operands_[operands[k]] = std::move(v);
    }
    Value v = Eval(e, ts);
    operands_.clear();
    if (const auto* s = std::get_if<Scalar>(&v)) {
      if (out.m.empty()) out.m.push_back({Labels(), {}});
      out.m[0].points.push_back({ts, s->v});
      ++produced;
      continue;
    }
    for (auto& smp : std::get<Vector>(v)) {
      auto [pos, inserted] = index.emplace(smp.labels, out.m.size());
      if (inserted) out.m.push_back({std::move(smp.labels), {}});
      out.m[pos->second].points.push_back({ts, smp.v});
      ++produced;
    }
  }
  Hold(produced);
  for (const auto& val : values) {
    for (const auto& s : val.m) Unhold(s.points.size());
  }
  return out;
}

}  // namespace zw::promql
