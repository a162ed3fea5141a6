#include "api/query_api_json.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <rapidjson/stringbuffer.h>

#include "core/labels.h"
#include "dashboard/reduce.h"
#include "promql/ast.h"
#include "promql/functions.h"
#include "promql/value_json.h"

namespace zw::api {
namespace {

using promql::JsonWriter;

// The longest envelope around the result: {"status":"success","data":{"resultType":"matrix",
// "layout":"columns","result":[]},"warnings":[]} and the stats object with its six doubles
// (at most 25 characters each as rapidjson writes them) and two 20-digit counters.
constexpr size_t kEnvelopeBytes = 1024;

// Characters a string takes as a JSON string as rapidjson's default Writer escapes it: the
// quotes, two for \" \\ \b \f \n \r \t, six (\u00XX) for the other control characters.
size_t JsonStringBytes(std::string_view s) {
  size_t n = 2 + s.size();
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
      n += 1;
    } else if (c < 0x20) {
      n += 5;
    }
  }
  return n;
}

// {"name":"value",...}
size_t LabelsBytes(const Labels& labels) {
  size_t n = 2;
  for (const Label& l : labels) n += JsonStringBytes(l.name) + 1 + JsonStringBytes(l.value) + 1;
  return n;
}

size_t Digits(uint64_t x) {
  size_t n = 1;
  while (x >= 10) {
    x /= 10;
    ++n;
  }
  return n;
}

// promql::WriteTime's width for any time between `lo` and `hi`: sign, integer seconds and at
// most ".mmm".
size_t TimeBytes(int64_t lo, int64_t hi) {
  auto magnitude = [](int64_t ms) {
    return ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  };
  uint64_t widest = std::max(magnitude(lo), magnitude(hi));
  return (lo < 0 ? 1 : 0) + Digits(widest / 1000) + 4;
}

// [t,"v"] and the comma after it.
size_t PointBytes(size_t time_bytes) { return 1 + time_bytes + 2 + kValueBytes + 2 + 1; }

size_t ValueBytes(const promql::Value& value) {
  if (const auto* s = std::get_if<promql::Scalar>(&value)) {
    return PointBytes(TimeBytes(s->t, s->t));
  }
  if (const auto* str = std::get_if<promql::String>(&value)) {
    return 3 + TimeBytes(str->t, str->t) + JsonStringBytes(str->v);
  }
  if (const auto* vec = std::get_if<promql::Vector>(&value)) {
    size_t n = 2;
    for (const auto& smp : *vec) {
      // {"metric":{…},"value":[t,"v"]},
      n += 10 + LabelsBytes(smp.labels) + 9 + PointBytes(TimeBytes(smp.t, smp.t)) + 1;
    }
    return n;
  }
  size_t n = 2;
  for (const auto& series : std::get<promql::Matrix>(value)) {
    // {"metric":{…},"values":[…]},
    n += 10 + LabelsBytes(series.labels) + 11 + 3;
    if (!series.points.empty()) {
      n += series.points.size() *
           PointBytes(TimeBytes(series.points.front().t, series.points.back().t));
    }
  }
  return n;
}

// Formats into a small staging buffer and moves what it holds into the body every
// kDrainBytes, so the body's bytes are written once into their final place.
class BodyWriter {
 public:
  explicit BodyWriter(size_t reserve) : writer_(staging_) { body_.reserve(reserve); }

  JsonWriter& json() { return writer_; }

  void MaybeDrain() {
    if (staging_.GetSize() >= kDrainBytes) Drain();
  }

  std::string Finish() && {
    Drain();
    return std::move(body_);
  }

 private:
  void Drain() {
    body_.append(staging_.GetString(), staging_.GetSize());
    staging_.Clear();
  }

  rapidjson::StringBuffer staging_;
  JsonWriter writer_;
  std::string body_;
};

// Gives the points of written series back: to malloc at once, to the system every
// kTrimBytes (they sit in many small blocks that malloc would otherwise keep resident).
class PointReleaser {
 public:
  void Release(std::vector<promql::Point>& points) {
    freed_ += points.capacity() * sizeof(promql::Point);
    std::vector<promql::Point>().swap(points);
    if (freed_ >= kTrimBytes) {
      Trim();
      freed_ = 0;
    }
  }

 private:
  static void Trim() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
  }

  size_t freed_ = 0;
};

// What promql::WriteResult writes for a vector, one sample at a time.
void WriteVector(BodyWriter& out, const promql::Vector& vec) {
  JsonWriter& w = out.json();
  w.StartArray();
  for (const auto& smp : vec) {
    promql::WriteVectorSample(w, smp);
    out.MaybeDrain();
  }
  w.EndArray();
}

// What promql::WriteResult writes for a matrix, releasing each series' points once written.
void WriteMatrix(BodyWriter& out, promql::Matrix& matrix) {
  JsonWriter& w = out.json();
  PointReleaser releaser;
  w.StartArray();
  for (auto& series : matrix) {
    promql::WriteSeries(w, series);
    releaser.Release(series.points);
    out.MaybeDrain();
  }
  w.EndArray();
}

// Prometheus 2.42's stats.QueryStats: timings in seconds and sample counts.
void WriteStats(JsonWriter& w, const promql::QueryStats& st) {
  w.Key("stats");
  w.StartObject();
  w.Key("timings");
  w.StartObject();
  w.Key("evalTotalTime");
  w.Double(st.eval_total);
  w.Key("resultSortTime");
  w.Double(st.result_sort);
  w.Key("queryPreparationTime");
  w.Double(st.query_preparation);
  w.Key("innerEvalTime");
  w.Double(st.inner_eval);
  w.Key("execQueueTime");
  w.Double(st.exec_queue);
  w.Key("execTotalTime");
  w.Double(st.exec_total);
  w.EndObject();
  w.Key("samples");
  w.StartObject();
  w.Key("totalQueryableSamples");
  w.Uint64(st.total_queryable_samples);
  w.Key("peakSamples");
  w.Uint64(st.peak_samples);
  w.EndObject();
  w.EndObject();
}

}  // namespace

size_t QueryBodyReserve(const promql::QueryResult& result) {
  size_t n = kEnvelopeBytes + ValueBytes(result.value);
  for (const auto& warning : result.warnings) n += JsonStringBytes(warning) + 1;
  return n;
}

std::string QueryBodyJson(promql::QueryResult&& result, bool with_stats, bool columns) {
  BodyWriter out(QueryBodyReserve(result));
  JsonWriter& w = out.json();
  w.StartObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.StartObject();
  if (columns) {
    dashboard::WriteColumns(w, std::get<promql::Matrix>(result.value));
  } else if (auto* matrix = std::get_if<promql::Matrix>(&result.value)) {
    w.Key("resultType");
    promql::WriteString(w, promql::ValueTypeName(promql::ValueType::kMatrix));
    w.Key("result");
    WriteMatrix(out, *matrix);
  } else if (const auto* vec = std::get_if<promql::Vector>(&result.value)) {
    w.Key("resultType");
    promql::WriteString(w, promql::ValueTypeName(promql::ValueType::kVector));
    w.Key("result");
    WriteVector(out, *vec);
  } else {
    promql::WriteResult(w, result.value);
  }
  if (with_stats) WriteStats(w, result.stats);
  w.EndObject();
  if (!result.warnings.empty()) {
    w.Key("warnings");
    w.StartArray();
    for (const auto& warning : result.warnings) w.String(warning.c_str());
    w.EndArray();
  }
  w.EndObject();
  return std::move(out).Finish();
}

}  // namespace zw::api
