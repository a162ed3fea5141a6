// Head ingestion through the Appender with the WAL on, and bytes per sample in the head's
// chunks for a realistic metric mix at a 15 s interval.
//
//   ./build/bench/head_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <malloc.h>

#include <filesystem>
#include <mutex>
#include <random>

#include <benchmark/benchmark.h>

#include "tsdb/head.h"

namespace {

using namespace zw;

std::string TempDir() {
  auto p = std::filesystem::temp_directory_path() / ("zw-bench-" + std::to_string(::getpid()) +
                                                     "-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(p);
  return p.string();
}

std::vector<Labels> MakeSeries(size_t n) {
  std::vector<Labels> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(Labels{
        {"__name__", "http_requests_total"},
        {"job", "api-" + std::to_string(i % 50)},
        {"instance", "10.0." + std::to_string(i / 250 % 256) + "." + std::to_string(i % 250)},
        {"code", std::to_string(200 + i % 5)},
        {"series", std::to_string(i)}});
  }
  return out;
}

// One iteration appends one sample to each of `series` series, committing every 10,000
// samples (the size of a large scrape), with references cached as a scraper caches them.
void BM_HeadAppendWal(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::string dir = TempDir();
  tsdb::HeadOptions o;
  o.dir = dir;
  auto head = std::move(tsdb::Head::Open(o)).value();
  auto series = MakeSeries(n);
  std::vector<storage::SeriesRef> refs(n, 0);
  int64_t t = 0;
  // The first pass creates the series; it is not what is measured.
  {
    auto app = head->NewAppender();
    for (size_t i = 0; i < n; ++i) refs[i] = *app->Append(0, series[i], t, 0);
    (void)app->Commit();
  }
  for (auto _ : state) {
    t += 15000;
    auto app = head->NewAppender();
    for (size_t i = 0; i < n; ++i) {
      auto r = app->Append(refs[i], series[i], t, static_cast<double>(t / 1000 + i));
      if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
      if ((i + 1) % 10000 == 0) {
        (void)app->Commit();
        app = head->NewAppender();
      }
    }
    (void)app->Commit();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["wal_MB"] = static_cast<double>(head->wal_stats()->bytes_written.load()) / 1e6;
  (void)head->Close();
  head.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_HeadAppendWal)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Bytes of chunk data per sample after a day at 15 s for a mix of 40 % counters (request
// totals growing by 0-19 per scrape), 20 % gauges (memory in bytes, a random walk of -2..+2
// pages per scrape) and 40 % histogram buckets (a quarter of scrapes add 1-3).
void BM_HeadBytesPerSample(benchmark::State& state) {
  constexpr int kSeries = 1000;
  constexpr int kSamples = 5760;  // one day at 15 s
  double bytes_per_sample = 0;
  for (auto _ : state) {
    auto head = std::move(tsdb::Head::Open({})).value();
    std::mt19937_64 rng(1);
    std::vector<double> value(kSeries, 0);
    std::vector<storage::SeriesRef> refs(kSeries, 0);
    std::vector<Labels> ls;
    for (int i = 0; i < kSeries; ++i)
      ls.push_back(Labels{{"__name__", "m"}, {"i", std::to_string(i)}});
    for (int s = 0; s < kSamples; ++s) {
      auto app = head->NewAppender();
      for (int i = 0; i < kSeries; ++i) {
        int kind = i % 10;
        if (kind < 4) {
          value[i] += static_cast<double>(rng() % 20);  // counter
        } else if (kind < 6) {
          // memory gauge: a random walk of whole pages
          if (value[i] == 0) value[i] = 1e9;
          value[i] += (static_cast<double>(rng() % 5) - 2) * 4096;
        } else {
          if (rng() % 4 == 0) value[i] += static_cast<double>(1 + rng() % 3);  // bucket
        }
        refs[i] = *app->Append(refs[i], ls[i], int64_t{s} * 15000, value[i]);
      }
      (void)app->Commit();
    }
    size_t bytes = 0;
    for (int i = 0; i < kSeries; ++i) {
      tsdb::MemSeries* m = head->GetByRef(refs[i]);
      std::lock_guard lock(m->mu);
      bytes += m->ChunkBytesLocked();
    }
    bytes_per_sample = static_cast<double>(bytes) / (double{kSeries} * kSamples);
  }
  state.counters["bytes_per_sample"] = bytes_per_sample;
}
BENCHMARK(BM_HeadBytesPerSample)->Unit(benchmark::kMillisecond)->Iterations(1);

// Resident heap per active series: 100,000 series x 3 h at 15 s (720 samples each, counters),
// measured with mallinfo2 (bytes in use by malloc) before the head is opened and after the
// samples are in; then again after Truncate drops the first 2 h (what a DB does once the
// block is written). Also the chunk bytes alone, to show what the rest (labels, index,
// registry, open chunks) costs. Arg 1: 0 = no data dir (no WAL, closed chunks on the heap),
// 1 = data dir with WAL and memory-mapped head chunks (chunks_head/).
void BM_HeadMemoryPerSeries(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const bool on_disk = state.range(1) != 0;
  constexpr int kSamples = 720;  // 3 h at 15 s
  for (auto _ : state) {
    auto series = MakeSeries(n);
    std::string dir = on_disk ? TempDir() : "";
    tsdb::HeadOptions o;
    o.dir = dir;
    malloc_trim(0);
    const size_t before = mallinfo2().uordblks;
    auto head = std::move(tsdb::Head::Open(o)).value();
    std::vector<storage::SeriesRef> refs(n, 0);
    std::vector<double> value(n, 0);
    for (int s = 0; s < kSamples; ++s) {
      auto app = head->NewAppender();
      for (size_t i = 0; i < n; ++i) {
        value[i] += static_cast<double>((i * 7 + static_cast<size_t>(s)) % 20);
        refs[i] = *app->Append(refs[i], series[i], int64_t{s} * 15000, value[i]);
      }
      (void)app->Commit();
    }
    malloc_trim(0);
    const size_t full = mallinfo2().uordblks;
    size_t chunk_bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      tsdb::MemSeries* m = head->GetByRef(refs[i]);
      std::lock_guard lock(m->mu);
      chunk_bytes += m->ChunkBytesLocked();
    }
    if (Status st = head->Truncate(2 * 3600 * 1000); !st.ok())
      state.SkipWithError(st.ToString().c_str());
    malloc_trim(0);
    const size_t truncated = mallinfo2().uordblks;
    const double dn = static_cast<double>(n);
    state.counters["heap_bytes_per_series_3h"] = static_cast<double>(full - before) / dn;
    state.counters["chunk_bytes_per_series_3h"] = static_cast<double>(chunk_bytes) / dn;
    state.counters["heap_bytes_per_series_after_truncate"] =
        static_cast<double>(truncated - before) / dn;
    state.counters["mem_series_struct_bytes"] = static_cast<double>(sizeof(tsdb::MemSeries));
    state.counters["labels_block_bytes"] = static_cast<double>(series[0].BlockBytes());
    head.reset();
    if (on_disk) std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_HeadMemoryPerSeries)
    ->Args({100000, 0})
    ->Args({100000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
