// Aggregations (sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk, quantile,
// count_values) with by/without, as Prometheus 2.42's aggregation().
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "promql/eval.h"
#include "promql/quantile.h"

namespace zw::promql {
namespace {

// The running state of sum, avg, count, group, min, max, stddev and stdvar over one group's
// samples, updated in input order (so that floating-point results are Prometheus's).
struct Accumulator {
  double value = 0;
  double mean = 0;
  double count = 0;

  void Init(AggregateOp op, double v) {
    value = v;
    mean = v;
    count = 1;
    if (op == AggregateOp::kStddev || op == AggregateOp::kStdvar) value = 0;
    if (op == AggregateOp::kGroup) value = 1;
  }
  void Add(AggregateOp op, double v) {
    switch (op) {
      case AggregateOp::kSum:
        value += v;
        break;
      case AggregateOp::kAvg:
        count++;
        if (std::isinf(mean)) {
          if (std::isinf(v) && (mean > 0) == (v > 0)) break;
          if (!std::isinf(v) && !std::isnan(v)) break;
        }
        mean += v / count - mean / count;
        break;
      case AggregateOp::kMax:
        if (value < v || std::isnan(value)) value = v;
        break;
      case AggregateOp::kMin:
        if (value > v || std::isnan(value)) value = v;
        break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        count++;
        break;
      case AggregateOp::kStddev:
      case AggregateOp::kStdvar: {
        count++;
        double delta = v - mean;
        mean += delta / count;
        value += delta * (v - mean);
        break;
      }
      default:  // group; the heap-based ones are not accumulated
        break;
    }
  }
  double Result(AggregateOp op) const {
    switch (op) {
      case AggregateOp::kAvg:
        return mean;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        return count;
      case AggregateOp::kStdvar:
        return value / count;
      case AggregateOp::kStddev:
        return std::sqrt(value / count);
      default:
        return value;
    }
  }
};

struct Group {
  Labels labels;
  Accumulator acc;
  Vector heap;  // topk/bottomk/quantile
};

// The grouping labels, sorted, as aggregation() computes them (count_values's label added).
std::vector<std::string> Grouping(const AggregateExpr& a, const std::string& value_label) {
  std::vector<std::string> grouping = a.grouping;
  if (a.op == AggregateOp::kCountValues && !a.without) grouping.push_back(value_label);
  if (a.without) grouping.emplace_back(kMetricNameLabel);
  std::sort(grouping.begin(), grouping.end());
  return grouping;
}

uint64_t GroupKey(const Labels& l, const std::vector<std::string>& grouping, bool without) {
  return without ? l.HashWithout(grouping) : l.HashFor(grouping);
}

Labels GroupLabels(const Labels& l, const std::vector<std::string>& grouping, bool without) {
  LabelsBuilder b(l);
  for (const Label& x : l) {
    bool listed = std::binary_search(grouping.begin(), grouping.end(), x.name);
    if (listed == without) b.Del(x.name);
  }
  return b.Build();
}

// Go's container/heap ordering for topk (min-heap by value, NaN lowest) and bottomk
// (max-heap, NaN highest). As std heap comparators (std heaps keep the largest on top).
bool TopkLess(const VectorSample& a, const VectorSample& b) {  // Less(a, b) in Go
  return std::isnan(a.v) || a.v < b.v;
}
bool BottomkLess(const VectorSample& a, const VectorSample& b) {
  return std::isnan(a.v) || a.v > b.v;
}

}  // namespace

Vector Evaluator::EvalAggregate(const AggregateExpr& a, int64_t ts) {
  int64_t k = 0;
  double q = 0;
  std::string value_label;
  if (a.op == AggregateOp::kTopk || a.op == AggregateOp::kBottomk) {
    double p = EvalScalar(*a.param, ts);
    if (std::isnan(p) || p < -9.2e18 || p > 9.2e18) Fail("Scalar value {} overflows int64", p);
    k = static_cast<int64_t>(p);
    if (k < 1) return {};
  } else if (a.op == AggregateOp::kQuantile) {
    q = EvalScalar(*a.param, ts);
  } else if (a.op == AggregateOp::kCountValues) {
    value_label = std::get<String>(Eval(*a.param, ts)).v;
    if (!IsValidLabelName(value_label)) Fail("invalid label name \"{}\"", value_label);
  }
  const std::vector<std::string> grouping = Grouping(a, value_label);

  Vector in = EvalVector(*a.expr, ts);
  std::unordered_map<uint64_t, size_t> index;
  std::vector<Group> groups;
  auto topk_cmp = [](const VectorSample& x, const VectorSample& y) { return TopkLess(y, x); };
  auto bottomk_cmp = [](const VectorSample& x, const VectorSample& y) { return BottomkLess(y, x); };
  for (auto& s : in) {
    if (a.op == AggregateOp::kCountValues) {
      s.labels = LabelsBuilder(s.labels).Set(value_label, FormatNumber(s.v)).Build();
    }
    auto [it, inserted] = index.emplace(GroupKey(s.labels, grouping, a.without), groups.size());
    if (inserted) {
      Group g{GroupLabels(s.labels, grouping, a.without), {}, {}};
      g.acc.Init(a.op, s.v);
      if (a.op == AggregateOp::kTopk || a.op == AggregateOp::kBottomk ||
          a.op == AggregateOp::kQuantile) {
        g.heap.push_back(s);
      }
      groups.push_back(std::move(g));
      continue;
    }
    Group& g = groups[it->second];
    switch (a.op) {
      case AggregateOp::kTopk:
        if (static_cast<int64_t>(g.heap.size()) < k || g.heap.front().v < s.v ||
            std::isnan(g.heap.front().v)) {
          if (static_cast<int64_t>(g.heap.size()) == k) {
            std::pop_heap(g.heap.begin(), g.heap.end(), topk_cmp);
            g.heap.pop_back();
          }
          g.heap.push_back(s);
          std::push_heap(g.heap.begin(), g.heap.end(), topk_cmp);
        }
        break;
      case AggregateOp::kBottomk:
        if (static_cast<int64_t>(g.heap.size()) < k || g.heap.front().v > s.v ||
            std::isnan(g.heap.front().v)) {
          if (static_cast<int64_t>(g.heap.size()) == k) {
            std::pop_heap(g.heap.begin(), g.heap.end(), bottomk_cmp);
            g.heap.pop_back();
          }
          g.heap.push_back(s);
          std::push_heap(g.heap.begin(), g.heap.end(), bottomk_cmp);
        }
        break;
      case AggregateOp::kQuantile:
        g.heap.push_back(s);
        break;
      default:
        g.acc.Add(a.op, s.v);
        break;
    }
  }

  Vector out;
  for (Group& g : groups) {
    switch (a.op) {
      case AggregateOp::kTopk:
      case AggregateOp::kBottomk: {
        auto less = a.op == AggregateOp::kTopk ? TopkLess : BottomkLess;
        // Largest first (topk), smallest first (bottomk): sort.Reverse of the heap order.
        std::stable_sort(g.heap.begin(), g.heap.end(),
                         [&](const VectorSample& x, const VectorSample& y) { return less(y, x); });
        for (auto& s : g.heap) out.push_back({std::move(s.labels), ts, s.v});
        continue;
      }
      case AggregateOp::kQuantile: {
        std::vector<double> values;
        for (const auto& s : g.heap) values.push_back(s.v);
        out.push_back({std::move(g.labels), ts, Quantile(q, values)});
        continue;
      }
      default:
        out.push_back({std::move(g.labels), ts, g.acc.Result(a.op)});
        break;
    }
  }
  return out;
}

bool IsSteppedAggregation(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
    case AggregateOp::kAvg:
    case AggregateOp::kCount:
    case AggregateOp::kGroup:
    case AggregateOp::kMin:
    case AggregateOp::kMax:
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar:
      return true;
    default:
      return false;
  }
}

namespace {

// The matrix argument of `e` when e is a call StepAggregate can consume series by series.
std::optional<size_t> StreamedCallArg(const Expr& e) {
  if (e.kind != ExprKind::kCall) return std::nullopt;
  const auto& c = e.As<Call>();
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (Unparen(*c.args[i]).kind != ExprKind::kMatrixSelector) continue;
    if (StreamsMatrixArg(c, i) && StreamedSeriesStayDistinct(c, i)) return i;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

Stepped Evaluator::StepAggregate(const AggregateExpr& a) {
  const std::vector<std::string> grouping = Grouping(a, "");
  const size_t n = NumSteps();
  // Per group and step: the accumulator, and whether a sample has reached it. Series are
  // visited in the order a step's vector would list them, so every step's result is the
  // one EvalAggregate would compute.
  struct SteppedGroup {
    Labels labels;
    std::vector<Accumulator> acc;
    std::vector<uint8_t> seen;
  };
  std::unordered_map<uint64_t, size_t> index;
  std::vector<SteppedGroup> groups;
  uint64_t in_points = 0;
  // Adds a series' points to its group. `op` is a.op, or for sum a constant, so that the
  // commonest aggregation's loop has no switch.
  auto accumulate = [&, start = start_, step = step_](SteppedGroup& g, const Series& s, auto op) {
    Accumulator* acc = g.acc.data();
    uint8_t* seen = g.seen.data();
    // The points are on the step grid in step order: find each one's step by walking
    // forward rather than by a division per point.
    size_t i = 0;
    int64_t t = start;  // StepTime(i)
    for (const Point& p : s.points) {
      while (i + 1 < n && t < p.t) {
        ++i;
        t += step;
      }
      if (seen[i]) {
        acc[i].Add(op, p.v);
      } else {
        acc[i].Init(op, p.v);
        seen[i] = 1;
      }
    }
  };
  auto add = [&](const Series& s) {
    CheckInterrupt();
    in_points += s.points.size();
    auto [it, inserted] = index.emplace(GroupKey(s.labels, grouping, a.without), groups.size());
    if (inserted) {
      groups.push_back({GroupLabels(s.labels, grouping, a.without), {}, {}});
      groups.back().acc.resize(n);
      groups.back().seen.resize(n);
    }
    SteppedGroup& g = groups[it->second];
    if (a.op == AggregateOp::kSum) {
      accumulate(g, s, std::integral_constant<AggregateOp, AggregateOp::kSum>());
    } else {
      accumulate(g, s, a.op);
    }
  };
  // A plain selector's series, and a function's of a matrix selector (rate(x[5m])) when they
  // need no merging, are aggregated as they are read, not kept: the same series in the same
  // order as RangeEval would list them (and counted as held all the same).
  const Expr& inner = Unparen(*a.expr);
  if (inner.kind == ExprKind::kVectorSelector && !inner.As<VectorSelector>().at.set()) {
    StreamSelectorEach(inner.As<VectorSelector>(), add);
  } else if (std::optional<size_t> i = StreamedCallArg(inner)) {
    // Grouping (by or without) that does not keep __name__ ignores it: the series need not
    // drop it.
    const bool by_name = !a.without && std::find(a.grouping.begin(), a.grouping.end(),
                                                 kMetricNameLabel) != a.grouping.end();
    StreamMatrixCallEach(inner.As<Call>(), *i, add, !by_name);
  } else {
    Stepped in = RangeEval(*a.expr);
    for (const Series& s : in.m) add(s);
  }
  Stepped out;
  uint64_t produced = 0;
  for (SteppedGroup& g : groups) {
    Series series{std::move(g.labels), {}};
    for (size_t i = 0; i < n; ++i) {
      if (g.seen[i]) series.points.push_back({StepTime(i), g.acc[i].Result(a.op)});
    }
    produced += series.points.size();
    out.m.push_back(std::move(series));
  }
  Hold(produced);
  Unhold(in_points);
  return out;
}

Stepped Evaluator::StepTopk(const AggregateExpr& a) {
  // What StepByStep does over EvalAggregate, step for step and in the same order (so that
  // ties and the order of the output series come out the same), but a series' group is
  // found once rather than at every step and the heaps hold series numbers, not samples
  // with their labels.
  Stepped param = RangeEval(*a.param);
  Stepped in = RangeEval(*a.expr);
  const std::vector<std::string> grouping = Grouping(a, "");
  const bool top = a.op == AggregateOp::kTopk;
  const size_t n = NumSteps();
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> group_of(in.m.size());
  size_t num_groups = 0;
  {
    std::unordered_map<uint64_t, size_t> index;
    for (size_t j = 0; j < in.m.size(); ++j) {
      group_of[j] =
          index.emplace(GroupKey(in.m[j].labels, grouping, a.without), index.size()).first->second;
    }
    num_groups = index.size();
  }
  struct Entry {
    double v;
    size_t series;
  };
  // TopkLess / BottomkLess on values, as heap comparators.
  auto less = [top](const Entry& x, const Entry& y) {
    return top ? std::isnan(x.v) || x.v < y.v : std::isnan(x.v) || x.v > y.v;
  };
  auto heap_cmp = [&](const Entry& x, const Entry& y) { return less(y, x); };
  std::vector<std::vector<Entry>> heaps(num_groups);
  std::vector<size_t> slot(num_groups, kNone);  // the group's place in this step's order
  std::vector<size_t> touched;                  // groups in order of first sample this step
  std::vector<size_t> next(in.m.size(), 0);     // per series: its next point
  std::vector<size_t> out_of(in.m.size(), kNone);
  std::unordered_map<Labels, size_t, LabelsHash> out_index;
  Stepped out;
  uint64_t produced = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t ts = StepTime(i);
    CheckInterrupt();
    BeginStep();
    const Matrix& pm = param.m;
    const double p = pm.empty() || i >= pm[0].points.size()
                         ? std::numeric_limits<double>::quiet_NaN()
                         : pm[0].points[i].v;
    if (std::isnan(p) || p < -9.2e18 || p > 9.2e18) Fail("Scalar value {} overflows int64", p);
    const auto k = static_cast<int64_t>(p);
    touched.clear();
    for (size_t j = 0; j < in.m.size(); ++j) {
      size_t& at = next[j];
      const std::vector<Point>& pts = in.m[j].points;
      if (at >= pts.size() || pts[at].t != ts) continue;
      const double v = pts[at++].v;
      if (k < 1) continue;
      const size_t g = group_of[j];
      std::vector<Entry>& heap = heaps[g];
      if (slot[g] == kNone) {
        slot[g] = touched.size();
        touched.push_back(g);
        heap.clear();
        heap.push_back({v, j});
        continue;
      }
      if (static_cast<int64_t>(heap.size()) < k ||
          (top ? heap.front().v < v : heap.front().v > v) || std::isnan(heap.front().v)) {
        if (static_cast<int64_t>(heap.size()) == k) {
          std::pop_heap(heap.begin(), heap.end(), heap_cmp);
          heap.pop_back();
        }
        heap.push_back({v, j});
        std::push_heap(heap.begin(), heap.end(), heap_cmp);
      }
    }
    for (size_t g : touched) {
      std::vector<Entry>& heap = heaps[g];
      slot[g] = kNone;
      // Largest first (topk), smallest first (bottomk): sort.Reverse of the heap order.
      std::stable_sort(heap.begin(), heap.end(),
                       [&](const Entry& x, const Entry& y) { return less(y, x); });
      for (const Entry& e : heap) {
        size_t& o = out_of[e.series];
        if (o == kNone) {
          auto [pos, inserted] = out_index.emplace(in.m[e.series].labels, out.m.size());
          if (inserted) out.m.push_back({in.m[e.series].labels, {}});
          o = pos->second;
        }
        out.m[o].points.push_back({ts, e.v});
        ++produced;
      }
    }
  }
  Hold(produced);
  for (const auto& s : param.m) Unhold(s.points.size());
  for (const auto& s : in.m) Unhold(s.points.size());
  return out;
}

}  // namespace zw::promql
