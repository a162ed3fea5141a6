#include "tsdb/head.h"

#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "storage/series_set.h"

namespace zw::tsdb {
namespace {

std::unique_ptr<Head> OpenHead(fs::FileSystem* fs = nullptr, std::string dir = "") {
  HeadOptions o;
  o.dir = std::move(dir);
  if (fs) o.fs = fs;
  auto h = Head::Open(o);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return std::move(h).value();
}

std::vector<Sample> ReadAll(Head& head, const Labels& ls, int64_t mint = kMinTime,
                            int64_t maxt = kMaxTime) {
  return storage::ReadExact(head, ls, mint, maxt);
}

const Labels kUp{{"__name__", "up"}, {"job", "api"}};

TEST(Head, CommitMakesSamplesVisible) {
  auto head = OpenHead();
  auto app = head->NewAppender();
  auto ref = app->Append(0, kUp, 1000, 1);
  ASSERT_TRUE(ref.ok());
  ASSERT_TRUE(app->Append(*ref, Labels{}, 2000, 2).ok());
  EXPECT_TRUE(ReadAll(*head, kUp).empty());  // not yet committed
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, kUp), (std::vector<Sample>{{1000, 1}, {2000, 2}}));
  EXPECT_EQ(head->MinTime(), 1000);
  EXPECT_EQ(head->MaxTime(), 2000);
}

TEST(Head, RollbackDiscardsSamples) {
  auto head = OpenHead();
  auto app = head->NewAppender();
  ASSERT_TRUE(app->Append(0, kUp, 1000, 1).ok());
  app->Rollback();
  EXPECT_TRUE(ReadAll(*head, kUp).empty());
}

TEST(Head, OutOfOrderAndDuplicates) {
  HeadOptions o;
  o.ooo_window_ms = 0;  // out-of-order samples disabled: strictly increasing per series
  auto head = std::move(Head::Open(o)).value();
  auto app = head->NewAppender();
  ASSERT_TRUE(app->Append(0, kUp, 2000, 1).ok());
  EXPECT_EQ(app->Append(0, kUp, 1000, 1).status().code(),
            StatusCode::kOutOfOrder);              // within the txn
  EXPECT_TRUE(app->Append(0, kUp, 2000, 1).ok());  // same value: ignored
  EXPECT_EQ(app->Append(0, kUp, 2000, 5).status().code(), StatusCode::kDuplicate);
  ASSERT_TRUE(app->Commit().ok());
  app = head->NewAppender();
  EXPECT_EQ(app->Append(0, kUp, 1500, 1).status().code(),
            StatusCode::kOutOfOrder);  // against committed
  EXPECT_TRUE(app->Append(0, kUp, 2000, 1).ok());
  EXPECT_EQ(app->Append(0, kUp, 2000, 7).status().code(), StatusCode::kDuplicate);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, kUp), (std::vector<Sample>{{2000, 1}}));
  EXPECT_EQ(head->stats().out_of_order_rejected.load(), 2u);
}

TEST(Head, InvalidLabelsAreRejected) {
  auto head = OpenHead();
  auto app = head->NewAppender();
  EXPECT_EQ(app->Append(0, Labels{}, 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(app->Append(0, Labels{{"job", "x"}}, 1, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(app->Append(0, Labels{{"__name__", "a-b"}}, 1, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(app->Append(0, Labels{{"__name__", "a"}, {"0x", "1"}}, 1, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(app->Append(0, Labels{{"__name__", "a"}, {"x", "\xff"}}, 1, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(head->NumSeries(), 0u);
}

TEST(Head, ChunksCutAt120SamplesAndRangeBoundaries) {
  auto head = OpenHead();
  auto app = head->NewAppender();
  // 300 samples at 15 s: chunks of 120 samples, and a cut at the 2 h boundary.
  for (int i = 0; i < 600; ++i) ASSERT_TRUE(app->Append(0, kUp, int64_t{i} * 15000, i).ok());
  ASSERT_TRUE(app->Commit().ok());
  MemSeries* s = head->GetByLabels(kUp);
  ASSERT_NE(s, nullptr);
  std::lock_guard lock(s->mu);
  auto chunks = s->Snapshot(kMinTime, kMaxTime);
  ASSERT_GE(chunks.size(), 5u);
  for (const auto& c : chunks) {
    EXPECT_EQ(c.min_t / 7200000, c.max_t / 7200000) << "chunk crosses a 2h boundary";
  }
}

TEST(Head, AFullChunkIsCutAtOnceNotAtTheNextSample) {
  auto head = OpenHead();
  auto app = head->NewAppender();
  for (int i = 0; i < 240; ++i) ASSERT_TRUE(app->Append(0, kUp, int64_t{i} * 15000, i).ok());
  ASSERT_TRUE(app->Commit().ok());
  MemSeries* s = head->GetByLabels(kUp);
  ASSERT_NE(s, nullptr);
  {
    std::lock_guard lock(s->mu);
    // Two full chunks, both closed: nothing waits in the open chunk.
    EXPECT_FALSE(s->HasOpenChunkLocked());
    EXPECT_EQ(s->NumChunksLocked(), 2u);
    EXPECT_EQ(s->MaxTimeLocked(), 239 * 15000);
    EXPECT_EQ(s->LastValueLocked(), 239);
  }
  // Ordering checks still see the newest sample, and appends go on into a new chunk.
  app = head->NewAppender();
  EXPECT_FALSE(app->Append(0, kUp, 239 * 15000, 0).ok());  // conflicts with the newest
  app->Rollback();
  app = head->NewAppender();
  ASSERT_TRUE(app->Append(0, kUp, 240 * 15000, 240).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto got = ReadAll(*head, kUp, 0, 240 * 15000);
  ASSERT_EQ(got.size(), 241u);
  for (int i = 0; i <= 240; ++i) EXPECT_EQ(got[i].v, i) << i;
  std::lock_guard lock(s->mu);
  EXPECT_TRUE(s->HasOpenChunkLocked());
  EXPECT_EQ(s->NumChunksLocked(), 3u);
}

TEST(Head, QueryRangeIsInclusiveAndSeekWorks) {
  auto head = OpenHead();
  auto app = head->NewAppender();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(app->Append(0, kUp, i * 10, i).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto got = ReadAll(*head, kUp, 100, 200);
  ASSERT_EQ(got.size(), 11u);
  EXPECT_EQ(got.front().t, 100);
  EXPECT_EQ(got.back().t, 200);
  auto q = head->NewQuerier(0, 9990);
  auto set = q->Select(false, nullptr, {Matcher::MustMake(MatchType::kEqual, "__name__", "up")});
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  ASSERT_TRUE(it->Seek(5005));
  EXPECT_EQ(it->At().t, 5010);
  ASSERT_TRUE(it->Seek(10));  // never moves backwards
  EXPECT_EQ(it->At().t, 5010);
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At().t, 5020);
  EXPECT_FALSE(it->Seek(100000));
}

// The index must answer every matcher combination exactly as a scan over all series.
TEST(Head, MatchersAgreeWithBruteForce) {
  auto head = OpenHead();
  std::mt19937_64 rng(42);
  std::vector<std::string> values = {"a", "b", "c", "ab", "abc", ""};
  std::vector<Labels> all;
  auto app = head->NewAppender();
  for (int i = 0; i < 400; ++i) {
    std::vector<std::pair<std::string, std::string>> owned = {{"__name__", i % 3 ? "m1" : "m2"}};
    for (std::string name : {"x", "y", "z"})
      owned.emplace_back(name, values[rng() % values.size()]);
    std::vector<std::pair<std::string_view, std::string_view>> pairs(owned.begin(), owned.end());
    Labels ls = Labels::FromPairs(pairs);
    if (std::find(all.begin(), all.end(), ls) != all.end()) continue;
    all.push_back(ls);
    ASSERT_TRUE(app->Append(0, ls, 1, 1).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  std::vector<std::string> patterns = {"a", "", "a.*", ".*", ".+", "ab|c", "b|", "x"};
  auto q = head->NewQuerier(kMinTime, kMaxTime);
  int checked = 0;
  for (int trial = 0; trial < 500; ++trial) {
    Matchers ms;
    int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) {
      auto type = static_cast<MatchType>(rng() % 4);
      std::string name = std::vector<std::string>{"x", "y", "z", "__name__", "missing"}[rng() % 5];
      std::string value = patterns[rng() % patterns.size()];
      if (name == "__name__" && rng() % 2) value = "m1";
      ms.push_back(Matcher::MustMake(type, name, value));
    }
    std::set<Labels> want;
    for (const Labels& ls : all) {
      bool ok = true;
      for (const Matcher& m : ms) ok = ok && m.Matches(ls.Get(m.name()));
      if (ok) want.insert(ls);
    }
    std::set<Labels> got;
    auto set = q->Select(true, nullptr, ms);
    while (set->Next()) got.insert(set->At().labels());
    ASSERT_EQ(got, want) << "trial " << trial;
    ++checked;
  }
  EXPECT_EQ(checked, 500);
}

TEST(Head, LabelNamesAndValues) {
  auto head = OpenHead();
  auto app = head->NewAppender();
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "a"}, {"job", "x"}}, 1, 1).ok());
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "b"}, {"job", "y"}, {"env", "p"}}, 1, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto q = head->NewQuerier(kMinTime, kMaxTime);
  EXPECT_EQ(*q->LabelNames({}), (std::vector<std::string>{"__name__", "env", "job"}));
  EXPECT_EQ(*q->LabelValues("job", {}), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(*q->LabelValues("job", {Matcher::MustMake(MatchType::kEqual, "__name__", "a")}),
            (std::vector<std::string>{"x"}));
  EXPECT_EQ(*q->LabelNames({Matcher::MustMake(MatchType::kEqual, "__name__", "a")}),
            (std::vector<std::string>{"__name__", "job"}));
  auto narrow = head->NewQuerier(5, 10);  // no samples in range
  EXPECT_TRUE(narrow->LabelValues("job", {Matcher::MustMake(MatchType::kRegexMatch, "job", ".+")})
                  ->empty());
}

TEST(Head, ConcurrentAppendersAndQueriers) {
  auto head = OpenHead();
  constexpr int kThreads = 4, kSeries = 50, kSamples = 200;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      auto q = head->NewQuerier(kMinTime, kMaxTime);
      auto set =
          q->Select(false, nullptr, {Matcher::MustMake(MatchType::kRegexMatch, "__name__", "m.*")});
      while (set->Next()) {
        auto it = set->At().Iterator();
        int64_t last = kMinTime;
        while (it->Next()) {
          ASSERT_GT(it->At().t, last);
          last = it->At().t;
        }
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kSamples; ++i) {
        auto app = head->NewAppender();
        for (int s = 0; s < kSeries; ++s) {
          Labels ls{{"__name__", "m" + std::to_string(s)}, {"w", std::to_string(w)}};
          ASSERT_TRUE(app->Append(0, ls, i * 1000, i).ok());
        }
        ASSERT_TRUE(app->Commit().ok());
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(head->NumSeries(), size_t{kThreads * kSeries});
  EXPECT_EQ(head->stats().samples_appended.load(), uint64_t{kThreads * kSeries * kSamples});
  EXPECT_EQ(ReadAll(*head, Labels{{"__name__", "m7"}, {"w", "2"}}).size(), size_t{kSamples});
}

TEST(SmallMutex, ExcludesAcrossThreads) {
  SmallMutex mu;
  ASSERT_TRUE(mu.try_lock());
  EXPECT_FALSE(mu.try_lock());
  mu.unlock();
  int64_t counter = 0;  // not atomic: the lock alone keeps the increments apart
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        std::lock_guard lock(mu);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 80000);
}

TEST(Head, WalReplayRestoresEverything) {
  auto mem = fs::NewMemFileSystem();
  MetricMetadata meta{MetricType::kCounter, "help", ""};
  {
    auto head = OpenHead(mem.get(), "/data");
    auto app = head->NewAppender();
    storage::AppendOptions opts;
    opts.metadata = &meta;
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(app->Append(0, kUp, i * 1000, i * 0.5, opts).ok());
    ASSERT_TRUE(app->Append(0, Labels{{"__name__", "other"}}, 7, -1).ok());
    ASSERT_TRUE(app->Commit().ok());
    auto rolled = head->NewAppender();
    ASSERT_TRUE(rolled->Append(0, Labels{{"__name__", "never"}}, 9, 9).ok());
    rolled->Rollback();
    ASSERT_TRUE(head->Close().ok());
  }
  auto head = OpenHead(mem.get(), "/data");
  auto got = ReadAll(*head, kUp);
  ASSERT_EQ(got.size(), 500u);
  EXPECT_EQ(got[499], (Sample{499000, 249.5}));
  EXPECT_EQ(ReadAll(*head, Labels{{"__name__", "other"}}), (std::vector<Sample>{{7, -1}}));
  EXPECT_TRUE(ReadAll(*head, Labels{{"__name__", "never"}}).empty());
  ASSERT_TRUE(head->Metadata("up").has_value());
  EXPECT_EQ(head->Metadata("up")->type, MetricType::kCounter);
  // New references continue after the replayed ones.
  auto app = head->NewAppender();
  auto ref = app->Append(0, Labels{{"__name__", "new"}}, 1, 1);
  ASSERT_TRUE(ref.ok());
  EXPECT_GT(*ref, head->GetByLabels(kUp)->ref());
  EXPECT_NE(*ref, head->GetByLabels(Labels{{"__name__", "never"}})->ref());
}

}  // namespace
}  // namespace zw::tsdb

namespace zw::tsdb {
namespace {

HeadOptions FaultOptions(fs::FileSystem* fs, wal::SyncMode mode) {
  HeadOptions o;
  o.fs = fs;
  o.dir = "/data";
  o.wal_sync = mode;
  return o;
}

// Power loss: with --wal.sync=always every commit that returned OK survives; with an
// interval, what was not yet synced is lost (which shows the fault injection bites).
void PowerLoss(wal::SyncMode mode, size_t want_min, size_t want_max) {
  auto mem = fs::NewMemFileSystem();
  fs::FaultInjectionFileSystem faulty(mem.get());
  HeadOptions o = FaultOptions(&faulty, mode);
  o.wal_sync_interval = std::chrono::hours(1);
  auto crashed = std::move(Head::Open(o)).value();
  for (int i = 0; i < 50; ++i) {
    auto app = crashed->NewAppender();
    ASSERT_TRUE(app->Append(0, kUp, i * 1000, i).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  ASSERT_TRUE(faulty.DropUnsyncedData().ok());  // the machine dies; `crashed` never closes first
  auto head = std::move(Head::Open(o)).value();
  size_t n = ReadAll(*head, kUp).size();
  EXPECT_GE(n, want_min);
  EXPECT_LE(n, want_max);
}

TEST(HeadCrash, PowerLossKeepsEveryCommitWithSyncAlways) {
  PowerLoss(wal::SyncMode::kAlways, 50, 50);
}
TEST(HeadCrash, PowerLossLosesUnsyncedCommitsWithSyncInterval) {
  PowerLoss(wal::SyncMode::kInterval, 0, 0);
}

// A failed WAL write fails the commit, shows nothing, and the head recovers once the
// disk has room again; a restart shows exactly the acknowledged samples.
TEST(HeadCrash, FailedWalWriteFailsCommitAndShowsNothing) {
  auto mem = fs::NewMemFileSystem();
  fs::FaultInjectionFileSystem faulty(mem.get());
  {
    auto head = std::move(Head::Open(FaultOptions(&faulty, wal::SyncMode::kInterval))).value();
    auto app = head->NewAppender();
    ASSERT_TRUE(app->Append(0, kUp, 1000, 1).ok());
    ASSERT_TRUE(app->Commit().ok());
    faulty.SetFailWritesAfter(10);
    app = head->NewAppender();
    ASSERT_TRUE(app->Append(0, kUp, 2000, 2).ok());
    Status st = app->Commit();
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(ReadAll(*head, kUp), (std::vector<Sample>{{1000, 1}}));
    EXPECT_EQ(head->stats().commit_failures.load(), 1u);
    faulty.SetFailWritesAfter(-1);
    app = head->NewAppender();
    ASSERT_TRUE(app->Append(0, kUp, 3000, 3).ok());
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_TRUE(head->Close().ok());
  }
  auto head = std::move(Head::Open(FaultOptions(&faulty, wal::SyncMode::kInterval))).value();
  EXPECT_EQ(ReadAll(*head, kUp), (std::vector<Sample>{{1000, 1}, {3000, 3}}));
}

}  // namespace
}  // namespace zw::tsdb
