#include "dashboard/reduce.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace zw::dashboard {
namespace {

// The indexes of the min and max of points[begin, end), in time order; one index when they
// coincide (a single point, a flat or an all-NaN bucket).
void KeepExtremes(const std::vector<promql::Point>& points, size_t begin, size_t end,
                  std::vector<promql::Point>& out) {
  size_t lo = end, hi = end;
  for (size_t i = begin; i < end; ++i) {
    double v = points[i].v;
    if (std::isnan(v)) continue;
    if (lo == end || v < points[lo].v) lo = i;
    if (hi == end || v > points[hi].v) hi = i;
  }
  if (lo == end) {  // all NaN: one point keeps the gap visible
    out.push_back(points[begin]);
    return;
  }
  if (lo == hi) {
    out.push_back(points[lo]);
    return;
  }
  out.push_back(points[std::min(lo, hi)]);
  out.push_back(points[std::max(lo, hi)]);
}

// The interior point farthest from the mean: what one spare slot is best spent on.
size_t MostExtreme(const std::vector<promql::Point>& points, size_t begin, size_t end) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = begin; i < end; ++i) {
    if (std::isnan(points[i].v)) continue;
    sum += points[i].v;
    ++n;
  }
  if (n == 0) return begin;
  double mean = sum / static_cast<double>(n);
  size_t best = begin;
  double best_dev = -1;
  for (size_t i = begin; i < end; ++i) {
    if (std::isnan(points[i].v)) continue;
    double dev = std::fabs(points[i].v - mean);
    if (dev > best_dev) {
      best_dev = dev;
      best = i;
    }
  }
  return best;
}

// A finite value as the shortest JSON number that reads back to it; non-finite ones as
// Prometheus's strings (JSON has no NaN or Infinity).
void WriteValue(promql::JsonWriter& w, double v) {
  if (!std::isfinite(v)) {
    promql::WriteString(w, std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
    return;
  }
  char buf[32];  // the shortest round-trip form of a double needs at most 24
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  w.RawValue(buf, static_cast<size_t>(res.ptr - buf), rapidjson::kNumberType);
}

}  // namespace

std::vector<promql::Point> ReducePoints(const std::vector<promql::Point>& points,
                                        size_t max_points) {
  if (max_points == 0 || points.size() <= max_points) return points;
  if (max_points == 1) return {points.back()};
  std::vector<promql::Point> out;
  out.reserve(max_points);
  out.push_back(points.front());
  const size_t first = 1, last = points.size() - 1;  // the interior is [first, last)
  const size_t interior = last - first;
  const size_t budget = max_points - 2;
  if (budget == 1) {
    out.push_back(points[MostExtreme(points, first, last)]);
  } else if (budget >= 2) {
    // Each bucket keeps at most two points; bucket k covers [first + k*interior/buckets, ...)
    // so the sizes differ by at most one.
    const size_t buckets = budget / 2;
    for (size_t k = 0; k < buckets; ++k) {
      size_t begin = first + k * interior / buckets;
      size_t end = first + (k + 1) * interior / buckets;
      if (begin < end) KeepExtremes(points, begin, end, out);
    }
  }
  out.push_back(points.back());
  return out;
}

void ReduceMatrix(promql::Matrix& matrix, size_t max_points) {
  if (max_points == 0) return;
  for (promql::Series& s : matrix) {
    if (s.points.size() > max_points) s.points = ReducePoints(s.points, max_points);
  }
}

void WriteColumns(promql::JsonWriter& w, const promql::Matrix& matrix) {
  std::vector<int64_t> times;
  if (!matrix.empty()) times.reserve(matrix.front().points.size());
  for (const promql::Series& s : matrix) {
    for (const promql::Point& p : s.points) times.push_back(p.t);
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());

  w.Key("resultType");
  w.String("matrix");
  w.Key("layout");
  w.String("columns");
  w.Key("timestamps");
  w.StartArray();
  for (int64_t t : times) promql::WriteTime(w, t);
  w.EndArray();
  w.Key("result");
  w.StartArray();
  for (const promql::Series& s : matrix) {
    w.StartObject();
    w.Key("metric");
    promql::WriteLabels(w, s.labels);
    w.Key("values");
    w.StartArray();
    // Both are ascending: one merge pass puts each point in its column.
    size_t next = 0;
    for (int64_t t : times) {
      if (next < s.points.size() && s.points[next].t == t) {
        WriteValue(w, s.points[next].v);
        ++next;
      } else {
        w.Null();
      }
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace zw::dashboard
