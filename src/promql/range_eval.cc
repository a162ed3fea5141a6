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
#include "promql/extrapolation.h"

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
  // The current span from the current sample on; empty at the end.
  std::span<const Sample> Rest() const {
    return valid_ ? buf_.subspan(pos_) : std::span<const Sample>();
  }
  // Moves past the first k samples of Rest(). REQUIRES: k < Rest().size().
  void Skip(size_t k) { pos_ += k; }
  // Whether RunThrough has handed out the last sample of the current span: the cursor's
  // next move calls the iterator, after which that span's memory may be reused.
  bool AtSpanEnd() const { return valid_ && pos_ == buf_.size(); }
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

// One series' range-selector window, slid step by step: the samples in [lo, ref] less stale
// markers, and whether any of them is below its predecessor (a counter reset).
//
// While the window lies within one span of the iterator's decoded samples (see Cursor) and
// holds no stale marker, it is handed out as a view of that span. Otherwise (the window
// reaches back across a span's end, or holds a stale marker) its samples are copied, each
// once, into a vector, until the window has moved past what forced the copy.
//
// The window's samples are [copied_[head_], ...] followed by the non-stale samples of
// [live_, live_end_), the ones read from the cursor's current span; those before absorbed_
// are in copied_ as well.
class SlidingWindow {
 public:
  // `copied` is scratch space whose capacity is reused from series to series.
  SlidingWindow(storage::SampleIterator& it, std::vector<Sample>& copied)
      : cur_(it), copied_(copied) {
    copied_.clear();
  }

  // Moves the window to [lo, ref] (neither ever moves backwards) and returns its samples,
  // valid until the next call. *read is set to the number of samples read for it.
  // (Inlined into the caller's loop over steps, the rest of the work out of line.)
  [[gnu::always_inline]] std::span<const Sample> Slide(int64_t lo, int64_t ref, size_t* read) {
    // The common case: the window moves on within the current span, which goes on past
    // ref, right after the samples read so far; the iterator is not called.
    if (std::span<const Sample> rest = cur_.Rest();
        live_end_ != nullptr && rest.data() == live_end_ && !rest.empty() && rest.back().t > ref) {
      const size_t k = NoteThrough(rest.data(), ref);
      cur_.Skip(k);
      live_end_ += k;
      *read = k;
      // As many samples leave the window as entered it, when they are evenly spaced.
      Expire(lo, k);
      return Window(lo);
    }
    return SlideAcross(lo, ref, read);
  }

  // Whether no sample of `window` (the last Slide's, not empty) is below its predecessor.
  bool NoDrops(std::span<const Sample> window) const { return last_drop_ <= window.front().t; }

  // Whether samples after the last window remain.
  bool More() {
    Spill();
    return cur_.valid();
  }

 private:
  // Slide's other case: the window reaches the current span's end, or the cursor is not
  // where the window ends.
  [[gnu::noinline]] std::span<const Sample> SlideAcross(int64_t lo, int64_t ref, size_t* read) {
    *read = 0;
    Expire(lo);
    // SkipTo calls the iterator only when its whole span is before lo: the live samples,
    // which came from that span, have just been dropped.
    Spill();
    cur_.SkipTo(lo);
    for (;;) {
      Spill();
      std::span<const Sample> run = cur_.RunThrough(ref);
      if (run.empty()) break;
      *read += run.size();
      Note(run);
      if (live_ != live_end_ && run.data() != live_end_) Retire();  // not expected: see Spill
      if (live_ == live_end_) {
        live_ = absorbed_ = run.data();
        live_end_ = run.data() + run.size();
      } else {
        live_end_ += run.size();
      }
    }
    return Window(lo);
  }

  // Notes samples read into the window: the newest stale marker's time, and the newest
  // sample's below its predecessor. (In locals: the compiler cannot tell the members from
  // the samples read.)
  void Note(std::span<const Sample> run) {
    double back = back_;
    int64_t drop = last_drop_;
    int64_t stale = last_stale_;
    for (const Sample& smp : run) NoteOne(smp, back, drop, stale);
    back_ = back;
    last_drop_ = drop;
    last_stale_ = stale;
  }
  // Note for the samples from `from` on up to ref, in the same pass that finds them; returns
  // their number. REQUIRES: a sample after ref follows in memory.
  [[gnu::always_inline]] size_t NoteThrough(const Sample* from, int64_t ref) {
    double back = back_;
    int64_t drop = last_drop_;
    int64_t stale = last_stale_;
    const Sample* p = from;
    for (; p->t <= ref; ++p) NoteOne(*p, back, drop, stale);
    back_ = back;
    last_drop_ = drop;
    last_stale_ = stale;
    return static_cast<size_t>(p - from);
  }
  [[gnu::always_inline]] static void NoteOne(const Sample& smp, double& back, int64_t& drop,
                                             int64_t& stale) {
    if (IsStaleNaN(smp.v)) {
      stale = smp.t;
      return;
    }
    drop = smp.v < back ? smp.t : drop;
    back = smp.v;
  }
  // Drops the samples before lo; `likely` is a guess of how many live ones that is.
  [[gnu::always_inline]] void Expire(int64_t lo, size_t likely = 0) {
    while (head_ < copied_.size() && copied_[head_].t < lo) ++head_;
    const Sample* live = live_;
    if (likely > 0 && likely <= static_cast<size_t>(live_end_ - live) && live[likely - 1].t < lo) {
      live += likely;  // those before it are older still
    }
    while (live != live_end_ && live->t < lo) ++live;
    live_ = live;
    if (absorbed_ < live_) absorbed_ = live_;
  }
  // The window, once its samples up to ref are read and those before lo dropped.
  [[gnu::always_inline]] std::span<const Sample> Window(int64_t lo) {
    if (older_until_ < lo && last_stale_ < lo) {
      // All of it in the current span, no stale marker: a view.
      copied_.clear();
      head_ = 0;
      absorbed_ = live_;
      return {live_, live_end_};
    }
    return CopiedWindow();
  }
  // Window's other case: the window is copied_ from head_ on.
  [[gnu::noinline]] std::span<const Sample> CopiedWindow() {
    Absorb();
    if (head_ > 256 && head_ * 2 > copied_.size()) {
      copied_.erase(copied_.begin(), copied_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return std::span<const Sample>(copied_).subspan(head_);
  }
  // Copies the live samples not yet in copied_ there.
  void Absorb() {
    for (const Sample* p = absorbed_; p != live_end_; ++p) {
      if (!IsStaleNaN(p->v)) copied_.push_back(*p);
    }
    absorbed_ = live_end_;
  }
  // Moves the live samples into copied_ for good, before their span goes.
  void Retire() {
    Absorb();
    if (live_ != live_end_) older_until_ = live_end_[-1].t;
    live_ = absorbed_ = live_end_ = nullptr;
  }
  // Retires the live samples when the cursor's next move may reuse their memory.
  void Spill() {
    if (cur_.AtSpanEnd()) Retire();
  }

  Cursor cur_;
  std::vector<Sample>& copied_;
  size_t head_ = 0;  // copied_[head_, end) are in the window
  const Sample* live_ = nullptr;
  const Sample* absorbed_ = nullptr;
  const Sample* live_end_ = nullptr;
  // The newest sample time retired from an earlier span, and the newest stale marker's: while
  // the window reaches back to either, it is copied.
  int64_t older_until_ = INT64_MIN;
  int64_t last_stale_ = INT64_MIN;
  // The time of the newest sample whose value is below its predecessor's (stale markers left
  // out): while it is not after the window's first sample, the window has no counter reset.
  int64_t last_drop_ = INT64_MIN;
  // The newest sample's value (no value is below -inf: the first sample is no drop).
  double back_ = -std::numeric_limits<double>::infinity();
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
      if (c.func->name == "histogram_quantile") return StepHistogramQuantile(c);
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
                                     const std::function<void(Series&)>& f, bool name_ignored) {
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
  const bool keep_name = c.func->name == "last_over_time" || name_ignored;
  const size_t n = NumSteps();

  auto h = hints_.find(&vs);
  auto set = querier_.Select(true, h == hints_.end() ? nullptr : &h->second, vs.matchers);
  std::vector<Sample> copied;  // SlidingWindow's scratch, reused from series to series
  Series series;               // the current series' output; its points' capacity is reused
  // Every series, every step: `value` is the function, called directly (and inlined) where
  // it is known here, else through the table.
  auto each_series = [&](auto value) {
    // What the steps' loop reads, in locals (the compiler cannot tell captured variables and
    // members from the memory the loop writes).
    const int64_t step = step_, offset = vs.original_offset_ms, range = ms.range_ms;
    const bool has_scalars = !scalar_args.empty();
    const size_t steps = n;
    MatrixCall mc;
    mc.range_ms = range;
    mc.scalars = scalars;
    while (set->Next()) {
      CheckInterrupt();
      const auto& s = set->At();
      auto it = s.Iterator();
      SlidingWindow window(*it, copied);
      series.points.clear();
      // Poll's count, the samples the windows held and held_ in locals over the steps (the
      // compiler cannot tell the members from the output's points).
      uint32_t polls = polls_;
      uint64_t queried = 0;
      const uint64_t held = held_;
      int64_t ts = StepTime(0);
      for (size_t i = 0; i < steps; ++i, ts += step) {
        const int64_t ref = ts - offset;
        const int64_t lo = ref - range;
        size_t read = 0;
        const std::span<const Sample> w = window.Slide(lo, ref, &read);
        if (CountPolls(polls, read)) CheckInterrupt();
        if (w.empty()) {
          if (!window.More()) break;
          continue;
        }
        if (has_scalars) {
          for (size_t k = 0; k < scalar_args.size(); ++k) {
            const auto& m = scalar_args[k].m;
            scalars[k] = m.empty() || i >= m[0].points.size() ? kNaN : m[0].points[i].v;
          }
        }
        mc.points = w;
        mc.ts = ts;
        mc.range_start = lo;
        mc.range_end = ref;
        mc.no_drops = window.NoDrops(w);
        // As in Prometheus, the window counts against the limit while it is held.
        const uint64_t in_window = w.size();
        HoldingAtOnce(held + in_window);
        queried += in_window;
        if (std::optional<double> v = value(mc)) series.points.push_back({ts, *v});
      }
      polls_ = polls;
      queryable_samples_ += queried;
      if (Status st = it->Err(); !st.ok()) throw EvalError(st.code(), st.message());
      if (series.points.empty()) continue;
      Hold(series.points.size());
      series.labels = keep_name ? s.labels() : DropMetricName(s.labels());
      f(series);
    }
  };
  // rate, increase and delta are most queries' functions.
  const std::string_view name = c.func->name;
  if (name == "rate") {
    each_series([](const MatrixCall& m) { return ExtrapolatedRate(m, true, true); });
  } else if (name == "increase") {
    each_series([](const MatrixCall& m) { return ExtrapolatedRate(m, true, false); });
  } else if (name == "delta") {
    each_series([](const MatrixCall& m) { return ExtrapolatedRate(m, false, false); });
  } else {
    each_series(impl->matrix);
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
