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
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <vector>

#include "promql/value.h"

namespace zw::dashboard {

// REQUIRES: points ascending by t. max_points 0 means no limit; 1 keeps only the last point.
std::vector<promql::Point> ReducePoints(const std::vector<promql::Point>& points,
                                        size_t max_points);

// ReducePoints on each series of the matrix, in place.
void ReduceMatrix(promql::Matrix& matrix, size_t max_points);

}  // namespace zw::dashboard
