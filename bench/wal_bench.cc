// WAL append throughput, replay throughput, and the checksum underneath.
//
//   ./build/bench/wal_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// BM_WalLog writes to real files in a temporary directory (the WAL's own fsyncs included:
// once a second in interval mode, once per Log in always mode); BM_WalLogMem writes to the
// in-memory file system, which leaves framing, checksums and locking. Old segments are deleted
// as the benchmark goes, outside the timed region, so the disk does not fill.
#include <unistd.h>

#include <filesystem>
#include <random>

#include <benchmark/benchmark.h>

#include "core/crc32c.h"
#include "tsdb/fs/file_system.h"
#include "tsdb/wal/wal.h"

namespace {

using namespace zw;

std::string TempDir() {
  auto p = std::filesystem::temp_directory_path() / ("zw-wal-bench-" + std::to_string(::getpid()) +
                                                     "-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(p);
  return p.string();
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Logs batches of state.range(1) bytes made of records of state.range(0) bytes.
void RunLog(benchmark::State& state, fs::FileSystem* fs, const std::string& dir,
            wal::SyncMode mode) {
  const auto record_size = static_cast<size_t>(state.range(0));
  const auto batch_bytes = static_cast<size_t>(state.range(1));
  const size_t per_batch = std::max<size_t>(1, batch_bytes / record_size);
  std::vector<std::string> records;
  for (size_t i = 0; i < per_batch; ++i) records.push_back(RandomBytes(record_size, i));
  std::vector<std::string_view> batch(records.begin(), records.end());

  wal::Options o;
  o.fs = fs;
  o.dir = dir;
  o.sync = mode;
  auto w = wal::Wal::Open(
      o, [](std::string_view) {}, nullptr);
  if (!w.ok()) {
    state.SkipWithError(w.status().ToString().c_str());
    return;
  }
  int64_t batches = 0;
  for (auto _ : state) {
    Status s = (*w)->Log(std::span<const std::string_view>(batch));
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    if (++batches % 1024 == 0 && (*w)->CurrentSegment() > 1) {
      state.PauseTiming();
      (void)(*w)->TruncateBefore((*w)->CurrentSegment() - 1);
      state.ResumeTiming();
    }
  }
  state.SetBytesProcessed(batches * static_cast<int64_t>(per_batch * record_size));
  state.SetItemsProcessed(batches * static_cast<int64_t>(per_batch));
  state.counters["fsyncs"] = static_cast<double>((*w)->stats().fsyncs.load());
  (void)(*w)->Close();
}

void BM_WalLog(benchmark::State& state) {
  std::string dir = TempDir();
  RunLog(state, fs::PosixFileSystem(), dir + "/wal", wal::SyncMode::kInterval);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_WalLog)
    ->ArgNames({"record", "batch"})
    ->Args({4096, 64 << 10})
    ->Args({256, 64 << 10})
    ->Args({64 << 10, 64 << 10})
    ->Args({4096, 4096})
    ->UseRealTime();

void BM_WalLogAlways(benchmark::State& state) {
  std::string dir = TempDir();
  RunLog(state, fs::PosixFileSystem(), dir + "/wal", wal::SyncMode::kAlways);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_WalLogAlways)->ArgNames({"record", "batch"})->Args({4096, 64 << 10})->UseRealTime();

void BM_WalLogMem(benchmark::State& state) {
  auto fs = fs::NewMemFileSystem();
  RunLog(state, fs.get(), "/wal", wal::SyncMode::kInterval);
}
BENCHMARK(BM_WalLogMem)
    ->ArgNames({"record", "batch"})
    ->Args({4096, 64 << 10})
    ->Args({256, 64 << 10});

// Replays a 64 MiB WAL of 4 KiB records from the in-memory file system.
void BM_WalReplay(benchmark::State& state) {
  auto fs = fs::NewMemFileSystem();
  wal::Options o;
  o.fs = fs.get();
  o.dir = "/wal";
  std::string rec = RandomBytes(4096, 1);
  const size_t n = (64 << 20) / rec.size();
  {
    auto w = wal::Wal::Open(
        o, [](std::string_view) {}, nullptr);
    for (size_t i = 0; i < n; ++i) (void)(*w)->Log(rec);
  }
  for (auto _ : state) {
    state.PauseTiming();
    // Each open adds an empty segment; drop them so every pass reads the same bytes.
    auto names = fs->ListDir("/wal");
    for (const auto& name : names.value()) {
      if (name != "00000000" && *fs->FileSize("/wal/" + name) == 0)
        (void)fs->RemoveFile("/wal/" + name);
    }
    state.ResumeTiming();
    size_t records = 0;
    auto w = wal::Wal::Open(
        o, [&](std::string_view) { ++records; }, nullptr);
    if (!w.ok() || records != n) state.SkipWithError("replay lost records");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * rec.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_WalReplay)->Unit(benchmark::kMillisecond);

void BM_Crc32c(benchmark::State& state) {
  std::string data = RandomBytes(static_cast<size_t>(state.range(0)), 7);
  for (auto _ : state) benchmark::DoNotOptimize(Crc32c(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Crc32c)->Arg(64)->Arg(4096)->Arg(64 << 10);

void BM_Crc32cSoftware(benchmark::State& state) {
  std::string data = RandomBytes(static_cast<size_t>(state.range(0)), 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc32c_internal::Software(data.data(), data.size(), 0));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Crc32cSoftware)->Arg(4096)->Arg(64 << 10);

}  // namespace

BENCHMARK_MAIN();
