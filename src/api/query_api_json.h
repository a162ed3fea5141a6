// The success body of /api/v1/query and /api/v1/query_range:
// {"status":"success","data":{"resultType":…,"result":…[,"stats":…]}[,"warnings":[…]]}, the
// bytes promql::WriteResult writes, produced so that a large result costs as little memory
// as it can:
//
// - The body is one std::string reserved once for QueryBodyReserve(result) bytes: an upper
//   bound for ordinary values (see kValueBytes), so it is not regrown and copied as it fills.
//   Pages of the reservation that are never written are never resident.
// - The JSON is formatted into a small rapidjson buffer that is appended to the body every
//   kDrainBytes, so the JSON never exists twice (no whole-body copy at the end).
// - A matrix's or vector's elements are written one at a time, and each series' points are
//   released as soon as they are written; the freed memory is handed back to the system
//   every kTrimBytes, so the result and its JSON are not both resident at their full sizes.
//
// The columns layout (dashboard::WriteColumns, after max_points reduction) is written whole
// and appended once.
//
// Thread safety: safe to call concurrently; the only shared state touched is malloc's
// (malloc_trim locks each arena in turn).
#pragma once

#include <cstddef>
#include <string>

#include "promql/value.h"

namespace zw::api {

// Longest sample value, as promql::FormatNumber writes it, that the reservation allows for:
// every value with a magnitude in [1e-4, 1e21) and up to 17 significant digits (a double's
// shortest round-trip form). A body with longer values (1e-300, 1e300) is still written
// exactly; its string then grows past the reservation.
inline constexpr size_t kValueBytes = 24;
// Formatted JSON is moved into the body once the staging buffer holds this much.
inline constexpr size_t kDrainBytes = 64 * 1024;
// Freed series points are returned to the system (malloc_trim) each time this much has been
// released.
inline constexpr size_t kTrimBytes = 8 * 1024 * 1024;

// Bytes reserved for the body of `result`: exact for labels and strings, a bound for the
// envelope and timestamps, kValueBytes per sample value. The columns layout of a matrix takes
// fewer bytes than its pairs when its series share their steps, so the same bound serves it.
size_t QueryBodyReserve(const promql::QueryResult& result);

// The body. Consumes `result`: a matrix's points are released as they are written.
// `with_stats` adds data.stats; `columns` writes a matrix in the columns layout.
// REQUIRES: `columns` only with a matrix.
std::string QueryBodyJson(promql::QueryResult&& result, bool with_stats, bool columns = false);

}  // namespace zw::api
