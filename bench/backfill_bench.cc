// backfill_bench: writes days of history for a set of series straight into a zenwatch data
// dir as blocks (the project's own block writer), so that a server can be benchmarked on a
// week of data without remote-writing it (which the head would refuse as out of bounds).
// Not a Google Benchmark: a plain tool that bench/server/harness.py --backfill-days runs
// before it starts zenwatch.
//
//   backfill_bench --series FILE --blocks-dir DATA/blocks --start-ms S --end-ms E
//                  [--interval-ms 15000] [--block-hours 24] [--seed 1]
//
// FILE has one series a line, tab-separated: kind (counter, gauge or bucket), rate (mean
// increase per sample for counters and buckets), the start value, then name=value label
// pairs. Samples are every interval from the first multiple of it at or after S up to E
// (exclusive): counters grow by exponentially distributed whole steps, gauges walk randomly
// (rounded as bench/server/workload.py rounds its families), buckets grow like counters.
// Blocks are cut at multiples of --block-hours (UTC), the first and last ones partial, each
// written with the default options (packed chunks), level 1 as if cut from the head.
// Prints one line per block and a summary; exits non-zero with a message on any error.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tsdb/block/writer.h"
#include "tsdb/chunkenc/xor_chunk.h"

namespace zw {
namespace {

enum class Kind { kCounter, kGauge, kBucket };

struct SeriesSpec {
  Labels labels;
  std::string name;  // __name__, for the gauges' rounding
  Kind kind = Kind::kCounter;
  double rate = 1;
  double value = 0;  // the value of the last sample written
  uint64_t rng = 0;  // splitmix64 state
};

uint64_t NextRandom(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in (0, 1].
double Uniform(uint64_t& s) { return (static_cast<double>(NextRandom(s) >> 11) + 1) * 0x1p-53; }

double Gauss(uint64_t& s) {
  return std::sqrt(-2 * std::log(Uniform(s))) * std::cos(2 * std::numbers::pi * Uniform(s));
}

double NextValue(SeriesSpec& s) {
  switch (s.kind) {
    case Kind::kCounter:
    case Kind::kBucket:
      s.value += std::floor(-std::log(Uniform(s.rng)) * s.rate);
      break;
    case Kind::kGauge:
      s.value = std::max(0.0, s.value + Gauss(s.rng) * (s.value * 0.01 + 0.1));
      if (s.name == "bench_memory_bytes") {
        s.value = std::round(s.value / 4096) * 4096;
      } else if (s.name == "bench_temperature_celsius") {
        s.value = std::round(s.value * 1000) / 1000;
      } else if (s.name == "bench_queue_length") {
        s.value = std::round(s.value);
      }
      break;
  }
  return s.value;
}

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = line.find(sep, start);
    out.push_back(line.substr(start, end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

Result<std::vector<SeriesSpec>> ReadSeries(const std::string& path, uint64_t seed) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot open series file " + path);
  std::vector<SeriesSpec> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument(fmt::format("{}:{}: {}", path, line_no, why));
    };
    std::vector<std::string> f = Split(line, '\t');
    if (f.size() < 4) return bad("want kind, rate, start value and labels, tab-separated");
    SeriesSpec s;
    if (f[0] == "counter") {
      s.kind = Kind::kCounter;
    } else if (f[0] == "gauge") {
      s.kind = Kind::kGauge;
    } else if (f[0] == "bucket") {
      s.kind = Kind::kBucket;
    } else {
      return bad("kind '" + f[0] + "' is not counter, gauge or bucket");
    }
    char* end = nullptr;
    s.rate = std::strtod(f[1].c_str(), &end);
    if (end == f[1].c_str() || *end != '\0' || !(s.rate >= 0)) return bad("bad rate " + f[1]);
    s.value = std::strtod(f[2].c_str(), &end);
    if (end == f[2].c_str() || *end != '\0') return bad("bad start value " + f[2]);
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    for (size_t i = 3; i < f.size(); ++i) {
      size_t eq = f[i].find('=');
      if (eq == std::string::npos || eq == 0) return bad("label '" + f[i] + "' is not name=value");
      pairs.emplace_back(std::string_view(f[i]).substr(0, eq),
                         std::string_view(f[i]).substr(eq + 1));
    }
    s.labels = Labels::FromPairs(std::move(pairs));
    s.name = std::string(s.labels.Get("__name__"));
    s.rng = seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(out.size());
    out.push_back(std::move(s));
  }
  if (out.empty()) return Status::InvalidArgument("series file " + path + " holds no series");
  return out;
}

// The samples of every series in [mint, maxt) as XOR chunks of 120 samples, generated one
// series at a time (each series' state carries over to the next block).
class GeneratedSet final : public tsdb::ChunkSeriesSet {
 public:
  GeneratedSet(std::vector<SeriesSpec>& series, int64_t mint, int64_t maxt, int64_t interval)
      : series_(series), mint_(mint), maxt_(maxt), interval_(interval) {}

  bool Next() override {
    if (++pos_ >= series_.size()) return false;
    SeriesSpec& s = series_[pos_];
    metas_.clear();
    bytes_.clear();
    int64_t t = (mint_ + interval_ - 1) / interval_ * interval_;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    chunkenc::XorChunk chunk;
    int64_t first = t;
    auto finish = [&](int64_t last) {
      auto b = chunk.Bytes();
      bytes_.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
      ranges.emplace_back(first, last);
      chunk = chunkenc::XorChunk();
    };
    int64_t last = t;
    for (; t < maxt_; t += interval_) {
      if (chunk.NumSamples() == 0) first = t;
      chunk.Append(t, NextValue(s));
      last = t;
      ++samples_;
      if (chunk.NumSamples() >= 120) finish(last);
    }
    if (chunk.NumSamples() > 0) finish(last);
    // bytes_ is complete: its strings no longer move.
    for (size_t i = 0; i < bytes_.size(); ++i)
      metas_.push_back({ranges[i].first, ranges[i].second, bytes_[i]});
    return true;
  }
  const Labels& labels() const override { return series_[pos_].labels; }
  std::span<const tsdb::ChunkMeta> chunks() const override { return metas_; }
  Status Err() const override { return Status::Ok(); }
  uint64_t samples() const { return samples_; }

 private:
  std::vector<SeriesSpec>& series_;
  const int64_t mint_, maxt_, interval_;
  size_t pos_ = static_cast<size_t>(-1);
  std::vector<std::string> bytes_;
  std::vector<tsdb::ChunkMeta> metas_;
  uint64_t samples_ = 0;
};

int Usage(const char* why) {
  std::fprintf(stderr,
               "backfill_bench: %s\nusage: backfill_bench --series FILE --blocks-dir DIR "
               "--start-ms S --end-ms E [--interval-ms 15000] [--block-hours 24] [--seed 1]\n",
               why);
  return 2;
}

int Run(int argc, char** argv) {
  std::string series_path, blocks_dir;
  int64_t start = 0, end = 0, interval = 15000, block_hours = 24;
  uint64_t seed = 1;
  bool have_start = false, have_end = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage(("missing value after " + a).c_str());
    std::string v = argv[++i];
    auto num = [&](int64_t* out) {
      char* e = nullptr;
      long long x = std::strtoll(v.c_str(), &e, 10);
      if (e == v.c_str() || *e != '\0') return false;
      *out = x;
      return true;
    };
    bool ok = true;
    if (a == "--series") {
      series_path = v;
    } else if (a == "--blocks-dir") {
      blocks_dir = v;
    } else if (a == "--start-ms") {
      ok = have_start = num(&start);
    } else if (a == "--end-ms") {
      ok = have_end = num(&end);
    } else if (a == "--interval-ms") {
      ok = num(&interval) && interval > 0;
    } else if (a == "--block-hours") {
      ok = num(&block_hours) && block_hours > 0;
    } else if (a == "--seed") {
      int64_t s = 0;
      ok = num(&s);
      seed = static_cast<uint64_t>(s);
    } else {
      return Usage(("unknown flag " + a).c_str());
    }
    if (!ok) return Usage(("bad value '" + v + "' for " + a).c_str());
  }
  if (series_path.empty() || blocks_dir.empty() || !have_start || !have_end) {
    return Usage("--series, --blocks-dir, --start-ms and --end-ms are required");
  }
  if (start >= end) return Usage("--start-ms must be before --end-ms");
  auto series = ReadSeries(series_path, seed);
  if (!series.ok()) {
    std::fprintf(stderr, "backfill_bench: %s\n", series.status().ToString().c_str());
    return 1;
  }
  std::sort(series->begin(), series->end(),
            [](const SeriesSpec& a, const SeriesSpec& b) { return a.labels < b.labels; });
  for (size_t i = 1; i < series->size(); ++i) {
    if (!((*series)[i - 1].labels < (*series)[i].labels)) {
      std::fprintf(stderr, "backfill_bench: series %s is listed twice\n",
                   (*series)[i].labels.ToString().c_str());
      return 1;
    }
  }
  const int64_t block_ms = block_hours * 3600 * 1000;
  uint64_t total_samples = 0, total_blocks = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t lo = start; lo < end;) {
    int64_t aligned = (lo / block_ms + 1) * block_ms;  // start >= 0: plain division floors
    int64_t hi = std::min(end, aligned);
    GeneratedSet set(*series, lo, hi, interval);
    tsdb::BlockMeta meta;
    meta.min_time = lo;
    meta.max_time = hi;
    auto written = tsdb::WriteBlock(fs::PosixFileSystem(), blocks_dir, set, meta);
    if (!written.ok()) {
      std::fprintf(stderr, "backfill_bench: block [%lld, %lld): %s\n", static_cast<long long>(lo),
                   static_cast<long long>(hi), written.status().ToString().c_str());
      return 1;
    }
    std::printf("block %s [%lld, %lld): %llu series, %llu samples\n", written->ulid.c_str(),
                static_cast<long long>(lo), static_cast<long long>(hi),
                static_cast<unsigned long long>(written->num_series),
                static_cast<unsigned long long>(written->num_samples));
    std::fflush(stdout);
    total_samples += set.samples();
    ++total_blocks;
    lo = hi;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %llu blocks, %zu series, %llu samples in %.1f s\n",
              static_cast<unsigned long long>(total_blocks), series->size(),
              static_cast<unsigned long long>(total_samples), secs);
  return 0;
}

}  // namespace
}  // namespace zw

int main(int argc, char** argv) { return zw::Run(argc, argv); }
