#include "tsdb/block/merge.h"

#include <random>

#include <gtest/gtest.h>

#include "tsdb/block/block_test_util.h"

namespace zw::tsdb {
namespace {

using testing::Model;
using testing::ModelChunkSeriesSet;
using testing::ModelSelect;
using testing::SelectAll;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kMin = 1'700'000'000'000 / (2 * kHour) * (2 * kHour);

Matcher M(MatchType t, std::string name, std::string value) {
  return Matcher::MustMake(t, std::move(name), std::move(value));
}

// Decodes a whole chunk set into a model, checking the set's invariants on the way.
Model Drain(ChunkSeriesSet& set, size_t max_per_chunk = kMergedChunkSamples) {
  Model out;
  const Labels* prev = nullptr;
  Labels prev_copy;
  while (set.Next()) {
    if (prev) {
      EXPECT_LT(prev_copy, set.labels());
    }
    prev_copy = set.labels();
    prev = &prev_copy;
    std::vector<Sample>& samples = out[set.labels()];
    EXPECT_FALSE(set.chunks().empty());
    int64_t last_max = kMinTime;
    for (const ChunkMeta& c : set.chunks()) {
      EXPECT_TRUE(last_max == kMinTime || c.min_t > last_max) << "chunks overlap";
      last_max = c.max_t;
      chunkenc::XorIterator it(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size()));
      size_t n = 0;
      while (it.Next()) {
        Sample s = it.At();
        if (n == 0) {
          EXPECT_EQ(s.t, c.min_t);
        }
        samples.push_back(s);
        ++n;
      }
      EXPECT_TRUE(it.Err().ok());
      EXPECT_LE(n, max_per_chunk);
      EXPECT_EQ(samples.back().t, c.max_t);
    }
  }
  EXPECT_TRUE(set.Err().ok()) << set.Err().ToString();
  return out;
}

// The union of models; for a timestamp in several, the first model's sample wins.
Model Union(const std::vector<Model>& models) {
  Model out;
  for (const Model& m : models) {
    for (const auto& [labels, samples] : m) {
      std::map<int64_t, Sample> by_t;
      for (const Sample& s : out[labels]) by_t.emplace(s.t, s);
      for (const Sample& s : samples) by_t.emplace(s.t, s);
      std::vector<Sample> merged;
      for (const auto& [t, s] : by_t) merged.push_back(s);
      out[labels] = std::move(merged);
    }
  }
  return out;
}

void ExpectSameModel(const Model& got, const Model& want) {
  ASSERT_EQ(got.size(), want.size());
  for (auto g = got.begin(), w = want.begin(); g != got.end(); ++g, ++w) {
    ASSERT_EQ(g->first, w->first);
    EXPECT_TRUE(testing::SameSamples(g->second, w->second))
        << g->first.ToString() << " " << g->second.size() << " vs " << w->second.size();
  }
}

TEST(MergeChunkSeriesSets, OverlappingAndDisjointInputsGiveTheUnion) {
  std::mt19937_64 rng(17);
  std::vector<Model> models;
  for (int i = 0; i < 4; ++i) {
    // Sets 0 and 1 overlap in time; 2 and 3 follow; values differ per set so that the
    // first-set-wins rule is checked.
    int64_t start = kMin + (i < 2 ? 0 : (i - 1) * 2 * kHour);
    Model m = testing::RandomModel(rng, 60, start, start + 2 * kHour);
    for (auto& [l, s] : m)
      for (Sample& x : s) x.v += i * 1000;
    models.push_back(std::move(m));
  }
  std::vector<std::unique_ptr<ChunkSeriesSet>> sets;
  for (const Model& m : models) sets.push_back(std::make_unique<ModelChunkSeriesSet>(m, 50));
  auto merged = MergeChunkSeriesSets(std::move(sets));
  ExpectSameModel(Drain(*merged), Union(models));
}

TEST(MergeChunkSeriesSets, SameSamplesTwiceAreKeptOnce) {
  Model a;
  std::vector<Sample> s;
  for (int64_t i = 0; i < 500; ++i) s.push_back({kMin + i, static_cast<double>(i)});
  a[Labels{{"__name__", "x"}}] = s;
  std::vector<std::unique_ptr<ChunkSeriesSet>> sets;
  sets.push_back(std::make_unique<ModelChunkSeriesSet>(a, 200));
  sets.push_back(std::make_unique<ModelChunkSeriesSet>(a, 33));
  auto merged = MergeChunkSeriesSets(std::move(sets));
  Model got = Drain(*merged);
  ExpectSameModel(got, a);
}

TEST(MergeChunkSeriesSets, NoInputs) {
  auto merged = MergeChunkSeriesSets({});
  EXPECT_FALSE(merged->Next());
  EXPECT_TRUE(merged->Err().ok());
}

class CompactionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_->CreateDirs("/blocks").ok()); }

  std::shared_ptr<Block> WriteAndOpen(const Model& m, int64_t mint, int64_t maxt) {
    ModelChunkSeriesSet set(m);
    BlockMeta meta;
    meta.min_time = mint;
    meta.max_time = maxt;
    auto r = WriteBlock(fs_.get(), "/blocks", set, meta);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto b = Block::Open(fs_.get(), "/blocks/" + r->ulid);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return *b;
  }

  std::unique_ptr<fs::FileSystem> fs_ = fs::NewMemFileSystem();
};

TEST_F(CompactionTest, CompactedBlockHoldsTheUnion) {
  std::mt19937_64 rng(23);
  std::vector<Model> models;
  std::vector<std::shared_ptr<Block>> blocks;
  // Three consecutive 2 h blocks plus one overlapping the second (e.g. out-of-order data).
  for (int i = 0; i < 4; ++i) {
    int64_t start = kMin + (i < 3 ? i : 1) * 2 * kHour;
    models.push_back(testing::RandomModel(rng, 80, start, start + 2 * kHour));
    blocks.push_back(WriteAndOpen(models.back(), start, start + 2 * kHour));
  }
  auto meta = CompactBlocks(fs_.get(), "/blocks", blocks);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->level, 2);
  EXPECT_EQ(meta->min_time, kMin);
  EXPECT_EQ(meta->max_time, kMin + 6 * kHour);
  ASSERT_EQ(meta->parents.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(meta->parents[i], blocks[i]->meta().ulid);
  std::vector<std::string> sources;
  for (const auto& b : blocks) sources.push_back(b->meta().ulid);
  std::sort(sources.begin(), sources.end());
  EXPECT_EQ(meta->sources, sources);

  auto out = Block::Open(fs_.get(), "/blocks/" + meta->ulid);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE((*out)->VerifyChunks().ok());
  Model want = Union(models);
  uint64_t n = 0;
  for (const auto& [l, s] : want) n += s.size();
  EXPECT_EQ(meta->num_samples, n);
  // The block packs each series into chunks of up to packed_chunk_samples.
  ExpectSameModel(
      Drain(*(*out)->Chunks(kMinTime, kMaxTime), WriteBlockOptions{}.packed_chunk_samples), want);
  Matchers all = {M(MatchType::kRegexMatch, "__name__", ".+")};
  auto got = SelectAll(*(*out)->NewQuerier(kMinTime, kMaxTime), all);
  ASSERT_TRUE(got.err.ok());
  testing::ExpectSameSeries(got.series, ModelSelect(want, all, kMinTime, kMaxTime));

  // Level 3 from a level-2 and a level-1 block: sources stay the level-1 ULIDs.
  Model later = models[0];
  for (auto& [l, smp] : later)
    for (Sample& x : smp) x.t += 6 * kHour;
  auto more = WriteAndOpen(later, kMin + 6 * kHour, kMin + 8 * kHour);
  auto again = CompactBlocks(fs_.get(), "/blocks", {*out, more});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->level, 3);
  EXPECT_EQ(again->sources.size(), 5u);
}

TEST_F(CompactionTest, TombstonesApplyToQueriesChunksAndCompaction) {
  Model model;
  std::vector<Sample> s;
  for (int64_t i = 0; i < 1000; ++i) s.push_back({kMin + i * 1000, static_cast<double>(i)});
  Labels a{{"__name__", "a"}, {"job", "x"}};
  Labels b{{"__name__", "b"}, {"job", "x"}};
  Labels c{{"__name__", "c"}, {"job", "y"}};
  model[a] = s;
  model[b] = s;
  model[c] = s;
  auto block = WriteAndOpen(model, kMin, kMin + 2 * kHour);
  EXPECT_FALSE(block->HasTombstones());
  EXPECT_EQ(block->Delete(0, 1, {}).code(), StatusCode::kInvalidArgument);
  // Part of a: inside one chunk and across a chunk boundary; all of b.
  ASSERT_TRUE(
      block->Delete(kMin + 10'000, kMin + 20'000, {M(MatchType::kEqual, "__name__", "a")}).ok());
  ASSERT_TRUE(
      block->Delete(kMin + 100'000, kMin + 300'000, {M(MatchType::kEqual, "__name__", "a")}).ok());
  ASSERT_TRUE(block->Delete(kMinTime, kMaxTime, {M(MatchType::kEqual, "__name__", "b")}).ok());
  EXPECT_TRUE(block->HasTombstones());

  Model want = model;
  want.erase(b);
  std::erase_if(want[a], [](const Sample& x) {
    return (x.t >= kMin + 10'000 && x.t <= kMin + 20'000) ||
           (x.t >= kMin + 100'000 && x.t <= kMin + 300'000);
  });
  Matchers job = {M(MatchType::kRegexMatch, "job", ".+")};
  auto check = [&](const std::shared_ptr<Block>& blk) {
    auto got = SelectAll(*blk->NewQuerier(kMinTime, kMaxTime), job);
    ASSERT_TRUE(got.err.ok());
    testing::ExpectSameSeries(got.series, ModelSelect(want, job, kMinTime, kMaxTime));
    EXPECT_EQ(*blk->NewQuerier(kMinTime, kMaxTime)->LabelValues("__name__", {}),
              (std::vector<std::string>{"a", "c"}));
    ExpectSameModel(
        Drain(*blk->Chunks(kMinTime, kMaxTime), WriteBlockOptions{}.packed_chunk_samples), want);
  };
  check(block);
  // Persisted: a reopened block sees the same.
  auto reopened = Block::Open(fs_.get(), block->dir());
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->HasTombstones());
  check(*reopened);
  EXPECT_FALSE(fs_->Exists(block->dir() + "/tombstones.tmp"));

  auto compacted = CompactBlocks(fs_.get(), "/blocks", {block});
  ASSERT_TRUE(compacted.ok());
  auto out = Block::Open(fs_.get(), "/blocks/" + compacted->ulid);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE((*out)->HasTombstones());
  EXPECT_EQ(compacted->num_series, 2u);
  check(*out);
}

TEST_F(CompactionTest, CompactingOnlyDeletedDataWritesNoBlock) {
  Model model;
  model[Labels{{"__name__", "a"}}] = {{kMin, 1}, {kMin + 5, 2}};
  auto block = WriteAndOpen(model, kMin, kMin + 2 * kHour);
  ASSERT_TRUE(block->Delete(kMin, kMin + 10, {M(MatchType::kEqual, "__name__", "a")}).ok());
  auto r = CompactBlocks(fs_.get(), "/blocks", {block});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ulid.empty());
  EXPECT_EQ(fs_->ListDir("/blocks")->size(), 1u);
}

TEST_F(CompactionTest, CardinalityStats) {
  Model model;
  model[Labels{{"__name__", "a"}, {"i", "1"}}] = {{kMin, 1}};
  model[Labels{{"__name__", "a"}, {"i", "2"}}] = {{kMin, 1}};
  model[Labels{{"__name__", "b"}, {"i", "1"}}] = {{kMin, 1}};
  auto block = WriteAndOpen(model, kMin, kMin + 2 * kHour);
  using V = std::vector<std::pair<std::string, uint64_t>>;
  EXPECT_EQ(*block->SeriesCountByMetricName(10), (V{{"a", 2}, {"b", 1}}));
  EXPECT_EQ(*block->SeriesCountByMetricName(1), (V{{"a", 2}}));
  EXPECT_EQ(*block->SeriesCountByLabelPair(2), (V{{"__name__=a", 2}, {"i=1", 2}}));
}

}  // namespace
}  // namespace zw::tsdb
