// Blocks on disk: writing a 2 h block of 10,000 series at a 15 s interval, its size (bytes
// per sample, index bytes per series) with and without zstd on chunks, opening it, and a
// Select over every series that reads every sample.
//
// The mix, per 20 series: 8 request counters (growing by 0-19 per scrape), 2 memory gauges
// (a random walk of -2..+2 pages), 2 noisy load gauges (0-4 at two decimals, the worst case
// for XOR) and 8 histogram buckets (a quarter of scrapes add 1-3). One scrape in ten comes
// 1-5 ms late, as real scrapes do.
//
//   ./build/bench/block_bench --benchmark_counters_tabular=true
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>

#include <benchmark/benchmark.h>

#include "tsdb/block/block.h"
#include "tsdb/block/writer.h"
#include "tsdb/chunkenc/xor_chunk.h"

namespace {

using namespace zw;

constexpr int kSeries = 10000;
constexpr int kSamples = 480;  // 2 h at 15 s
constexpr int64_t kStart = 1'700'000'000'000 / 7'200'000 * 7'200'000;
constexpr int64_t kEnd = kStart + 7'200'000;

std::string TempDir() {
  auto p =
      std::filesystem::temp_directory_path() / ("zw-block-bench-" + std::to_string(::getpid()) +
                                                "-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(p);
  return p.string();
}

struct Series {
  Labels labels;
  std::vector<std::string> chunks;
  std::vector<std::pair<int64_t, int64_t>> ranges;
};

// The data set, encoded once into 120-sample chunks as the head cuts them. Without
// `jitter`, every scrape is exactly on time.
std::vector<Series> MakeData(bool jitter) {
  std::mt19937_64 rng(1);
  std::vector<Series> out;
  for (int i = 0; i < kSeries; ++i) {
    int kind = i % 20;
    std::string inst = "10.0." + std::to_string(i / 200 % 256) + "." + std::to_string(i / 20 % 10);
    std::string job = "job-" + std::to_string(i / 400);
    Labels l;
    if (kind < 8) {
      l = Labels{{"__name__", "http_requests_total"},
                 {"instance", inst},
                 {"job", job},
                 {"code", std::to_string(200 + 100 * (kind % 4))},
                 {"method", kind < 4 ? "GET" : "POST"},
                 {"shard", std::to_string(i / 20)}};
    } else if (kind < 10) {
      l = Labels{
          {"__name__", kind == 8 ? "process_resident_memory_bytes" : "go_memstats_heap_bytes"},
          {"instance", inst},
          {"job", job},
          {"shard", std::to_string(i / 20)}};
    } else if (kind < 12) {
      l = Labels{{"__name__", kind == 10 ? "node_load1" : "node_load5"},
                 {"instance", inst},
                 {"job", job},
                 {"shard", std::to_string(i / 20)}};
    } else {
      l = Labels{{"__name__", "http_request_duration_seconds_bucket"},
                 {"instance", inst},
                 {"job", job},
                 {"le", std::to_string(kind - 12)},
                 {"shard", std::to_string(i / 20)}};
    }
    Series s{l, {}, {}};
    double v = kind >= 8 && kind < 10 ? 1e9 : 0;
    chunkenc::XorChunk c;
    int64_t first = 0, last = 0;
    for (int k = 0; k < kSamples; ++k) {
      int64_t late = rng() % 10 == 0 ? 1 + static_cast<int64_t>(rng() % 5) : 0;
      int64_t t = kStart + int64_t{k} * 15000 + (jitter ? late : 0);
      if (kind < 8) {
        v += static_cast<double>(rng() % 20);
      } else if (kind < 10) {
        v += (static_cast<double>(rng() % 5) - 2) * 4096;
      } else if (kind < 12) {
        v = static_cast<double>(rng() % 400) / 100;
      } else if (rng() % 4 == 0) {
        v += static_cast<double>(1 + rng() % 3);
      }
      if (c.NumSamples() == 0) first = t;
      last = t;
      c.Append(t, v);
      if (c.NumSamples() == 120 || k == kSamples - 1) {
        auto b = c.Bytes();
        s.chunks.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
        s.ranges.emplace_back(first, last);
        c = chunkenc::XorChunk();
      }
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const Series& a, const Series& b) { return a.labels < b.labels; });
  return out;
}

const std::vector<Series>& Data(bool jitter = true) {
  static const std::vector<Series> with = MakeData(true);
  static const std::vector<Series> without = MakeData(false);
  return jitter ? with : without;
}

class DataSet final : public tsdb::ChunkSeriesSet {
 public:
  explicit DataSet(bool jitter) : data_(Data(jitter)) {}
  bool Next() override {
    if (++pos_ >= data_.size()) return false;
    const Series& s = data_[pos_];
    metas_.clear();
    for (size_t i = 0; i < s.chunks.size(); ++i)
      metas_.push_back({s.ranges[i].first, s.ranges[i].second, s.chunks[i]});
    return true;
  }
  const Labels& labels() const override { return data_[pos_].labels; }
  std::span<const tsdb::ChunkMeta> chunks() const override { return metas_; }
  Status Err() const override { return Status::Ok(); }

 private:
  const std::vector<Series>& data_;
  size_t pos_ = static_cast<size_t>(-1);
  std::vector<tsdb::ChunkMeta> metas_;
};

uint64_t DirSize(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

tsdb::BlockMeta WriteOne(const std::string& dir, bool compress, benchmark::State& state,
                         bool jitter = true) {
  DataSet set(jitter);
  tsdb::BlockMeta meta;
  meta.min_time = kStart;
  meta.max_time = kEnd;
  tsdb::WriteBlockOptions opts;
  opts.compress_chunks = compress;
  auto r = tsdb::WriteBlock(fs::PosixFileSystem(), dir, set, meta, opts);
  if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  return r.ok() ? *r : tsdb::BlockMeta{};
}

// Args: zstd on chunks where it saves at least 10 % (0/1); late scrapes (0/1).
void BM_WriteBlock(benchmark::State& state) {
  bool jitter = state.range(1) != 0;
  Data(jitter);
  std::string root = TempDir();
  tsdb::BlockMeta meta;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(root + "/blocks");
    state.ResumeTiming();
    meta = WriteOne(root + "/blocks", state.range(0) != 0, state, jitter);
  }
  std::string dir = root + "/blocks/" + meta.ulid;
  double samples = static_cast<double>(meta.num_samples);
  double index = static_cast<double>(std::filesystem::file_size(dir + "/index"));
  state.counters["samples"] = samples;
  state.counters["bytes_per_sample"] = static_cast<double>(DirSize(dir)) / samples;
  state.counters["chunk_bytes_per_sample"] =
      static_cast<double>(DirSize(dir + "/chunks")) / samples;
  state.counters["index_bytes_per_series"] = index / static_cast<double>(meta.num_series);
  state.counters["samples_per_s"] =
      benchmark::Counter(samples, benchmark::Counter::kIsIterationInvariantRate);
  // XOR chunk bytes per sample of each kind of series, to show where the bytes go.
  std::map<std::string, std::pair<double, double>> kinds;  // metric → bytes, samples
  for (const Series& s : Data(jitter)) {
    auto& [bytes, n] = kinds[std::string(s.labels.MetricName())];
    for (const std::string& c : s.chunks) bytes += static_cast<double>(c.size());
    n += kSamples;
  }
  for (const auto& [name, bn] : kinds) {
    std::string key = name.substr(0, name.find('_')) + "_" + name.substr(name.rfind('_') + 1);
    state.counters[key] = bn.first / bn.second;
  }
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_WriteBlock)
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

void BM_OpenBlock(benchmark::State& state) {
  std::string root = TempDir();
  auto meta = WriteOne(root, false, state);
  for (auto _ : state) {
    auto b = tsdb::Block::Open(fs::PosixFileSystem(), root + "/" + meta.ulid);
    if (!b.ok()) state.SkipWithError(b.status().ToString().c_str());
    benchmark::DoNotOptimize(b);
  }
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_OpenBlock)->Unit(benchmark::kMillisecond);

// Select of every series over the whole block, reading every sample.
void BM_SelectAllAndIterate(benchmark::State& state) {
  std::string root = TempDir();
  auto meta = WriteOne(root, state.range(0) != 0, state);
  auto block = std::move(tsdb::Block::Open(fs::PosixFileSystem(), root + "/" + meta.ulid)).value();
  Matchers ms = {Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+")};
  uint64_t n = 0;
  for (auto _ : state) {
    n = 0;
    auto q = block->NewQuerier(kStart, kEnd);
    auto set = q->Select(true, nullptr, ms);
    double sum = 0;
    while (set->Next()) {
      auto it = set->At().Iterator();
      while (it->Next()) {
        sum += it->At().v;
        ++n;
      }
    }
    if (!set->Err().ok()) state.SkipWithError(set->Err().ToString().c_str());
    benchmark::DoNotOptimize(sum);
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_SelectAllAndIterate)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
