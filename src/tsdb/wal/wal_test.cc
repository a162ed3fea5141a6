// The WAL over files: replay, repair, segments, syncing, and one case per way it can fail.
#include "tsdb/wal/wal.h"

#include <stdlib.h>

#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "tsdb/wal/framing.h"

namespace zw::wal {
namespace {

constexpr char kDir[] = "/data/wal";

// A record whose bytes depend on its index, so that a record from the wrong place shows.
std::string MakeRecord(size_t i, size_t size) {
  std::string s(size, '\0');
  uint64_t x = i * 0x9E3779B97F4A7C15ull + size;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

std::vector<std::string> MakeRecords(const std::vector<size_t>& sizes) {
  std::vector<std::string> out;
  for (size_t i = 0; i < sizes.size(); ++i) out.push_back(MakeRecord(i, sizes[i]));
  return out;
}

// Copies every file under `dir` from one file system to a new in-memory one: the image a
// crash would leave, without closing anything.
std::unique_ptr<fs::FileSystem> Snapshot(fs::FileSystem& from, const std::string& dir) {
  auto to = fs::NewMemFileSystem();
  EXPECT_TRUE(to->CreateDirs(dir).ok());
  auto names = from.ListDir(dir);
  EXPECT_TRUE(names.ok());
  for (const auto& name : names.value()) {
    auto f = to->NewWritableFile(fs::JoinPath(dir, name), true);
    EXPECT_TRUE((*f)->Append(*from.ReadFile(fs::JoinPath(dir, name))).ok());
  }
  return to;
}

class WalTest : public ::testing::Test {
 protected:
  WalTest() : mem_(fs::NewMemFileSystem()) {
    opts_.fs = mem_.get();
    opts_.dir = kDir;
    opts_.segment_size = 2 * kPageSize;
    opts_.sync = SyncMode::kAlways;
  }

  std::unique_ptr<Wal> Open(ReplayReport* report = nullptr) {
    replayed_.clear();
    auto w = Wal::Open(
        opts_, [this](std::string_view r) { replayed_.emplace_back(r); }, report);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }

  void Write(Wal& w, const std::vector<std::string>& records) {
    for (const auto& r : records) ASSERT_TRUE(w.Log(r).ok());
  }

  // Writes `records` and closes; returns the segment indices written.
  std::vector<int> WriteAndClose(const std::vector<std::string>& records) {
    auto w = Open();
    Write(*w, records);
    EXPECT_TRUE(w->Close().ok());
    return *w->Segments();
  }

  std::string SegPath(int i) const { return fs::JoinPath(kDir, Wal::SegmentName(i)); }
  std::string ReadSeg(int i) { return *mem_->ReadFile(SegPath(i)); }
  void WriteSeg(fs::FileSystem& fs, int i, std::string_view data) {
    auto f = fs.NewWritableFile(SegPath(i), true);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
  }

  std::unique_ptr<fs::FileSystem> mem_;
  Options opts_;
  std::vector<std::string> replayed_;
};

// Where each record ends, as (segment index, offset just past its last fragment).
std::vector<std::pair<int, uint64_t>> RecordEnds(fs::FileSystem& fs, const std::vector<int>& segs) {
  std::vector<std::pair<int, uint64_t>> ends;
  for (int s : segs) {
    std::string data = *fs.ReadFile(fs::JoinPath(kDir, Wal::SegmentName(s)));
    SegmentReader r(data, "");
    std::string_view rec;
    while (r.Next(&rec)) ends.emplace_back(s, r.good_end());
    EXPECT_TRUE(r.status().ok());
  }
  return ends;
}

// Silences the repair warnings of tests that repair thousands of times.
class QuietLog {
 public:
  QuietLog() : old_(spdlog::get_level()) { spdlog::set_level(spdlog::level::err); }
  ~QuietLog() { spdlog::set_level(old_); }

 private:
  spdlog::level::level_enum old_;
};

std::vector<std::string> Prefix(const std::vector<std::string>& v, size_t n) {
  return std::vector<std::string>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
}

TEST_F(WalTest, OpenCreatesDirectoryAndFirstSegment) {
  auto w = Open();
  EXPECT_TRUE(mem_->Exists(kDir));
  EXPECT_EQ(w->CurrentSegment(), 0);
  EXPECT_EQ(*w->Segments(), std::vector<int>{0});
  EXPECT_TRUE(replayed_.empty());
}

TEST_F(WalTest, RoundTripManySizesAcrossSegments) {
  const size_t p = kPageSize, h = kHeaderSize;
  auto records = MakeRecords({0, 1, 100, p - h, p - h + 1, p - h - 1, p, 2 * (p - h), 0, 3 * p + 17,
                              1 << 20, 7, (5 << 20) + 3, 1, 2 * p - 3 * h, 0});
  auto segs = WriteAndClose(records);
  EXPECT_GT(segs.size(), 5u);
  ReplayReport report;
  auto w = Open(&report);
  EXPECT_EQ(replayed_, records);
  EXPECT_EQ(report.records, records.size());
  EXPECT_EQ(report.corruptions, 0u);
  EXPECT_EQ(w->stats().records_replayed.load(), records.size());
}

TEST_F(WalTest, BatchEqualsSingleRecords) {
  auto records = MakeRecords({10, 40000, 0, 5, 70000, 3});
  {
    auto w = Open();
    std::vector<std::string_view> views(records.begin(), records.end());
    ASSERT_TRUE(w->Log(std::span<const std::string_view>(views)).ok());
    ASSERT_TRUE(w->Log(std::span<const std::string_view>()).ok());
    EXPECT_EQ(w->stats().records_written.load(), records.size());
    EXPECT_EQ(w->stats().batches_written.load(), 1u);
  }
  Open();
  EXPECT_EQ(replayed_, records);
}

TEST_F(WalTest, ReopenStartsNewSegmentAndKeepsOldRecords) {
  auto first = MakeRecords({5, 6, 7});
  WriteAndClose(first);
  auto w = Open();
  EXPECT_EQ(replayed_, first);
  EXPECT_EQ(w->CurrentSegment(), 1);
  ASSERT_TRUE(w->Log("later").ok());
  w.reset();
  Open();
  auto want = first;
  want.push_back("later");
  EXPECT_EQ(replayed_, want);
}

TEST_F(WalTest, SegmentsAreCutAtTheSizeLimit) {
  auto w = Open();
  std::string rec(1000, 'x');
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(w->Log(rec).ok());
  std::vector<int> segs = w->Segments().value();
  ASSERT_GT(segs.size(), 2u);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    EXPECT_EQ(*mem_->FileSize(SegPath(segs[i])), opts_.segment_size) << "finished and padded";
  }
  EXPECT_EQ(w->stats().segments_created.load(), segs.size());
}

TEST_F(WalTest, OversizedRecordGetsItsOwnSegment) {
  auto records = MakeRecords({10, 3 * opts_.segment_size, 10});
  auto segs = WriteAndClose(records);
  EXPECT_EQ(segs, (std::vector<int>{0, 1, 2}));
  EXPECT_GT(*mem_->FileSize(SegPath(1)), opts_.segment_size);
  Open();
  EXPECT_EQ(replayed_, records);
}

TEST_F(WalTest, IgnoresForeignFiles) {
  ASSERT_TRUE(mem_->CreateDirs(kDir).ok());
  WriteSeg(*mem_, 0, "");
  ASSERT_TRUE(mem_->NewWritableFile(fs::JoinPath(kDir, "checkpoint.tmp"), true).ok());
  ASSERT_TRUE(mem_->NewWritableFile(fs::JoinPath(kDir, "0000001"), true).ok());
  auto w = Open();
  EXPECT_EQ(w->CurrentSegment(), 1);
  EXPECT_TRUE(mem_->Exists(fs::JoinPath(kDir, "checkpoint.tmp")));
}

TEST_F(WalTest, RejectsBadOptions) {
  Options o = opts_;
  o.segment_size = kPageSize + 1;
  EXPECT_EQ(Wal::Open(
                o, [](std::string_view) {}, nullptr)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  o = opts_;
  o.dir = "";
  EXPECT_EQ(Wal::Open(
                o, [](std::string_view) {}, nullptr)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(WalTest, LogAfterCloseFails) {
  auto w = Open();
  ASSERT_TRUE(w->Close().ok());
  EXPECT_TRUE(w->Close().ok()) << "idempotent";
  EXPECT_FALSE(w->Log("x").ok());
  EXPECT_FALSE(w->Sync().ok());
}

TEST_F(WalTest, ReportsEachFsyncToTheObserver) {
  std::vector<double> seen;
  opts_.on_fsync = [&seen](double seconds) { seen.push_back(seconds); };
  auto w = Open();
  ASSERT_TRUE(w->Log("a").ok());
  ASSERT_TRUE(w->Log("b").ok());
  ASSERT_GE(seen.size(), 2u) << "kAlways syncs every Log";
  EXPECT_EQ(seen.size(), w->stats().fsyncs.load());
  for (double s : seen) EXPECT_GE(s, 0.0);
}

// A WAL of several segments whose last one holds records of many sizes, some split.
std::vector<std::string> TailTestRecords() {
  return MakeRecords({100, 5000, 30000, 0, 200,                    // segment 0
                      40000, 1, 2, 3, kPageSize - kHeaderSize, 9,  // segments 1, 2
                      20000, 13, 0, 33000, 77, 5});                // ... and the last
}

TEST_F(WalTest, TruncatedLastSegmentAtEveryOffset) {
  QuietLog quiet;
  auto records = TailTestRecords();
  auto segs = WriteAndClose(records);
  ASSERT_GE(segs.size(), 3u);
  const int last = segs.back();
  const std::string tail = ReadSeg(last);
  auto ends = RecordEnds(*mem_, segs);
  ASSERT_EQ(ends.size(), records.size());

  for (uint64_t cut = 0; cut <= tail.size(); ++cut) {
    auto fs = Snapshot(*mem_, kDir);
    WriteSeg(*fs, last, std::string_view(tail).substr(0, cut));
    Options o = opts_;
    o.fs = fs.get();
    std::vector<std::string> got;
    ReplayReport report;
    auto w = Wal::Open(
        o, [&](std::string_view r) { got.emplace_back(r); }, &report);
    ASSERT_TRUE(w.ok()) << cut << ": " << w.status().ToString();

    size_t kept = 0;
    uint64_t good_end = 0;
    for (auto [seg, end] : ends) {
      if (seg < last || end <= cut) {
        ++kept;
        if (seg == last) good_end = end;
      }
    }
    ASSERT_EQ(got, Prefix(records, kept)) << "cut at " << cut;
    // Ending in the zeros that pad a page is a clean end; anything else is cut off.
    std::string_view rest = std::string_view(tail).substr(good_end, cut - good_end);
    bool clean = rest.find_first_not_of('\0') == std::string_view::npos;
    EXPECT_EQ(report.corruptions, clean ? 0u : 1u) << cut;
    EXPECT_EQ(report.bytes_dropped, clean ? 0 : cut - good_end) << cut;
    EXPECT_EQ(*fs->FileSize(SegPath(last)), clean ? cut : good_end) << cut;

    // The repaired WAL reads clean, takes new records, and keeps them.
    if (cut % 17 == 0 || clean) {
      ASSERT_TRUE((*w)->Log("after repair").ok());
      ASSERT_TRUE((*w)->Close().ok());
      got.clear();
      ReplayReport again;
      auto w2 = Wal::Open(
          o, [&](std::string_view r) { got.emplace_back(r); }, &again);
      ASSERT_TRUE(w2.ok());
      EXPECT_EQ(again.corruptions, 0u) << cut;
      auto want = Prefix(records, kept);
      want.push_back("after repair");
      ASSERT_EQ(got, want) << cut;
    }
  }
}

TEST_F(WalTest, RandomByteFlipsYieldAPrefix) {
  QuietLog quiet;
  auto records = TailTestRecords();
  auto segs = WriteAndClose(records);
  auto ends = RecordEnds(*mem_, segs);
  std::vector<std::string> originals;
  for (int s : segs) originals.push_back(ReadSeg(s));

  std::mt19937_64 rng(20240601);
  for (int iter = 0; iter < 1500; ++iter) {
    auto fs = Snapshot(*mem_, kDir);
    size_t si = rng() % segs.size();
    std::string data = originals[si];
    if (data.empty()) continue;
    size_t pos = rng() % data.size();
    data[pos] = static_cast<char>(data[pos] ^ (1 + rng() % 255));
    WriteSeg(*fs, segs[si], data);

    Options o = opts_;
    o.fs = fs.get();
    std::vector<std::string> got;
    ReplayReport report;
    auto w = Wal::Open(
        o, [&](std::string_view r) { got.emplace_back(r); }, &report);
    ASSERT_TRUE(w.ok()) << w.status().ToString();

    // Exactly the records that ended at or before the damaged byte survive.
    size_t kept = 0;
    for (auto [seg, end] : ends) {
      if (seg < segs[si] || (seg == segs[si] && end <= pos)) ++kept;
    }
    ASSERT_EQ(got, Prefix(records, kept)) << "segment " << segs[si] << " byte " << pos;
    EXPECT_EQ(report.corruptions, 1u);
    ASSERT_EQ(report.errors.size(), 1u);
    EXPECT_EQ(report.errors[0].code(), StatusCode::kCorruption);
    EXPECT_EQ(report.errors[0].file(), SegPath(segs[si]));
    EXPECT_LE(report.errors[0].offset(), pos);
    // Later segments are gone; the one after the damaged one is new and empty.
    std::vector<int> want_segs(segs.begin(), segs.begin() + static_cast<std::ptrdiff_t>(si) + 1);
    want_segs.push_back(segs[si] + 1);
    EXPECT_EQ((*w)->Segments().value(), want_segs);
    EXPECT_EQ(*fs->FileSize(SegPath(segs[si] + 1)), 0u);
  }
}

TEST_F(WalTest, DamageInMiddleSegmentRemovesLaterSegments) {
  auto records = MakeRecords(std::vector<size_t>(40, 10000));
  auto segs = WriteAndClose(records);
  ASSERT_GE(segs.size(), 5u);
  std::string seg2 = ReadSeg(2);
  seg2[kHeaderSize + 10] ^= 0x40;  // in the first record of segment 2
  WriteSeg(*mem_, 2, seg2);

  ReplayReport report;
  auto w = Open(&report);
  auto ends = RecordEnds(*mem_, {0, 1});
  EXPECT_EQ(replayed_, Prefix(records, ends.size()));
  EXPECT_EQ(report.corruptions, 1u);
  EXPECT_EQ(w->stats().corruptions.load(), 1u);
  EXPECT_EQ(report.errors[0].file(), SegPath(2));
  EXPECT_EQ(report.errors[0].offset(), 0u);
  EXPECT_EQ(*w->Segments(), (std::vector<int>{0, 1, 2, 3})) << "later ones removed, 3 is new";
  EXPECT_EQ(*mem_->FileSize(SegPath(2)), 0u);
  EXPECT_EQ(w->CurrentSegment(), 3);

  ASSERT_TRUE(w->Log("new").ok());
  w.reset();
  ReplayReport again;
  Open(&again);
  EXPECT_EQ(again.corruptions, 0u);
  ASSERT_FALSE(replayed_.empty());
  EXPECT_EQ(replayed_.back(), "new");
}

TEST_F(WalTest, MissingSegmentIsDamage) {
  auto records = MakeRecords(std::vector<size_t>(40, 10000));
  auto segs = WriteAndClose(records);
  ASSERT_GE(segs.size(), 5u);
  auto ends = RecordEnds(*mem_, {0, 1});
  ASSERT_TRUE(mem_->RemoveFile(SegPath(2)).ok());
  ReplayReport report;
  auto w = Open(&report);
  EXPECT_EQ(replayed_, Prefix(records, ends.size()));
  EXPECT_EQ(report.corruptions, 1u);
  EXPECT_EQ(*w->Segments(), (std::vector<int>{0, 1, 2}));
}

TEST_F(WalTest, SegmentsMayStartAfterZero) {
  auto records = MakeRecords(std::vector<size_t>(40, 10000));
  auto segs = WriteAndClose(records);
  auto ends = RecordEnds(*mem_, {0, 1});
  ASSERT_TRUE(mem_->RemoveFile(SegPath(0)).ok());
  ASSERT_TRUE(mem_->RemoveFile(SegPath(1)).ok());
  ReplayReport report;
  Open(&report);
  EXPECT_EQ(report.corruptions, 0u);
  EXPECT_EQ(replayed_, std::vector<std::string>(records.begin() + static_cast<long>(ends.size()),
                                                records.end()));
}

TEST_F(WalTest, NextSegmentAndTruncateBefore) {
  auto w = Open();
  ASSERT_TRUE(w->Log("a").ok());
  ASSERT_EQ(*w->NextSegment(), 1);
  ASSERT_TRUE(w->Log("b").ok());
  ASSERT_EQ(*w->NextSegment(), 2);
  ASSERT_TRUE(w->Log("c").ok());
  EXPECT_EQ(*w->Segments(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(w->TruncateBefore(3).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(w->TruncateBefore(2).ok());
  EXPECT_EQ(*w->Segments(), std::vector<int>{2});
  w.reset();
  Open();
  EXPECT_EQ(replayed_, std::vector<std::string>{"c"});
}

TEST_F(WalTest, RetentionKeepsWhatAReaderNeedsWithinItsByteLimit) {
  auto w = Open();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(w->Log(std::string(100, 'a' + static_cast<char>(i))).ok());
    ASSERT_EQ(*w->NextSegment(), i + 1);
  }
  int needed = 2;
  std::vector<std::pair<int, int>> dropped;
  Retention r;
  r.lowest_needed = [&] { return needed; };
  r.max_bytes = 1 << 20;
  r.on_drop = [&](int from, int to) { dropped.emplace_back(from, to); };
  w->SetRetention(r);
  ASSERT_TRUE(w->TruncateBefore(5).ok());  // 2, 3, 4 are still needed
  EXPECT_EQ(*w->Segments(), (std::vector<int>{2, 3, 4, 5, 6}));
  EXPECT_EQ(w->stats().segments_retained.load(), 3u);
  EXPECT_TRUE(dropped.empty());
  // Over the limit: the newest needed segments that fit stay, the rest go and are reported.
  const uint64_t one = *mem_->FileSize(std::string(kDir) + "/" + Wal::SegmentName(3));
  r.max_bytes = 2 * one;
  w->SetRetention(r);
  ASSERT_TRUE(w->TruncateBefore(6).ok());
  EXPECT_EQ(*w->Segments(), (std::vector<int>{4, 5, 6}));
  EXPECT_EQ(dropped, (std::vector<std::pair<int, int>>{{2, 4}}));
  EXPECT_EQ(w->stats().retained_segments_dropped.load(), 2u);
  // Not needed any more: the next truncation deletes them.
  needed = 6;
  ASSERT_TRUE(w->TruncateBefore(6).ok());
  EXPECT_EQ(*w->Segments(), std::vector<int>{6});
  EXPECT_EQ(w->stats().segments_retained.load(), 0u);
  w->SetRetention({});
}

TEST_F(WalTest, KeepBelowFirstSegmentLeavesCoveredSegmentsUnread) {
  {
    auto w = Open();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(w->Log(std::string(1, 'a' + static_cast<char>(i))).ok());
      ASSERT_EQ(*w->NextSegment(), i + 1);
    }
    ASSERT_TRUE(w->Log("d").ok());
  }
  opts_.first_segment = 2;  // a checkpoint covers 0 and 1
  opts_.keep_below_first_segment = true;
  auto w = Open();
  EXPECT_EQ(replayed_, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(*w->Segments(), (std::vector<int>{0, 1, 2, 3, 4}));
  w.reset();
  opts_.keep_below_first_segment = false;
  w = Open();
  EXPECT_EQ(replayed_, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(*w->Segments(), (std::vector<int>{2, 3, 4, 5}));
}

TEST_F(WalTest, ConcurrentLoggersKeepEachOnesOrder) {
  constexpr int kThreads = 4, kPerThread = 500;
  {
    auto w = Open();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::string rec =
              std::to_string(t) + ":" + std::to_string(i) + std::string(i * 7 % 3000, '.');
          ASSERT_TRUE(w->Log(rec).ok());
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  Open();
  ASSERT_EQ(replayed_.size(), size_t{kThreads * kPerThread});
  std::vector<int> next(kThreads, 0);
  for (const auto& r : replayed_) {
    int t = r[0] - '0';
    EXPECT_EQ(r.substr(2, r.find('.') == std::string::npos ? std::string::npos : r.find('.') - 2),
              std::to_string(next[t]++));
  }
}

// Crashes and failures, through the fault-injecting file system.

class WalFaultTest : public WalTest {
 protected:
  WalFaultTest() : faulty_(mem_.get()) { opts_.fs = &faulty_; }
  uint64_t SyncedSizeOfCurrent(const Wal& w) {
    return faulty_.SyncedSize(SegPath(w.CurrentSegment()));
  }

  fs::FaultInjectionFileSystem faulty_;
};

TEST_F(WalFaultTest, AlwaysModeLosesNothingAcknowledgedOnPowerLoss) {
  auto records = MakeRecords({10, 40000, 3, 70000, 0, 12, 65000, 1});
  auto w = Open();
  Write(*w, records);
  ASSERT_TRUE(faulty_.DropUnsyncedData().ok());  // power loss, with the WAL still open
  auto image = Snapshot(*mem_, kDir);
  w.reset();
  opts_.fs = image.get();
  ReplayReport report;
  Open(&report);
  EXPECT_EQ(replayed_, records);
  EXPECT_EQ(report.corruptions, 0u);
}

TEST_F(WalFaultTest, IntervalModePowerLossYieldsAPrefix) {
  opts_.sync = SyncMode::kInterval;
  opts_.sync_interval = std::chrono::hours(1);
  auto records = MakeRecords({10, 20, 30});
  auto w = Open();
  Write(*w, Prefix(records, 2));
  ASSERT_TRUE(w->Sync().ok());
  Write(*w, {records[2]});
  ASSERT_TRUE(faulty_.DropUnsyncedData().ok());
  auto image = Snapshot(*mem_, kDir);
  w.reset();
  opts_.fs = image.get();
  Open();
  EXPECT_EQ(replayed_, Prefix(records, 2));
}

TEST_F(WalFaultTest, KilledProcessLosesNothingAcknowledged) {
  opts_.sync = SyncMode::kInterval;
  opts_.sync_interval = std::chrono::hours(1);
  auto records = MakeRecords({10, 40000, 3, 70000});
  auto w = Open();
  Write(*w, records);
  auto image = Snapshot(*mem_, kDir);  // the page cache survives a killed process
  opts_.fs = image.get();
  Open();
  EXPECT_EQ(replayed_, records);
}

TEST_F(WalFaultTest, AlwaysModeSyncsEveryLog) {
  auto w = Open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(w->Log(MakeRecord(i, 3000)).ok());
    EXPECT_EQ(SyncedSizeOfCurrent(*w), *mem_->FileSize(SegPath(w->CurrentSegment())));
  }
  EXPECT_GE(w->stats().fsyncs.load(), 5u);
}

TEST_F(WalFaultTest, IntervalModeBackgroundSyncerSyncs) {
  opts_.sync = SyncMode::kInterval;
  opts_.sync_interval = std::chrono::milliseconds(5);
  auto w = Open();
  ASSERT_TRUE(w->Log(MakeRecord(1, 5000)).ok());
  uint64_t size = *mem_->FileSize(SegPath(w->CurrentSegment()));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (SyncedSizeOfCurrent(*w) < size && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(SyncedSizeOfCurrent(*w), size);
  EXPECT_GE(w->stats().fsyncs.load(), 1u);
  EXPECT_GT(w->stats().fsync_nanos_total.load(), 0u);
}

TEST_F(WalFaultTest, IntervalModeDoesNotSyncInLog) {
  opts_.sync = SyncMode::kInterval;
  opts_.sync_interval = std::chrono::hours(1);
  auto w = Open();
  uint64_t syncs = faulty_.SyncCount();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(w->Log(MakeRecord(i, 100)).ok());
  EXPECT_EQ(faulty_.SyncCount(), syncs);
  EXPECT_EQ(SyncedSizeOfCurrent(*w), 0u);
  ASSERT_TRUE(w->Close().ok());
  EXPECT_GT(faulty_.SyncCount(), syncs) << "Close syncs";
}

TEST_F(WalFaultTest, FinishedSegmentsAreSyncedBeforeTheyAreClosed) {
  opts_.sync = SyncMode::kInterval;
  opts_.sync_interval = std::chrono::hours(1);
  auto w = Open();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(w->Log(MakeRecord(i, 10000)).ok());
  ASSERT_TRUE(w->Sync().ok());
  std::vector<int> segs = w->Segments().value();
  for (int s : segs) EXPECT_EQ(faulty_.SyncedSize(SegPath(s)), *mem_->FileSize(SegPath(s)));
}

TEST_F(WalFaultTest, FailedWriteIsUndoneAndLogWorksAgain) {
  auto w = Open();
  ASSERT_TRUE(w->Log("before").ok());
  faulty_.SetFailWritesAfter(100);
  Status s = w->Log(MakeRecord(1, 1000));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_FALSE(w->Log("still full").ok());
  EXPECT_EQ(w->stats().write_failures.load(), 2u);
  faulty_.SetFailWritesAfter(-1);
  ASSERT_TRUE(w->Log("after").ok());
  ASSERT_TRUE(w->Close().ok());
  ReplayReport report;
  Open(&report);
  EXPECT_EQ(replayed_, (std::vector<std::string>{"before", "after"}));
  EXPECT_EQ(report.corruptions, 0u);
}

TEST_F(WalFaultTest, CrashAfterFailedWriteIsRepairedOnReplay) {
  auto w = Open();
  ASSERT_TRUE(w->Log("before").ok());
  faulty_.SetFailWritesAfter(100);
  EXPECT_FALSE(w->Log(MakeRecord(1, 1000)).ok());
  auto image = Snapshot(*mem_, kDir);  // the torn write is in the file
  opts_.fs = image.get();
  ReplayReport report;
  Open(&report);
  EXPECT_EQ(replayed_, std::vector<std::string>{"before"});
  EXPECT_EQ(report.corruptions, 1u);
  EXPECT_EQ(report.bytes_dropped, 100u);
}

TEST_F(WalFaultTest, FailedWriteDuringSegmentCut) {
  auto w = Open();
  std::vector<std::string> acked;
  faulty_.SetFailWritesAfter(3 * opts_.segment_size);
  for (int i = 0; i < 100; ++i) {
    std::string rec = MakeRecord(i, 9000);
    if (!w->Log(rec).ok()) break;
    acked.push_back(rec);
  }
  ASSERT_LT(acked.size(), 100u);
  faulty_.SetFailWritesAfter(-1);
  std::string last = MakeRecord(999, 20000);
  ASSERT_TRUE(w->Log(last).ok());
  acked.push_back(last);
  ASSERT_TRUE(w->Close().ok());
  ReplayReport report;
  Open(&report);
  EXPECT_EQ(replayed_, acked);
  EXPECT_EQ(report.corruptions, 0u);
}

TEST_F(WalFaultTest, FailedSyncIsPermanent) {
  auto w = Open();
  ASSERT_TRUE(w->Log("durable").ok());
  faulty_.SetFailSync(true);
  EXPECT_FALSE(w->Log("unsure").ok());
  faulty_.SetFailSync(false);
  EXPECT_FALSE(w->Log("refused").ok());
  EXPECT_FALSE(w->Sync().ok());
  EXPECT_GE(w->stats().fsync_failures.load(), 1u);
  EXPECT_FALSE(w->Close().ok());
  w.reset();
  Open();
  ASSERT_FALSE(replayed_.empty());
  EXPECT_EQ(replayed_[0], "durable");
  EXPECT_LE(replayed_.size(), 2u);
}

// The real file system, once.
TEST(WalPosix, RoundTripInTempDir) {
  std::string tmpl = ::testing::TempDir() + "/zw-wal-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  Options o;
  o.dir = tmpl + "/wal";
  o.segment_size = 4 * kPageSize;
  auto records = MakeRecords({0, 1, 100000, 5, 300000, 17});
  {
    auto w = Wal::Open(
        o, [](std::string_view) { FAIL(); }, nullptr);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (const auto& r : records) ASSERT_TRUE((*w)->Log(r).ok());
    ASSERT_TRUE((*w)->Sync().ok());
  }
  std::vector<std::string> got;
  auto w = Wal::Open(
      o, [&](std::string_view r) { got.emplace_back(r); }, nullptr);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(got, records);
  w->reset();
  ASSERT_TRUE(fs::PosixFileSystem()->RemoveAll(tmpl).ok());
}

// A failed write on real files is cut off before the next write, leaving no hole.
TEST(WalPosix, FailedWriteIsUndone) {
  std::string tmpl = ::testing::TempDir() + "/zw-wal-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  fs::FaultInjectionFileSystem faulty(fs::PosixFileSystem());
  Options o;
  o.fs = &faulty;
  o.dir = tmpl + "/wal";
  {
    auto w = Wal::Open(
        o, [](std::string_view) {}, nullptr);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log("before").ok());
    faulty.SetFailWritesAfter(10);
    EXPECT_FALSE((*w)->Log(MakeRecord(1, 500)).ok());
    faulty.SetFailWritesAfter(-1);
    ASSERT_TRUE((*w)->Log("after").ok());
  }
  std::vector<std::string> got;
  ReplayReport report;
  auto w = Wal::Open(
      o, [&](std::string_view r) { got.emplace_back(r); }, &report);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(got, (std::vector<std::string>{"before", "after"}));
  EXPECT_EQ(report.corruptions, 0u);
  w->reset();
  ASSERT_TRUE(fs::PosixFileSystem()->RemoveAll(tmpl).ok());
}

}  // namespace
}  // namespace zw::wal
