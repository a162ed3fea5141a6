#include "storage/merge.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <span>

#include <gtest/gtest.h>

#include "storage/iterator_test_util.h"
#include "storage/series_set.h"

namespace zw::storage {
namespace {

using testing::ReadBuffered;

Labels L(const std::string& name, const std::string& v) {
  return Labels::FromPairs({{"__name__", name}, {"k", v}});
}

std::vector<Sample> Drain(SampleIterator& it) {
  std::vector<Sample> out;
  while (it.Next()) out.push_back(it.At());
  return out;
}

TEST(MergeIterator, InterleavesAndKeepsTheFirstOfEqualTimestamps) {
  std::vector<Sample> a{{1, 1}, {3, 3}, {5, 5}};
  std::vector<Sample> b{{2, 20}, {3, 30}, {6, 60}};
  std::vector<std::unique_ptr<SampleIterator>> its;
  its.push_back(std::make_unique<VectorIterator>(&a));
  its.push_back(std::make_unique<VectorIterator>(&b));
  MergeIterator m(std::move(its));
  std::vector<Sample> got = Drain(m);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[2].t, 3);
  EXPECT_EQ(got[2].v, 3);  // the first input wins the tie
  EXPECT_EQ(got[4].t, 6);
  EXPECT_FALSE(m.Next());
}

TEST(MergeIterator, SeekNeverMovesBackwards) {
  std::vector<Sample> a{{10, 1}, {20, 2}};
  std::vector<Sample> b{{15, 3}, {30, 4}};
  std::vector<std::unique_ptr<SampleIterator>> its;
  its.push_back(std::make_unique<VectorIterator>(&a));
  its.push_back(std::make_unique<VectorIterator>(&b));
  MergeIterator m(std::move(its));
  ASSERT_TRUE(m.Seek(12));
  EXPECT_EQ(m.At().t, 15);
  ASSERT_TRUE(m.Seek(5));
  EXPECT_EQ(m.At().t, 15);
  ASSERT_TRUE(m.Next());
  EXPECT_EQ(m.At().t, 20);
  ASSERT_TRUE(m.Seek(21));
  EXPECT_EQ(m.At().t, 30);
  EXPECT_FALSE(m.Seek(31));
  EXPECT_FALSE(m.Next());
}

// Inputs that are mostly disjoint runs (blocks) with some overlap and ties, walked by a random
// mix of Next and Seek, against a model: the union of timestamps, the first input's value on
// ties. Covers the path where only the current input moves.
TEST(MergeIterator, RandomRunsWithNextAndSeekMatchModel) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    const int n = 1 + static_cast<int>(rng() % 5);
    std::vector<std::vector<Sample>> data(n);
    std::map<int64_t, double> model;
    for (int i = 0; i < n; ++i) {
      // Input i covers a run starting near i*100; runs overlap when the jitter says so.
      int64_t t = i * 100 + static_cast<int64_t>(rng() % 150);
      const int len = static_cast<int>(rng() % 40);
      for (int k = 0; k < len; ++k) {
        t += 1 + static_cast<int64_t>(rng() % 6);
        double v = i * 1000 + k;
        data[i].push_back({t, v});
        model.emplace(t, v);  // keeps the first (lowest i) value
      }
    }
    std::vector<std::unique_ptr<SampleIterator>> its;
    for (auto& d : data) its.push_back(std::make_unique<VectorIterator>(&d));
    MergeIterator m(std::move(its));
    auto want = model.begin();
    bool live = true;
    int64_t pos = std::numeric_limits<int64_t>::min();
    while (live) {
      if (rng() % 4 == 0) {
        const bool started = pos != std::numeric_limits<int64_t>::min();
        int64_t target = (started ? pos : 0) + static_cast<int64_t>(rng() % 30) - 5;
        live = m.Seek(target);
        // Seek never moves backwards: from the current sample or the first at/after target.
        auto from = model.lower_bound(target);
        if (started && want != model.end() && want->first >= target) {
          from = want;
        }
        want = from;
      } else {
        live = m.Next();
        if (pos != std::numeric_limits<int64_t>::min()) ++want;
      }
      ASSERT_EQ(live, want != model.end()) << "round " << round;
      if (!live) break;
      ASSERT_EQ(m.At().t, want->first) << "round " << round;
      ASSERT_EQ(m.At().v, want->second) << "round " << round;
      pos = m.At().t;
    }
  }
}

// Blocks of one series mostly follow each other without overlap: the merge hands out the
// current input's span up to the next input's first sample, and never a sample another
// input holds at the same time (the first input wins those). Against the map model, with
// Seeks that skip ahead.
TEST(MergeIterator, BufferedSpansOfChainedAndOverlappingInputsMatchModel) {
  std::mt19937 rng(11);
  size_t from_spans = 0;
  for (int round = 0; round < 400; ++round) {
    const int n = 1 + static_cast<int>(rng() % 5);
    std::vector<std::vector<Sample>> data(n);
    std::map<int64_t, double> model;
    int64_t t = static_cast<int64_t>(rng() % 50);
    for (int i = 0; i < n; ++i) {
      // Mostly chained (input i starts after input i-1 ends); sometimes it starts back
      // inside the previous one, sharing timestamps with it.
      if (i > 0 && rng() % 3 == 0) t -= static_cast<int64_t>(rng() % 40);
      const int len = static_cast<int>(rng() % 60);
      for (int k = 0; k < len; ++k) {
        t += 1 + static_cast<int64_t>(rng() % 4);
        data[i].push_back({t, i * 1000.0 + k});
      }
    }
    // Listed in a random order: the first listed wins ties, whatever its time range.
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (int i : order) {
      for (const Sample& s : data[i]) model.emplace(s.t, s.v);
    }
    std::vector<std::unique_ptr<SampleIterator>> its;
    for (int i : order) its.push_back(std::make_unique<VectorIterator>(&data[i]));
    MergeIterator m(std::move(its));
    std::vector<Sample> want;
    for (const auto& [ts, v] : model) want.push_back({ts, v});
    ASSERT_EQ(ReadBuffered(m, rng, &from_spans), want) << "round " << round;
    // Whole spans, each followed by a Seek past it.
    std::vector<std::unique_ptr<SampleIterator>> again;
    for (int i : order) again.push_back(std::make_unique<VectorIterator>(&data[i]));
    MergeIterator m2(std::move(again));
    std::vector<Sample> all;
    while (m2.Next()) {
      std::span<const Sample> b = m2.Buffered();
      if (b.empty()) {
        all.push_back(m2.At());
        continue;
      }
      all.insert(all.end(), b.begin(), b.end());
      if (!m2.Seek(b.back().t + 1)) break;
      all.push_back(m2.At());
    }
    ASSERT_EQ(all, want) << "round " << round;
  }
  EXPECT_GT(from_spans, 1000u);
}

// Random inputs against a map-based model: union of series, per series union of
// timestamps with the first input's value.
TEST(MergeSeriesSets, MatchesModel) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    int n_inputs = 1 + static_cast<int>(rng() % 4);
    std::map<Labels, std::map<int64_t, double>> model;
    std::vector<std::unique_ptr<SeriesSet>> sets;
    for (int i = 0; i < n_inputs; ++i) {
      std::map<Labels, std::map<int64_t, double>> input;
      int n_series = static_cast<int>(rng() % 6);
      for (int s = 0; s < n_series; ++s) {
        Labels ls = L("m", std::to_string(rng() % 8));
        int n = static_cast<int>(rng() % 10);
        for (int k = 0; k < n; ++k) input[ls][static_cast<int64_t>(rng() % 50)] = i * 100 + k;
      }
      std::vector<VectorSeries> vs;
      for (auto& [ls, samples] : input) {
        std::vector<Sample> sorted;
        for (auto [t, v] : samples) sorted.push_back({t, v});
        auto& m = model[ls];
        for (const Sample& s : sorted) m.emplace(s.t, s.v);  // earlier inputs win
        vs.emplace_back(ls, sorted);
      }
      sets.push_back(std::make_unique<VectorSeriesSet>(std::move(vs)));
    }
    auto merged = MergeSeriesSets(std::move(sets));
    auto want = model.begin();
    while (merged->Next()) {
      ASSERT_NE(want, model.end());
      EXPECT_EQ(merged->At().labels(), want->first);
      auto it = merged->At().Iterator();
      std::vector<Sample> got = Drain(*it);
      ASSERT_EQ(got.size(), want->second.size());
      size_t k = 0;
      for (auto [t, v] : want->second) {
        EXPECT_EQ(got[k].t, t);
        EXPECT_EQ(got[k].v, v);
        ++k;
      }
      ++want;
    }
    EXPECT_EQ(want, model.end());
    EXPECT_TRUE(merged->Err().ok());
  }
}

TEST(MergeSeriesSets, ReportsTheFirstError) {
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(std::make_unique<VectorSeriesSet>(std::vector<VectorSeries>{}));
  sets.push_back(ErrorSeriesSet(Status::Corruption("01X/chunks/000001", 12, "bad chunk")));
  auto merged = MergeSeriesSets(std::move(sets));
  EXPECT_FALSE(merged->Next());
  EXPECT_EQ(merged->Err().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace zw::storage
