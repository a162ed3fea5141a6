// Head::Chunks, truncation and series garbage collection, out-of-order samples, and WAL
// checkpoints (including a crash at every file-system step of one).
#include <bit>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <unistd.h>

#include <gtest/gtest.h>

#include "storage/series_set.h"
#include "tsdb/head.h"
#include "tsdb/wal/checkpoint.h"

namespace zw::tsdb {
namespace {

using Model = std::map<Labels, std::map<int64_t, double>>;

const Labels kA{{"__name__", "a"}, {"job", "x"}};
const Labels kB{{"__name__", "b"}, {"job", "y"}};

std::unique_ptr<Head> MustOpen(HeadOptions o) {
  auto h = Head::Open(std::move(o));
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return std::move(h).value();
}

std::vector<Sample> Read(Head& head, const Labels& ls, int64_t mint = kMinTime,
                         int64_t maxt = kMaxTime) {
  return storage::ReadExact(head, ls, mint, maxt);
}

std::vector<Sample> FromModel(const std::map<int64_t, double>& m, int64_t mint, int64_t maxt) {
  std::vector<Sample> out;
  for (auto it = m.lower_bound(mint); it != m.end() && it->first < maxt; ++it)
    out.push_back({it->first, it->second});
  return out;
}

// Decodes a ChunkSeriesSet, checking each chunk's stated time range and the order.
std::map<Labels, std::vector<Sample>> Decode(ChunkSeriesSet& set) {
  std::map<Labels, std::vector<Sample>> out;
  std::optional<Labels> prev;
  while (set.Next()) {
    if (prev) {
      EXPECT_LT(*prev, set.labels());
    }
    prev = set.labels();
    std::vector<Sample>& got = out[set.labels()];
    EXPECT_FALSE(set.chunks().empty());
    int64_t last_max = kMinTime;
    for (const ChunkMeta& c : set.chunks()) {
      EXPECT_TRUE(last_max == kMinTime || c.min_t > last_max) << "chunks overlap";
      last_max = c.max_t;
      chunkenc::XorIterator it(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size()));
      bool first = true;
      int64_t t = 0;
      while (it.Next()) {
        if (first) {
          EXPECT_EQ(it.At().t, c.min_t);
        }
        first = false;
        t = it.At().t;
        got.push_back(it.At());
      }
      EXPECT_TRUE(it.Err().ok()) << it.Err().ToString();
      EXPECT_EQ(t, c.max_t);
    }
  }
  EXPECT_TRUE(set.Err().ok()) << set.Err().ToString();
  return out;
}

bool SameSamples(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].t != b[i].t || std::bit_cast<uint64_t>(a[i].v) != std::bit_cast<uint64_t>(b[i].v))
      return false;
  }
  return true;
}

TEST(HeadChunks, ClosedChunksInsideTheRangeAreHandedOverAsTheyAre) {
  auto head = MustOpen({});
  auto app = head->NewAppender();
  // 2.5 h at 15 s: chunks of 120 samples, cut at the 2 h boundary.
  for (int i = 0; i < 600; ++i) ASSERT_TRUE(app->Append(0, kA, int64_t{i} * 15000, i).ok());
  ASSERT_TRUE(app->Commit().ok());
  std::vector<ClosedChunk> held;
  {
    MemSeries* s = head->GetByLabels(kA);
    std::lock_guard lock(s->mu);
    held = s->Snapshot(kMinTime, kMaxTime);
  }
  auto set = head->Chunks(0, 7200000);
  ASSERT_TRUE(set->Next());
  size_t shared = 0;
  for (const ChunkMeta& c : set->chunks()) {
    for (const ClosedChunk& h : held) {
      if (h.bytes().data() == c.bytes.data()) ++shared;
    }
    EXPECT_LT(c.max_t, 7200000);
  }
  EXPECT_EQ(shared, set->chunks().size()) << "closed chunks inside the range were re-encoded";
  EXPECT_FALSE(set->Next());
  // The 2 h boundary at 7,200,000 is included by the second range.
  auto tail = head->Chunks(7200000, kMaxTime);
  auto got = Decode(*tail);
  ASSERT_EQ(got[kA].size(), 120u);
  EXPECT_EQ(got[kA].front().t, 7200000);
}

// Random series with in-order and out-of-order samples; every range, including ones that
// cut chunks in the middle, returns exactly the model's samples in [mint, maxt).
TEST(HeadChunks, RangesEqualTheSamplesInRangeWithOutOfOrderData) {
  HeadOptions o;
  o.ooo_window_ms = 3600 * 1000;
  auto head = MustOpen(o);
  std::mt19937_64 rng(7);
  Model model;
  std::vector<Labels> series;
  for (int i = 0; i < 20; ++i)
    series.push_back(Labels{{"__name__", "m"}, {"i", std::to_string(i)}});
  int64_t now = 0;
  for (int round = 0; round < 400; ++round) {
    now += 15000;
    auto app = head->NewAppender();
    for (const Labels& ls : series) {
      if (rng() % 4 == 0) continue;
      int64_t t = now;
      if (rng() % 5 == 0) t = now - static_cast<int64_t>(rng() % 3000000);  // out of order
      double v = static_cast<double>(rng() % 1000) / 8;
      auto r = app->Append(0, ls, t, v);
      auto& m = model[ls];
      auto held = m.find(t);
      if (held != m.end()) {
        // Exact duplicates are ignored; a different value at a held time is refused.
        if (held->second == v) {
          EXPECT_TRUE(r.ok());
        } else {
          EXPECT_EQ(r.status().code(), StatusCode::kDuplicate);
        }
        continue;
      }
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      m[t] = v;
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  EXPECT_GT(head->stats().out_of_order_appended.load(), 100u);
  std::vector<std::pair<int64_t, int64_t>> ranges = {
      {kMinTime, kMaxTime}, {0, 7200000}, {7200000, 14400000}, {1234567, 2345678}, {5, 6}};
  for (int i = 0; i < 10; ++i) {
    int64_t a = static_cast<int64_t>(rng() % 6000000);
    ranges.push_back({a, a + static_cast<int64_t>(rng() % 2000000)});
  }
  for (auto [mint, maxt] : ranges) {
    auto set = head->Chunks(mint, maxt);
    auto got = Decode(*set);
    for (const auto& [ls, samples] : model) {
      auto want = FromModel(samples, mint, maxt);
      auto it = got.find(ls);
      if (want.empty()) {
        EXPECT_TRUE(it == got.end()) << ls.ToString() << " has no samples in range";
        continue;
      }
      ASSERT_TRUE(it != got.end()) << ls.ToString();
      EXPECT_TRUE(SameSamples(it->second, want))
          << ls.ToString() << " [" << mint << "," << maxt << ")";
    }
    // Queries (inclusive range) agree too.
    if (maxt != kMaxTime && mint < maxt) {
      for (const auto& [ls, samples] : model) {
        EXPECT_TRUE(SameSamples(Read(*head, ls, mint, maxt - 1), FromModel(samples, mint, maxt)));
      }
    }
  }
}

TEST(HeadTruncate, DropsOldSamplesAndCollectsEmptySeries) {
  auto head = MustOpen({});
  auto app = head->NewAppender();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(app->Append(0, kA, int64_t{i} * 15000, i).ok());
  auto old_ref = app->Append(0, kB, 1000, 1);  // only below the truncation point
  ASSERT_TRUE(old_ref.ok());
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_EQ(head->NumSeries(), 2u);
  const int64_t mint = 7200000;
  ASSERT_TRUE(head->Truncate(mint).ok());
  EXPECT_EQ(head->MinValidTime(), mint);
  EXPECT_EQ(head->MinTime(), mint);
  EXPECT_EQ(head->NumSeries(), 1u);
  EXPECT_EQ(head->stats().series_removed.load(), 1u);
  EXPECT_EQ(head->GetByLabels(kB), nullptr);
  EXPECT_EQ(head->GetByRef(*old_ref), nullptr);
  EXPECT_EQ(head->postings().Get("job", "y"), Postings{});
  EXPECT_EQ(head->postings().All().size(), 1u);
  auto q = head->NewQuerier(kMinTime, kMaxTime);
  EXPECT_EQ(*q->LabelValues("job", {}), std::vector<std::string>{"x"});
  q.reset();
  auto got = Read(*head, kA);
  ASSERT_EQ(got.size(), 1000u - 480u);  // nothing below mint, even from a straddling chunk
  EXPECT_EQ(got.front().t, mint);
  auto chunks = Decode(*head->Chunks(kMinTime, kMaxTime));
  EXPECT_EQ(chunks[kA].front().t, mint);
  // Older samples are out of bounds now, with a per-sample error.
  app = head->NewAppender();
  auto r = app->Append(0, kB, mint - 1, 1);
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfBounds);
  EXPECT_NE(r.status().message().find("b"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(std::to_string(mint - 1)), std::string::npos);
  EXPECT_EQ(head->stats().out_of_bounds_rejected.load(), 1u);
  // The collected series comes back under a new reference; the old one falls back to labels.
  auto again = app->Append(*old_ref, kB, mint + 5, 2);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *old_ref);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(Read(*head, kB), (std::vector<Sample>{{mint + 5, 2}}));
}

TEST(HeadTruncate, SeriesWithAnOpenAppenderIsNotCollected) {
  auto head = MustOpen({});
  {
    auto app = head->NewAppender();
    ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  // An appender on another thread holds a pending sample for the series while it truncates.
  std::unique_ptr<storage::Appender> app;
  std::thread([&] {
    app = head->NewAppender();
    ASSERT_TRUE(app->Append(0, kA, 5000, 5).ok());
  }).join();
  std::thread truncator([&] { ASSERT_TRUE(head->Truncate(2000).ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Truncate waits for the appender (it may hold series pointers); committing releases it.
  ASSERT_TRUE(app->Commit().ok());
  app.reset();
  truncator.join();
  EXPECT_EQ(head->NumSeries(), 1u);
  EXPECT_EQ(Read(*head, kA), (std::vector<Sample>{{5000, 5}}));
}

TEST(HeadTruncate, RefusesWhenTheCallerHoldsAReader) {
  auto head = MustOpen({});
  auto q = head->NewQuerier(0, 1);
  EXPECT_EQ(head->Truncate(10).code(), StatusCode::kInvalidArgument);
  q.reset();
  EXPECT_TRUE(head->Truncate(10).ok());
}

TEST(HeadOutOfOrder, WindowDuplicatesAndErrors) {
  auto head = MustOpen({});  // default window: 30 min
  const int64_t base = 10 * 3600 * 1000;
  auto app = head->NewAppender();
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(app->Append(0, kA, base + i * 10000, i).ok());
  ASSERT_TRUE(app->Commit().ok());
  const int64_t maxt = base + 299 * 10000;
  app = head->NewAppender();
  // Inside the window and between held samples: accepted.
  ASSERT_TRUE(app->Append(0, kA, maxt - 5000, -1).ok());
  ASSERT_TRUE(app->Append(0, kA, maxt - 1795000, -2).ok());  // near the window's edge
  // Too old: rejected, naming series and timestamp.
  auto r = app->Append(0, kA, maxt - 1800001, -3);
  ASSERT_EQ(r.status().code(), StatusCode::kOutOfOrder);
  EXPECT_NE(r.status().message().find(kA.ToString()), std::string::npos);
  EXPECT_NE(r.status().message().find(std::to_string(maxt - 1800001)), std::string::npos);
  // Duplicates of samples in closed chunks, in the open chunk, anywhere: exact ones are
  // ignored, others refused (also when older than the window).
  EXPECT_TRUE(app->Append(0, kA, base, 0).ok());
  EXPECT_EQ(app->Append(0, kA, base, 9).status().code(), StatusCode::kDuplicate);
  EXPECT_TRUE(app->Append(0, kA, base + 290 * 10000, 290).ok());
  EXPECT_EQ(app->Append(0, kA, base + 290 * 10000, 1).status().code(), StatusCode::kDuplicate);
  ASSERT_TRUE(app->Commit().ok());
  app = head->NewAppender();
  EXPECT_TRUE(app->Append(0, kA, maxt - 5000, -1).ok());  // duplicate of an out-of-order one
  EXPECT_EQ(app->Append(0, kA, maxt - 5000, 3).status().code(), StatusCode::kDuplicate);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(head->stats().out_of_order_appended.load(), 2u);
  EXPECT_EQ(head->stats().out_of_order_rejected.load(), 1u);
  auto got = Read(*head, kA);
  ASSERT_EQ(got.size(), 302u);
  for (size_t i = 1; i < got.size(); ++i) ASSERT_LT(got[i - 1].t, got[i].t);
  auto q = head->NewQuerier(maxt - 10000, maxt);
  auto set = q->Select(false, nullptr, {Matcher::MustMake(MatchType::kEqual, "__name__", "a")});
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  ASSERT_TRUE(it->Seek(maxt - 6000));
  EXPECT_EQ(it->At(), (Sample{maxt - 5000, -1}));
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At().t, maxt);
  EXPECT_FALSE(it->Next());
}

TEST(HeadOutOfOrder, OutOfOrderWithinOneTransaction) {
  auto head = MustOpen({});
  auto app = head->NewAppender();
  ASSERT_TRUE(app->Append(0, kA, 100000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  app = head->NewAppender();
  ASSERT_TRUE(app->Append(0, kA, 300000, 3).ok());
  ASSERT_TRUE(app->Append(0, kA, 200000, 2).ok());  // older than the pending one
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(Read(*head, kA), (std::vector<Sample>{{100000, 1}, {200000, 2}, {300000, 3}}));
}

TEST(HeadOutOfOrder, SurvivesWalReplay) {
  auto mem = fs::NewMemFileSystem();
  HeadOptions o;
  o.fs = mem.get();
  o.dir = "/data";
  std::vector<Sample> want;
  {
    auto head = MustOpen(o);
    auto app = head->NewAppender();
    for (int i = 0; i < 200; ++i) {
      int64_t t = 1000000 + (i % 2 ? i * 1000 : (200 - i) * 1000);
      ASSERT_TRUE(app->Append(0, kA, t, i).ok());
      ASSERT_TRUE(app->Commit().ok());
      app = head->NewAppender();
    }
    want = Read(*head, kA);
    ASSERT_EQ(want.size(), 200u);
    // Long after, the window has moved on: replay must still take what was accepted.
    ASSERT_TRUE(app->Append(0, kA, 1000000 + 100000000, 0).ok());
    ASSERT_TRUE(app->Commit().ok());
    want.push_back({1000000 + 100000000, 0});
  }
  auto head = MustOpen(o);
  EXPECT_TRUE(SameSamples(Read(*head, kA), want));
}

TEST(HeadReplay, SkipsSamplesBelowTheMinValidTime) {
  auto mem = fs::NewMemFileSystem();
  HeadOptions o;
  o.fs = mem.get();
  o.dir = "/data";
  {
    auto head = MustOpen(o);
    auto app = head->NewAppender();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(app->Append(0, kA, i * 1000, i).ok());
    ASSERT_TRUE(app->Append(0, kB, 5000, 1).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  o.min_valid_time = 50000;
  auto head = MustOpen(o);
  auto got = Read(*head, kA);
  ASSERT_EQ(got.size(), 50u);
  EXPECT_EQ(got.front().t, 50000);
  EXPECT_TRUE(Read(*head, kB).empty());
  EXPECT_EQ(head->stats().wal_replay_out_of_bounds.load(), 51u);
  EXPECT_EQ(head->MinValidTime(), 50000);
  auto app = head->NewAppender();
  EXPECT_EQ(app->Append(0, kA, 49999, 1).status().code(), StatusCode::kOutOfBounds);
}

std::vector<std::string> List(fs::FileSystem* fs, const std::string& dir) {
  auto l = fs->ListDir(dir);
  return l.ok() ? *l : std::vector<std::string>{};
}

TEST(HeadCheckpoint, TruncationCheckpointsAndReplayRestoresTheRest) {
  auto mem = fs::NewMemFileSystem();
  HeadOptions o;
  o.fs = mem.get();
  o.dir = "/data";
  o.wal_segment_size = 32 * 1024;
  MetricMetadata meta{MetricType::kGauge, "help a", "seconds"};
  Model model;
  {
    auto head = MustOpen(o);
    for (int i = 0; i < 2000; ++i) {
      auto app = head->NewAppender();
      storage::AppendOptions opts;
      opts.metadata = &meta;
      ASSERT_TRUE(app->Append(0, kA, int64_t{i} * 5000, i, opts).ok());
      if (i < 500) {
        ASSERT_TRUE(app->Append(0, kB, int64_t{i} * 5000, -i).ok());
      }
      ASSERT_TRUE(app->Commit().ok());
      model[kA][int64_t{i} * 5000] = i;
      if (i < 500) model[kB][int64_t{i} * 5000] = -i;
    }
    auto segments_before = List(mem.get(), "/data/wal");
    ASSERT_TRUE(head->Truncate(5000000).ok());
    EXPECT_EQ(head->stats().checkpoints.load(), 1u);
    auto names = List(mem.get(), "/data/wal");
    EXPECT_EQ(std::count_if(names.begin(), names.end(),
                            [](const std::string& n) { return n.starts_with("checkpoint."); }),
              1);
    EXPECT_LT(names.size(), segments_before.size());
    EXPECT_EQ(head->NumSeries(), 1u);  // b ended before 5,000,000 (i < 500 -> t < 2,500,000)
    // Appends continue after the checkpoint; a second truncation replaces it.
    for (int i = 2000; i < 2200; ++i) {
      auto app = head->NewAppender();
      ASSERT_TRUE(app->Append(0, kA, int64_t{i} * 5000, i).ok());
      ASSERT_TRUE(app->Commit().ok());
      model[kA][int64_t{i} * 5000] = i;
    }
    ASSERT_TRUE(head->Truncate(6000000).ok());
    int checkpoints = 0;
    for (const auto& n : List(mem.get(), "/data/wal")) checkpoints += n.starts_with("checkpoint.");
    EXPECT_EQ(checkpoints, 1);
  }
  o.min_valid_time = 6000000;
  auto head = MustOpen(o);
  EXPECT_TRUE(SameSamples(Read(*head, kA), FromModel(model[kA], 6000000, kMaxTime)));
  EXPECT_TRUE(Read(*head, kB).empty());
  EXPECT_EQ(head->NumSeries(), 1u);
  ASSERT_TRUE(head->Metadata("a").has_value());
  EXPECT_EQ(head->Metadata("a")->unit, "seconds");
  // Without the min valid time the checkpoint alone still holds nothing below mint.
  head.reset();
  o.min_valid_time = kMinTime;
  head = MustOpen(o);
  EXPECT_TRUE(SameSamples(Read(*head, kA), FromModel(model[kA], 6000000, kMaxTime)));
}

// A file system that "crashes" after a budget of mutating operations: every later one fails,
// as if the process had died there. Underneath, fault injection then drops unsynced data.
class CrashingFileSystem final : public fs::FileSystem {
 public:
  explicit CrashingFileSystem(fs::FileSystem* base) : base_(base) {}
  void Arm(int64_t budget) { budget_ = budget; }
  bool crashed() const { return budget_ == 0 && tripped_; }
  bool tripped() const { return tripped_; }

  class File final : public fs::WritableFile {
   public:
    File(CrashingFileSystem* fs, std::unique_ptr<fs::WritableFile> f) : fs_(fs), f_(std::move(f)) {}
    Status Append(std::string_view d) override {
      ZW_RETURN_IF_ERROR(fs_->Step());
      return f_->Append(d);
    }
    Status Sync() override {
      ZW_RETURN_IF_ERROR(fs_->Step());
      return f_->Sync();
    }
    Status Close() override { return f_->Close(); }
    uint64_t Size() const override { return f_->Size(); }

   private:
    CrashingFileSystem* fs_;
    std::unique_ptr<fs::WritableFile> f_;
  };

  Status Step() {
    std::lock_guard lock(mu_);
    if (budget_ < 0) return Status::Ok();
    if (budget_ == 0) {
      tripped_ = true;
      return Status::IOError("simulated crash");
    }
    --budget_;
    return Status::Ok();
  }

  Result<std::unique_ptr<fs::WritableFile>> NewWritableFile(const std::string& path,
                                                            bool truncate) override {
    ZW_RETURN_IF_ERROR(Step());
    auto f = base_->NewWritableFile(path, truncate);
    if (!f.ok()) return f.status();
    return std::unique_ptr<fs::WritableFile>(new File(this, std::move(f).value()));
  }
  Result<std::string> ReadFile(const std::string& p) override { return base_->ReadFile(p); }
  Result<std::vector<std::string>> ListDir(const std::string& d) override {
    return base_->ListDir(d);
  }
  Status CreateDirs(const std::string& d) override {
    ZW_RETURN_IF_ERROR(Step());
    return base_->CreateDirs(d);
  }
  Status RemoveFile(const std::string& p) override {
    ZW_RETURN_IF_ERROR(Step());
    return base_->RemoveFile(p);
  }
  Status RemoveAll(const std::string& p) override {
    ZW_RETURN_IF_ERROR(Step());
    return base_->RemoveAll(p);
  }
  Status Rename(const std::string& a, const std::string& b) override {
    ZW_RETURN_IF_ERROR(Step());
    return base_->Rename(a, b);
  }
  Status Truncate(const std::string& p, uint64_t n) override {
    ZW_RETURN_IF_ERROR(Step());
    return base_->Truncate(p, n);
  }
  Result<uint64_t> FileSize(const std::string& p) override { return base_->FileSize(p); }
  bool Exists(const std::string& p) override { return base_->Exists(p); }
  Status SyncDir(const std::string& d) override {
    ZW_RETURN_IF_ERROR(Step());
    return base_->SyncDir(d);
  }

 private:
  fs::FileSystem* base_;
  std::mutex mu_;
  int64_t budget_ = -1;
  bool tripped_ = false;
};

// Crashes a truncation's checkpoint at every file-system step in turn; after each crash
// (and the loss of everything unsynced) the reopened head must hold exactly the acknowledged
// samples at or after mint.
TEST(HeadCheckpoint, CrashAtEveryStepKeepsEveryAcknowledgedSample) {
  const int64_t mint = 400000;
  int steps = 0;
  for (int64_t budget = 0;; ++budget) {
    SCOPED_TRACE("crash after " + std::to_string(budget) + " steps");
    auto mem = fs::NewMemFileSystem();
    fs::FaultInjectionFileSystem faulty(mem.get());
    CrashingFileSystem crashing(&faulty);
    HeadOptions o;
    o.fs = &crashing;
    o.dir = "/data";
    o.wal_sync = wal::SyncMode::kAlways;
    o.wal_segment_size = 32 * 1024;
    Model model;
    bool finished;
    {
      auto head = MustOpen(o);
      for (int i = 0; i < 300; ++i) {
        auto app = head->NewAppender();
        for (int s = 0; s < 3; ++s) {
          Labels ls{{"__name__", "m"}, {"s", std::to_string(s)}};
          if (s == 2 && i >= 100) continue;  // series 2 ends before mint: collected
          ASSERT_TRUE(app->Append(0, ls, int64_t{i} * 2000, i * 10 + s).ok());
          model[ls][int64_t{i} * 2000] = i * 10 + s;
        }
        ASSERT_TRUE(app->Commit().ok());
      }
      crashing.Arm(budget);
      Status st = head->Truncate(mint);
      finished = st.ok() && !crashing.tripped();
      if (!crashing.tripped()) crashing.Arm(0);  // the process dies right after, all the same
    }
    ASSERT_TRUE(faulty.DropUnsyncedData().ok());
    crashing.Arm(-1);
    o.min_valid_time = mint;
    auto head = MustOpen(o);
    for (const auto& [ls, samples] : model) {
      ASSERT_TRUE(SameSamples(Read(*head, ls), FromModel(samples, mint, kMaxTime)))
          << ls.ToString();
    }
    // A second life goes on normally, and a new truncation works.
    auto app = head->NewAppender();
    ASSERT_TRUE(app->Append(0, kA, 700000, 1).ok());
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_TRUE(head->Truncate(500000).ok());
    ++steps;
    if (finished) break;
    ASSERT_LT(budget, 500) << "the checkpoint never finished";
  }
  EXPECT_GT(steps, 5);  // a checkpoint takes several steps; each one was crashed
}

// Appenders, queriers and Chunks readers run while truncations garbage-collect series
// continually; readers must never see a freed series (run under ASan/TSan to be sure).
TEST(HeadTruncate, ConcurrentAppendersReadersAndTruncations) {
  auto head = MustOpen({});
  std::atomic<bool> stop{false};
  std::atomic<int64_t> now{0};
  std::atomic<uint64_t> reads{0};
  auto check_labels = [](const Labels& ls) {
    ASSERT_EQ(ls.Get("__name__"), "m");
    ASSERT_FALSE(ls.Get("gen").empty());
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      std::vector<storage::SeriesRef> refs(50, 0);
      for (int i = 0; !stop; ++i) {
        int64_t t = now.fetch_add(1000) + 1000;
        int gen = static_cast<int>(t / 20000);  // series churn: each generation is new
        auto app = head->NewAppender();
        for (int s = 0; s < 50; ++s) {
          Labels ls{{"__name__", "m"},
                    {"gen", std::to_string(gen)},
                    {"s", std::to_string(s)},
                    {"w", std::to_string(w)}};
          auto r = app->Append(refs[s], ls, t, i);
          if (r.ok()) {
            refs[s] = *r;
          } else {
            ASSERT_TRUE(r.status().code() == StatusCode::kOutOfBounds ||
                        r.status().code() == StatusCode::kOutOfOrder)
                << r.status().ToString();
          }
        }
        ASSERT_TRUE(app->Commit().ok());
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop) {
      auto q = head->NewQuerier(kMinTime, kMaxTime);
      auto set = q->Select(true, nullptr, {Matcher::MustMake(MatchType::kEqual, "__name__", "m")});
      while (set->Next()) {
        check_labels(set->At().labels());
        auto it = set->At().Iterator();
        int64_t last = kMinTime;
        while (it->Next()) {
          ASSERT_GT(it->At().t, last);
          last = it->At().t;
        }
      }
      ++reads;
    }
  });
  threads.emplace_back([&] {
    while (!stop) {
      auto set = head->Chunks(kMinTime, kMaxTime);
      while (set->Next()) {
        check_labels(set->labels());
        ASSERT_FALSE(set->chunks().empty());
      }
      ASSERT_TRUE(set->Err().ok());
      ++reads;
    }
  });
  uint64_t truncations = 0;
  for (int round = 0; round < 40; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(head->Truncate(std::max<int64_t>(0, now.load() - 30000)).ok());
    ++truncations;
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(head->stats().truncations.load(), truncations);
  EXPECT_GT(head->stats().series_removed.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  // Everything left is at or after the min valid time, and the index holds live series only.
  auto q = head->NewQuerier(kMinTime, kMaxTime);
  auto set = q->Select(false, nullptr, {Matcher::MustMake(MatchType::kEqual, "__name__", "m")});
  size_t n = 0;
  while (set->Next()) {
    auto it = set->At().Iterator();
    ASSERT_TRUE(it->Next());
    EXPECT_GE(it->At().t, head->MinValidTime());
    ++n;
  }
  EXPECT_EQ(head->postings().All().size(), head->NumSeries());
  EXPECT_LE(n, head->NumSeries());
}

// Closed chunks move to memory-mapped files once a file is full; readers, Chunks(), queries
// and truncation work the same on them, and a reopen rebuilds them from the WAL.
void MappedChunksRoundTrip(fs::FileSystem* fs, const std::string& dir) {
  HeadOptions o;
  o.fs = fs;
  o.dir = dir;
  o.head_chunk_file_size = 8192;
  Model model;
  std::vector<Labels> series;
  for (int i = 0; i < 30; ++i)
    series.push_back(Labels{{"__name__", "m"}, {"i", std::to_string(i)}});
  const std::string chunk_dir = dir + "/chunks_head";
  {
    auto head = MustOpen(o);
    for (int s = 0; s < 1500; ++s) {
      auto app = head->NewAppender();
      for (size_t i = 0; i < series.size(); ++i) {
        double v = static_cast<double>((s * 31 + static_cast<int>(i) * 7) % 97);
        ASSERT_TRUE(app->Append(0, series[i], int64_t{s} * 15000, v).ok());
        model[series[i]][int64_t{s} * 15000] = v;
      }
      ASSERT_TRUE(app->Commit().ok());
    }
    size_t mapped = 0, total = 0;
    for (const Labels& ls : series) {
      MemSeries* m = head->GetByLabels(ls);
      std::lock_guard lock(m->mu);
      for (const ClosedChunk& c : m->Snapshot(kMinTime, kMaxTime)) {
        ++total;
        mapped += c.mapped;
      }
    }
    EXPECT_GT(mapped, total / 2) << "closed chunks were not moved to mapped files";
    size_t files_before = List(fs, chunk_dir).size();
    EXPECT_GT(files_before, 3u);
    for (const Labels& ls : series)
      ASSERT_TRUE(SameSamples(Read(*head, ls), FromModel(model[ls], kMinTime, kMaxTime)));
    auto got = Decode(*head->Chunks(3600000, 18000000));
    for (const Labels& ls : series)
      ASSERT_TRUE(SameSamples(got[ls], FromModel(model[ls], 3600000, 18000000))) << ls.ToString();
    // A reader holding mapped chunks keeps them readable while truncation deletes files.
    auto q = std::make_unique<std::vector<ClosedChunk>>();
    {
      MemSeries* m = head->GetByLabels(series[0]);
      std::lock_guard lock(m->mu);
      *q = m->Snapshot(kMinTime, kMaxTime);
    }
    ASSERT_TRUE(head->Truncate(14400000).ok());
    EXPECT_LT(List(fs, chunk_dir).size(), files_before);
    std::vector<Sample> held;
    ChunksIterator it(std::move(*q), kMinTime, kMaxTime);
    while (it.Next()) held.push_back(it.At());
    EXPECT_TRUE(SameSamples(held, FromModel(model[series[0]], kMinTime, kMaxTime)));
  }
  auto head = MustOpen(o);
  for (const Labels& ls : series)
    EXPECT_TRUE(SameSamples(Read(*head, ls), FromModel(model[ls], 14400000, kMaxTime)));
}

TEST(HeadChunkDisk, MappedChunksInMemory) {
  auto mem = fs::NewMemFileSystem();
  MappedChunksRoundTrip(mem.get(), "/data");
}

TEST(HeadChunkDisk, MappedChunksOnPosix) {
  std::string dir = ::testing::TempDir() + "zw-head-mmap-" + std::to_string(::getpid());
  ASSERT_TRUE(fs::PosixFileSystem()->RemoveAll(dir).ok());
  MappedChunksRoundTrip(fs::PosixFileSystem(), dir);
  ASSERT_TRUE(fs::PosixFileSystem()->RemoveAll(dir).ok());
}

// Queries read mapped chunks through the file, not the mapping: a chunk file cut short
// underneath (which would make reading the mapping fault with SIGBUS) gives the iterator an
// error naming the chunk file.
TEST(HeadChunkDisk, QueriesReadMappedChunksThroughTheFile) {
  std::string dir = ::testing::TempDir() + "zw-head-pread-" + std::to_string(::getpid());
  fs::FileSystem* fs = fs::PosixFileSystem();
  ASSERT_TRUE(fs->RemoveAll(dir).ok());
  HeadOptions o;
  o.fs = fs;
  o.dir = dir;
  o.head_chunk_file_size = 512;  // a file per chunk or two
  auto head = MustOpen(o);
  const Labels ls{{"__name__", "m"}};
  for (int s = 0; s < 2000; ++s) {
    auto app = head->NewAppender();
    ASSERT_TRUE(app->Append(0, ls, int64_t{s} * 15000, s % 17).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  std::vector<ClosedChunk> chunks;
  {
    MemSeries* m = head->GetByLabels(ls);
    std::lock_guard lock(m->mu);
    chunks = m->Snapshot(kMinTime, kMaxTime);
  }
  ASSERT_FALSE(chunks.empty());
  ASSERT_TRUE(chunks.front().mapped);
  std::vector<uint8_t> scratch;
  auto loaded = chunks.front().Load(&scratch);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(std::equal(loaded->begin(), loaded->end(), chunks.front().data().begin(),
                         chunks.front().data().end()));
  EXPECT_EQ(loaded->data(), scratch.data()) << "a mapped chunk was not read into the buffer";

  const std::string first_file = dir + "/chunks_head/00000001";
  ASSERT_EQ(chunks.front().disk.file, 1u);
  ASSERT_TRUE(fs->Truncate(first_file, 0).ok());
  ChunksIterator it(chunks, kMinTime, kMaxTime);
  while (it.Next()) {
  }
  EXPECT_FALSE(it.Err().ok());
  EXPECT_NE(it.Err().message().find("head chunk file 1"), std::string::npos) << it.Err().ToString();
  head.reset();
  ASSERT_TRUE(fs->RemoveAll(dir).ok());
}

// A chunk cut before its file was finished moves to the mapping at its series' next append,
// not only at its next cut: the heap holds about one file's worth of closed chunks.
TEST(HeadChunkDisk, ChunksMoveToTheMappingAtTheNextAppend) {
  auto mem = fs::NewMemFileSystem();
  HeadOptions o;
  o.fs = mem.get();
  o.dir = "/data";
  o.head_chunk_file_size = 4096;
  auto head = MustOpen(o);
  std::vector<Labels> series;
  for (int i = 0; i < 20; ++i)
    series.push_back(Labels{{"__name__", "m"}, {"i", std::to_string(i)}});
  auto append_all = [&](int s) {
    auto app = head->NewAppender();
    for (size_t i = 0; i < series.size(); ++i)
      ASSERT_TRUE(app->Append(0, series[i], int64_t{s} * 15000, s * 3 + static_cast<int>(i)).ok());
    ASSERT_TRUE(app->Commit().ok());
  };
  for (int s = 0; s < 1500; ++s) append_all(s);
  // One more sample each, which cuts no chunk (the open ones hold 1500 % 120 = 60 samples).
  append_all(1500);
  size_t in_finished_files = 0, on_heap = 0;
  for (const Labels& ls : series) {
    MemSeries* m = head->GetByLabels(ls);
    std::lock_guard lock(m->mu);
    for (const ClosedChunk& c : m->Snapshot(kMinTime, kMaxTime)) {
      if (c.disk.file != 0 && head->chunk_disk()->Mapped(c.disk.file)) {
        ++in_finished_files;
        EXPECT_TRUE(c.mapped) << ls.ToString() << " chunk at " << c.min_t << " kept on the heap";
      } else {
        on_heap += c.size;
      }
    }
  }
  EXPECT_GT(in_finished_files, 100u);
  // The open chunks (copied by Snapshot) and the chunks of the file being filled.
  EXPECT_LT(on_heap, 2 * o.head_chunk_file_size);
}

TEST(MemPostings, BatchDeleteRemovesEveryListEntry) {
  MemPostings p;
  std::vector<Labels> ls;
  for (int i = 1; i <= 10; ++i) {
    ls.push_back(Labels{{"__name__", "m"}, {"i", std::to_string(i)}, {"odd", i % 2 ? "1" : "0"}});
    p.Add(static_cast<SeriesRef>(i), ls.back());
  }
  std::vector<std::pair<SeriesRef, const Labels*>> del;
  for (int i = 1; i <= 10; i += 2) del.emplace_back(static_cast<SeriesRef>(i), &ls[i - 1]);
  p.Delete(del);
  EXPECT_EQ(p.All(), (Postings{2, 4, 6, 8, 10}));
  EXPECT_EQ(p.Get("odd", "1"), Postings{});
  EXPECT_EQ(p.LabelValues("odd"), std::vector<std::string>{"0"});
  EXPECT_EQ(p.Get("__name__", "m"), (Postings{2, 4, 6, 8, 10}));
  EXPECT_EQ(p.LabelValues("i").size(), 5u);
}

}  // namespace
}  // namespace zw::tsdb
