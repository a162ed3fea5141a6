#include "tsdb/block/block.h"

#include <stdlib.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <span>
#include <thread>

#include <gtest/gtest.h>

#include "storage/iterator_test_util.h"
#include "storage/series_set.h"
#include "tsdb/block/block_test_util.h"
#include "tsdb/block/merge.h"
#include "tsdb/block/writer.h"
#include "tsdb/head.h"

namespace zw::tsdb {
namespace {

using storage::testing::ReadBuffered;
using testing::Model;
using testing::ModelChunkSeriesSet;
using testing::ModelSelect;
using testing::SelectAll;

constexpr int64_t kMin = 1'700'000'000'000;
constexpr int64_t kMax = kMin + 2 * 3600 * 1000;

using testing::Backend;
using testing::Backends;

Matcher M(MatchType t, std::string name, std::string value) {
  return Matcher::MustMake(t, std::move(name), std::move(value));
}

class BlockTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::tie(fs_, root_) = GetParam().make();
    blocks_ = fs::JoinPath(root_, "blocks");
  }
  void TearDown() override { EXPECT_TRUE(fs_->RemoveAll(root_).ok()); }

  BlockMeta Write(const Model& model, int64_t mint = kMin, int64_t maxt = kMax,
                  WriteBlockOptions opts = {}) {
    ModelChunkSeriesSet set(model);
    BlockMeta meta;
    meta.min_time = mint;
    meta.max_time = maxt;
    auto r = WriteBlock(fs_.get(), blocks_, set, meta, opts);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : BlockMeta{};
  }
  std::shared_ptr<Block> Open(const std::string& ulid) {
    auto b = Block::Open(fs_.get(), fs::JoinPath(blocks_, ulid));
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? *b : nullptr;
  }
  std::vector<std::string> List() {
    auto r = fs_->ListDir(blocks_);
    return r.ok() ? *r : std::vector<std::string>{};
  }

  std::shared_ptr<fs::FileSystem> fs_;
  std::string root_, blocks_;
};

TEST_P(BlockTest, RoundTripRandomSeriesAgainstModel) {
  std::mt19937_64 rng(42);
  Model model = testing::RandomModel(rng, 300, kMin, kMax);
  BlockMeta meta = Write(model);
  ASSERT_EQ(meta.num_series, model.size());
  uint64_t samples = 0;
  for (const auto& [l, s] : model) samples += s.size();
  EXPECT_EQ(meta.num_samples, samples);
  EXPECT_EQ(List(), std::vector<std::string>{meta.ulid});
  auto block = Open(meta.ulid);
  ASSERT_TRUE(block);
  EXPECT_EQ(block->meta(), meta);
  EXPECT_TRUE(block->VerifyChunks().ok());
  EXPECT_GT(block->SizeBytes(), 0u);
  Matchers all = {M(MatchType::kRegexMatch, "__name__", ".+")};
  for (int i = 0; i < 20; ++i) {
    int64_t a = kMin - 1000 + static_cast<int64_t>(rng() % (kMax - kMin + 2000));
    int64_t b = a + static_cast<int64_t>(rng() % (kMax - kMin));
    if (i == 0) a = kMinTime, b = kMaxTime;
    auto q = block->NewQuerier(a, b);
    auto got = SelectAll(*q, all);
    ASSERT_TRUE(got.err.ok()) << got.err.ToString();
    testing::ExpectSameSeries(got.series, ModelSelect(model, all, a, b));
  }
}

TEST_P(BlockTest, SeekWithinAndAcrossChunks) {
  Model model;
  std::vector<Sample> s;
  for (int64_t i = 0; i < 1000; ++i) s.push_back({kMin + i * 10, static_cast<double>(i)});
  model[Labels{{"__name__", "a"}}] = s;
  auto block = Open(Write(model).ulid);
  auto q = block->NewQuerier(kMin + 55, kMin + 9000);
  auto set = q->Select(false, nullptr, {M(MatchType::kEqual, "__name__", "a")});
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  ASSERT_TRUE(it->Seek(0));
  EXPECT_EQ(it->At().t, kMin + 60);  // clipped to mint
  ASSERT_TRUE(it->Seek(kMin + 5001));
  EXPECT_EQ(it->At().t, kMin + 5010);
  ASSERT_TRUE(it->Seek(kMin + 10));  // never backwards
  EXPECT_EQ(it->At().t, kMin + 5010);
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At().t, kMin + 5020);
  EXPECT_FALSE(it->Seek(kMin + 9001));
  EXPECT_FALSE(it->Next());
  EXPECT_TRUE(it->Err().ok());
}

// Spans of decoded packed chunks (clipped to the querier's range; none where tombstones
// apply) give exactly the samples Next gives, across chunk boundaries, small and XOR parts.
TEST_P(BlockTest, BufferedSpansAgreeWithModel) {
  std::mt19937_64 rng(5);
  Model model = testing::RandomModel(rng, 150, kMin, kMax);
  WriteBlockOptions opts;
  opts.packed_chunk_samples = 64;  // several chunks per series
  auto block = Open(Write(model, kMin, kMax, opts).ulid);
  ASSERT_TRUE(block);
  Matchers all = {M(MatchType::kRegexMatch, "__name__", ".+")};
  size_t from_spans = 0;
  auto check = [&](int64_t a, int64_t b, const char* what) {
    auto q = block->NewQuerier(a, b);
    auto want = SelectAll(*q, all);
    ASSERT_TRUE(want.err.ok());
    auto set = q->Select(true, nullptr, all);
    size_t i = 0;
    while (set->Next()) {
      auto it = set->At().Iterator();
      std::vector<Sample> got = ReadBuffered(*it, rng, &from_spans);
      if (got.empty()) continue;
      ASSERT_LT(i, want.series.size()) << what;
      EXPECT_EQ(set->At().labels(), want.series[i].first) << what;
      EXPECT_TRUE(testing::SameSamples(got, want.series[i].second))
          << what << " " << set->At().labels().ToString() << " [" << a << ", " << b << "]";
      ++i;
    }
    EXPECT_EQ(i, want.series.size()) << what;
  };
  for (int r = 0; r < 20; ++r) {
    int64_t a = kMin - 1000 + static_cast<int64_t>(rng() % (kMax - kMin + 2000));
    int64_t b = a + static_cast<int64_t>(rng() % (kMax - kMin));
    if (r == 0) a = kMinTime, b = kMaxTime;
    check(a, b, "no tombstones");
    // And the model's own answer, not only the iterator's Next.
    auto q = block->NewQuerier(a, b);
    auto set = q->Select(true, nullptr, all);
    auto want = ModelSelect(model, all, a, b);
    std::vector<std::pair<Labels, std::vector<Sample>>> got;
    while (set->Next()) {
      auto it = set->At().Iterator();
      std::vector<Sample> s = ReadBuffered(*it, rng, &from_spans);
      if (!s.empty()) got.emplace_back(set->At().labels(), std::move(s));
    }
    testing::ExpectSameSeries(got, want);
  }
  EXPECT_GT(from_spans, 10000u);
  ASSERT_TRUE(
      block->Delete(kMin + 600'000, kMin + 1'800'000, {M(MatchType::kEqual, "__name__", "up")})
          .ok());
  for (int r = 0; r < 5; ++r) {
    int64_t a = kMin + static_cast<int64_t>(rng() % (kMax - kMin));
    check(a, a + static_cast<int64_t>(rng() % (kMax - kMin)), "with tombstones");
  }
}

// Random matchers of every kind, against brute force over the model and against the head
// holding the same data.
TEST_P(BlockTest, MatchersAgreeWithModelAndHead) {
  std::mt19937_64 rng(7);
  Model model = testing::RandomModel(rng, 200, kMin, kMax);
  auto block = Open(Write(model).ulid);
  ASSERT_TRUE(block);
  auto head = Head::Open(HeadOptions{});
  ASSERT_TRUE(head.ok());
  auto app = (*head)->NewAppender();
  for (const auto& [labels, samples] : model) {
    for (const Sample& s : samples) ASSERT_TRUE(app->Append(0, labels, s.t, s.v).ok());
  }
  ASSERT_TRUE(app->Commit().ok());

  const std::vector<std::string> names = {"__name__", "instance", "job", "code", "path", "nope"};
  const std::vector<std::string> values = {"",     "up",  "node", "api", "200",          "host-3",
                                           "/p/1", "h.*", ".*",   ".+",  "up|mem_bytes", "x"};
  const MatchType types[] = {MatchType::kEqual, MatchType::kNotEqual, MatchType::kRegexMatch,
                             MatchType::kRegexNoMatch};
  int compared = 0;
  for (int i = 0; i < 400; ++i) {
    Matchers ms;
    size_t n = 1 + rng() % 3;
    for (size_t k = 0; k < n; ++k)
      ms.push_back(M(types[rng() % 4], names[rng() % names.size()], values[rng() % values.size()]));
    bool selective = false;
    for (const Matcher& m : ms) selective = selective || !m.MatchesEmpty();
    if (!selective) continue;  // the Querier contract requires one
    int64_t a = kMin + static_cast<int64_t>(rng() % (kMax - kMin));
    int64_t b = a + static_cast<int64_t>(rng() % (kMax - kMin));
    if (i % 3 == 0) a = kMin, b = kMax;
    auto bq = block->NewQuerier(a, b);
    auto hq = (*head)->NewQuerier(a, b);
    auto got = SelectAll(*bq, ms);
    ASSERT_TRUE(got.err.ok());
    auto want = ModelSelect(model, ms, a, b);
    testing::ExpectSameSeries(got.series, want);
    // The head returns series whose chunks overlap the range even when no sample is in it;
    // compare those with samples.
    auto from_head = SelectAll(*hq, ms);
    std::erase_if(from_head.series, [](const auto& s) { return s.second.empty(); });
    testing::ExpectSameSeries(got.series, from_head.series);

    std::set<std::string> want_names;
    for (const auto& [l, s] : want)
      for (const Label& x : l) want_names.emplace(x.name);
    auto got_names = bq->LabelNames(ms);
    ASSERT_TRUE(got_names.ok());
    EXPECT_EQ(*got_names, std::vector<std::string>(want_names.begin(), want_names.end()));
    std::string name = names[rng() % names.size()];
    std::set<std::string> want_values;
    for (const auto& [l, s] : want)
      if (!l.Get(name).empty()) want_values.emplace(l.Get(name));
    auto got_values = bq->LabelValues(name, ms);
    ASSERT_TRUE(got_values.ok());
    EXPECT_EQ(*got_values, std::vector<std::string>(want_values.begin(), want_values.end()));
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

TEST_P(BlockTest, LabelQueriesWithoutMatchersRespectTheRange) {
  Model model;
  model[Labels{{"__name__", "early"}, {"a", "1"}}] = {{kMin, 1}};
  model[Labels{{"__name__", "late"}, {"b", "2"}}] = {{kMax - 1, 2}};
  auto block = Open(Write(model).ulid);
  auto all = block->NewQuerier(kMinTime, kMaxTime);
  EXPECT_EQ(*all->LabelNames({}), (std::vector<std::string>{"__name__", "a", "b"}));
  auto early = block->NewQuerier(kMin, kMin + 10);
  EXPECT_EQ(*early->LabelNames({}), (std::vector<std::string>{"__name__", "a"}));
  EXPECT_EQ(*early->LabelValues("__name__", {}), (std::vector<std::string>{"early"}));
  auto none = block->NewQuerier(kMax, kMax + 100);
  EXPECT_TRUE(none->LabelNames({})->empty());
}

TEST_P(BlockTest, EdgeValuesAndOneSampleSeries) {
  Model model;
  std::string huge(200000, 'v');
  huge[1000] = '\xff';
  model[Labels{{"__name__", "one"}}] = {{kMin, 42}};
  model[Labels{{"__name__", "nan"}, {"huge", huge}}] = {
      {kMin, std::numeric_limits<double>::quiet_NaN()},
      {kMin + 1, StaleNaN()},
      {kMin + 2, -0.0},
      {kMin + 3, std::numeric_limits<double>::infinity()},
      {kMin + 4, std::numeric_limits<double>::denorm_min()},
      {kMax - 1, -std::numeric_limits<double>::max()}};
  auto block = Open(Write(model).ulid);
  ASSERT_TRUE(block);
  EXPECT_TRUE(block->VerifyChunks().ok());
  auto q = block->NewQuerier(kMinTime, kMaxTime);
  Matchers ms = {M(MatchType::kRegexMatch, "__name__", ".+")};
  auto got = SelectAll(*q, ms);
  ASSERT_TRUE(got.err.ok());
  testing::ExpectSameSeries(got.series, ModelSelect(model, ms, kMinTime, kMaxTime));
  auto huge_match = SelectAll(*q, {M(MatchType::kEqual, "huge", huge)});
  ASSERT_EQ(huge_match.series.size(), 1u);
  // Empty value semantics: huge="" selects series without the label.
  auto without = SelectAll(
      *q, {M(MatchType::kEqual, "huge", ""), M(MatchType::kRegexMatch, "__name__", ".+")});
  ASSERT_EQ(without.series.size(), 1u);
  EXPECT_EQ(without.series[0].first.MetricName(), "one");
}

TEST_P(BlockTest, EmptySetWritesNothing) {
  ModelChunkSeriesSet set(Model{});
  BlockMeta meta;
  meta.min_time = kMin;
  meta.max_time = kMax;
  auto r = WriteBlock(fs_.get(), blocks_, set, meta);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_series, 0u);
  EXPECT_TRUE(r->ulid.empty());
  EXPECT_TRUE(List().empty());
}

TEST_P(BlockTest, SeriesOutOfOrderIsRejected) {
  class Reversed final : public ChunkSeriesSet {
   public:
    explicit Reversed(const Model& m) : inner_(m) {
      while (inner_.Next()) {
        labels_.push_back(inner_.labels());
        bytes_.emplace_back(inner_.chunks()[0].bytes);
        ranges_.emplace_back(inner_.chunks()[0].min_t, inner_.chunks()[0].max_t);
      }
      std::reverse(labels_.begin(), labels_.end());
      std::reverse(bytes_.begin(), bytes_.end());
      std::reverse(ranges_.begin(), ranges_.end());
    }
    bool Next() override { return ++pos_ < labels_.size(); }
    const Labels& labels() const override { return labels_[pos_]; }
    std::span<const ChunkMeta> chunks() const override {
      cur_ = {ranges_[pos_].first, ranges_[pos_].second, bytes_[pos_]};
      return {&cur_, 1};
    }
    Status Err() const override { return Status::Ok(); }

   private:
    ModelChunkSeriesSet inner_;
    std::vector<Labels> labels_;
    std::vector<std::string> bytes_;
    std::vector<std::pair<int64_t, int64_t>> ranges_;
    mutable ChunkMeta cur_;
    size_t pos_ = static_cast<size_t>(-1);
  };
  Model model;
  model[Labels{{"__name__", "a"}}] = {{kMin, 1}};
  model[Labels{{"__name__", "b"}}] = {{kMin, 1}};
  Reversed set(model);
  BlockMeta meta;
  meta.min_time = kMin;
  meta.max_time = kMax;
  auto r = WriteBlock(fs_.get(), blocks_, set, meta);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("order"), std::string::npos);
  EXPECT_TRUE(List().empty());
}

TEST_P(BlockTest, ChunkOutsideTheRangeIsRejected) {
  Model model;
  model[Labels{{"__name__", "a"}}] = {{kMin, 1}, {kMax, 2}};  // max_time is exclusive
  ModelChunkSeriesSet set(model);
  BlockMeta meta;
  meta.min_time = kMin;
  meta.max_time = kMax;
  auto r = WriteBlock(fs_.get(), blocks_, set, meta);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("outside"), std::string::npos);
  EXPECT_TRUE(List().empty());
}

TEST_P(BlockTest, SmallSegmentsAndCompressedChunks) {
  std::mt19937_64 rng(3);
  Model model = testing::RandomModel(rng, 100, kMin, kMax);
  WriteBlockOptions opts;
  opts.segment_size = 4096;
  opts.compress_chunks = true;
  opts.pack_chunks = false;  // chunks as they come, zstd'd: encodings 1 and 2
  auto meta = Write(model, kMin, kMax, opts);
  auto segs = fs_->ListDir(fs::JoinPath(fs::JoinPath(blocks_, meta.ulid), "chunks"));
  ASSERT_TRUE(segs.ok());
  EXPECT_GT(segs->size(), 3u);
  EXPECT_EQ(segs->front(), "000001");
  auto block = Open(meta.ulid);
  ASSERT_TRUE(block);
  EXPECT_TRUE(block->VerifyChunks().ok());
  Matchers all = {M(MatchType::kRegexMatch, "__name__", ".+")};
  auto got = SelectAll(*block->NewQuerier(kMinTime, kMaxTime), all);
  ASSERT_TRUE(got.err.ok());
  testing::ExpectSameSeries(got.series, ModelSelect(model, all, kMinTime, kMaxTime));
}

// The encodings of a block's chunks, by counting each.
std::map<ChunkEncoding, size_t> Encodings(const Block& block) {
  std::map<ChunkEncoding, size_t> out;
  auto ids = block.index().AllPostings();
  EXPECT_TRUE(ids.ok());
  Labels labels;
  std::vector<ChunkRef> refs;
  for (uint64_t id : *ids) {
    EXPECT_TRUE(block.index().Series(id, &labels, &refs).ok());
    for (const ChunkRef& c : refs) ++out[block.chunk_reader().Read(c.ref)->encoding];
  }
  return out;
}

// Blocks written before packing (XOR, zstd'd XOR) still read, and compact into packed
// chunks holding the same samples.
TEST_P(BlockTest, OldEncodingsReadAndCompactIntoPackedChunks) {
  std::mt19937_64 rng(5);
  Model model = testing::RandomModel(rng, 200, kMin, kMax);
  Matchers all = {M(MatchType::kRegexMatch, "__name__", ".+")};
  auto want = ModelSelect(model, all, kMinTime, kMaxTime);
  std::vector<std::shared_ptr<Block>> blocks;
  for (bool compress : {false, true}) {
    WriteBlockOptions opts;
    opts.pack_chunks = false;
    opts.compress_chunks = compress;
    auto block = Open(Write(model, kMin, kMax, opts).ulid);
    ASSERT_TRUE(block);
    auto enc = Encodings(*block);
    EXPECT_EQ(enc.count(ChunkEncoding::kPacked), 0u);
    EXPECT_GT(enc[compress ? ChunkEncoding::kXorZstd : ChunkEncoding::kXor], 0u);
    testing::ExpectSameSeries(SelectAll(*block->NewQuerier(kMinTime, kMaxTime), all).series, want);
    blocks.push_back(block);
  }
  auto meta = CompactBlocks(fs_.get(), blocks_, blocks);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  auto packed = Open(meta->ulid);
  ASSERT_TRUE(packed);
  EXPECT_TRUE(packed->VerifyChunks().ok());
  EXPECT_GT(Encodings(*packed)[ChunkEncoding::kPacked], 0u);
  testing::ExpectSameSeries(SelectAll(*packed->NewQuerier(kMinTime, kMaxTime), all).series, want);
}

// Packing concatenates a series' chunks and cuts them into equal parts of at most
// packed_chunk_samples, with each part's first and last timestamp in the index.
TEST_P(BlockTest, PackedChunksAreCutEvenlyWithExactTimeRanges) {
  Model model;
  Labels l = Labels::FromPairs({{"__name__", "c"}, {"job", "x"}});
  for (int i = 0; i < 1000; ++i) model[l].push_back({kMin + int64_t{i} * 7000, double(i) * 1.5});
  WriteBlockOptions opts;
  opts.packed_chunk_samples = 300;
  auto meta = Write(model, kMin, kMax, opts);
  EXPECT_EQ(meta.num_chunks, 4u);
  EXPECT_EQ(meta.num_samples, 1000u);
  auto block = Open(meta.ulid);
  ASSERT_TRUE(block);
  EXPECT_TRUE(block->VerifyChunks().ok());
  auto ids = block->index().AllPostings();
  ASSERT_TRUE(ids.ok());
  Labels got;
  std::vector<ChunkRef> refs;
  ASSERT_TRUE(block->index().Series((*ids)[0], &got, &refs).ok());
  ASSERT_EQ(refs.size(), 4u);
  for (size_t i = 0; i < refs.size(); ++i) {
    EXPECT_EQ(refs[i].min_t, model[l][i * 250].t);
    EXPECT_EQ(refs[i].max_t, model[l][i * 250 + 249].t);
    EXPECT_EQ(block->chunk_reader().Read(refs[i].ref)->encoding, ChunkEncoding::kPacked);
  }
  // A Seek into the third chunk, and a range ending inside it.
  auto q = block->NewQuerier(model[l][600].t, model[l][620].t);
  auto r = SelectAll(*q, {M(MatchType::kEqual, "job", "x")});
  ASSERT_TRUE(r.err.ok());
  ASSERT_EQ(r.series.size(), 1u);
  EXPECT_EQ(r.series[0].second,
            std::vector<Sample>(model[l].begin() + 600, model[l].begin() + 621));

  opts.packed_chunk_samples = 0;
  ModelChunkSeriesSet set(model);
  BlockMeta m;
  m.min_time = kMin;
  m.max_time = kMax;
  EXPECT_EQ(WriteBlock(fs_.get(), blocks_, set, m, opts).status().code(),
            StatusCode::kInvalidArgument);
}

// A part whose packed form would be larger than XOR is stored as XOR.
TEST_P(BlockTest, PartsSmallerAsXorStayXor) {
  Model model;
  Labels l = Labels::FromPairs({{"__name__", "g"}});
  // A random pick of three full-precision values: XOR spends one bit on a repeat and the
  // ~54 bits that differ otherwise; the differences of the bit patterns have no common
  // factor, so packed needs a full 8-byte varint for each.
  std::mt19937_64 rng(8);
  const double vs[] = {1.0 / 3, std::sqrt(2.0), 1.0 + 1.0 / 7};
  for (int i = 0; i < 400; ++i) model[l].push_back({kMin + int64_t{i} * 15000, vs[rng() % 3]});
  WriteBlockOptions opts;
  opts.packed_zstd_level = 0;
  auto block = Open(Write(model, kMin, kMax, opts).ulid);
  ASSERT_TRUE(block);
  EXPECT_EQ(Encodings(*block), (std::map<ChunkEncoding, size_t>{{ChunkEncoding::kXor, 1}}));
  Matchers all = {M(MatchType::kRegexMatch, "__name__", ".+")};
  testing::ExpectSameSeries(SelectAll(*block->NewQuerier(kMinTime, kMaxTime), all).series,
                            ModelSelect(model, all, kMinTime, kMaxTime));
}

TEST_P(BlockTest, UlidsSortByCreation) {
  std::string prev;
  for (int i = 0; i < 1000; ++i) {
    std::string u = NewUlid();
    ASSERT_TRUE(IsUlid(u)) << u;
    ASSERT_LT(prev, u);
    prev = u;
  }
  EXPECT_EQ(UlidAt(0, 0, 0), std::string(26, '0'));
  EXPECT_EQ(UlidAt(1, 0, 0).substr(0, 10), "0000000001");
}

TEST_P(BlockTest, MetaRoundTrip) {
  BlockMeta m;
  m.ulid = NewUlid();
  m.min_time = -5;
  m.max_time = 10;
  m.num_samples = 1;
  m.num_series = 2;
  m.num_chunks = 3;
  m.level = 3;
  m.sources = {"a", "b"};
  m.parents = {"c"};
  m.resolution_ms = 300000;
  auto back = DecodeMeta(EncodeMeta(m), "meta.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
  std::string v9 = EncodeMeta(m);
  v9.replace(v9.find("\"version\":1"), 11, "\"version\":9");
  for (const std::string& bad : std::vector<std::string>{"", "{", "[]", "{\"ulid\": \"x\"}", v9}) {
    auto r = DecodeMeta(bad, "meta.json");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
}

// Queriers on several threads while another deletes: every reader sees either the data
// before a delete or after it, never a mix within one series, and nothing crashes.
TEST_P(BlockTest, ConcurrentQueriesAndDeletes) {
  std::mt19937_64 rng(99);
  Model model = testing::RandomModel(rng, 100, kMin, kMax);
  auto block = Open(Write(model).ulid);
  ASSERT_TRUE(block);
  Matchers all = {M(MatchType::kRegexMatch, "__name__", ".+")};
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, rounds{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto got = SelectAll(*block->NewQuerier(kMinTime, kMaxTime), all);
        if (!got.err.ok()) ++errors;
        for (const auto& [labels, samples] : got.series) {
          const auto& want = model.at(labels);
          // Deletions only remove samples: each one read must be in the model.
          size_t k = 0;
          for (const Sample& x : samples) {
            while (k < want.size() && want[k].t < x.t) ++k;
            if (k == want.size() || want[k].t != x.t) ++errors;
          }
        }
        ++rounds;
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    int64_t a = kMin + i * 600'000;
    ASSERT_TRUE(block->Delete(a, a + 300'000, {M(MatchType::kEqual, "__name__", "up")}).ok());
  }
  while (rounds.load() < 6) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  auto got =
      SelectAll(*block->NewQuerier(kMinTime, kMaxTime), {M(MatchType::kEqual, "__name__", "up")});
  for (const auto& [labels, samples] : got.series) {
    for (const Sample& x : samples)
      EXPECT_FALSE((x.t - kMin) % 600'000 <= 300'000 && x.t < kMin + 6'000'000);
  }
}

INSTANTIATE_TEST_SUITE_P(FileSystems, BlockTest, ::testing::ValuesIn(Backends()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace zw::tsdb
