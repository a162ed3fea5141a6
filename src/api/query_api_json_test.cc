#include "api/query_api_json.h"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>

#include "dashboard/reduce.h"
#include "promql/value_json.h"

namespace zw::api {
namespace {

using promql::Matrix;
using promql::Point;
using promql::QueryResult;
using promql::Series;
using promql::Vector;

// The body as one rapidjson buffer over promql::WriteResult: the bytes the streamed writer
// must reproduce.
std::string Reference(const QueryResult& r, bool columns = false) {
  rapidjson::StringBuffer buf;
  promql::JsonWriter w(buf);
  w.StartObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.StartObject();
  if (columns) {
    dashboard::WriteColumns(w, std::get<Matrix>(r.value));
  } else {
    promql::WriteResult(w, r.value);
  }
  w.EndObject();
  if (!r.warnings.empty()) {
    w.Key("warnings");
    w.StartArray();
    for (const auto& warning : r.warnings) w.String(warning.c_str());
    w.EndArray();
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// `n` series of `points` points each at a 15 s step, values that vary in length.
Matrix BigMatrix(int n, int points) {
  Matrix m;
  for (int i = 0; i < n; ++i) {
    Series s;
    s.labels = Labels{{"__name__", "bench_metric"},
                      {"instance", "host-" + std::to_string(i) + ":9100"},
                      {"job", "node"}};
    for (int j = 0; j < points; ++j) {
      double v = (j % 3 == 0) ? j : (i + 1) * 1234.5678901 / (j + 7);
      s.points.push_back({1'763'000'000'000 + int64_t{j} * 15'000, v});
    }
    m.push_back(std::move(s));
  }
  return m;
}

TEST(QueryBodyJsonTest, SmallMatrixExactBytes) {
  QueryResult r;
  Matrix m;
  m.push_back({Labels{{"__name__", "up"}, {"job", "a\"b\\c\nd"}},
               {{1500, 1}, {2000, std::nan("")}, {-1234, -0.5}}});
  r.value = std::move(m);
  EXPECT_EQ(QueryBodyJson(std::move(r), false),
            R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":)"
            R"({"__name__":"up","job":"a\"b\\c\nd"},"values":[[1.5,"1"],[2,"NaN"],)"
            R"([-1.234,"-0.5"]]}]}})");
}

TEST(QueryBodyJsonTest, LargeMatrixMatchesWriteResultWithoutRegrowing) {
  QueryResult r;
  r.value = BigMatrix(3000, 200);  // 9.6 MB of points: several drains and a trim
  r.warnings = {"first warning", "a \"quoted\" one"};
  const std::string want = Reference(r);
  const size_t reserve = QueryBodyReserve(r);
  std::string got = QueryBodyJson(std::move(r), false);
  EXPECT_EQ(got, want);
  EXPECT_LE(got.size(), reserve);
  EXPECT_EQ(got.capacity(), reserve) << "the body was regrown";
  // Reserved for values of kValueBytes, the ordinary values here take fewer.
  EXPECT_GT(got.size(), reserve / 2);
}

TEST(QueryBodyJsonTest, ReleasesEachSeriesPointsOnceWritten) {
  QueryResult r;
  r.value = BigMatrix(10, 5);
  QueryBodyJson(std::move(r), false);
  for (const Series& s : std::get<Matrix>(r.value)) {  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(s.points.capacity(), 0u);
    EXPECT_FALSE(s.labels.empty());
  }
}

TEST(QueryBodyJsonTest, LongValuesOutgrowTheReservationAndStayExact) {
  QueryResult r;
  Matrix m;
  Series s;
  s.labels = Labels{{"__name__", "x"}};
  for (int j = 0; j < 500; ++j) {
    s.points.push_back({int64_t{j} * 1001, (j % 2 ? 1.0 : -1.0) * 1.2345678901234567e300});
  }
  s.points.push_back({600'000, std::numeric_limits<double>::denorm_min()});
  m.push_back(std::move(s));
  r.value = std::move(m);
  const std::string want = Reference(r);
  const size_t reserve = QueryBodyReserve(r);
  std::string got = QueryBodyJson(std::move(r), false);
  EXPECT_EQ(got, want);
  EXPECT_GT(got.size(), reserve);
}

TEST(QueryBodyJsonTest, VectorWithEscapesMatchesWriteResult) {
  QueryResult r;
  Vector v;
  for (int i = 0; i < 2000; ++i) {  // over kDrainBytes
    v.push_back({Labels{{"__name__", "m"}, {"path", "/a\x01\t" + std::to_string(i)}},
                 1'700'000'000'123, i * 0.25});
  }
  v.push_back({Labels{}, 5, std::numeric_limits<double>::infinity()});
  r.value = std::move(v);
  const std::string want = Reference(r);
  const size_t reserve = QueryBodyReserve(r);
  std::string got = QueryBodyJson(std::move(r), false);
  EXPECT_EQ(got, want);
  EXPECT_LE(got.size(), reserve);
}

TEST(QueryBodyJsonTest, EmptyResults) {
  QueryResult matrix;
  matrix.value = Matrix{};
  EXPECT_EQ(QueryBodyJson(std::move(matrix), false),
            R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  QueryResult vector;
  vector.value = Vector{};
  EXPECT_EQ(QueryBodyJson(std::move(vector), false),
            R"({"status":"success","data":{"resultType":"vector","result":[]}})");
}

TEST(QueryBodyJsonTest, ScalarAndString) {
  QueryResult scalar;
  scalar.value = promql::Scalar{1'700'000'000'500, 2.5};
  EXPECT_EQ(QueryBodyJson(std::move(scalar), false),
            R"({"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"2.5"]}})");
  QueryResult str;
  str.value = promql::String{1000, "say \"hi\""};
  EXPECT_EQ(QueryBodyJson(std::move(str), false),
            R"({"status":"success","data":{"resultType":"string","result":[1,"say \"hi\""]}})");
}

TEST(QueryBodyJsonTest, StatsFollowTheResult) {
  QueryResult r;
  r.value = promql::Scalar{1000, 1};
  r.stats.eval_total = 0.5;
  r.stats.inner_eval = 0.25;
  r.stats.total_queryable_samples = 42;
  r.stats.peak_samples = 7;
  r.warnings = {"w"};
  EXPECT_EQ(QueryBodyJson(std::move(r), true),
            R"({"status":"success","data":{"resultType":"scalar","result":[1,"1"],)"
            R"("stats":{"timings":{"evalTotalTime":0.5,"resultSortTime":0.0,)"
            R"("queryPreparationTime":0.0,"innerEvalTime":0.25,"execQueueTime":0.0,)"
            R"("execTotalTime":0.0},"samples":{"totalQueryableSamples":42,"peakSamples":7}}},)"
            R"("warnings":["w"]})");
}

TEST(QueryBodyJsonTest, ColumnsLayoutMatchesWriteColumns) {
  QueryResult r;
  r.value = BigMatrix(300, 40);
  std::get<Matrix>(r.value)[1].points.erase(std::get<Matrix>(r.value)[1].points.begin() + 3);
  const std::string want = Reference(r, /*columns=*/true);
  EXPECT_EQ(QueryBodyJson(std::move(r), false, /*columns=*/true), want);
}

}  // namespace
}  // namespace zw::api
