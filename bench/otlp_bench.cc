// OTLP metrics receiver throughput: a request shaped like an OpenTelemetry SDK's periodic
// export (one resource with service.name/instance and 3 more attributes, one scope, 50
// metrics: 20 cumulative counters and 20 gauges of 50 points each with 3 attributes, and 10
// histograms of 10 points with 10 buckets each), about 2,000 data points and 3,400 samples.
//
//   BM_OtlpDecode      - protobuf decoding only (bytes/s, points/s)
//   BM_OtlpDecodeJson  - the same request as OTLP/JSON
//   BM_OtlpIngest      - decode + map to series + append + commit into an in-memory head
//                        (no WAL); items/s are samples/s. Timestamps advance every
//                        iteration, as a steady stream of exports does.
//
//   ./build/bench/otlp_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "ingest/otlp.h"
#include "ingest/otlp_proto.h"
#include "tsdb/head.h"

namespace {

// ---- a small protobuf writer ----
void Varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
std::string Len(uint32_t field, const std::string& payload) {
  std::string out;
  Varint(field << 3 | 2, &out);
  Varint(payload.size(), &out);
  return out + payload;
}
std::string Fix64(uint32_t field, uint64_t v) {
  std::string out;
  Varint(field << 3 | 1, &out);
  char b[8];
  std::memcpy(b, &v, 8);
  return out + std::string(b, 8);
}
std::string Dbl(uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  return Fix64(field, bits);
}
std::string Var(uint32_t field, uint64_t v) {
  std::string out;
  Varint(field << 3, &out);
  Varint(v, &out);
  return out;
}
std::string Attr(uint32_t field, const std::string& k, const std::string& v) {
  return Len(field, Len(1, k) + Len(2, Len(1, v)));
}

constexpr uint64_t kStartNs = 1'700'000'000'000'000'000ULL;

// The request at export `round` (timestamps 15 s apart); `json` gives OTLP/JSON.
std::string Export(int round, bool json) {
  uint64_t t = kStartNs + static_cast<uint64_t>(round) * 15'000'000'000ULL;
  std::string metrics, jm;
  auto point_attrs = [](int m, int p) {
    return std::vector<std::pair<std::string, std::string>>{
        {"http.route", fmt::format("/api/v{}/items/{}", m % 3, p)},
        {"http.method", p % 2 ? "GET" : "POST"},
        {"http.status_code", fmt::format("{}", 200 + (p % 5))}};
  };
  auto json_attrs = [](const std::vector<std::pair<std::string, std::string>>& as) {
    std::string out = "[";
    for (size_t i = 0; i < as.size(); ++i) {
      out += fmt::format("{}{{\"key\":\"{}\",\"value\":{{\"stringValue\":\"{}\"}}}}", i ? "," : "",
                         as[i].first, as[i].second);
    }
    return out + "]";
  };
  for (int m = 0; m < 50; ++m) {
    std::string pts, jp;
    bool hist = m >= 40;
    int npoints = hist ? 10 : 50;
    for (int p = 0; p < npoints; ++p) {
      auto as = point_attrs(m, p);
      std::string pt;
      uint32_t attr_field = hist ? 9 : 7;
      for (const auto& [k, v] : as) pt += Attr(attr_field, k, v);
      pt += Fix64(2, kStartNs) + Fix64(3, t);
      double value = round * 10.0 + p;
      if (!hist) {
        pt += Dbl(4, value);
        jp += fmt::format(
            "{}{{\"attributes\":{},\"startTimeUnixNano\":\"{}\",\"timeUnixNano\":\"{}\","
            "\"asDouble\":{}}}",
            p ? "," : "", json_attrs(as), kStartNs, t, value);
      } else {
        std::string counts, bounds, jc, jb;
        uint64_t total = 0;
        for (int b = 0; b < 11; ++b) {
          uint64_t c = static_cast<uint64_t>(round + b);
          total += c;
          char raw[8];
          std::memcpy(raw, &c, 8);
          counts.append(raw, 8);
          jc += fmt::format("{}\"{}\"", b ? "," : "", c);
        }
        for (int b = 0; b < 10; ++b) {
          double bound = 0.005 * (1 << b);
          char raw[8];
          std::memcpy(raw, &bound, 8);
          bounds.append(raw, 8);
          jb += fmt::format("{}{}", b ? "," : "", bound);
        }
        pt += Fix64(4, total) + Dbl(5, value) + Len(6, counts) + Len(7, bounds);
        jp += fmt::format(
            "{}{{\"attributes\":{},\"startTimeUnixNano\":\"{}\",\"timeUnixNano\":\"{}\","
            "\"count\":\"{}\",\"sum\":{},\"bucketCounts\":[{}],\"explicitBounds\":[{}]}}",
            p ? "," : "", json_attrs(as), kStartNs, t, total, value, jc, jb);
      }
      pts += Len(1, pt);
    }
    std::string name = fmt::format("app.metric.{}", m);
    std::string data;
    std::string jdata;
    if (m < 20) {
      data = Len(7, pts + Var(2, 2) + Var(3, 1));
      jdata = fmt::format(
          "\"sum\":{{\"aggregationTemporality\":2,\"isMonotonic\":true,"
          "\"dataPoints\":[{}]}}",
          jp);
    } else if (m < 40) {
      data = Len(5, pts);
      jdata = fmt::format("\"gauge\":{{\"dataPoints\":[{}]}}", jp);
    } else {
      data = Len(9, pts + Var(2, 2));
      jdata = fmt::format("\"histogram\":{{\"aggregationTemporality\":2,\"dataPoints\":[{}]}}", jp);
    }
    metrics += Len(2, Len(1, name) + Len(2, "A metric.") + Len(3, "ms") + data);
    jm += fmt::format("{}{{\"name\":\"{}\",\"description\":\"A metric.\",\"unit\":\"ms\",{}}}",
                      m ? "," : "", name, jdata);
  }
  std::vector<std::pair<std::string, std::string>> res = {{"service.name", "checkout"},
                                                          {"service.instance.id", "pod-7f9c"},
                                                          {"host.name", "node-17"},
                                                          {"telemetry.sdk.language", "go"},
                                                          {"telemetry.sdk.version", "1.28.0"}};
  if (json) {
    return fmt::format(
        "{{\"resourceMetrics\":[{{\"resource\":{{\"attributes\":{}}},\"scopeMetrics\":[{{"
        "\"scope\":{{\"name\":\"go.opentelemetry.io/contrib/instrumentation\",\"version\":"
        "\"0.53.0\"}},\"metrics\":[{}]}}]}}]}}",
        json_attrs(res), jm);
  }
  std::string resource;
  for (const auto& [k, v] : res) resource += Attr(1, k, v);
  std::string scope =
      Len(1, Len(1, "go.opentelemetry.io/contrib/instrumentation") + Len(2, "0.53.0")) + metrics;
  return Len(1, Len(1, resource) + Len(2, scope));
}

void BM_OtlpDecode(benchmark::State& state) {
  std::string body = Export(0, false);
  zw::ingest::otlp::ExportRequest req;
  for (auto _ : state) {
    auto st = zw::ingest::otlp::DecodeExportRequest(body, &req);
    benchmark::DoNotOptimize(st);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * req.points.size()));
  state.counters["points"] = static_cast<double>(req.points.size());
}
BENCHMARK(BM_OtlpDecode);

void BM_OtlpDecodeJson(benchmark::State& state) {
  std::string body = Export(0, true);
  zw::ingest::otlp::ExportRequest req;
  for (auto _ : state) {
    auto st = zw::ingest::otlp::DecodeExportRequestJson(body, &req);
    if (!st.ok()) state.SkipWithError(st.message().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * req.points.size()));
}
BENCHMARK(BM_OtlpDecodeJson);

void BM_OtlpIngest(benchmark::State& state) {
  auto head = zw::tsdb::Head::Open({}).value();
  zw::ingest::OtlpIngester ing(head.get());
  // Pre-built bodies for a cycle of rounds; each cycle repeats with later timestamps.
  constexpr int kRounds = 64;
  int round = 0;
  size_t samples = 0;
  std::vector<std::string> bodies;
  for (int i = 0; i < kRounds; ++i) bodies.push_back(Export(i, false));
  for (auto _ : state) {
    if (round > 0 && round % kRounds == 0) {
      state.PauseTiming();
      for (int i = 0; i < kRounds; ++i) bodies[static_cast<size_t>(i)] = Export(round + i, false);
      state.ResumeTiming();
    }
    auto r = ing.Export(bodies[static_cast<size_t>(round % kRounds)], false);
    if (!r.ok() || r->rejected_points > 0) {
      state.SkipWithError(r.ok() ? r->message.c_str() : r.status().message().c_str());
      break;
    }
    samples += r->samples;
    ++round;
  }
  state.SetItemsProcessed(static_cast<int64_t>(samples));
}
BENCHMARK(BM_OtlpIngest);

}  // namespace

BENCHMARK_MAIN();
