// The XOR chunk codec on its own: append and decode speed per sample, and bytes per sample,
// for full 120-sample chunks at exactly 15 s spacing (the head's default chunk) of a few
// kinds of real series.
//
//   ./build/bench/chunk_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Read items_per_second as samples; bytes_per_sample includes the 2-byte header.
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/sample.h"
#include "tsdb/chunkenc/xor_chunk.h"

namespace {

using zw::Sample;
using zw::chunkenc::XorChunk;
using zw::chunkenc::XorIterator;

constexpr int kChunkSamples = 120;
constexpr int64_t kStart = 1'700'000'000'000;  // ms; the size of its varint matters a little
constexpr int64_t kStep = 15'000;

enum class Pattern {
  kCounter,     // requests_total: integer increments of a few per scrape
  kGauge,       // resident memory bytes: drifts by whole pages
  kGaugeFloat,  // a ratio with two decimal digits, e.g. CPU load 0.37
  kHistogram,   // a histogram bucket: unchanged at most scrapes
  kRandom,      // random bits: the worst case, for speed only
};

std::vector<Sample> Make(Pattern p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Sample> out;
  double v = 0;
  switch (p) {
    case Pattern::kCounter:
      v = 1'234'567;
      break;
    case Pattern::kGauge:
      v = 512.0 * 1024 * 1024;
      break;
    case Pattern::kGaugeFloat:
      v = 0.37;
      break;
    case Pattern::kHistogram:
      v = 8'812;
      break;
    case Pattern::kRandom:
      break;
  }
  for (int i = 0; i < kChunkSamples; ++i) {
    out.push_back({kStart + i * kStep, v});
    switch (p) {
      case Pattern::kCounter:
        v += static_cast<double>(rng() % 20);
        break;
      case Pattern::kGauge:
        v += 4096.0 * (static_cast<double>(rng() % 9) - 4);
        break;
      case Pattern::kGaugeFloat:
        v = std::round((v + std::normal_distribution<double>(0, 0.03)(rng)) * 100) / 100;
        break;
      case Pattern::kHistogram:
        v += rng() % 5 == 0 ? static_cast<double>(1 + rng() % 3) : 0;
        break;
      case Pattern::kRandom:
        v = std::bit_cast<double>(rng());
        break;
    }
  }
  return out;
}

XorChunk Encode(const std::vector<Sample>& samples) {
  XorChunk c;
  for (const Sample& s : samples) c.Append(s.t, s.v);
  return c;
}

// Many different chunks of each kind, taken in turn: one chunk decoded over and over would
// let the branch predictor learn its 120 samples by heart, which real queries never see.
constexpr int kVariants = 256;

std::vector<std::vector<Sample>> MakeVariants(Pattern p) {
  std::vector<std::vector<Sample>> out;
  for (int i = 0; i < kVariants; ++i) out.push_back(Make(p, 42 + static_cast<uint64_t>(i)));
  return out;
}

double BytesPerSample(const std::vector<XorChunk>& chunks) {
  size_t bytes = 0;
  for (const XorChunk& c : chunks) bytes += c.Bytes().size();
  return static_cast<double>(bytes) / (static_cast<double>(chunks.size()) * kChunkSamples);
}

void BM_XorAppend(benchmark::State& state, Pattern p) {
  const std::vector<std::vector<Sample>> variants = MakeVariants(p);
  size_t i = 0;
  for (auto _ : state) {
    XorChunk c;  // a fresh chunk each time, as the head cuts one every 120 samples
    for (const Sample& s : variants[i]) c.Append(s.t, s.v);
    benchmark::DoNotOptimize(c.Bytes().data());
    i = (i + 1) % variants.size();
  }
  state.SetItemsProcessed(state.iterations() * kChunkSamples);
  std::vector<XorChunk> chunks;
  for (const auto& v : variants) chunks.push_back(Encode(v));
  state.counters["bytes_per_sample"] = BytesPerSample(chunks);
}

void BM_XorDecode(benchmark::State& state, Pattern p) {
  std::vector<XorChunk> chunks;
  for (const auto& v : MakeVariants(p)) chunks.push_back(Encode(v));
  size_t i = 0;
  for (auto _ : state) {
    XorIterator it = chunks[i].Iterator();
    int64_t t_sum = 0;
    double v_sum = 0;
    while (it.Next()) {
      const Sample s = it.At();
      t_sum += s.t;
      v_sum += s.v;
    }
    benchmark::DoNotOptimize(t_sum);
    benchmark::DoNotOptimize(v_sum);
    i = (i + 1) % chunks.size();
  }
  state.SetItemsProcessed(state.iterations() * kChunkSamples);
  state.counters["bytes_per_sample"] = BytesPerSample(chunks);
}

// The head's reader (ChunksIterator) takes a chunk's samples with NextBatch into its
// buffer of 128 instead of one Next and At per sample.
void BM_XorDecodeBatch(benchmark::State& state, Pattern p) {
  std::vector<XorChunk> chunks;
  for (const auto& v : MakeVariants(p)) chunks.push_back(Encode(v));
  Sample buf[128];
  size_t i = 0;
  for (auto _ : state) {
    XorIterator it = chunks[i].Iterator();
    int64_t t_sum = 0;
    double v_sum = 0;
    size_t n;
    while ((n = it.NextBatch(buf, std::size(buf))) > 0) {
      for (size_t j = 0; j < n; ++j) {
        t_sum += buf[j].t;
        v_sum += buf[j].v;
      }
      if (n < std::size(buf)) break;
    }
    benchmark::DoNotOptimize(t_sum);
    benchmark::DoNotOptimize(v_sum);
    i = (i + 1) % chunks.size();
  }
  state.SetItemsProcessed(state.iterations() * kChunkSamples);
}

BENCHMARK_CAPTURE(BM_XorAppend, counter, Pattern::kCounter);
BENCHMARK_CAPTURE(BM_XorAppend, gauge_bytes, Pattern::kGauge);
BENCHMARK_CAPTURE(BM_XorAppend, gauge_float, Pattern::kGaugeFloat);
BENCHMARK_CAPTURE(BM_XorAppend, histogram_bucket, Pattern::kHistogram);
BENCHMARK_CAPTURE(BM_XorAppend, random_bits, Pattern::kRandom);
BENCHMARK_CAPTURE(BM_XorDecode, counter, Pattern::kCounter);
BENCHMARK_CAPTURE(BM_XorDecode, gauge_bytes, Pattern::kGauge);
BENCHMARK_CAPTURE(BM_XorDecode, gauge_float, Pattern::kGaugeFloat);
BENCHMARK_CAPTURE(BM_XorDecode, histogram_bucket, Pattern::kHistogram);
BENCHMARK_CAPTURE(BM_XorDecode, random_bits, Pattern::kRandom);
BENCHMARK_CAPTURE(BM_XorDecodeBatch, counter, Pattern::kCounter);
BENCHMARK_CAPTURE(BM_XorDecodeBatch, gauge_bytes, Pattern::kGauge);
BENCHMARK_CAPTURE(BM_XorDecodeBatch, gauge_float, Pattern::kGaugeFloat);
BENCHMARK_CAPTURE(BM_XorDecodeBatch, histogram_bucket, Pattern::kHistogram);
BENCHMARK_CAPTURE(BM_XorDecodeBatch, random_bits, Pattern::kRandom);

}  // namespace

BENCHMARK_MAIN();
