// Binary operators: scalar/scalar, vector/scalar and vector/vector with on/ignoring,
// group_left/group_right and the set operators, as Prometheus 2.42's engine.go.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "promql/eval.h"

namespace zw::promql {
namespace {

struct ElemResult {
  double value;
  bool keep;
};

// Prometheus's vectorElemBinop: comparisons keep the lhs value when they hold.
ElemResult ElemBinop(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kAdd:
      return {l + r, true};
    case BinaryOp::kSub:
      return {l - r, true};
    case BinaryOp::kMul:
      return {l * r, true};
    case BinaryOp::kDiv:
      return {l / r, true};
    case BinaryOp::kPow:
      return {std::pow(l, r), true};
    case BinaryOp::kMod:
      return {std::fmod(l, r), true};
    case BinaryOp::kAtan2:
      return {std::atan2(l, r), true};
    case BinaryOp::kEql:
      return {l, l == r};
    case BinaryOp::kNeq:
      return {l, l != r};
    case BinaryOp::kGtr:
      return {l, l > r};
    case BinaryOp::kLss:
      return {l, l < r};
    case BinaryOp::kGte:
      return {l, l >= r};
    case BinaryOp::kLte:
      return {l, l <= r};
    default:
      Fail("operator \"{}\" not allowed for operations between vectors or scalars",
           BinaryOpString(op));
  }
}

bool DropsMetricName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
    case BinaryOp::kPow:
      return true;  // not atan2, in 2.42
    default:
      return false;
  }
}

// Computes the matching signature of a series (Prometheus's signatureFunc).
class Signer {
 public:
  explicit Signer(const VectorMatching& m) : on_(m.on), names_(m.matching_labels) {
    if (!on_) names_.emplace_back(kMetricNameLabel);
    std::sort(names_.begin(), names_.end());
  }
  uint64_t operator()(const Labels& l) const {
    return on_ ? l.HashFor(names_) : l.HashWithout(names_);
  }
  // The labels the signature covers (Prometheus's Labels.MatchLabels), for messages.
  Labels Matched(const Labels& l) const {
    LabelsBuilder b;
    for (const Label& lab : l) {
      bool listed = std::binary_search(names_.begin(), names_.end(), lab.name);
      if (listed == on_) b.Set(lab.name, lab.value);
    }
    return b.Build();
  }

 private:
  bool on_;
  std::vector<std::string> names_;
};

Labels ResultMetric(const Labels& lhs, const Labels& rhs, BinaryOp op, const VectorMatching& m) {
  LabelsBuilder b(lhs);
  if (DropsMetricName(op)) b.Del(kMetricNameLabel);
  if (m.card == Cardinality::kOneToOne) {
    if (m.on) {
      for (const Label& l : lhs) {
        if (std::find(m.matching_labels.begin(), m.matching_labels.end(), l.name) ==
            m.matching_labels.end()) {
          b.Del(l.name);
        }
      }
    } else {
      for (const auto& n : m.matching_labels) b.Del(n);
    }
  }
  for (const auto& n : m.include) {
    std::string_view v = rhs.Get(n);
    if (!v.empty()) {
      b.Set(n, v);
    } else {
      b.Del(n);
    }
  }
  return b.Build();
}

Vector SetOp(BinaryOp op, Vector lhs, Vector rhs, const VectorMatching& m) {
  Signer sig(m);
  Vector out;
  switch (op) {
    case BinaryOp::kAnd:
    case BinaryOp::kUnless: {
      std::unordered_set<uint64_t> right;
      for (const auto& s : rhs) right.insert(sig(s.labels));
      for (auto& s : lhs) {
        if (right.contains(sig(s.labels)) == (op == BinaryOp::kAnd)) out.push_back(std::move(s));
      }
      return out;
    }
    default: {  // or
      std::unordered_set<uint64_t> left;
      for (auto& s : lhs) {
        left.insert(sig(s.labels));
        out.push_back(std::move(s));
      }
      for (auto& s : rhs) {
        if (!left.contains(sig(s.labels))) out.push_back(std::move(s));
      }
      return out;
    }
  }
}

Vector VectorBinop(BinaryOp op, Vector lhs, Vector rhs, const VectorMatching& m, bool return_bool,
                   int64_t ts) {
  if (m.card == Cardinality::kManyToMany) Fail("many-to-many only allowed for set operators");
  if (m.card == Cardinality::kOneToMany) std::swap(lhs, rhs);
  Signer sig(m);
  std::unordered_map<uint64_t, const VectorSample*> right;
  for (const auto& rs : rhs) {
    uint64_t h = sig(rs.labels);
    auto [it, inserted] = right.emplace(h, &rs);
    if (!inserted) {
      Fail(
          "found duplicate series for the match group {} on the {} hand-side of the "
          "operation: [{}, {}];many-to-many matching not allowed: matching labels must be "
          "unique on one side",
          sig.Matched(rs.labels).ToString(), m.card == Cardinality::kOneToMany ? "left" : "right",
          rs.labels.ToString(), it->second->labels.ToString());
    }
  }
  Vector out;
  std::unordered_map<uint64_t, std::unordered_set<uint64_t>> matched;
  for (const auto& ls : lhs) {
    uint64_t h = sig(ls.labels);
    auto it = right.find(h);
    if (it == right.end()) continue;
    const VectorSample& rs = *it->second;
    double vl = ls.v, vr = rs.v;
    if (m.card == Cardinality::kOneToMany) std::swap(vl, vr);
    auto [value, keep] = ElemBinop(op, vl, vr);
    if (return_bool) {
      value = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    Labels metric = ResultMetric(ls.labels, rs.labels, op, m);
    if (return_bool) metric = DropMetricName(metric);
    auto [mit, first] = matched.try_emplace(h);
    if (m.card == Cardinality::kOneToOne) {
      if (!first) {
        Fail(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else if (!mit->second.insert(metric.Hash()).second) {
      Fail("multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.push_back({std::move(metric), ts, value});
  }
  return out;
}

Vector VectorScalarBinop(BinaryOp op, Vector vec, double scalar, bool swap, bool return_bool) {
  Vector out;
  for (auto& s : vec) {
    double l = s.v, r = scalar;
    if (swap) std::swap(l, r);
    auto [value, keep] = ElemBinop(op, l, r);
    // A comparison keeps the vector's value even when the vector is on the right.
    if (IsComparison(op) && swap) value = r;
    if (return_bool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    s.v = value;
    if (DropsMetricName(op) || return_bool) s.labels = DropMetricName(s.labels);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Value Evaluator::EvalBinary(const BinaryExpr& b, int64_t ts) {
  Value lv = Eval(*b.lhs, ts);
  Value rv = Eval(*b.rhs, ts);
  auto* ls = std::get_if<Scalar>(&lv);
  auto* rs = std::get_if<Scalar>(&rv);
  if (ls && rs) {
    auto [value, keep] = ElemBinop(b.op, ls->v, rs->v);
    if (IsComparison(b.op)) value = keep ? 1 : 0;
    return Scalar{ts, value};
  }
  Vector out;
  if (ls) {
    out = VectorScalarBinop(b.op, std::move(std::get<Vector>(rv)), ls->v, true, b.return_bool);
  } else if (rs) {
    out = VectorScalarBinop(b.op, std::move(std::get<Vector>(lv)), rs->v, false, b.return_bool);
  } else {
    const VectorMatching& m = *b.matching;
    Vector l = std::move(std::get<Vector>(lv));
    Vector r = std::move(std::get<Vector>(rv));
    if (IsSetOperator(b.op)) {
      out = SetOp(b.op, std::move(l), std::move(r), m);
    } else {
      out = VectorBinop(b.op, std::move(l), std::move(r), m, b.return_bool, ts);
    }
  }
  for (auto& s : out) s.t = ts;
  CheckNoDuplicateLabelsets(out);
  return out;
}

}  // namespace zw::promql
