// Point reduction for charts that have fewer pixels than points (max_points on query_range,
// the dashboard's sparklines and performance series).
//
// ReducePoints keeps at most `max_points` of a series: the first and the last point always,
// and between them, consecutive points are grouped into equal buckets of which only the
// minimum and the maximum survive, in time order. A spike therefore stays visible however
// far the series is reduced, which averaging or plain sampling would lose. NaN values are
// skipped for min/max unless a bucket holds nothing else (then one NaN stays, marking the
// gap). Points are not changed, only dropped; a series with max_points or fewer is returned
// as it is.
//
// WriteColumns writes a matrix in the columns layout of query_range's `layout=columns`
// (docs/dashboard_api.md): one ascending `timestamps` array shared by every series, and per
// series its values in that order — a JSON number, null where the series has no point at that
// time, "NaN"/"+Inf"/"-Inf" for non-finite values. It is uPlot's data layout, and a fraction
// of the bytes of Prometheus's [t, "v"] pairs when the series share their steps (a range
// query's series always do unless ReduceMatrix dropped different points from each).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <vector>

#include "promql/value.h"
#include "promql/value_json.h"

namespace zw::dashboard {

// REQUIRES: points ascending by t. max_points 0 means no limit; 1 keeps only the last point.
std::vector<promql::Point> ReducePoints(const std::vector<promql::Point>& points,
                                        size_t max_points);

// ReducePoints on each series of the matrix, in place.
void ReduceMatrix(promql::Matrix& matrix, size_t max_points);

// Writes "resultType":"matrix", "layout":"columns", "timestamps":[…] and "result":[{"metric":
// {…},"values":[…]},…] into the object being written.
// REQUIRES: each series' points ascending by t.
void WriteColumns(promql::JsonWriter& w, const promql::Matrix& matrix);

}  // namespace zw::dashboard
