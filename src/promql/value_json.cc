#include "promql/value_json.h"

#include <charconv>
#include <cmath>

#include "promql/ast.h"

namespace zw::promql {

void WriteTime(JsonWriter& w, int64_t ms) {
  char buf[32];
  char* p = buf;
  const uint64_t abs = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  if (ms < 0) *p++ = '-';
  p = std::to_chars(p, buf + sizeof(buf), abs / 1000).ptr;
  if (unsigned frac = static_cast<unsigned>(abs % 1000); frac != 0) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + frac / 100);
    if (frac % 100 != 0) *p++ = static_cast<char>('0' + frac / 10 % 10);
    if (frac % 10 != 0) *p++ = static_cast<char>('0' + frac % 10);
  }
  w.RawValue(buf, static_cast<size_t>(p - buf), rapidjson::kNumberType);
}

void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WritePoint(JsonWriter& w, int64_t t, double v) {
  w.StartArray();
  WriteTime(w, t);
  char buf[kFormatNumberSize];
  WriteString(w, FormatNumber(v, buf));
  w.EndArray();
}

void WriteLabels(JsonWriter& w, const Labels& labels) {
  w.StartObject();
  for (const Label& l : labels) {
    w.Key(l.name.data(), static_cast<rapidjson::SizeType>(l.name.size()));
    WriteString(w, l.value);
  }
  w.EndObject();
}

void WriteNumberOrNull(JsonWriter& w, std::optional<double> v) {
  if (v && std::isfinite(*v)) {
    w.Double(*v);
  } else {
    w.Null();
  }
}

void WriteVectorSample(JsonWriter& w, const VectorSample& smp) {
  w.StartObject();
  w.Key("metric");
  WriteLabels(w, smp.labels);
  w.Key("value");
  WritePoint(w, smp.t, smp.v);
  w.EndObject();
}

void WriteSeries(JsonWriter& w, const Series& series) {
  w.StartObject();
  w.Key("metric");
  WriteLabels(w, series.labels);
  w.Key("values");
  w.StartArray();
  for (const auto& p : series.points) WritePoint(w, p.t, p.v);
  w.EndArray();
  w.EndObject();
}

void WriteResult(JsonWriter& w, const Value& value) {
  w.Key("resultType");
  WriteString(w, ValueTypeName(TypeOf(value)));
  w.Key("result");
  if (const auto* s = std::get_if<Scalar>(&value)) {
    WritePoint(w, s->t, s->v);
  } else if (const auto* str = std::get_if<String>(&value)) {
    w.StartArray();
    WriteTime(w, str->t);
    WriteString(w, str->v);
    w.EndArray();
  } else if (const auto* vec = std::get_if<Vector>(&value)) {
    w.StartArray();
    for (const auto& smp : *vec) WriteVectorSample(w, smp);
    w.EndArray();
  } else {
    w.StartArray();
    for (const auto& series : std::get<Matrix>(value)) WriteSeries(w, series);
    w.EndArray();
  }
}

}  // namespace zw::promql
