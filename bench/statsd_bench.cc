// StatsD parse + aggregate throughput (lines/s), as the UDP receive thread does it: packets
// of ~1,400 bytes (what clients send to stay under a typical MTU) of a realistic mix -
// counters with and without sample rates, gauges incl. relative, timers, histograms,
// sets, DogStatsD tags - over 1k and 10k distinct series. With flush:1, each iteration
// (2,000 packets, ~60k lines) ends with one flush into an in-memory head, as an interval
// does. Rates are per CPU-second.
//
//   ./build/bench/statsd_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "ingest/statsd.h"
#include "ingest/statsd_parser.h"
#include "tsdb/head.h"

namespace {

using zw::ingest::StatsdAggregator;

struct Workload {
  std::vector<std::string> packets;
};

Workload MakePackets(int series, size_t count) {
  std::mt19937 rng(42);
  Workload w;
  std::string p;
  const char* envs[] = {"prod", "staging", "dev"};
  while (w.packets.size() < count) {
    int s = static_cast<int>(rng() % static_cast<unsigned>(series));
    std::string tags =
        fmt::format("#env:{},service:svc-{},host:web-{:03d}", envs[s % 3], s % 50, s % 97);
    std::string line;
    switch (s % 8) {
      case 0:
      case 1:
        line = fmt::format("app.requests.m{}:1|c|{}", s, tags);
        break;
      case 2:
        line = fmt::format("app.bytes.m{}:{}|c|@0.1|{}", s, rng() % 5000, tags);
        break;
      case 3:
        line = fmt::format("app.queue.m{}:{}|g|{}", s, rng() % 1000, tags);
        break;
      case 4:
        line = fmt::format("app.inflight.m{}:+1|g|{}", s, tags);
        break;
      case 5:
        line = fmt::format("app.latency.m{}:{}.{}|ms|{}", s, rng() % 900, rng() % 10, tags);
        break;
      case 6:
        line = fmt::format("app.size.m{}:{}|h|{}", s, rng() % 100000, tags);
        break;
      default:
        line = fmt::format("app.users.m{}:user{}|s|{}", s, rng() % 500, tags);
        break;
    }
    if (p.size() + line.size() + 1 > 1400) {
      w.packets.push_back(std::move(p));
      p.clear();
    }
    p += line;
    p += '\n';
  }
  return w;
}

void BM_StatsdParseLine(benchmark::State& state) {
  Workload w = MakePackets(1000, 100);
  zw::ingest::StatsdLine line;
  size_t lines = 0;
  for (auto _ : state) {
    for (const std::string& p : w.packets) {
      std::string_view rest = p;
      while (!rest.empty()) {
        size_t nl = rest.find('\n');
        benchmark::DoNotOptimize(zw::ingest::ParseStatsdLine(rest.substr(0, nl), line).ok());
        rest = rest.substr(nl + 1);
        ++lines;
      }
    }
  }
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StatsdParseLine);

void BM_StatsdIngest(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  const bool flush = state.range(1) != 0;
  Workload w = MakePackets(series, 2000);
  auto head = zw::tsdb::Head::Open({}).value();
  StatsdAggregator agg(head.get());
  int64_t now = 1700000000000;
  size_t lines = 0;
  size_t samples = 0;
  for (auto _ : state) {
    for (const std::string& p : w.packets) lines += agg.Ingest(p).lines;
    if (flush) {
      now += 1000;
      auto r = agg.Flush(now);
      samples += r.ok() ? r->samples : 0;
    }
  }
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsRate);
  if (flush) {
    state.counters["series"] = static_cast<double>(agg.NumSeries());
    state.counters["samples/flush"] =
        static_cast<double>(samples) / static_cast<double>(state.iterations());
  }
}
BENCHMARK(BM_StatsdIngest)
    ->ArgNames({"series", "flush"})
    ->Args({1000, 0})
    ->Args({10000, 0})
    ->Args({1000, 1})
    ->Args({10000, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
