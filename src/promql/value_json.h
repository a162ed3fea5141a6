// PromQL values as JSON in the Prometheus HTTP API's shapes, for every endpoint and stream
// that returns them: timestamps as Unix seconds with millisecond precision (1435781451.781),
// sample values as strings ("1.5", "NaN", "+Inf"). Written without allocating per point: a
// range result has millions of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/labels.h"
#include "promql/value.h"

namespace zw::promql {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteTime(JsonWriter& w, int64_t ms);
void WritePoint(JsonWriter& w, int64_t t, double v);    // [t, "v"]
void WriteLabels(JsonWriter& w, const Labels& labels);  // {"name":"value",...}
void WriteString(JsonWriter& w, std::string_view s);
// One element of a vector result: {"metric":{...},"value":[t,"v"]}.
void WriteVectorSample(JsonWriter& w, const VectorSample& smp);
// One element of a matrix result: {"metric":{...},"values":[[t,"v"],...]}.
void WriteSeries(JsonWriter& w, const Series& series);
// A finite number as a JSON number; NaN, ±Inf and absent as null.
void WriteNumberOrNull(JsonWriter& w, std::optional<double> v);
// The "resultType" and "result" members of /api/v1/query(_range)'s data object, written into
// the object being written.
void WriteResult(JsonWriter& w, const Value& value);

}  // namespace zw::promql
