// The watcher over WALs written by a real Head (segment cuts, checkpoints, truncation) and
// by hand (a torn record at the tail).
#include "remote/wal_watcher.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "remote/head_testing.h"
#include "tsdb/head.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/wal.h"

namespace zw::remote {
namespace {

using namespace std::chrono_literals;

// Records what the watcher delivers; Append can be held to simulate a full queue.
class Collector final : public WriteTo {
 public:
  void StoreSeries(std::span<const record::RefSeries> series, int segment) override {
    std::lock_guard lock(mu_);
    for (const auto& s : series) {
      series_[s.ref] = s.labels;
      last_seen_[s.ref] = std::max(last_seen_[s.ref], segment);
    }
  }
  void SeriesReset(int segment) override {
    std::lock_guard lock(mu_);
    for (auto it = last_seen_.begin(); it != last_seen_.end();) {
      if (it->second < segment) {
        series_.erase(it->first);
        it = last_seen_.erase(it);
      } else {
        ++it;
      }
    }
  }
  bool Append(std::span<const record::RefSample> samples, WalPosition end) override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !held_ || stop_; });
    if (stop_) return false;
    EXPECT_GT(end, last_end_);
    last_end_ = end;
    for (const auto& s : samples) {
      auto it = series_.find(s.ref);
      if (it == series_.end()) {
        ++unknown_;
        continue;
      }
      got_[it->second][s.t] = s.v;
      ++count_;
    }
    return true;
  }
  void Hold(bool held) {
    std::lock_guard lock(mu_);
    held_ = held;
    cv_.notify_all();
  }
  void Unblock() {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  // Waits until `n` samples arrived (or 10 s passed); returns how many did.
  size_t WaitFor(size_t n) {
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard lock(mu_);
        if (count_ >= n) return count_;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mu_);
    return count_;
  }
  std::map<Labels, std::map<int64_t, double>> got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  bool Knows(uint64_t ref) {
    std::lock_guard lock(mu_);
    return series_.count(ref) > 0;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  size_t unknown() {
    std::lock_guard lock(mu_);
    return unknown_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false, stop_ = false;
  std::map<uint64_t, Labels> series_;
  std::map<uint64_t, int> last_seen_;
  std::map<Labels, std::map<int64_t, double>> got_;
  WalPosition last_end_{-1, 0};
  size_t count_ = 0, unknown_ = 0;
};

void ExpectExactly(Collector& c, int n, int64_t from, int64_t to) {
  auto got = c.got();
  ASSERT_EQ(got.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto& s = got[Series(i)];
    ASSERT_EQ(s.size(), static_cast<size_t>(to - from)) << "series " << i;
    EXPECT_EQ(s.begin()->first, from);
    for (const auto& [t, v] : s) EXPECT_EQ(v, double(t * 10 + i));
  }
}

TEST(WalWatcher, FreshStartSendsOnlyWhatFollowsAndFollowsSegmentCuts) {
  TempDir dir;
  auto head = OpenHead(dir.path());
  Write(*head, 10, 0, 50);  // before the watcher: not sent
  Collector c;
  WatcherOptions o;
  o.wal_dir = dir.path() + "/wal";
  o.poll_interval = 5ms;
  WalWatcher w(o, &c);
  w.Start(std::nullopt);
  Write(*head, 10, 50, 1050);
  EXPECT_EQ(c.WaitFor(10000), 10000u);
  ExpectExactly(c, 10, 50, 1050);
  EXPECT_GE(w.stats().segment.load(), 2);  // it followed cuts
  EXPECT_EQ(c.unknown(), 0u);
  c.Unblock();
  w.Stop();
}

TEST(WalWatcher, ResumeReadsSeriesBeforeThePositionButNotSamples) {
  TempDir dir;
  auto head = OpenHead(dir.path());
  Write(*head, 5, 0, 400);
  const int seg = head->wal()->CurrentSegment();
  const uint64_t size =
      std::filesystem::file_size(dir.path() + "/wal/" + wal::Wal::SegmentName(seg));
  Write(*head, 5, 400, 500);
  Collector c;
  WatcherOptions o;
  o.wal_dir = dir.path() + "/wal";
  o.poll_interval = 5ms;
  WalWatcher w(o, &c);
  w.Start(WalPosition{seg, size});  // a record boundary: the end of the segment back then
  EXPECT_EQ(c.WaitFor(500), 500u);
  ExpectExactly(c, 5, 400, 500);  // series records were all before the position
  c.Unblock();
  w.Stop();
}

TEST(WalWatcher, SegmentsDeletedByACheckpointAreSkippedAndItsSeriesRead) {
  TempDir dir;
  auto head = OpenHead(dir.path());
  Collector c;
  WatcherOptions o;
  o.wal_dir = dir.path() + "/wal";
  o.poll_interval = 5ms;
  WalWatcher w(o, &c);
  c.Hold(true);  // the remote is down: the watcher stalls on the first samples
  w.Start(std::nullopt);
  Write(*head, 10, 0, 3000);  // several segments
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(head->Truncate(2900).ok());  // checkpoint; the segments before it go
  ASSERT_FALSE(std::filesystem::exists(dir.path() + "/wal/00000001"));
  Write(*head, 10, 3000, 3100);  // series records of these are only in the checkpoint now
  c.Hold(false);
  // Samples of the deleted segments are lost except what the watcher had read already;
  // everything after the checkpoint arrives, resolved through the checkpoint's series.
  for (int i = 0; i < 500 && c.got()[Series(9)].count(3099) == 0; ++i)
    std::this_thread::sleep_for(10ms);
  auto got = c.got();
  for (int i = 0; i < 10; ++i) {
    for (int64_t t = 3000; t < 3100; ++t) ASSERT_EQ(got[Series(i)].count(t), 1u) << i << " " << t;
  }
  EXPECT_LT(got[Series(0)].size(), 3100u);  // some were lost with the deleted segments
  EXPECT_GT(w.stats().segments_skipped.load(), 0u);
  EXPECT_GT(w.stats().checkpoints_read.load(), 0u);
  EXPECT_EQ(c.unknown(), 0u);
  c.Unblock();
  w.Stop();
}

TEST(WalWatcher, ANewCheckpointForgetsDeadSeries) {
  TempDir dir;
  auto head = OpenHead(dir.path());
  Collector c;
  WatcherOptions o;
  o.wal_dir = dir.path() + "/wal";
  o.poll_interval = 5ms;
  WalWatcher w(o, &c);
  w.Start(std::nullopt);
  const Labels dead{{"__name__", "dead"}};
  uint64_t dead_ref;
  {
    auto app = head->NewAppender();
    auto r = app->Append(0, dead, 1, 1);
    ASSERT_TRUE(r.ok());
    dead_ref = *r;
    ASSERT_TRUE(app->Commit().ok());
  }
  Write(*head, 3, 100, 200);
  ASSERT_EQ(c.WaitFor(301), 301u);
  EXPECT_TRUE(c.Knows(dead_ref));
  ASSERT_TRUE(head->Truncate(150).ok());  // "dead" has no samples left: collected
  Write(*head, 3, 200, 210);              // lands in the segment after the checkpoint
  ASSERT_EQ(c.WaitFor(331), 331u);
  for (int i = 0; i < 200 && c.Knows(dead_ref); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(c.Knows(dead_ref));
  c.Unblock();
  w.Stop();
}

TEST(WalWatcher, TornTailIsReadOnceComplete) {
  TempDir dir;
  const std::string wal_dir = dir.path() + "/wal";
  std::string series_rec, samples_rec;
  record::EncodeSeries(std::vector<record::RefSeries>{{1, Series(1)}}, series_rec);
  record::EncodeSamples(std::vector<record::RefSample>{{1, 10, 1.5}}, samples_rec);
  {
    wal::Options wo;
    wo.dir = wal_dir;
    wo.segment_size = 32 * 1024;
    auto w = wal::Wal::Open(
        wo, [](std::string_view) {}, nullptr);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log(series_rec).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  const std::string seg = wal_dir + "/00000000";
  const uint64_t start = std::filesystem::file_size(seg);
  // A record that crosses a page boundary, so that it is split into fragments.
  std::vector<record::RefSample> many;
  for (int i = 0; i < 3000; ++i) many.push_back({1, 11 + i, double(i)});
  std::string big;
  record::EncodeSamples(many, big);
  std::string bytes;
  wal::EncodeRecord(big, start, bytes);
  Collector c;
  WatcherOptions o;
  o.wal_dir = wal_dir;
  o.poll_interval = 5ms;
  WalWatcher w(o, &c);
  w.Start(WalPosition{0, 0});
  int fd = ::open(seg.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  const size_t half = bytes.size() / 2;
  ASSERT_EQ(::write(fd, bytes.data(), half), static_cast<ssize_t>(half));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(c.count(), 0u);  // torn: nothing yet, no error either
  ASSERT_EQ(::write(fd, bytes.data() + half, bytes.size() - half),
            static_cast<ssize_t>(bytes.size() - half));
  ::close(fd);
  EXPECT_EQ(c.WaitFor(3000), 3000u);
  EXPECT_EQ(w.stats().corruptions.load(), 0u);
  EXPECT_EQ(w.stats().offset.load(), start + bytes.size());
  c.Unblock();
  w.Stop();
}

TEST(WalWatcher, DamageInAFinishedSegmentSkipsToTheNext) {
  TempDir dir;
  const std::string wal_dir = dir.path() + "/wal";
  std::filesystem::create_directories(wal_dir);
  std::string series_rec, s1, s2, bytes;
  record::EncodeSeries(std::vector<record::RefSeries>{{1, Series(1)}}, series_rec);
  record::EncodeSamples(std::vector<record::RefSample>{{1, 1, 1}}, s1);
  record::EncodeSamples(std::vector<record::RefSample>{{1, 2, 2}}, s2);
  uint64_t off = wal::EncodeRecord(series_rec, 0, bytes);
  off = wal::EncodeRecord(s1, off, bytes);
  bytes += "\x01garbage";  // a damaged fragment header after the samples
  {
    std::ofstream(wal_dir + "/00000000", std::ios::binary) << bytes;
    std::string next;
    wal::EncodeRecord(s2, 0, next);
    std::ofstream(wal_dir + "/00000001", std::ios::binary) << next;
  }
  Collector c;
  WatcherOptions o;
  o.wal_dir = wal_dir;
  o.poll_interval = 5ms;
  WalWatcher w(o, &c);
  w.Start(WalPosition{0, 0});
  EXPECT_EQ(c.WaitFor(2), 2u);
  EXPECT_EQ(c.got()[Series(1)].size(), 2u);
  EXPECT_EQ(w.stats().corruptions.load(), 1u);
  c.Unblock();
  w.Stop();
}

}  // namespace
}  // namespace zw::remote
