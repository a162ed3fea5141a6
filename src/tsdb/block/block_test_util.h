// Helpers shared by the block tests: series held as plain samples (the model the block is
// checked against) and a ChunkSeriesSet that encodes them.
#pragma once

#include <stdlib.h>

#include <bit>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/labels.h"
#include "core/matcher.h"
#include "core/sample.h"
#include "storage/querier.h"
#include "tsdb/chunk_series.h"
#include "tsdb/chunkenc/xor_chunk.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb::testing {

// A file system to run a test on, with a fresh directory in it.
struct Backend {
  std::string name;
  std::function<std::pair<std::shared_ptr<fs::FileSystem>, std::string>()> make;
};

inline std::vector<Backend> Backends() {
  return {
      {"Posix",
       [] {
         std::string tmpl = ::testing::TempDir() + "/zw-block-XXXXXX";
         EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
         return std::make_pair(
             std::shared_ptr<fs::FileSystem>(fs::PosixFileSystem(), [](fs::FileSystem*) {}), tmpl);
       }},
      {"Mem",
       [] {
         std::shared_ptr<fs::FileSystem> fs = fs::NewMemFileSystem();
         EXPECT_TRUE(fs->CreateDirs("/data").ok());
         return std::make_pair(fs, std::string("/data"));
       }},
  };
}

// Labels → samples in time order.
using Model = std::map<Labels, std::vector<Sample>>;

// Encodes each series' samples into chunks of at most `per_chunk` samples.
class ModelChunkSeriesSet final : public ChunkSeriesSet {
 public:
  explicit ModelChunkSeriesSet(const Model& model, size_t per_chunk = 120) {
    for (const auto& [labels, samples] : model) {
      if (samples.empty()) continue;
      Entry e{labels, {}, {}};
      for (size_t i = 0; i < samples.size(); i += per_chunk) {
        chunkenc::XorChunk c;
        size_t end = std::min(samples.size(), i + per_chunk);
        for (size_t k = i; k < end; ++k) c.Append(samples[k].t, samples[k].v);
        auto b = c.Bytes();
        e.bytes.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
        e.ranges.emplace_back(samples[i].t, samples[end - 1].t);
      }
      entries_.push_back(std::move(e));
    }
  }
  bool Next() override {
    if (++pos_ >= entries_.size()) return false;
    metas_.clear();
    const Entry& e = entries_[pos_];
    for (size_t i = 0; i < e.bytes.size(); ++i)
      metas_.push_back({e.ranges[i].first, e.ranges[i].second, e.bytes[i]});
    return true;
  }
  const Labels& labels() const override { return entries_[pos_].labels; }
  std::span<const ChunkMeta> chunks() const override { return metas_; }
  Status Err() const override { return Status::Ok(); }

 private:
  struct Entry {
    Labels labels;
    std::vector<std::string> bytes;
    std::vector<std::pair<int64_t, int64_t>> ranges;
  };
  std::vector<Entry> entries_;
  size_t pos_ = static_cast<size_t>(-1);
  std::vector<ChunkMeta> metas_;
};

// Everything a querier returns for `ms`, with the error that ended it.
struct Selected {
  std::vector<std::pair<Labels, std::vector<Sample>>> series;
  Status err;
};

inline Selected SelectAll(storage::Querier& q, const Matchers& ms) {
  Selected out;
  auto set = q.Select(true, nullptr, ms);
  while (set->Next()) {
    std::vector<Sample> samples;
    auto it = set->At().Iterator();
    while (it->Next()) samples.push_back(it->At());
    if (!it->Err().ok()) {
      out.err = it->Err();
      return out;
    }
    // A series whose chunks overlap the range may still have no sample in it (head and
    // block alike); the model leaves such series out.
    if (!samples.empty()) out.series.emplace_back(set->At().labels(), std::move(samples));
  }
  out.err = set->Err();
  return out;
}

// The model's answer: series matching every matcher with their samples in [mint, maxt];
// series without samples in range are left out.
inline std::vector<std::pair<Labels, std::vector<Sample>>> ModelSelect(const Model& model,
                                                                       const Matchers& ms,
                                                                       int64_t mint, int64_t maxt) {
  std::vector<std::pair<Labels, std::vector<Sample>>> out;
  for (const auto& [labels, samples] : model) {
    bool match = true;
    for (const Matcher& m : ms) match = match && m.Matches(labels.Get(m.name()));
    if (!match) continue;
    std::vector<Sample> in;
    for (const Sample& s : samples) {
      if (s.t >= mint && s.t <= maxt) in.push_back(s);
    }
    if (!in.empty()) out.emplace_back(labels, std::move(in));
  }
  return out;
}

// Bitwise, so that NaN payloads (stale markers) count.
inline bool SameSamples(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].t != b[i].t || std::bit_cast<uint64_t>(a[i].v) != std::bit_cast<uint64_t>(b[i].v))
      return false;
  }
  return true;
}

inline std::string Describe(const std::vector<std::pair<Labels, std::vector<Sample>>>& v) {
  std::string out;
  for (const auto& [l, s] : v) out += l.ToString() + " x" + std::to_string(s.size()) + "\n";
  return out;
}

inline void ExpectSameSeries(const std::vector<std::pair<Labels, std::vector<Sample>>>& got,
                             const std::vector<std::pair<Labels, std::vector<Sample>>>& want) {
  ASSERT_EQ(got.size(), want.size()) << "got:\n" << Describe(got) << "want:\n" << Describe(want);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_TRUE(SameSamples(got[i].second, want[i].second))
        << got[i].first.ToString() << ": " << got[i].second.size() << " vs "
        << want[i].second.size() << " samples";
  }
}

// A random model: `n` series of a few metrics with random labels, samples in [mint, maxt).
inline Model RandomModel(std::mt19937_64& rng, size_t n, int64_t mint, int64_t maxt) {
  Model model;
  const char* metrics[] = {"up", "http_requests_total", "node_cpu_seconds_total", "mem_bytes"};
  std::uniform_int_distribution<int> pick(0, 9);
  while (model.size() < n) {
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.emplace_back("__name__", metrics[rng() % 4]);
    pairs.emplace_back("instance", "host-" + std::to_string(rng() % 20));
    if (pick(rng) < 6) pairs.emplace_back("job", pick(rng) < 5 ? "node" : "api");
    if (pick(rng) < 4) pairs.emplace_back("code", std::to_string(200 + 100 * (rng() % 4)));
    if (pick(rng) < 2) pairs.emplace_back("path", "/p/" + std::to_string(rng() % 7));
    std::vector<std::pair<std::string_view, std::string_view>> views(pairs.begin(), pairs.end());
    Labels labels = Labels::FromPairs(views);
    int64_t step = 1 + static_cast<int64_t>(rng() % 30000);
    int64_t t = mint + static_cast<int64_t>(rng() % static_cast<uint64_t>(maxt - mint));
    size_t count = 1 + rng() % 400;
    std::vector<Sample> samples;
    double v = static_cast<double>(rng() % 1000);
    for (size_t i = 0; i < count && t < maxt; ++i, t += step) {
      switch (rng() % 4) {
        case 0:
          v += 1;
          break;
        case 1:
          v = static_cast<double>(rng() % 100) / 7;
          break;
        case 2:
          break;
        default:
          v += static_cast<double>(rng() % 10);
      }
      samples.push_back({t, v});
    }
    model[labels] = std::move(samples);
  }
  return model;
}

}  // namespace zw::tsdb::testing
