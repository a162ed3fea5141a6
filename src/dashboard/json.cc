#include "dashboard/json.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "promql/ast.h"

namespace zw::dashboard {

void WriteTime(JsonWriter& w, int64_t ms) {
  std::string s = ms < 0 ? "-" : "";
  uint64_t abs = ms < 0 ? static_cast<uint64_t>(-(ms + 1)) + 1 : static_cast<uint64_t>(ms);
  s += std::to_string(abs / 1000);
  if (uint64_t frac = abs % 1000) {
    std::string f = fmt::format("{:03d}", frac);
    while (f.back() == '0') f.pop_back();
    s += "." + f;
  }
  w.RawValue(s.data(), s.size(), rapidjson::kNumberType);
}

void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WritePoint(JsonWriter& w, int64_t t, double v) {
  w.StartArray();
  WriteTime(w, t);
  WriteString(w, promql::FormatNumber(v));
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

void WriteResult(JsonWriter& w, const promql::Value& value) {
  w.Key("resultType");
  WriteString(w, promql::ValueTypeName(promql::TypeOf(value)));
  w.Key("result");
  if (const auto* s = std::get_if<promql::Scalar>(&value)) {
    WritePoint(w, s->t, s->v);
  } else if (const auto* str = std::get_if<promql::String>(&value)) {
    w.StartArray();
    WriteTime(w, str->t);
    WriteString(w, str->v);
    w.EndArray();
  } else if (const auto* vec = std::get_if<promql::Vector>(&value)) {
    w.StartArray();
    for (const auto& smp : *vec) {
      w.StartObject();
      w.Key("metric");
      WriteLabels(w, smp.labels);
      w.Key("value");
      WritePoint(w, smp.t, smp.v);
      w.EndObject();
    }
    w.EndArray();
  } else {
    w.StartArray();
    for (const auto& series : std::get<promql::Matrix>(value)) {
      w.StartObject();
      w.Key("metric");
      WriteLabels(w, series.labels);
      w.Key("values");
      w.StartArray();
      for (const auto& p : series.points) WritePoint(w, p.t, p.v);
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
  }
}

}  // namespace zw::dashboard
