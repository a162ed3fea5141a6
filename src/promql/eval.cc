// The evaluator core: dispatch on the AST, selectors (lookback, staleness, offset, @),
// subqueries and function calls; and the Engine boundary where evaluation errors become
// Status values.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "core/sample.h"
#include "promql/eval.h"
#include "promql/parser.h"

namespace zw::promql {

ValueType TypeOf(const Value& v) {
  switch (v.index()) {
    case 0:
      return ValueType::kScalar;
    case 1:
      return ValueType::kString;
    case 2:
      return ValueType::kVector;
    default:
      return ValueType::kMatrix;
  }
}

Labels DropMetricName(const Labels& l) {
  if (!l.Has(kMetricNameLabel)) return l;
  return LabelsBuilder(l).Del(kMetricNameLabel).Build();
}

void CheckNoDuplicateLabelsets(const Vector& v) {
  if (v.size() < 2) return;
  std::unordered_set<Labels, LabelsHash> seen;
  for (const auto& s : v) {
    if (!seen.insert(s.labels).second) Fail("vector cannot contain metrics with the same labelset");
  }
}

double GoMax(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::nan("");
  return std::max(a, b);
}
double GoMin(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::nan("");
  return std::min(a, b);
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind == ExprKind::kParen) p = p->As<ParenExpr>().expr.get();
  return *p;
}

// Prometheus's createLabelsForAbsentFunction.
Labels AbsentLabels(const Expr& arg) {
  const Expr& e = Unparen(arg);
  const Matchers* ms = nullptr;
  if (e.kind == ExprKind::kVectorSelector) ms = &e.As<VectorSelector>().matchers;
  if (e.kind == ExprKind::kMatrixSelector) ms = &e.As<MatrixSelector>().vector().matchers;
  if (ms == nullptr) return Labels();
  LabelsBuilder b;
  std::vector<std::string> has;
  for (const Matcher& m : *ms) {
    if (m.name() == kMetricNameLabel) continue;
    if (m.type() == MatchType::kEqual && b.Get(m.name()).empty()) {
      b.Set(m.name(), m.value());
    } else {
      has.push_back(m.name());
    }
  }
  for (const auto& n : has) b.Del(n);
  return b.Build();
}

void Evaluator::CheckInterrupt() {
  if (cancelled_ && cancelled_->load(std::memory_order_relaxed)) {
    throw EvalError(StatusCode::kCancelled, "query was canceled in expression evaluation");
  }
  if (deadline_ != std::chrono::steady_clock::time_point::max() &&
      std::chrono::steady_clock::now() >= deadline_) {
    throw EvalError(StatusCode::kUnavailable, "query timed out in expression evaluation");
  }
}

void Evaluator::NewPeak(uint64_t n) {
  peak_samples_ = n;
  if (n > opts_.max_samples) {
    throw EvalError(StatusCode::kResourceExhausted,
                    "query processing would load too many samples into memory in query "
                    "execution");
  }
}

void Evaluator::AddSamples(uint64_t n) {
  step_samples_ += n;
  HoldingAtOnce(step_samples_);
}

int64_t Evaluator::AtTime(const AtModifier& at, int64_t ts) const {
  switch (at.kind) {
    case AtKind::kNone:
      return ts;
    case AtKind::kTimestamp:
      return at.timestamp_ms;
    case AtKind::kStart:
      return start_;
    case AtKind::kEnd:
      return end_;
  }
  return ts;
}

const std::vector<StoredSeries>& Evaluator::Load(const VectorSelector& vs) {
  auto it = cache_.find(&vs);
  if (it != cache_.end()) return it->second;
  auto h = hints_.find(&vs);
  auto set = querier_.Select(true, h == hints_.end() ? nullptr : &h->second, vs.matchers);
  std::vector<StoredSeries> out;
  while (set->Next()) {
    CheckInterrupt();
    const auto& s = set->At();
    StoredSeries ss{s.labels(), {}};
    auto sit = s.Iterator();
    while (sit->Next()) {
      Poll();
      Sample smp = sit->At();
      ss.points.push_back({smp.t, smp.v});
    }
    if (Status st = sit->Err(); !st.ok()) throw EvalError(st.code(), st.message());
    out.push_back(std::move(ss));
  }
  if (Status st = set->Err(); !st.ok()) throw EvalError(st.code(), st.message());
  for (auto& w : set->Warnings()) warnings_.push_back(std::move(w));
  return cache_.emplace(&vs, std::move(out)).first->second;
}

Vector Evaluator::SelectVector(const VectorSelector& vs, int64_t ts, bool keep_sample_ts) {
  const int64_t ref = AtTime(vs.at, ts) - vs.original_offset_ms;
  Vector out;
  for (const StoredSeries& s : Load(vs)) {
    Poll();
    auto it = std::upper_bound(s.points.begin(), s.points.end(), ref,
                               [](int64_t t, const Point& p) { return t < p.t; });
    if (it == s.points.begin()) continue;
    const Point& p = *(it - 1);
    if (p.t < ref - opts_.lookback_ms || IsStaleNaN(p.v)) continue;
    out.push_back({s.labels, keep_sample_ts ? p.t : ts, p.v});
  }
  queryable_samples_ += out.size();
  AddSamples(out.size());
  return out;
}

Matrix Evaluator::SelectMatrix(const MatrixSelector& ms, int64_t ts) {
  const VectorSelector& vs = ms.vector();
  const int64_t maxt = AtTime(vs.at, ts) - vs.original_offset_ms;
  const int64_t mint = maxt - ms.range_ms;
  Matrix out;
  for (const StoredSeries& s : Load(vs)) {
    Poll();
    auto lo = std::lower_bound(s.points.begin(), s.points.end(), mint,
                               [](const Point& p, int64_t t) { return p.t < t; });
    Series series{s.labels, {}};
    for (auto it = lo; it != s.points.end() && it->t <= maxt; ++it) {
      if (!IsStaleNaN(it->v)) series.points.push_back(*it);
    }
    if (series.points.empty()) continue;
    queryable_samples_ += series.points.size();
    AddSamples(series.points.size());
    out.push_back(std::move(series));
  }
  return out;
}

Matrix Evaluator::EvalSubquery(const SubqueryExpr& sq, int64_t ts) {
  const int64_t step = sq.step_ms > 0 ? sq.step_ms : opts_.default_subquery_step_ms;
  const int64_t end = AtTime(sq.at, ts) - sq.original_offset_ms;
  const int64_t lo = end - sq.range_ms;
  int64_t start = step * (lo / step);
  if (start < lo) start += step;
  Matrix out;
  std::unordered_map<Labels, size_t, LabelsHash> index;
  const uint64_t saved = step_samples_;
  // As Prometheus 2.42, a subquery counts as queryable the points it produces, not what its
  // inner selectors read.
  const uint64_t saved_queryable = queryable_samples_;
  for (int64_t t = start; t <= end; t += step) {
    CheckInterrupt();
    Vector v = EvalVector(*sq.expr, t);
    for (auto& s : v) {
      auto [it, inserted] = index.emplace(s.labels, out.size());
      if (inserted) out.push_back({std::move(s.labels), {}});
      out[it->second].points.push_back({t, s.v});
    }
    step_samples_ = saved;
  }
  uint64_t total = 0;
  for (const auto& s : out) total += s.points.size();
  queryable_samples_ = saved_queryable + total;
  AddSamples(total);
  return out;
}

Vector Evaluator::EvalVector(const Expr& e, int64_t ts) {
  Value v = Eval(e, ts);
  if (auto* vec = std::get_if<Vector>(&v)) return std::move(*vec);
  Fail("expected instant vector, got {}", DocumentedType(TypeOf(v)));
}

double Evaluator::EvalScalar(const Expr& e, int64_t ts) {
  Value v = Eval(e, ts);
  if (auto* s = std::get_if<Scalar>(&v)) return s->v;
  Fail("expected scalar, got {}", DocumentedType(TypeOf(v)));
}

Value Evaluator::Eval(const Expr& e, int64_t ts) {
  if (!operands_.empty()) {
    auto it = operands_.find(&e);
    if (it != operands_.end()) {
      Value v = std::move(it->second);
      operands_.erase(it);
      return v;
    }
  }
  switch (e.kind) {
    case ExprKind::kNumberLiteral:
      return Scalar{ts, e.As<NumberLiteral>().value};
    case ExprKind::kStringLiteral:
      return String{ts, e.As<StringLiteral>().value};
    case ExprKind::kVectorSelector:
      return SelectVector(e.As<VectorSelector>(), ts, false);
    case ExprKind::kMatrixSelector:
      return SelectMatrix(e.As<MatrixSelector>(), ts);
    case ExprKind::kSubquery:
      return EvalSubquery(e.As<SubqueryExpr>(), ts);
    case ExprKind::kParen:
      return Eval(*e.As<ParenExpr>().expr, ts);
    case ExprKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      Value v = Eval(*u.expr, ts);
      if (!u.negate) return v;
      if (auto* s = std::get_if<Scalar>(&v)) {
        s->v = -s->v;
        return v;
      }
      Vector& vec = std::get<Vector>(v);
      for (auto& s : vec) {
        s.labels = DropMetricName(s.labels);
        s.v = -s.v;
      }
      CheckNoDuplicateLabelsets(vec);
      return v;
    }
    case ExprKind::kBinary:
      return EvalBinary(e.As<BinaryExpr>(), ts);
    case ExprKind::kAggregate:
      return EvalAggregate(e.As<AggregateExpr>(), ts);
    case ExprKind::kCall:
      return EvalCall(e.As<Call>(), ts);
  }
  Fail("unhandled expression kind");
}

Value Evaluator::EvalCall(const Call& c, int64_t ts) {
  for (size_t i = 0; i < c.args.size(); ++i) {
    ExprKind k = Unparen(*c.args[i]).kind;
    if (k == ExprKind::kMatrixSelector || k == ExprKind::kSubquery) {
      return EvalMatrixCall(c, i, ts);
    }
  }
  const FunctionImpl* impl = FindFunctionImpl(c.func->name);
  if (impl == nullptr || impl->vector == nullptr) Fail("function {} not implemented", c.func->name);
  std::vector<Value> args;
  args.reserve(c.args.size());
  for (const auto& a : c.args) {
    const Expr& arg = Unparen(*a);
    // timestamp() of a selector sees the samples' own timestamps.
    if (c.func->name == "timestamp" && arg.kind == ExprKind::kVectorSelector) {
      args.emplace_back(SelectVector(arg.As<VectorSelector>(), ts, true));
    } else {
      args.push_back(Eval(arg, ts));
    }
  }
  Value out = impl->vector(args, c, *this, ts);
  if (auto* v = std::get_if<Vector>(&out)) {
    CheckNoDuplicateLabelsets(*v);
  }
  return out;
}

Value Evaluator::EvalMatrixCall(const Call& c, size_t matrix_arg, int64_t ts) {
  const FunctionImpl* impl = FindFunctionImpl(c.func->name);
  if (impl == nullptr || impl->matrix == nullptr) Fail("function {} not implemented", c.func->name);
  const Expr& arg = Unparen(*c.args[matrix_arg]);
  Matrix m;
  int64_t range = 0, ref = 0;
  if (arg.kind == ExprKind::kMatrixSelector) {
    const auto& ms = arg.As<MatrixSelector>();
    m = SelectMatrix(ms, ts);
    range = ms.range_ms;
    ref = AtTime(ms.vector().at, ts) - ms.vector().original_offset_ms;
  } else {
    const auto& sq = arg.As<SubqueryExpr>();
    m = EvalSubquery(sq, ts);
    range = sq.range_ms;
    ref = AtTime(sq.at, ts) - sq.original_offset_ms;
  }
  std::vector<double> scalars;
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (i != matrix_arg) scalars.push_back(EvalScalar(*c.args[i], ts));
  }
  Vector out;
  if (c.func->name == "absent_over_time") {
    if (m.empty()) out.push_back({AbsentLabels(arg), ts, 1});
    return out;
  }
  const bool keep_name = c.func->name == "last_over_time";
  MatrixCall mc;
  // The evaluation time, not the @ time: 2.42 folds @ into the offset (predict_linear).
  mc.ts = ts;
  mc.range_start = ref - range;
  mc.range_end = ref;
  mc.range_ms = range;
  mc.scalars = scalars;
  for (const Series& s : m) {
    mc.points = s.points;
    std::optional<double> v = impl->matrix(mc);
    if (!v) continue;
    out.push_back({keep_name ? s.labels : DropMetricName(s.labels), ts, *v});
  }
  CheckNoDuplicateLabelsets(out);
  return out;
}

namespace {

// The time range a query reads, as Prometheus's FindMinMaxTimes.
struct Bounds {
  int64_t start = 0, end = 0, step = 0, lookback = 0;
  int64_t mint = kMaxTime, maxt = kMinTime;
  std::string_view func;  // the function enclosing the current node
  std::unordered_map<const VectorSelector*, storage::SelectHints> hints;

  int64_t At(const AtModifier& at, int64_t t) const {
    switch (at.kind) {
      case AtKind::kTimestamp:
        return at.timestamp_ms;
      case AtKind::kStart:
        return start;
      case AtKind::kEnd:
        return end;
      default:
        return t;
    }
  }

  void Selector(const VectorSelector& vs, int64_t lo, int64_t hi, int64_t back, int64_t range) {
    if (vs.at.set()) lo = hi = At(vs.at, lo);
    lo -= vs.original_offset_ms + back;
    hi -= vs.original_offset_ms;
    mint = std::min(mint, lo);
    maxt = std::max(maxt, hi);
    storage::SelectHints& h = hints[&vs];
    h.start = lo;
    h.end = hi;
    h.step = step;
    h.range = range;
    h.func = std::string(func);
  }

  void Walk(const Expr& e, int64_t lo, int64_t hi) {
    switch (e.kind) {
      case ExprKind::kVectorSelector:
        return Selector(e.As<VectorSelector>(), lo, hi, lookback, 0);
      case ExprKind::kMatrixSelector: {
        const auto& ms = e.As<MatrixSelector>();
        return Selector(ms.vector(), lo, hi, ms.range_ms, ms.range_ms);
      }
      case ExprKind::kSubquery: {
        const auto& sq = e.As<SubqueryExpr>();
        if (sq.at.set()) lo = hi = At(sq.at, lo);
        return Walk(*sq.expr, lo - sq.original_offset_ms - sq.range_ms, hi - sq.original_offset_ms);
      }
      case ExprKind::kParen:
        return Walk(*e.As<ParenExpr>().expr, lo, hi);
      case ExprKind::kUnary:
        return Walk(*e.As<UnaryExpr>().expr, lo, hi);
      case ExprKind::kBinary:
        Walk(*e.As<BinaryExpr>().lhs, lo, hi);
        return Walk(*e.As<BinaryExpr>().rhs, lo, hi);
      case ExprKind::kAggregate:
        if (e.As<AggregateExpr>().param) Walk(*e.As<AggregateExpr>().param, lo, hi);
        return Walk(*e.As<AggregateExpr>().expr, lo, hi);
      case ExprKind::kCall: {
        std::string_view outer = func;
        func = e.As<Call>().func->name;
        for (const auto& a : e.As<Call>().args) Walk(*a, lo, hi);
        func = outer;
        return;
      }
      default:
        return;
    }
  }
};

Status ToStatus(const EvalError& e) { return Status::Error(e.code(), "{}", e.what()); }

constexpr std::string_view kTimedOut = "query timed out in ";
constexpr std::string_view kCanceled = "query was canceled in ";

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

bool IsTimeout(const Status& st) {
  return st.code() == StatusCode::kUnavailable && st.message().starts_with(kTimedOut);
}

bool IsCancelled(const Status& st) {
  return st.code() == StatusCode::kCancelled && st.message().starts_with(kCanceled);
}

size_t Engine::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

size_t Engine::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool Engine::Acquire(const QueryControl& control, std::chrono::steady_clock::time_point deadline,
                     Status* error) {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  if (options_.max_concurrency == 0 || (queue_.empty() && active_ < options_.max_concurrency)) {
    ++active_;
    return true;
  }
  // Wait in line: a slot goes to the query at the head of the queue.
  const uint64_t ticket = next_ticket_++;
  queue_.push_back(ticket);
  for (;;) {
    if (queue_.front() == ticket && active_ < options_.max_concurrency) {
      queue_.pop_front();
      ++active_;
      // Another slot may be free for the next in line.
      slot_freed_.notify_all();
      return true;
    }
    if (control.cancelled && control.cancelled->load()) {
      *error = Status::Error(StatusCode::kCancelled, "{}query queue", kCanceled);
    } else if (Clock::now() >= deadline) {
      *error = Status::Error(StatusCode::kUnavailable, "{}query queue", kTimedOut);
    } else {
      // Cancellation is a flag, not a notification: look at it every few milliseconds.
      slot_freed_.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(5)));
      continue;
    }
    queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
    slot_freed_.notify_all();  // the one behind may now be at the head
    return false;
  }
}

void Engine::Release() {
  {
    std::lock_guard lock(mu_);
    --active_;
  }
  slot_freed_.notify_all();
}

Result<QueryResult> Engine::Range(storage::Queryable& q, std::string_view query, int64_t start,
                                  int64_t end, int64_t step, const QueryControl& control) {
  return Exec(q, query, start, end, step, false, control);
}

Result<QueryResult> Engine::Instant(storage::Queryable& q, std::string_view query, int64_t t_ms,
                                    const QueryControl& control) {
  return Exec(q, query, t_ms, t_ms, 1, true, control);
}

Result<QueryResult> Engine::Exec(storage::Queryable& q, std::string_view query, int64_t start,
                                 int64_t end, int64_t step, bool instant,
                                 const QueryControl& control) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point arrived = Clock::now();
  if (step <= 0 || end < start) {
    return Status::InvalidArgument("invalid range query: need step > 0 and end >= start");
  }
  auto parsed = ParseExpr(query);
  if (!parsed.ok()) return parsed.status();
  const Expr& root = **parsed;
  if (!instant && root.Type() != ValueType::kScalar && root.Type() != ValueType::kVector) {
    return Status::InvalidArgument(
        fmt::format("invalid expression type \"{}\" for range query, must be Scalar or "
                    "instant Vector",
                    DocumentedType(root.Type())));
  }
  Clock::time_point deadline = control.deadline;
  if (options_.timeout.count() > 0 && options_.timeout < Clock::time_point::max() - arrived) {
    deadline =
        std::min(deadline, arrived + std::chrono::duration_cast<Clock::duration>(options_.timeout));
  }
  Status queue_error;
  if (!Acquire(control, deadline, &queue_error)) return queue_error;
  struct SlotGuard {
    Engine* e;
    ~SlotGuard() { e->Release(); }
  } slot{this};
  const Clock::time_point admitted = Clock::now();

  QueryResult result;
  QueryStats& st = result.stats;
  st.exec_queue = Seconds(admitted - arrived);
  auto finish = [&](Clock::time_point eval_end, Clock::time_point sorted) {
    st.result_sort = Seconds(sorted - eval_end);
    st.eval_total = Seconds(sorted - admitted);
    st.exec_total = Seconds(Clock::now() - arrived);
  };

  Bounds b;
  b.start = start;
  b.end = end;
  b.step = instant ? 0 : step;
  b.lookback = options_.lookback_ms;
  b.Walk(root, start, end);
  if (b.mint > b.maxt) b.mint = b.maxt = start;
  auto querier = q.NewQuerier(b.mint, b.maxt);
  Evaluator ev(options_, *querier, start, end, result.warnings, instant ? 1 : step);
  ev.SetHints(std::move(b.hints));
  ev.SetLimits(control, deadline);
  const Clock::time_point prepared = Clock::now();
  st.query_preparation = Seconds(prepared - admitted);
  try {
    ev.CheckInterrupt();
    if (instant) {
      if (root.Type() == ValueType::kVector || root.Type() == ValueType::kScalar) {
        // One step of the range evaluation: streamed the same way, and its series come out
        // in the order the step-by-step evaluation would list them.
        Stepped one = ev.RangeEval(root);
        if (one.scalar) {
          double v = one.m.empty() || one.m[0].points.empty() ? std::nan("") : one.m[0].points[0].v;
          result.value = Scalar{start, v};
        } else {
          Vector v;
          v.reserve(one.m.size());
          for (auto& series : one.m) {
            for (const Point& p : series.points) v.push_back({std::move(series.labels), p.t, p.v});
          }
          result.value = std::move(v);
        }
      } else {
        result.value = ev.Eval(root, start);
      }
      const Clock::time_point done = Clock::now();
      st.inner_eval = Seconds(done - prepared);
      st.total_queryable_samples = ev.queryable_samples();
      st.peak_samples = ev.peak_samples();
      finish(done, done);
      return result;
    }
    Stepped stepped = ev.RangeEval(root);
    Matrix out = std::move(stepped.m);
    uint64_t total = 0;
    for (const auto& series : out) total += series.points.size();
    const Clock::time_point evaluated = Clock::now();
    st.inner_eval = Seconds(evaluated - prepared);
    st.total_queryable_samples = ev.queryable_samples();
    st.peak_samples = std::max<uint64_t>(ev.peak_samples(), total);
    std::sort(out.begin(), out.end(),
              [](const Series& a, const Series& c) { return a.labels < c.labels; });
    result.value = std::move(out);
    finish(evaluated, Clock::now());
    return result;
  } catch (const EvalError& e) {
    return ToStatus(e);
  }
}

}  // namespace zw::promql
