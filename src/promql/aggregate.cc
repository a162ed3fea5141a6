// Aggregations (sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk, quantile,
// count_values) with by/without, as Prometheus 2.42's aggregation().
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "promql/eval.h"
#include "promql/quantile.h"

namespace zw::promql {
namespace {

struct Group {
  Labels labels;
  double value = 0;
  double mean = 0;
  double count = 0;
  Vector heap;  // topk/bottomk/quantile
};

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
  std::vector<std::string> grouping = a.grouping;
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
    if (!a.without) grouping.push_back(value_label);
  }
  if (a.without) grouping.emplace_back(kMetricNameLabel);
  std::sort(grouping.begin(), grouping.end());

  Vector in = EvalVector(*a.expr, ts);
  std::unordered_map<uint64_t, size_t> index;
  std::vector<Group> groups;
  auto topk_cmp = [](const VectorSample& x, const VectorSample& y) { return TopkLess(y, x); };
  auto bottomk_cmp = [](const VectorSample& x, const VectorSample& y) { return BottomkLess(y, x); };
  for (auto& s : in) {
    if (a.op == AggregateOp::kCountValues) {
      s.labels = LabelsBuilder(s.labels).Set(value_label, FormatNumber(s.v)).Build();
    }
    uint64_t key = a.without ? s.labels.HashWithout(grouping) : s.labels.HashFor(grouping);
    auto [it, inserted] = index.emplace(key, groups.size());
    if (inserted) {
      LabelsBuilder b(s.labels);
      for (const Label& l : s.labels) {
        bool listed = std::binary_search(grouping.begin(), grouping.end(), l.name);
        if (listed == a.without) b.Del(l.name);
      }
      Group g{b.Build(), s.v, s.v, 1, {}};
      switch (a.op) {
        case AggregateOp::kStddev:
        case AggregateOp::kStdvar:
          g.value = 0;
          break;
        case AggregateOp::kTopk:
        case AggregateOp::kBottomk:
        case AggregateOp::kQuantile:
          g.heap.push_back(s);
          break;
        case AggregateOp::kGroup:
          g.value = 1;
          break;
        default:
          break;
      }
      groups.push_back(std::move(g));
      continue;
    }
    Group& g = groups[it->second];
    switch (a.op) {
      case AggregateOp::kSum:
        g.value += s.v;
        break;
      case AggregateOp::kAvg:
        g.count++;
        if (std::isinf(g.mean)) {
          if (std::isinf(s.v) && (g.mean > 0) == (s.v > 0)) break;
          if (!std::isinf(s.v) && !std::isnan(s.v)) break;
        }
        g.mean += s.v / g.count - g.mean / g.count;
        break;
      case AggregateOp::kGroup:
        break;
      case AggregateOp::kMax:
        if (g.value < s.v || std::isnan(g.value)) g.value = s.v;
        break;
      case AggregateOp::kMin:
        if (g.value > s.v || std::isnan(g.value)) g.value = s.v;
        break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        g.count++;
        break;
      case AggregateOp::kStddev:
      case AggregateOp::kStdvar: {
        g.count++;
        double delta = s.v - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (s.v - g.mean);
        break;
      }
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
    }
  }

  Vector out;
  for (Group& g : groups) {
    switch (a.op) {
      case AggregateOp::kAvg:
        g.value = g.mean;
        break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        g.value = g.count;
        break;
      case AggregateOp::kStdvar:
        g.value = g.value / g.count;
        break;
      case AggregateOp::kStddev:
        g.value = std::sqrt(g.value / g.count);
        break;
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
        g.value = Quantile(q, values);
        break;
      }
      default:
        break;
    }
    out.push_back({std::move(g.labels), ts, g.value});
  }
  return out;
}

}  // namespace zw::promql
