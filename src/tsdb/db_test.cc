#include "tsdb/db.h"

#include <map>
#include <random>

#include <gtest/gtest.h>

#include "storage/series_set.h"

namespace zw::tsdb {
namespace {

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kStep = 15 * 1000;

using Model = std::map<Labels, std::map<int64_t, double>>;

Labels Series(int i) {
  return Labels::FromPairs({{"__name__", i % 2 ? "req_total" : "mem_bytes"},
                            {"instance", "host" + std::to_string(i)},
                            {"job", "api"}});
}

class DBTest : public ::testing::Test {
 protected:
  void SetUp() override { fs_ = fs::NewMemFileSystem(); }

  DBOptions Options() {
    DBOptions o;
    o.dir = "/data";
    o.fs = fs_.get();
    o.background = false;
    o.head.wal_sync = wal::SyncMode::kAlways;
    return o;
  }

  void Open(DBOptions o) {
    db_.reset();
    auto db = DB::Open(std::move(o));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
  }

  // Appends `n` series at 15 s from `from` (inclusive) to `to` (exclusive), one commit per
  // step, recording what was accepted in model_.
  void Fill(int n, int64_t from, int64_t to) {
    for (int64_t t = from; t < to; t += kStep) {
      auto app = db_->NewAppender();
      for (int i = 0; i < n; ++i) {
        double v = static_cast<double>(t / kStep) + i;
        auto r = app->Append(0, Series(i), t, v);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        model_[Series(i)][t] = v;
      }
      ASSERT_TRUE(app->Commit().ok());
    }
  }

  // Every series and sample in [mint, maxt] exactly once, in order.
  void ExpectModel(int64_t mint = kMinTime, int64_t maxt = kMaxTime) {
    auto q = db_->NewQuerier(mint, maxt);
    auto set = q->Select(true, nullptr, {Matcher::MustMake(MatchType::kEqual, "job", "api")});
    Model got;
    while (set->Next()) {
      auto it = set->At().Iterator();
      auto& m = got[set->At().labels()];
      int64_t last = kMinTime;
      while (it->Next()) {
        Sample s = it->At();
        ASSERT_GT(s.t, last) << "duplicate or unordered sample in "
                             << set->At().labels().ToString();
        last = s.t;
        m[s.t] = s.v;
      }
      ASSERT_TRUE(it->Err().ok()) << it->Err().ToString();
    }
    ASSERT_TRUE(set->Err().ok()) << set->Err().ToString();
    Model want;
    for (auto& [ls, samples] : model_) {
      for (auto [t, v] : samples) {
        if (t >= mint && t <= maxt) want[ls][t] = v;
      }
    }
    ASSERT_EQ(got.size(), want.size());
    for (auto& [ls, samples] : want) {
      ASSERT_EQ(got[ls].size(), samples.size()) << ls.ToString();
      EXPECT_EQ(got[ls], samples) << ls.ToString();
    }
  }

  std::unique_ptr<fs::FileSystem> fs_;
  std::unique_ptr<DB> db_;
  Model model_;
};

TEST_F(DBTest, HeadIsCutIntoBlocksWithoutLosingOrDuplicatingSamples) {
  Open(Options());
  Fill(20, 0, 3 * kHour + 30 * 60 * 1000);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto blocks = db_->Blocks();
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0]->meta().min_time, 0);
  EXPECT_EQ(blocks[0]->meta().max_time, 2 * kHour);
  EXPECT_EQ(blocks[0]->meta().num_series, 20u);
  EXPECT_EQ(blocks[0]->meta().num_samples, 20u * (2 * kHour / kStep));
  EXPECT_GE(db_->head().MinTime(), 2 * kHour);
  ExpectModel();
  // Ranges that straddle the boundary, and one inside each side.
  ExpectModel(2 * kHour - kStep, 2 * kHour + kStep);
  ExpectModel(kHour, kHour);
  ExpectModel(3 * kHour, 4 * kHour);
}

TEST_F(DBTest, SamplesOlderThanTheNewestBlockAreRejected) {
  Open(Options());
  Fill(2, 0, 4 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto app = db_->NewAppender();
  auto r = app->Append(0, Series(7), kHour, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfBounds) << r.status().ToString();
}

TEST_F(DBTest, BlocksAreCompactedIntoLargerRanges) {
  Open(Options());
  Fill(10, 0, 8 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto blocks = db_->Blocks();
  ASSERT_FALSE(blocks.empty());
  // [0, 6h) is full and closed: one level-2 block made of three 2 h blocks.
  EXPECT_EQ(blocks[0]->meta().min_time, 0);
  EXPECT_EQ(blocks[0]->meta().max_time, 6 * kHour);
  EXPECT_EQ(blocks[0]->meta().level, 2);
  EXPECT_EQ(blocks[0]->meta().parents.size(), 3u);
  EXPECT_EQ(blocks[0]->meta().sources.size(), 3u);
  ExpectModel();
  ExpectModel(6 * kHour - 1, 6 * kHour);
}

TEST_F(DBTest, ReopeningKeepsEverySampleOnce) {
  Open(Options());
  Fill(10, 0, 7 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Fill(10, 7 * kHour, 7 * kHour + 10 * kStep);
  ASSERT_TRUE(db_->Close().ok());
  Open(Options());
  ExpectModel();
  // And the head goes on accepting where it stopped.
  Fill(10, 7 * kHour + 10 * kStep, 8 * kHour);
  ExpectModel();
}

TEST_F(DBTest, UnfinishedAndSupersededBlocksAreRemovedAtOpen) {
  Open(Options());
  Fill(5, 0, 4 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  ASSERT_TRUE(db_->Close().ok());
  ASSERT_TRUE(fs_->CreateDirs("/data/blocks/01ZZZZZZZZZZZZZZZZZZZZZZZZ.tmp/chunks").ok());
  Open(Options());
  EXPECT_FALSE(fs_->Exists("/data/blocks/01ZZZZZZZZZZZZZZZZZZZZZZZZ.tmp"));
  ExpectModel();
}

TEST_F(DBTest, ADamagedBlockIsQuarantinedAndTheRestStillAnswers) {
  Open(Options());
  Fill(5, 0, 6 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto blocks = db_->Blocks();
  ASSERT_EQ(blocks.size(), 2u);
  std::string victim = blocks[0]->dir();
  ASSERT_TRUE(db_->Close().ok());
  // Damage the index of the first block.
  std::string index = fs::JoinPath(victim, "index");
  auto bytes = fs_->ReadFile(index);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[damaged.size() / 2] ^= 0x5a;
  auto f = fs_->NewWritableFile(index, true);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(damaged).ok());
  ASSERT_TRUE((*f)->Close().ok());

  Open(Options());
  EXPECT_EQ(db_->stats().blocks_quarantined.load(), 1u);
  EXPECT_EQ(db_->Blocks().size(), 1u);
  EXPECT_TRUE(fs_->Exists("/data/blocks/corrupted"));
  // What the other block and the head hold is still there.
  for (auto& [ls, samples] : model_) {
    samples.erase(samples.begin(), samples.lower_bound(2 * kHour));
  }
  ExpectModel();
}

TEST_F(DBTest, RetentionByTimeDeletesWholeOldBlocks) {
  DBOptions o = Options();
  o.block_ranges_ms = {kHour};
  o.retention_ms = 5 * kHour;
  Open(o);
  Fill(3, 0, 12 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  int64_t newest = 12 * kHour - kStep;
  for (const auto& b : db_->Blocks()) {
    EXPECT_GT(b->meta().max_time, newest - 5 * kHour) << b->meta().ulid;
  }
  EXPECT_GT(db_->stats().retention_deletions.load(), 0u);
  // Data within retention is all there.
  for (auto& [ls, samples] : model_) {
    samples.erase(samples.begin(), samples.lower_bound(db_->Blocks().front()->meta().min_time));
  }
  ExpectModel();
}

TEST_F(DBTest, RetentionBySizeDeletesTheOldestBlocksFirst) {
  DBOptions o = Options();
  o.block_ranges_ms = {kHour};
  Open(o);
  Fill(3, 0, 10 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto before = db_->Blocks();
  ASSERT_GE(before.size(), 4u);
  uint64_t keep = before.back()->SizeBytes() + before[before.size() - 2]->SizeBytes();
  ASSERT_TRUE(db_->Close().ok());
  o.retention_bytes = keep;
  Open(o);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto after = db_->Blocks();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after.back()->meta().ulid, before.back()->meta().ulid);
}

TEST_F(DBTest, DeletedSeriesDisappearAndAreDroppedAtCompaction) {
  Open(Options());
  Fill(6, 0, 4 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Matchers victim{Matcher::MustMake(MatchType::kEqual, "instance", "host1")};
  ASSERT_TRUE(db_->Delete(kHour, 3 * kHour, victim).ok());
  auto& m = model_[Series(1)];
  m.erase(m.lower_bound(kHour), m.upper_bound(3 * kHour));
  ExpectModel();
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  for (const auto& b : db_->Blocks()) EXPECT_FALSE(b->HasTombstones());
  ExpectModel();
  ASSERT_TRUE(db_->Close().ok());
  Open(Options());
  ExpectModel();
}

TEST_F(DBTest, SnapshotHoldsBlocksAndHead) {
  Open(Options());
  Fill(4, 0, 4 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  ASSERT_TRUE(db_->Snapshot("/snap/1", true).ok());
  EXPECT_FALSE(db_->Snapshot("/snap/1", true).ok());
  // The snapshot opens as a database of its own with the same data.
  ASSERT_TRUE(db_->Close().ok());
  DBOptions o = Options();
  o.dir = "/snap/1";
  auto names = fs_->ListDir("/snap/1");
  ASSERT_TRUE(names.ok());
  ASSERT_TRUE(fs_->CreateDirs("/snap/db").ok());
  ASSERT_TRUE(fs_->Rename("/snap/1", "/snap/db/blocks").ok());
  o.dir = "/snap/db";
  Open(o);
  ExpectModel();
}

TEST_F(DBTest, OldBlocksAreDownsampledAndKeptAcrossRestarts) {
  DBOptions o = Options();
  o.block_ranges_ms = {kHour, 3 * kHour};
  o.downsample_after_ms = 2 * kHour;
  Open(o);
  Fill(4, 0, 10 * kHour);
  {
    Status st = db_->Compact();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto count = [&](int64_t res) {
    size_t n = 0;
    for (const auto& b : db_->Blocks()) n += b->meta().resolution_ms == res;
    return n;
  };
  size_t raw = count(0), m5 = count(300000), h1 = count(3600000);
  EXPECT_GT(raw, 0u);
  EXPECT_GT(m5, 0u);
  EXPECT_GT(h1, 0u);
  EXPECT_GT(db_->stats().downsamplings.load(), 0u);
  // Raw queries still see raw data only, exactly once.
  ExpectModel();
  // A downsampled block names its source as parent; that must not read as "superseded".
  ASSERT_TRUE(db_->Close().ok());
  Open(o);
  EXPECT_EQ(count(0), raw);
  EXPECT_EQ(count(300000), m5);
  EXPECT_EQ(count(3600000), h1);
  ExpectModel();
  // A coarse selection reads the downsampled blocks: max_over_time at 1 h steps equals the
  // raw maximum of each hour.
  storage::SelectHints hints;
  hints.step = kHour;
  hints.range = kHour;
  hints.func = "max_over_time";
  auto q = db_->NewQuerier(0, 10 * kHour);
  auto set = q->Select(true, &hints, {Matcher::MustMake(MatchType::kEqual, "job", "api")});
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  size_t points = 0;
  while (it->Next()) ++points;
  // The newest hours are raw (head and recent blocks); the rest is hourly points.
  EXPECT_LT(points, 10 * kHour / kStep / 2);
  EXPECT_GT(points, 0u);
}

TEST_F(DBTest, DescribeCountsCardinality) {
  Open(Options());
  Fill(6, 0, 10 * kStep);
  TsdbStatus s = db_->Describe(10);
  EXPECT_EQ(s.head_series, 6u);
  ASSERT_FALSE(s.series_count_by_metric_name.empty());
  EXPECT_EQ(s.series_count_by_metric_name[0].second, 3u);
  ASSERT_FALSE(s.label_value_count_by_label_name.empty());
  EXPECT_EQ(s.label_value_count_by_label_name[0].first, "instance");
  EXPECT_EQ(s.label_value_count_by_label_name[0].second, 6u);
}

TEST_F(DBTest, RejectsBadOptions) {
  DBOptions o = Options();
  o.block_ranges_ms = {2 * kHour, 5 * kHour};
  EXPECT_FALSE(DB::Open(o).ok());
  o = Options();
  o.head.ooo_window_ms = 2 * kHour;
  EXPECT_FALSE(DB::Open(o).ok());
}

}  // namespace
}  // namespace zw::tsdb
