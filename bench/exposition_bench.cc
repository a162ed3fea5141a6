// Scrape-body parse throughput: Prometheus text 0.0.4 and OpenMetrics 1.0 over a
// node_exporter-like body of about 10k series (3-6 labels, counters, gauges, histograms,
// a summary). Each iteration parses the whole body and reads every label, as the scrape
// loop does before it looks series up.
//
//   ./build/bench/exposition_bench --benchmark_repetitions=3
//   --benchmark_report_aggregates_only=true
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "ingest/exposition_parser.h"

namespace {

using zw::ingest::Entry;
using zw::ingest::ExpositionFormat;
using zw::ingest::ExpositionParser;

std::string NodeExporterBody(bool om) {
  std::string b;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    b += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  // Counters: in 0.0.4 the family is named with _total, in OpenMetrics without.
  auto counter = [&](std::string_view base, std::string_view help) {
    family(om ? std::string(base) : std::string(base) + "_total", "counter", help);
  };
  const char* modes[] = {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"};
  counter("node_cpu_seconds", "Seconds the CPUs spent in each mode.");
  for (int cpu = 0; cpu < 128; ++cpu) {
    for (const char* mode : modes) {
      b += fmt::format(
          "node_cpu_seconds_total{{cpu=\"{}\",mode=\"{}\",instance=\"node-17:9100\"}} "
          "{}.{}\n",
          cpu, mode, 123456 + cpu * 7, cpu % 100);
    }
  }
  const char* net[] = {"receive_bytes",  "receive_packets",  "receive_errs",  "receive_drop",
                       "transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop"};
  for (const char* m : net) {
    counter(fmt::format("node_network_{}", m), "Network device statistic.");
    for (int d = 0; d < 100; ++d) {
      b += fmt::format(
          "node_network_{}_total{{device=\"veth{:04x}\",instance=\"node-17:9100\","
          "job=\"node\"}} {}\n",
          m, d * 37, 9876543210ULL + static_cast<uint64_t>(d) * 1234567);
    }
  }
  const char* fs[] = {"avail_bytes", "size_bytes", "free_bytes"};
  for (const char* m : fs) {
    family(fmt::format("node_filesystem_{}", m), "gauge", "Filesystem space.");
    for (int d = 0; d < 200; ++d) {
      b += fmt::format(
          "node_filesystem_{}{{device=\"/dev/nvme0n1p{}\",fstype=\"ext4\","
          "mountpoint=\"/var/lib/kubelet/pods/{:08x}/volumes\",instance=\"node-17:9100\","
          "job=\"node\"}} {:.6e}\n",
          m, d, d * 2654435761U, 1.0e11 + d * 1.5e7);
    }
  }
  const char* les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                       "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
  const char* handlers[] = {"/api/v1/query",  "/api/v1/query_range",
                            "/api/v1/series", "/api/v1/labels",
                            "/metrics",       "/federate"};
  const char* methods[] = {"GET", "POST"};
  family("http_request_duration_seconds", "histogram", "Request latency.");
  for (int h = 0; h < 6; ++h) {
    for (const char* method : methods) {
      for (int code : {200, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503, 504, 206,
                       304, 418, 422, 409, 412, 415, 501, 505, 511, 520, 599, 299}) {
        std::string labels =
            fmt::format("handler=\"{}\",method=\"{}\",code=\"{}\"", handlers[h], method, code);
        uint64_t cum = 0;
        for (const char* le : les) {
          cum += static_cast<uint64_t>(code + h);
          b += fmt::format("http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, le,
                           cum);
        }
        b += fmt::format("http_request_duration_seconds_sum{{{}}} {}.{}\n", labels, cum * 3, h);
        b += fmt::format("http_request_duration_seconds_count{{{}}} {}\n", labels, cum);
      }
    }
  }
  family("go_gc_duration_seconds", "summary", "GC pauses.");
  for (const char* q : {"0", "0.25", "0.5", "0.75", "1"}) {
    b += fmt::format("go_gc_duration_seconds{{quantile=\"{}\"}} 4.9351e-05\n", q);
  }
  b += "go_gc_duration_seconds_sum 0.312\ngo_gc_duration_seconds_count 4711\n";
  family("app_queue_length", "gauge", "Items waiting.");
  for (int i = 0; i < 3100; ++i) {
    b += fmt::format(
        "app_queue_length{{service=\"svc-{}\",instance=\"10.0.{}.{}:8080\","
        "zone=\"eu-west-{}\",shard=\"{}\"}} {}\n",
        i % 40, i / 250, i % 250, i % 3, i % 16, i % 1000);
  }
  if (om) b += "# EOF\n";
  return b;
}

void BM_Parse(benchmark::State& state, ExpositionFormat format) {
  const std::string body = NodeExporterBody(format == ExpositionFormat::kOpenMetrics);
  size_t samples = 0;
  for (auto _ : state) {
    auto p = ExpositionParser::New(body, format);
    size_t n = 0;
    size_t label_bytes = 0;
    double sum = 0;
    for (Entry e = p->Next(); e != Entry::kEnd; e = p->Next()) {
      if (e == Entry::kError) {
        state.SkipWithError(p->Err().message().c_str());
        return;
      }
      if (e != Entry::kSeries) continue;
      ++n;
      sum += p->Value();
      p->ForEachLabel([&](std::string_view name, std::string_view value) {
        label_bytes += name.size() + value.size();
      });
    }
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(label_bytes);
    samples += n;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  state.counters["series"] = static_cast<double>(samples / std::max<size_t>(state.iterations(), 1));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

BENCHMARK_CAPTURE(BM_Parse, prometheus_text, ExpositionFormat::kPrometheusText)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Parse, openmetrics, ExpositionFormat::kOpenMetrics)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
