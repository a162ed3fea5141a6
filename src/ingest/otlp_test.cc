#include "ingest/otlp.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/sample.h"
#include "ingest/exposition_number.h"
#include "ingest/otlp_names.h"
#include "ingest/otlp_proto.h"
#include "ingest/proto_wire_testing.h"
#include "storage/series_set.h"
#include "tsdb/head.h"

namespace zw::ingest {
namespace {

using protowire::DoubleField;
using protowire::Fixed64Field;
using protowire::Tag;
using protowire::Varint;
using protowire::VarintField;
std::string Len(uint32_t field, std::string_view payload) {
  return protowire::LenField(field, payload);
}
uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

using Attrs = std::vector<std::pair<std::string, std::string>>;

std::string KeyValue(std::string_view k, std::string_view any_value) {
  return Len(1, k) + Len(2, any_value);
}
std::string Str(std::string_view s) { return Len(1, s); }
std::string AttrFields(uint32_t field, const Attrs& attrs) {
  std::string out;
  for (const auto& [k, v] : attrs) out += Len(field, KeyValue(k, Str(v)));
  return out;
}

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 1'700'000'000 * kSec;  // 2023-11-14
constexpr int64_t kT0Ms = 1'700'000'000'000;

std::string NumberPoint(const Attrs& attrs, uint64_t start, uint64_t time, double v,
                        uint32_t flags = 0) {
  std::string p =
      AttrFields(7, attrs) + Fixed64Field(2, start) + Fixed64Field(3, time) + DoubleField(4, v);
  if (flags) p += VarintField(8, flags);
  return p;
}
std::string IntPoint(const Attrs& attrs, uint64_t time, int64_t v) {
  return AttrFields(7, attrs) + Fixed64Field(3, time) + Fixed64Field(6, static_cast<uint64_t>(v));
}
std::string HistogramPoint(const Attrs& attrs, uint64_t start, uint64_t time,
                           std::vector<uint64_t> counts, std::vector<double> bounds, double sum) {
  uint64_t total = 0;
  std::string packed_counts, packed_bounds;
  for (uint64_t c : counts) {
    total += c;
    packed_counts += Fixed64Field(1, c).substr(1);
  }
  for (double b : bounds) packed_bounds += DoubleField(1, b).substr(1);
  return AttrFields(9, attrs) + Fixed64Field(2, start) + Fixed64Field(3, time) +
         Fixed64Field(4, total) + DoubleField(5, sum) + Len(6, packed_counts) +
         Len(7, packed_bounds);
}
std::string Buckets(int32_t offset, std::vector<uint64_t> counts) {
  std::string packed;
  for (uint64_t c : counts) packed += Varint(c);
  return VarintField(1, ZigZag(offset)) + Len(2, packed);
}
std::string Metric(std::string_view name, std::string_view unit, uint32_t data_field,
                   std::string_view data) {
  return Len(1, name) + Len(2, "help text") + Len(3, unit) + Len(data_field, data);
}
std::string Points(const std::vector<std::string>& points) {
  std::string out;
  for (const auto& p : points) out += Len(1, p);
  return out;
}
std::string Gauge(std::string_view name, std::string_view unit, std::vector<std::string> points) {
  return Metric(name, unit, 5, Points(points));
}
std::string Sum(std::string_view name, std::string_view unit, int temporality, bool monotonic,
                std::vector<std::string> points) {
  return Metric(name, unit, 7,
                Points(points) + VarintField(2, static_cast<uint64_t>(temporality)) +
                    VarintField(3, monotonic ? 1 : 0));
}
std::string Histogram(std::string_view name, std::string_view unit, int temporality,
                      std::vector<std::string> points) {
  return Metric(name, unit, 9, Points(points) + VarintField(2, static_cast<uint64_t>(temporality)));
}
std::string Request(const Attrs& resource, std::vector<std::string> metrics,
                    std::string_view scope_name = "io.test",
                    std::string_view scope_version = "1.2") {
  std::string scope = Len(1, Len(1, scope_name) + Len(2, scope_version));
  for (const auto& m : metrics) scope += Len(2, m);
  std::string rm = Len(1, AttrFields(1, resource)) + Len(2, scope);
  return Len(1, rm);
}

const Attrs kResource{{"service.name", "api"},
                      {"service.namespace", "shop"},
                      {"service.instance.id", "pod-1"},
                      {"host.name", "h1"}};

// ---- names ----

TEST(OtlpNamesTest, MetricNamesFollowPrometheusDefaults) {
  using otlp::MetricName;
  using otlp::NameKind;
  EXPECT_EQ(MetricName("http.server.request.duration", "s", NameKind::kOther),
            "http_server_request_duration_seconds");
  EXPECT_EQ(MetricName("system.network.io", "By", NameKind::kCounter),
            "system_network_io_bytes_total");
  EXPECT_EQ(MetricName("requests", "{request}", NameKind::kCounter), "requests_total");
  EXPECT_EQ(MetricName("requests.total", "1", NameKind::kCounter), "requests_total");
  EXPECT_EQ(MetricName("cpu.utilization", "1", NameKind::kGauge), "cpu_utilization_ratio");
  EXPECT_EQ(MetricName("throughput", "By/s", NameKind::kGauge), "throughput_bytes_per_second");
  EXPECT_EQ(MetricName("queue_latency_seconds", "s", NameKind::kOther), "queue_latency_seconds");
  EXPECT_EQ(MetricName("(lambda).function..executions(#)", "", NameKind::kGauge),
            "lambda_function_executions");
  EXPECT_EQ(MetricName("2xx.count", "", NameKind::kGauge), "_2xx_count");
  EXPECT_EQ(MetricName("disk.ops", "packets", NameKind::kCounter), "disk_ops_packets_total");
  EXPECT_EQ(MetricName("temp", "Cel", NameKind::kGauge), "temp_celsius");
  EXPECT_EQ(MetricName("...", "s", NameKind::kGauge), "");
}

TEST(OtlpNamesTest, LabelNamesAreSanitised) {
  using otlp::LabelName;
  EXPECT_EQ(LabelName("http.method"), "http_method");
  EXPECT_EQ(LabelName("k8s-pod"), "k8s_pod");
  EXPECT_EQ(LabelName("2fa"), "key_2fa");
  EXPECT_EQ(LabelName("_private"), "key_private");
  EXPECT_EQ(LabelName("__name__"), "key__name__");
  EXPECT_EQ(LabelName("caf\xC3\xA9"), "caf_");  // one "_" per UTF-8 character
  EXPECT_EQ(LabelName(""), "");
}

// ---- protobuf decoder ----

TEST(OtlpProtoTest, DecodesEveryKindAsViews) {
  std::string exp_point = AttrFields(1, {{"k", "v"}}) + Fixed64Field(3, kT0) + Fixed64Field(4, 6) +
                          DoubleField(5, 10.5) + VarintField(6, ZigZag(-1)) + Fixed64Field(7, 1) +
                          Len(8, Buckets(-2, {2, 3})) + Len(9, Buckets(0, {0})) +
                          DoubleField(14, 0.001);
  std::string summary_point = Fixed64Field(3, kT0) + Fixed64Field(4, 10) + DoubleField(5, 55) +
                              Len(6, DoubleField(1, 0.5) + DoubleField(2, 4)) +
                              Len(6, DoubleField(1, 0.99) + DoubleField(2, 9));
  std::string body = Request(
      kResource,
      {Gauge("g", "", {NumberPoint({{"a", "1"}}, 0, kT0, 2.5)}),
       Sum("c", "1", 2, true, {IntPoint({}, kT0, -7)}),
       Histogram("h", "s", 1, {HistogramPoint({}, kT0 - kSec, kT0, {1, 2, 3}, {0.1, 1}, 4.5)}),
       Metric("e", "", 10, Len(1, exp_point) + VarintField(2, 2)),
       Metric("s", "", 11, Len(1, summary_point))});
  otlp::ExportRequest req;
  Status st = otlp::DecodeExportRequest(body, &req);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(req.resources.size(), 1u);
  ASSERT_EQ(req.resources[0].attributes.size(), 4u);
  EXPECT_EQ(req.attributes[0].key, "service.name");
  EXPECT_EQ(req.attributes[0].value, "api");
  EXPECT_GE(req.attributes[0].value.data(), body.data());  // a view into the body
  EXPECT_LT(req.attributes[0].value.data(), body.data() + body.size());
  ASSERT_EQ(req.scopes.size(), 1u);
  EXPECT_EQ(req.scopes[0].name, "io.test");
  EXPECT_EQ(req.scopes[0].version, "1.2");
  ASSERT_EQ(req.metrics.size(), 5u);
  EXPECT_EQ(req.metrics[0].kind, otlp::MetricKind::kGauge);
  EXPECT_EQ(req.points[req.metrics[0].points.begin].value, 2.5);
  const auto& c = req.metrics[1];
  EXPECT_EQ(c.kind, otlp::MetricKind::kSum);
  EXPECT_TRUE(c.monotonic);
  EXPECT_EQ(c.temporality, otlp::Temporality::kCumulative);
  EXPECT_EQ(req.points[c.points.begin].value, -7);
  const auto& h = req.metrics[2];
  EXPECT_EQ(h.temporality, otlp::Temporality::kDelta);
  const auto& hp = req.points[h.points.begin];
  EXPECT_EQ(hp.count, 6u);
  EXPECT_EQ(hp.start_ns, kT0 - kSec);
  ASSERT_EQ(hp.bucket_counts.size(), 3u);
  EXPECT_EQ(req.counts[hp.bucket_counts.begin + 2], 3u);
  ASSERT_EQ(hp.explicit_bounds.size(), 2u);
  EXPECT_EQ(req.bounds[hp.explicit_bounds.begin + 1], 1.0);
  const auto& ep = req.points[req.metrics[3].points.begin];
  EXPECT_EQ(req.metrics[3].kind, otlp::MetricKind::kExponentialHistogram);
  EXPECT_EQ(ep.scale, -1);
  EXPECT_EQ(ep.positive_offset, -2);
  ASSERT_EQ(ep.positive.size(), 2u);
  EXPECT_EQ(req.counts[ep.positive.begin + 1], 3u);
  EXPECT_EQ(ep.negative.size(), 1u);
  EXPECT_EQ(ep.zero_threshold, 0.001);
  EXPECT_EQ(req.attributes[ep.attributes.begin].key, "k");
  const auto& sp = req.points[req.metrics[4].points.begin];
  ASSERT_EQ(sp.quantiles.size(), 2u);
  EXPECT_EQ(req.quantiles[sp.quantiles.begin + 1].quantile, 0.99);
  EXPECT_EQ(req.quantiles[sp.quantiles.begin + 1].value, 9);
}

TEST(OtlpProtoTest, NonStringAttributesBecomeStrings) {
  std::string arr =
      Len(5, Len(1, Str("x")) + Len(1, VarintField(3, 2)) + Len(1, VarintField(2, 1)));
  std::string kvl =
      Len(6, Len(1, KeyValue("a", DoubleField(4, 0.5))) + Len(1, KeyValue("b", Str("\"q"))));
  std::string point = Len(7, KeyValue("b", VarintField(2, 1))) +
                      Len(7, KeyValue("i", VarintField(3, static_cast<uint64_t>(-42)))) +
                      Len(7, KeyValue("d", DoubleField(4, 1.25))) +
                      Len(7, KeyValue("y", Len(7, "\x01\x02\xff"))) + Len(7, KeyValue("arr", arr)) +
                      Len(7, KeyValue("kv", kvl)) + Fixed64Field(3, kT0) + DoubleField(4, 1);
  otlp::ExportRequest req;
  ASSERT_TRUE(otlp::DecodeExportRequest(Request({}, {Gauge("g", "", {point})}), &req).ok());
  std::vector<std::string> got;
  for (const auto& kv : req.attributes)
    got.push_back(std::string(kv.key) + "=" + std::string(kv.value));
  EXPECT_EQ(got,
            (std::vector<std::string>{"b=true", "i=-42", "d=1.25", "y=AQL/", "arr=[\"x\",2,true]",
                                      "kv={\"a\":0.5,\"b\":\"\\\"q\"}"}));
}

TEST(OtlpProtoTest, UnpackedRepeatedFieldsAndUnknownFieldsAreAccepted) {
  std::string point = Fixed64Field(3, kT0) + Fixed64Field(4, 3) + Fixed64Field(6, 1) +
                      Fixed64Field(6, 2) + DoubleField(7, 5.0) + VarintField(99, 7) +
                      Len(100, "junk") + Tag(101, 5) + "abcd";
  std::string body = Request({}, {Histogram("h", "", 2, {point})}) + VarintField(50, 1);
  otlp::ExportRequest req;
  Status st = otlp::DecodeExportRequest(body, &req);
  ASSERT_TRUE(st.ok()) << st.message();
  const auto& p = req.points[0];
  EXPECT_EQ(p.bucket_counts.size(), 2u);
  EXPECT_EQ(p.explicit_bounds.size(), 1u);
  EXPECT_EQ(req.bounds[0], 5.0);
}

void ExpectDecodeError(const std::string& body, std::string_view want) {
  otlp::ExportRequest req;
  Status st = otlp::DecodeExportRequest(body, &req);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
}

TEST(OtlpProtoTest, TruncatedInputNamesThePlace) {
  std::string body = Request(kResource, {Gauge("g", "", {NumberPoint({}, 0, kT0, 1)})});
  for (size_t n = 1; n < body.size(); ++n) {
    otlp::ExportRequest req;
    EXPECT_FALSE(otlp::DecodeExportRequest(body.substr(0, n), &req).ok()) << n;
  }
  ExpectDecodeError(body.substr(0, body.size() - 3), "exceeds");
}

TEST(OtlpProtoTest, WrongWireTypeNamesTheField) {
  std::string point = Fixed64Field(3, kT0) + VarintField(4, 1);  // as_double as a varint
  ExpectDecodeError(Request({}, {Gauge("g", "", {point})}),
                    "resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]: field 4 "
                    "(as_double): wire type 0 (varint), want 1 (fixed64)");
  ExpectDecodeError(Len(1, VarintField(2, 5)),
                    "resource_metrics[0]: field 2 (scope_metrics): wire type 0");
  ExpectDecodeError(Len(1, Tag(1, 7)),
                    "resource_metrics[0]: field 1 (resource): wire type 7 (invalid)");
  ExpectDecodeError(Len(1, Tag(9, 7)), "invalid wire type 7 for field 9");
}

TEST(OtlpProtoTest, DeepAnyValueNestingIsRejected) {
  std::string v = Str("x");
  for (int i = 0; i < 40; ++i) v = Len(5, Len(1, v));
  std::string point = Len(7, KeyValue("deep", v)) + Fixed64Field(3, kT0) + DoubleField(4, 1);
  ExpectDecodeError(Request({}, {Gauge("g", "", {point})}), "nested deeper than");
}

// ---- JSON decoder ----

constexpr std::string_view kJson = R"({"resourceMetrics":[{
  "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}},
                            {"key":"port","value":{"intValue":"8080"}}]},
  "scopeMetrics":[{"scope":{"name":"io.test","version":"1.2"},"metrics":[
    {"name":"g","unit":"1","gauge":{"dataPoints":[{"timeUnixNano":"1700000000000000000","asDouble":0.5,
      "attributes":[{"key":"ok","value":{"boolValue":true}}]}]}},
    {"name":"c","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[
      {"startTimeUnixNano":"1699999999000000000","timeUnixNano":"1700000000000000000","asInt":"3"}]}},
    {"name":"h","histogram":{"aggregation_temporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","dataPoints":[
      {"timeUnixNano":1700000000000000000,"count":"3","sum":1.5,"bucketCounts":["1","2"],"explicitBounds":[1]}]}},
    {"name":"e","exponentialHistogram":{"aggregationTemporality":2,"dataPoints":[
      {"timeUnixNano":"1700000000000000000","count":"3","scale":1,"zeroCount":"1",
       "positive":{"offset":-1,"bucketCounts":["1","1"]}}]}},
    {"name":"s","summary":{"dataPoints":[{"timeUnixNano":"1700000000000000000","count":"2","sum":3,
      "quantileValues":[{"quantile":0.5,"value":1}]}]}},
    {"name":"future","sum":{"dataPoints":[],"aggregationTemporality":2},"unknownField":{"x":[1]}}
  ]}]}]})";

TEST(OtlpJsonTest, DecodesTheSameModel) {
  otlp::ExportRequest req;
  Status st = otlp::DecodeExportRequestJson(kJson, &req);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(req.metrics.size(), 6u);
  EXPECT_EQ(req.attributes[1].value, "8080");
  EXPECT_EQ(req.metrics[0].unit, "1");
  const auto& g = req.points[req.metrics[0].points.begin];
  EXPECT_EQ(g.time_ns, kT0);
  EXPECT_EQ(g.value, 0.5);
  EXPECT_EQ(req.attributes[g.attributes.begin].value, "true");
  EXPECT_EQ(req.metrics[1].temporality, otlp::Temporality::kDelta);
  EXPECT_TRUE(req.metrics[1].monotonic);
  EXPECT_EQ(req.points[req.metrics[1].points.begin].value, 3);
  EXPECT_EQ(req.metrics[2].temporality, otlp::Temporality::kCumulative);
  const auto& h = req.points[req.metrics[2].points.begin];
  EXPECT_EQ(h.bucket_counts.size(), 2u);
  EXPECT_EQ(h.time_ns, kT0);  // a plain number is accepted for a 64-bit integer
  const auto& e = req.points[req.metrics[3].points.begin];
  EXPECT_EQ(e.scale, 1);
  EXPECT_EQ(e.positive_offset, -1);
  EXPECT_EQ(e.positive.size(), 2u);
  EXPECT_EQ(req.quantiles.size(), 1u);
  EXPECT_EQ(req.metrics[5].points.size(), 0u);
}

void ExpectJsonError(std::string_view body, std::string_view want) {
  otlp::ExportRequest req;
  Status st = otlp::DecodeExportRequestJson(body, &req);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
}

TEST(OtlpJsonTest, ErrorsNameThePath) {
  ExpectJsonError("{\"resourceMetrics\":[", "invalid JSON");
  ExpectJsonError("[]", "an array, want an object");
  ExpectJsonError(R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":
    {"dataPoints":[{"timeUnixNano":"12x"}]}}]}]}]})",
                  "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].timeUnixNano: "
                  "\"12x\" is not an unsigned 64-bit integer");
  ExpectJsonError(R"({"resourceMetrics":[{"scopeMetrics":{}}]})",
                  "resourceMetrics[0].scopeMetrics: an object, want an array");
  ExpectJsonError(R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"c","sum":
    {"aggregationTemporality":"SOMETIMES"}}]}]}]})",
                  "aggregationTemporality: \"SOMETIMES\" is not an AggregationTemporality");
}

// ---- receiver ----

class OtlpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = tsdb::Head::Open({});
    ASSERT_TRUE(h.ok());
    head_ = std::move(h).value();
    ing_ = std::make_unique<OtlpIngester>(head_.get());
  }

  Result<OtlpResult> Export(const std::string& body) { return ing_->Export(body, false); }
  OtlpResult MustExport(const std::string& body) {
    auto r = Export(body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : OtlpResult{};
  }
  std::vector<Sample> Samples(const Labels& ls) { return storage::ReadExact(*head_, ls); }
  double Last(const Labels& ls) {
    auto s = Samples(ls);
    return s.empty() ? -1 : s.back().v;
  }
  uint64_t Appended() const { return head_->stats().samples_appended.load(); }

  void ExpectRejected(const std::string& body, std::string_view want) {
    uint64_t before = Appended();
    auto r = Export(body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
    EXPECT_EQ(Appended(), before);
  }

  // A series of the standard resource and scope.
  static Labels L(std::initializer_list<std::pair<std::string_view, std::string_view>> extra) {
    std::vector<std::pair<std::string_view, std::string_view>> ps = {{"job", "shop/api"},
                                                                     {"instance", "pod-1"},
                                                                     {"otel_scope_name", "io.test"},
                                                                     {"otel_scope_version", "1.2"}};
    ps.insert(ps.end(), extra.begin(), extra.end());
    return Labels::FromPairs(ps);
  }

  std::unique_ptr<tsdb::Head> head_;
  std::unique_ptr<OtlpIngester> ing_;
};

TEST_F(OtlpTest, GaugeLandsWithResourceAndScopeLabelsAndTargetInfo) {
  auto r = MustExport(
      Request(kResource,
              {Gauge("node.temp", "Cel", {NumberPoint({{"zone", "a"}}, 0, kT0 + 999'999, 21.5)})}));
  EXPECT_EQ(r.points, 1u);
  EXPECT_EQ(r.rejected_points, 0u);
  EXPECT_EQ(Samples(L({{"__name__", "node_temp_celsius"}, {"zone", "a"}})),
            (std::vector<Sample>{{kT0Ms, 21.5}}));  // ns -> ms, truncated
  EXPECT_EQ(Samples(Labels{{"__name__", "target_info"},
                           {"job", "shop/api"},
                           {"instance", "pod-1"},
                           {"host_name", "h1"}}),
            (std::vector<Sample>{{kT0Ms, 1}}));
  auto meta = head_->Metadata();
  bool found = false;
  for (const auto& [name, m] : meta) {
    if (name == "node_temp_celsius") {
      found = true;
      EXPECT_EQ(m.type, MetricType::kGauge);
      EXPECT_EQ(m.help, "help text");
      EXPECT_EQ(m.unit, "celsius");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(OtlpTest, MonotonicCumulativeSumIsACounterWithTotal) {
  MustExport(
      Request(kResource, {Sum("http.requests", "{request}", 2, true,
                              {NumberPoint({{"code", "200"}}, kT0 - 60 * kSec, kT0, 10),
                               NumberPoint({{"code", "200"}}, kT0 - 60 * kSec, kT0 + kSec, 12)})}));
  EXPECT_EQ(Samples(L({{"__name__", "http_requests_total"}, {"code", "200"}})),
            (std::vector<Sample>{{kT0Ms, 10}, {kT0Ms + 1000, 12}}));
}

TEST_F(OtlpTest, NonMonotonicSumIsAGauge) {
  MustExport(Request(kResource, {Sum("queue.size", "1", 2, false, {IntPoint({}, kT0, 4)})}));
  EXPECT_EQ(Last(L({{"__name__", "queue_size_ratio"}})), 4);
}

TEST_F(OtlpTest, DeltaSumsAccumulateAcrossRequestsAndRestarts) {
  auto delta = [](uint64_t start, uint64_t end, double v) {
    return Request(kResource, {Sum("jobs.done", "", 1, true, {NumberPoint({}, start, end, v)})});
  };
  Labels ls = L({{"__name__", "jobs_done_total"}});
  MustExport(delta(kT0, kT0 + 10 * kSec, 3));
  MustExport(delta(kT0 + 10 * kSec, kT0 + 20 * kSec, 2));
  EXPECT_EQ(Samples(ls), (std::vector<Sample>{{kT0Ms + 10000, 3}, {kT0Ms + 20000, 5}}));
  // A resend of the last delta overlaps what was accumulated: rejected, not double-counted.
  auto r = MustExport(delta(kT0 + 10 * kSec, kT0 + 20 * kSec, 2));
  EXPECT_EQ(r.rejected_points, 1u);
  EXPECT_NE(r.message.find("overlaps"), std::string::npos) << r.message;
  EXPECT_EQ(Last(ls), 5);
  // A new receiver (a restart) reads the running total back from storage.
  ing_ = std::make_unique<OtlpIngester>(head_.get());
  MustExport(delta(kT0 + 20 * kSec, kT0 + 30 * kSec, 1));
  EXPECT_EQ(Last(ls), 6);
  EXPECT_EQ(ing_->delta_series(), 1u);
}

TEST_F(OtlpTest, HistogramBecomesCumulativeBuckets) {
  MustExport(Request(
      kResource,
      {Histogram("rpc.duration", "ms", 2,
                 {HistogramPoint({{"m", "get"}}, kT0 - kSec, kT0, {1, 2, 3}, {5, 10}, 42)})}));
  auto b = [](std::string_view le) {
    return L({{"__name__", "rpc_duration_milliseconds_bucket"}, {"m", "get"}, {"le", le}});
  };
  EXPECT_EQ(Last(b("5.0")), 1);
  EXPECT_EQ(Last(b("10.0")), 3);
  EXPECT_EQ(Last(b("+Inf")), 6);
  EXPECT_EQ(Last(L({{"__name__", "rpc_duration_milliseconds_sum"}, {"m", "get"}})), 42);
  EXPECT_EQ(Last(L({{"__name__", "rpc_duration_milliseconds_count"}, {"m", "get"}})), 6);
}

TEST_F(OtlpTest, DeltaHistogramsAccumulatePerBucket) {
  auto h = [](uint64_t s, uint64_t e, std::vector<uint64_t> counts, double sum) {
    return Request(kResource,
                   {Histogram("lat", "s", 1, {HistogramPoint({}, s, e, counts, {1}, sum)})});
  };
  MustExport(h(kT0, kT0 + kSec, {1, 1}, 3));
  MustExport(h(kT0 + kSec, kT0 + 2 * kSec, {2, 0}, 1));
  EXPECT_EQ(Last(L({{"__name__", "lat_seconds_bucket"}, {"le", "1.0"}})), 3);
  EXPECT_EQ(Last(L({{"__name__", "lat_seconds_bucket"}, {"le", "+Inf"}})), 4);
  EXPECT_EQ(Last(L({{"__name__", "lat_seconds_sum"}})), 4);
  EXPECT_EQ(Last(L({{"__name__", "lat_seconds_count"}})), 4);
  // After a restart the buckets are read back.
  ing_ = std::make_unique<OtlpIngester>(head_.get());
  MustExport(h(kT0 + 2 * kSec, kT0 + 3 * kSec, {0, 1}, 5));
  EXPECT_EQ(Last(L({{"__name__", "lat_seconds_bucket"}, {"le", "1.0"}})), 3);
  EXPECT_EQ(Last(L({{"__name__", "lat_seconds_bucket"}, {"le", "+Inf"}})), 5);
  EXPECT_EQ(Last(L({{"__name__", "lat_seconds_sum"}})), 9);
}

TEST_F(OtlpTest, ExponentialHistogramBecomesClassicBucketsAtItsOwnBounds) {
  // Scale 0: bucket i holds (2^i, 2^(i+1)]. Positive offset 1: (2,4] x2, (4,8] x1;
  // negative offset 0: [-2,-1) x1; zero bucket x1 (threshold 0).
  std::string p = Fixed64Field(3, kT0) + Fixed64Field(4, 5) + DoubleField(5, 9) +
                  VarintField(6, ZigZag(0)) + Fixed64Field(7, 1) + Len(8, Buckets(1, {2, 1})) +
                  Len(9, Buckets(0, {1}));
  MustExport(Request(kResource, {Metric("size", "By", 10, Len(1, p) + VarintField(2, 2))}));
  auto b = [&](std::string_view le) {
    return Last(L({{"__name__", "size_bytes_bucket"}, {"le", le}}));
  };
  EXPECT_EQ(b("-1.0"), 1);
  EXPECT_EQ(b("0.0"), 2);
  EXPECT_EQ(b("4.0"), 4);
  EXPECT_EQ(b("8.0"), 5);
  EXPECT_EQ(b("+Inf"), 5);
  EXPECT_EQ(Last(L({{"__name__", "size_bytes_count"}})), 5);
}

TEST_F(OtlpTest, FineExponentialScalesAreMergedDown) {
  // Scale 6 (64 buckets per power of two) is merged to scale 4: 4 buckets per classic one.
  std::vector<uint64_t> counts(64, 1);
  std::string p = Fixed64Field(3, kT0) + Fixed64Field(4, 64) + VarintField(6, ZigZag(6)) +
                  Len(8, Buckets(0, counts));
  MustExport(Request(kResource, {Metric("x", "", 10, Len(1, p) + VarintField(2, 2))}));
  EXPECT_EQ(Last(L({{"__name__", "x_bucket"}, {"le", "2.0"}})), 64);
  // 2^(1/16): the first scale-4 bound, holding the first 4 scale-6 buckets.
  std::string le;
  AppendCanonicalFloat(std::exp2(1.0 / 16), &le);
  EXPECT_EQ(Last(L({{"__name__", "x_bucket"}, {"le", le}})), 4);
}

TEST_F(OtlpTest, SummaryBecomesQuantilesSumAndCount) {
  std::string p = Fixed64Field(3, kT0) + Fixed64Field(4, 10) + DoubleField(5, 55) +
                  Len(6, DoubleField(1, 0.5) + DoubleField(2, 4)) +
                  Len(6, DoubleField(1, 0.99) + DoubleField(2, 9));
  MustExport(Request(kResource, {Metric("resp.size", "", 11, Len(1, p))}));
  EXPECT_EQ(Last(L({{"__name__", "resp_size"}, {"quantile", "0.5"}})), 4);
  EXPECT_EQ(Last(L({{"__name__", "resp_size"}, {"quantile", "0.99"}})), 9);
  EXPECT_EQ(Last(L({{"__name__", "resp_size_sum"}})), 55);
  EXPECT_EQ(Last(L({{"__name__", "resp_size_count"}})), 10);
}

TEST_F(OtlpTest, CollidingAttributeNamesAreJoinedInKeyOrder) {
  MustExport(Request(
      kResource,
      {Gauge("g", "", {NumberPoint({{"a.b", "2"}, {"a-b", "1"}, {"job", "x"}}, 0, kT0, 1)})}));
  // "a-b" < "a.b"; a point's own "job" is overridden by the resource's.
  EXPECT_EQ(Last(L({{"__name__", "g"}, {"a_b", "1;2"}})), 1);
}

TEST_F(OtlpTest, NoRecordedValueWritesStaleMarkers) {
  MustExport(Request(kResource, {Gauge("g", "", {NumberPoint({}, 0, kT0, 1)})}));
  MustExport(
      Request(kResource,
              {Gauge("g", "", {NumberPoint({}, 0, kT0 + kSec, 0, otlp::kFlagNoRecordedValue)})}));
  auto s = Samples(L({{"__name__", "g"}}));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(IsStaleNaN(s[1].v));
}

TEST_F(OtlpTest, RefusedPointsArePartialSuccessTheRestIsStored) {
  // Older than the head's out-of-order window (30 minutes) allows.
  MustExport(Request(kResource, {Gauge("g", "", {NumberPoint({}, 0, kT0 + 7200 * kSec, 1)})}));
  auto r = MustExport(Request(kResource, {Gauge("g", "", {NumberPoint({}, 0, kT0, 2)}),
                                          Gauge("h", "", {NumberPoint({}, 0, kT0, 3)})}));
  EXPECT_EQ(r.points, 1u);
  EXPECT_EQ(r.rejected_points, 1u);
  EXPECT_NE(r.message.find("1 of 2 data points rejected"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("metrics[0] (g).dataPoints[0]"), std::string::npos) << r.message;
  EXPECT_EQ(Last(L({{"__name__", "h"}})), 3);
  EXPECT_EQ(Samples(L({{"__name__", "g"}})).size(), 1u);
}

TEST_F(OtlpTest, MalformedDataRejectsTheWholeRequest) {
  std::string good = Gauge("ok", "", {NumberPoint({}, 0, kT0, 1)});
  ExpectRejected(
      Request(kResource, {good, Gauge("g", "", {Fixed64Field(4, 0) + DoubleField(4, 1)})}),
      "timeUnixNano is missing");
  ExpectRejected(Request(kResource, {good, Gauge("g", "", {Fixed64Field(3, kT0)})}),
                 "neither asDouble nor asInt");
  ExpectRejected(Request(kResource, {good, Sum("s", "", 0, true, {NumberPoint({}, 0, kT0, 1)})}),
                 "aggregation temporality 0 is not 1 (delta) or 2 (cumulative)");
  ExpectRejected(
      Request(kResource,
              {good, Histogram("h", "", 2,
                               {AttrFields(9, {}) + Fixed64Field(3, kT0) + Fixed64Field(4, 3) +
                                Fixed64Field(6, 3) + DoubleField(7, 1)})}),
      "1 bucket_counts for 1 explicit_bounds");
  ExpectRejected(
      Request(kResource,
              {good, Histogram("h", "", 2, {HistogramPoint({}, 0, kT0, {1, 1, 1}, {2, 1}, 0)})}),
      "not strictly increasing");
  ExpectRejected(Request(kResource, {good, Len(1, "nodata")}), "metric has no data");
  ExpectRejected(Request(kResource, {good, Gauge("", "", {NumberPoint({}, 0, kT0, 1)})}),
                 "metric has no name");
  ExpectRejected(Request(kResource, {good, Gauge("g", "", {NumberPoint({{"", "v"}}, 0, kT0, 1)})}),
                 "empty attribute key");
  ExpectRejected(
      Request(kResource, {good, Gauge("g", "", {NumberPoint({{"k", "\xff"}}, 0, kT0, 1)})}),
      "not valid UTF-8");
  ExpectRejected(Request(kResource, {good, Gauge("g", "", {NumberPoint({}, 0, kT0, 1)})}) + "\x0a",
                 "invalid protobuf ExportMetricsServiceRequest");
  EXPECT_TRUE(Samples(L({{"__name__", "ok"}})).empty());
}

TEST_F(OtlpTest, JsonRequestsLandTheSameWay) {
  auto r = ing_->Export(kJson, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rejected_points, 0u);
  Labels base{{"job", "api"}, {"otel_scope_name", "io.test"}, {"otel_scope_version", "1.2"}};
  auto with = [&](std::initializer_list<std::pair<std::string_view, std::string_view>> extra) {
    LabelsBuilder b(base);
    for (auto [n, v] : extra) b.Set(n, v);
    return b.Build();
  };
  EXPECT_EQ(Last(with({{"__name__", "g_ratio"}, {"ok", "true"}})), 0.5);
  EXPECT_EQ(Last(with({{"__name__", "c_total"}})), 3);
  EXPECT_EQ(Last(with({{"__name__", "h_bucket"}, {"le", "1.0"}})), 1);
  EXPECT_EQ(Last(with({{"__name__", "s"}, {"quantile", "0.5"}})), 1);
  EXPECT_EQ(Last(Labels{{"__name__", "target_info"}, {"job", "api"}, {"port", "8080"}}), 1);
}

}  // namespace
}  // namespace zw::ingest
