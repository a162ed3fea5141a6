// JSON in the Prometheus API's value shapes, shared by the dashboard's endpoints and stream:
// timestamps as seconds with millisecond precision (1435781451.781), sample values as
// strings ("1.5", "NaN", "+Inf").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/labels.h"
#include "promql/value.h"

namespace zw::dashboard {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteTime(JsonWriter& w, int64_t ms);
void WritePoint(JsonWriter& w, int64_t t, double v);    // [t, "v"]
void WriteLabels(JsonWriter& w, const Labels& labels);  // {"name":"value",...}
void WriteString(JsonWriter& w, std::string_view s);
// A finite number as a JSON number; NaN, ±Inf and absent as null.
void WriteNumberOrNull(JsonWriter& w, std::optional<double> v);
// The "result" of /api/v1/query(_range): the value's resultType and result array, as members
// of the object being written.
void WriteResult(JsonWriter& w, const promql::Value& value);

}  // namespace zw::dashboard
