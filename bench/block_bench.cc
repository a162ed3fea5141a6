// Blocks on disk: writing a 2 h block of 10,000 series at a 15 s interval, its size (bytes
// per sample, per metric family, index bytes per series) in each chunk encoding (XOR as the
// head cuts it, zstd'd XOR, packed), opening it, and Selects over every series that read
// every sample or a short range.
//
// Two mixes. "block" (mix 0), per 20 series: 8 request counters (growing by 0-19 per
// scrape), 2 memory gauges (a random walk of -2..+2 pages), 2 noisy load gauges (0-4 at two
// decimals, the worst case for XOR) and 8 histogram buckets (a quarter of scrapes add 1-3);
// one scrape in ten comes 1-5 ms late, as real scrapes do (jitter arg). "server" (mix 1)
// is bench/server/workload.py's, per 100 series: 40 counters (exponential increments of
// mean 0.5-50), memory in 4 KiB pages, temperatures in millidegrees, integer queue lengths
// and full-precision load averages (random walks, 10 each), and 20 cumulative histogram
// buckets; scrapes exactly on time.
//
//   ./build/bench/block_bench --benchmark_counters_tabular=true
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <span>

#include <benchmark/benchmark.h>

#include "tsdb/block/block.h"
#include "tsdb/block/writer.h"
#include "tsdb/chunkenc/packed_chunk.h"
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

void AddChunks(Series& s, std::span<const Sample> samples) {
  chunkenc::XorChunk c;
  for (size_t k = 0; k < samples.size(); ++k) {
    c.Append(samples[k].t, samples[k].v);
    if (c.NumSamples() == 120 || k + 1 == samples.size()) {
      auto b = c.Bytes();
      s.chunks.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
      s.ranges.emplace_back(samples[k + 1 - c.NumSamples()].t, samples[k].t);
      c = chunkenc::XorChunk();
    }
  }
}

// The "block" mix, encoded once into 120-sample chunks as the head cuts them. Without
// `jitter`, every scrape is exactly on time.
std::vector<Series> MakeBlockMix(bool jitter) {
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
    std::vector<Sample> samples;
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
      samples.push_back({t, v});
    }
    AddChunks(s, samples);
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const Series& a, const Series& b) { return a.labels < b.labels; });
  return out;
}

// The "server" mix: bench/server/workload.py's series and values (same distributions, not
// the same random numbers), `targets` targets of 100 series with `samples` samples each.
std::vector<Series> MakeServerMix(int targets = kSeries / 100, int samples = kSamples) {
  struct Family {
    const char* name;
    int kind;  // 0 counter, 1 memory, 2 temperature, 3 queue, 4 load, 5 bucket
  };
  const Family families[] = {{"bench_http_requests_total", 0},
                             {"bench_errors_total", 0},
                             {"bench_network_bytes_total", 0},
                             {"bench_cpu_seconds_total", 0},
                             {"bench_memory_bytes", 1},
                             {"bench_temperature_celsius", 2},
                             {"bench_queue_length", 3},
                             {"bench_load", 4},
                             {"bench_request_duration_seconds_bucket", 5},
                             {"bench_response_size_bytes_bucket", 5}};
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> gauss(0, 1);
  std::vector<Series> out;
  for (int target = 0; target < targets; ++target) {
    for (const Family& f : families) {
      // A histogram's buckets share their observations (cumulative over le).
      std::vector<std::vector<double>> cumulative;
      if (f.kind == 5) {
        double rate = 1 + 39 * unit(rng), centre = 2 + 5 * unit(rng);
        std::vector<double> w(10), totals(10);
        double sum = 0;
        for (int b = 0; b < 10; ++b) sum += w[b] = 1 / (1 + (b - centre) * (b - centre));
        for (int k = 0; k < samples; ++k) {
          double acc = 0;
          std::vector<double> row(10);
          for (int b = 0; b < 10; ++b) {
            std::exponential_distribution<double> e(1 / (rate * w[b] / sum + 1e-9));
            totals[b] += std::floor(e(rng));
            row[b] = acc += totals[b];
          }
          cumulative.push_back(row);
        }
      }
      for (int i = 0; i < 10; ++i) {
        Labels l{{"__name__", f.name},
                 {"env", target % 4 ? "prod" : "staging"},
                 {"family", std::to_string(i)},
                 {"instance", "host-" + std::to_string(target) + ":9100"},
                 {"job", "job-" + std::to_string(target % 10)}};
        Series s{l, {}, {}};
        double v = f.kind == 0 || f.kind == 5 ? 0
                   : f.kind == 1              ? 1e8 + 3.9e9 * unit(rng)
                                              : 10 + 990 * unit(rng);
        std::exponential_distribution<double> inc(1 / (0.5 + 49.5 * unit(rng)));
        std::vector<Sample> points;
        for (int k = 0; k < samples; ++k) {
          if (f.kind == 0) {
            v += std::floor(inc(rng));
          } else if (f.kind == 5) {
            v = cumulative[k][i];
          } else {
            v = std::max(0.0, v + gauss(rng) * (v * 0.01 + 0.1));
            if (f.kind == 1) v = std::round(v / 4096) * 4096;
            if (f.kind == 2) v = std::round(v * 1000) / 1000;
            if (f.kind == 3) v = std::round(v);
          }
          points.push_back({kStart + int64_t{k} * 15000, v});
        }
        AddChunks(s, points);
        out.push_back(std::move(s));
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Series& a, const Series& b) { return a.labels < b.labels; });
  return out;
}

// mix 0 with and without jitter, mix 1.
const std::vector<Series>& Data(bool jitter = true, int mix = 0) {
  static const std::vector<Series> with = MakeBlockMix(true);
  static const std::vector<Series> without = MakeBlockMix(false);
  static const std::vector<Series> server = MakeServerMix();
  if (mix == 1) return server;
  return jitter ? with : without;
}

class DataSet final : public tsdb::ChunkSeriesSet {
 public:
  DataSet(bool jitter, int mix) : data_(Data(jitter, mix)) {}
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

enum Encoding { kXor = 0, kXorZstd = 1, kPacked = 2 };

tsdb::BlockMeta WriteOne(const std::string& dir, int encoding, benchmark::State& state,
                         bool jitter = true, int mix = 0, size_t packed_samples = 0) {
  DataSet set(jitter, mix);
  tsdb::BlockMeta meta;
  meta.min_time = kStart;
  meta.max_time = kEnd;
  tsdb::WriteBlockOptions opts;
  opts.compress_chunks = encoding == kXorZstd;
  opts.pack_chunks = encoding == kPacked;
  if (packed_samples) opts.packed_chunk_samples = packed_samples;
  auto r = tsdb::WriteBlock(fs::PosixFileSystem(), dir, set, meta, opts);
  if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  return r.ok() ? *r : tsdb::BlockMeta{};
}

// A short name for a metric: its first and last words.
std::string Short(std::string_view name) {
  return std::string(name.substr(0, name.find('_'))) + "_" +
         std::string(name.substr(name.rfind('_') + 1));
}

// Args: chunk encoding (Encoding); late scrapes (0/1); mix (0 block, 1 server); most samples
// per packed chunk (0: the default).
void BM_WriteBlock(benchmark::State& state) {
  const int encoding = static_cast<int>(state.range(0));
  const bool jitter = state.range(1) != 0;
  const int mix = static_cast<int>(state.range(2));
  const auto packed_samples = static_cast<size_t>(state.range(3));
  Data(jitter, mix);
  std::string root = TempDir();
  tsdb::BlockMeta meta;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(root + "/blocks");
    state.ResumeTiming();
    meta = WriteOne(root + "/blocks", encoding, state, jitter, mix, packed_samples);
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
  // Chunk bytes per sample of each metric family as written, to show where the bytes go.
  auto block = tsdb::Block::Open(fs::PosixFileSystem(), dir);
  if (!block.ok()) {
    state.SkipWithError(block.status().ToString().c_str());
    return;
  }
  std::map<std::string, std::pair<double, double>> kinds;  // metric → bytes, samples
  auto ids = (*block)->index().AllPostings();
  Labels labels;
  std::vector<tsdb::ChunkRef> refs;
  for (uint64_t id : *ids) {
    if (!(*block)->index().Series(id, &labels, &refs).ok()) continue;
    auto& [bytes, n] = kinds[Short(labels.MetricName())];
    for (const auto& c : refs)
      bytes += static_cast<double>((*block)->chunk_reader().Read(c.ref)->data.size());
    n += kSamples;
  }
  for (const auto& [key, bn] : kinds) state.counters[key] = bn.first / bn.second;
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_WriteBlock)
    ->ArgNames({"enc", "jitter", "mix", "max"})
    ->Args({kXor, 1, 0, 0})
    ->Args({kXorZstd, 1, 0, 0})
    ->Args({kPacked, 1, 0, 0})
    ->Args({kXor, 0, 0, 0})
    ->Args({kPacked, 0, 0, 0})
    ->Args({kXor, 0, 1, 0})
    ->Args({kXorZstd, 0, 1, 0})
    ->Args({kPacked, 0, 1, 0})
    ->Args({kPacked, 0, 1, 120})
    ->Args({kPacked, 0, 1, 240})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

void BM_OpenBlock(benchmark::State& state) {
  std::string root = TempDir();
  auto meta = WriteOne(root, kPacked, state);
  for (auto _ : state) {
    auto b = tsdb::Block::Open(fs::PosixFileSystem(), root + "/" + meta.ulid);
    if (!b.ok()) state.SkipWithError(b.status().ToString().c_str());
    benchmark::DoNotOptimize(b);
  }
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_OpenBlock)->Unit(benchmark::kMillisecond);

// Select of every series over [mint, maxt], reading every sample in it. Args: encoding; mix;
// most samples per packed chunk (0: the default).
void SelectAndIterate(benchmark::State& state, int64_t mint, int64_t maxt) {
  std::string root = TempDir();
  auto meta = WriteOne(root, static_cast<int>(state.range(0)), state, true,
                       static_cast<int>(state.range(1)), static_cast<size_t>(state.range(2)));
  auto block = std::move(tsdb::Block::Open(fs::PosixFileSystem(), root + "/" + meta.ulid)).value();
  Matchers ms = {Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+")};
  uint64_t n = 0;
  for (auto _ : state) {
    n = 0;
    auto q = block->NewQuerier(mint, maxt);
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

// The whole block.
void BM_SelectAllAndIterate(benchmark::State& state) { SelectAndIterate(state, kStart, kEnd); }
BENCHMARK(BM_SelectAllAndIterate)
    ->ArgNames({"enc", "mix", "max"})
    ->ArgsProduct({{kXor, kXorZstd, kPacked}, {0, 1}, {0}})
    ->Unit(benchmark::kMillisecond);

// 10 minutes in the middle of the block: packed chunks are decoded whole (480 samples here)
// where XOR stops after the range (at most 120).
void BM_SelectShortRange(benchmark::State& state) {
  SelectAndIterate(state, kStart + 3'600'000, kStart + 4'200'000);
}
BENCHMARK(BM_SelectShortRange)
    ->ArgNames({"enc", "mix", "max"})
    ->ArgsProduct({{kXor, kPacked}, {0, 1}, {0}})
    ->Args({kPacked, 1, 120})
    ->Args({kPacked, 1, 240})
    ->Unit(benchmark::kMillisecond);

// Decoding packed chunks of 4096 samples (the size blocks write), the server mix's series
// of one family kind: counters, histogram buckets, gauges (memory, temperature, queue
// length, full-precision load), or all. The decoder's own speed, without files or queries.
void BM_PackedDecode(benchmark::State& state) {
  static const std::vector<Series> series = MakeServerMix(2, 4096);
  const auto kind = static_cast<int>(state.range(0));  // 0 counter, 1 bucket, 2 gauge, 3 all
  std::vector<std::string> chunks;
  size_t n = 0;
  for (const Series& s : series) {
    const std::string name(s.labels.Get("__name__"));
    const int k = name.ends_with("_total") ? 0 : name.ends_with("_bucket") ? 1 : 2;
    if (kind != 3 && k != kind) continue;
    std::vector<Sample> samples;
    for (const std::string& c : s.chunks) {
      chunkenc::XorIterator it(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(c.data()), c.size()));
      while (it.Next()) samples.push_back(it.At());
    }
    chunks.push_back(chunkenc::EncodePacked(samples));
    n += samples.size();
  }
  std::vector<Sample> out;
  for (auto _ : state) {
    for (const std::string& c : chunks) {
      Status st = chunkenc::DecodePacked(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(c.data()), c.size()), &out);
      if (!st.ok()) state.SkipWithError(st.ToString().c_str());
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));  // samples
}
BENCHMARK(BM_PackedDecode)->ArgNames({"kind"})->DenseRange(0, 3);

}  // namespace

BENCHMARK_MAIN();
