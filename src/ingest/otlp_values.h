// Text forms of OTLP attribute values that are not strings, shared by the protobuf and
// JSON decoders so that both spell a value the same way (the OpenTelemetry attribute
// specification's non-string conversion): booleans "true"/"false", integers in decimal,
// doubles as the shortest text that reads back as the same double ("NaN", "Inf", "-Inf"
// for the non-finite), bytes in base64, arrays and key-value lists as JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zw::ingest::otlp {

void AppendDouble(double v, std::string* out);
void AppendBase64(std::string_view bytes, std::string* out);
// A JSON string literal, quotes included.
void AppendJsonString(std::string_view s, std::string* out);
// A double as a JSON value: a number, or a string for the non-finite.
void AppendJsonDouble(double v, std::string* out);

}  // namespace zw::ingest::otlp
