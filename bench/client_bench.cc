// The client library's hot paths against the obvious alternatives, and scrape cost.
//
//   ./build-client/bench/client_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
//
// Multi-threaded cases run on one shared object with real time: items_per_second is the total
// over all threads, so equal figures for 1 and 2 threads mean the second thread added nothing
// and double figures mean perfect scaling.
#include <array>
#include <atomic>
#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include "zenwatch/counter.h"
#include "zenwatch/gauge.h"
#include "zenwatch/histogram.h"
#include "zenwatch/registry.h"

namespace {

void BM_CounterInc(benchmark::State& state) {
  static zenwatch::Counter counter;
  for (auto _ : state) counter.Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2)->UseRealTime();

void BM_CounterIncFraction(benchmark::State& state) {
  static zenwatch::Counter counter;
  double amount = 0.25;
  for (auto _ : state) {
    benchmark::DoNotOptimize(amount);
    counter.Inc(amount);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterIncFraction);

// Baseline: one std::atomic<double> updated with a compare-and-swap loop.
void BM_AtomicDoubleCas(benchmark::State& state) {
  static std::atomic<double> value{0};
  for (auto _ : state) {
    double old = value.load(std::memory_order_relaxed);
    while (!value.compare_exchange_weak(old, old + 1, std::memory_order_relaxed)) {
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AtomicDoubleCas)->Threads(1)->Threads(2)->UseRealTime();

// Baseline: cache-line shards of atomic integers, one per thread, each a `lock xadd`: what
// sharding alone buys without giving up atomic read-modify-writes.
void BM_ShardedAtomicFetchAdd(benchmark::State& state) {
  struct alignas(64) Shard {
    std::atomic<std::uint64_t> value{0};
  };
  static std::array<Shard, 16> shards;
  auto& shard = shards[static_cast<std::size_t>(state.thread_index()) % shards.size()];
  for (auto _ : state) shard.value.fetch_add(1, std::memory_order_relaxed);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ShardedAtomicFetchAdd)->Threads(1)->Threads(2)->UseRealTime();

std::array<double, 1024> ObservationValues() {
  std::array<double, 1024> values;
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> latency(4.0);  // mean 0.25 s: spread over the buckets
  for (double& v : values) v = latency(rng);
  return values;
}

void BM_HistogramObserve(benchmark::State& state) {
  static zenwatch::Histogram histogram(zenwatch::DefaultBuckets());
  const auto values = ObservationValues();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 512;
  for (auto _ : state) histogram.Observe(values[i++ & 1023]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2)->UseRealTime();

// 64 exponential buckets: the binary-search path.
void BM_HistogramObserve64Buckets(benchmark::State& state) {
  static zenwatch::Histogram histogram(zenwatch::ExponentialBuckets(1e-4, 1.25, 64));
  const auto values = ObservationValues();
  std::size_t i = 0;
  for (auto _ : state) histogram.Observe(values[i++ & 1023]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve64Buckets);

void BM_GaugeSet(benchmark::State& state) {
  static zenwatch::Gauge gauge;
  double v = 0;
  for (auto _ : state) gauge.Set(v += 1);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GaugeSet);

void BM_GaugeInc(benchmark::State& state) {
  static zenwatch::Gauge gauge;
  for (auto _ : state) gauge.Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GaugeInc);

// With() on every update instead of caching the series: a shared lock and a map lookup.
void BM_FamilyWithLookup(benchmark::State& state) {
  static zenwatch::Registry registry;
  static auto& family = registry.AddCounter("bench_with_total", "With() lookups.", {"a", "b"});
  family.With({{"a", "x"}, {"b", "y"}});
  for (auto _ : state) family.With({{"a", "x"}, {"b", "y"}}).Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FamilyWithLookup);

// Scrape cost: the exposition of a registry holding state.range(0) counter series, or
// state.range(0) / 10 histogram series (default buckets: 14 lines each); counters in text
// 0.0.4 (range(1) = 0) or OpenMetrics 1.0 (range(1) = 1).
void BM_ExpositionCounters(benchmark::State& state) {
  zenwatch::Registry registry;
  auto& family = registry.AddCounter("http_requests_total", "Requests served.",
                                     {"handler", "instance", "code"});
  for (int i = 0; i < state.range(0); ++i) {
    family
        .With({{"handler", "/api/v1/handler_" + std::to_string(i % 1000)},
               {"instance", "10.0." + std::to_string(i / 1000 % 256) + ".1"},
               {"code", std::to_string(200 + i % 5)}})
        .Inc(i);
  }
  const auto format = state.range(1) == 0 ? zenwatch::ExpositionFormat::kPrometheusText
                                          : zenwatch::ExpositionFormat::kOpenMetrics;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = registry.Exposition(format);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["series"] = static_cast<double>(registry.Collect()[0].samples.size());
}
BENCHMARK(BM_ExpositionCounters)
    ->Args({100000, 0})
    ->Args({100000, 1})
    ->ArgNames({"series", "openmetrics"})
    ->Unit(benchmark::kMillisecond);

void BM_ExpositionHistograms(benchmark::State& state) {
  zenwatch::Registry registry;
  auto& family = registry.AddHistogram("rpc_duration_seconds", "RPC latency.",
                                       zenwatch::DefaultBuckets(), {"method", "instance"});
  const auto values = ObservationValues();
  for (int i = 0; i < state.range(0) / 10; ++i) {
    family
        .With({{"method", "Method" + std::to_string(i % 100)},
               {"instance", "host-" + std::to_string(i / 100)}})
        .Observe(values[static_cast<std::size_t>(i) & 1023]);
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = registry.ExpositionText();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ExpositionHistograms)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
