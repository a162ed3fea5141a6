// The sender against a real head whose checkpoints truncate the WAL while the remote is down:
// the segments the remote has not read stay (wal::Retention), within the byte limit, also
// across a restart; beyond the limit the lost samples are counted.
#include "remote/remote_storage.h"

#include <stdlib.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "remote/fake_remote_testing.h"
#include "remote/head_testing.h"
#include "tsdb/head.h"

namespace zw::remote {
namespace {

using namespace std::chrono_literals;

std::vector<RemoteWriteConfig> Configs(const std::string& url) {
  auto c = ParseRemoteWriteConfigs("remote_write:\n  - url: " + url +
                                   "\n    name: r\n    queue_config: {max_samples_per_send: 500, "
                                   "batch_send_deadline: 10ms, min_backoff: 5ms, max_backoff: "
                                   "20ms, capacity: 500, min_shards: 2, max_shards: 2}\n");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : std::vector<RemoteWriteConfig>{};
}

std::unique_ptr<RemoteStorage> Start(const std::string& dir, tsdb::Head& head,
                                     const std::string& url, uint64_t max_bytes) {
  auto rs =
      std::make_unique<RemoteStorage>(RemoteStorageOptions{.data_dir = dir,
                                                           .wal_dir = dir + "/wal",
                                                           .flush_deadline = 300ms,
                                                           .poll_interval = 5ms,
                                                           .wal = head.wal(),
                                                           .wal_retention_max_bytes = max_bytes});
  EXPECT_TRUE(rs->ApplyConfig(Configs(url)).ok());
  return rs;
}

// Per series, the timestamps received, in arrival order.
std::map<std::string, std::vector<int64_t>> Received(FakeRemote& remote) {
  std::map<std::string, std::vector<int64_t>> seen;
  for (const auto& r : remote.received())
    for (const auto& [key, samples] : r.series)
      for (const auto& [t, v] : samples) seen[key].push_back(t);
  return seen;
}

void ExpectAllOnceInOrder(FakeRemote& remote, int n, int64_t to) {
  auto seen = Received(remote);
  ASSERT_EQ(seen.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto& ts = seen["__name__=m,i=" + std::to_string(i)];
    ASSERT_EQ(ts.size(), static_cast<size_t>(to)) << i;
    for (size_t k = 0; k < ts.size(); ++k) ASSERT_EQ(ts[k], static_cast<int64_t>(k)) << i;
  }
}

uint64_t Lost(const RemoteStorage& rs) {
  uint64_t lost = 0;
  rs.ForEach([&](const RemoteWriteConfig&, const QueueStats& q, const WatcherStats&) {
    lost += q.samples_lost.load();
  });
  return lost;
}

int Segments(const std::string& wal_dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(wal_dir))
    n += e.path().filename().string().size() == 8;
  return n;
}

TEST(RemoteStorage, ARemoteDownWhileTheHeadTruncatesGetsEverythingAfterwards) {
  TempDir dir;
  auto head = OpenHead(dir.path(), /*keep_covered_segments=*/true);
  FakeRemote remote([](int) { return 204; });
  auto rs = Start(dir.path(), *head, remote.url(), uint64_t{1} << 30);
  Write(*head, 10, 0, 50);
  ASSERT_EQ(remote.WaitForSamples(500), 500u);
  remote.SetStatus([](int) { return 503; });
  Write(*head, 10, 50, 2000);  // 8 segments; the queue holds ~2,000 samples, the WAL the rest
  ASSERT_GT(Segments(dir.path() + "/wal"), 6);
  ASSERT_TRUE(head->Truncate(1900).ok());  // checkpoint: everything below the cut is covered
  EXPECT_GT(head->wal()->stats().segments_retained.load(), 4u);  // kept for the remote
  EXPECT_GT(Segments(dir.path() + "/wal"), 5);
  remote.SetStatus([](int) { return 204; });
  EXPECT_EQ(remote.WaitForSamples(20000), 20000u);
  ExpectAllOnceInOrder(remote, 10, 2000);
  EXPECT_EQ(Lost(*rs), 0u);
  rs->ForEach([](const RemoteWriteConfig&, const QueueStats&, const WatcherStats& w) {
    EXPECT_EQ(w.segments_skipped.load(), 0u);
  });
  // Caught up: the next truncation deletes what was kept.
  Write(*head, 10, 2000, 2010);
  ASSERT_EQ(remote.WaitForSamples(20100), 20100u);
  ASSERT_TRUE(head->Truncate(2005).ok());
  EXPECT_LE(head->wal()->stats().segments_retained.load(), 1u);
  EXPECT_LE(Segments(dir.path() + "/wal"), 3);
  rs->Stop();
}

TEST(RemoteStorage, KeptSegmentsSurviveARestartAndAreSentAfterIt) {
  TempDir dir;
  FakeRemote remote([](int) { return 204; });
  {
    auto head = OpenHead(dir.path(), /*keep_covered_segments=*/true);
    auto rs = Start(dir.path(), *head, remote.url(), uint64_t{1} << 30);
    Write(*head, 10, 0, 50);
    ASSERT_EQ(remote.WaitForSamples(500), 500u);
    remote.SetStatus([](int) { return 503; });
    Write(*head, 10, 50, 2000);
    ASSERT_TRUE(head->Truncate(1900).ok());
    EXPECT_GT(head->wal()->stats().segments_retained.load(), 4u);
    rs.reset();  // stops: the remote is down, progress stays where it was acknowledged
    ASSERT_TRUE(head->Close().ok());
  }
  auto head = OpenHead(
      dir.path(),
      /*keep_covered_segments=*/true);  // keeps the covered segments, replays the checkpoint
  remote.SetStatus([](int) { return 204; });
  auto rs = Start(dir.path(), *head, remote.url(), uint64_t{1} << 30);
  EXPECT_EQ(remote.WaitForSamples(20000), 20000u);
  ExpectAllOnceInOrder(remote, 10, 2000);
  EXPECT_EQ(Lost(*rs), 0u);
  rs->Stop();
}

TEST(RemoteStorage, SegmentsOverTheLimitAreDeletedAndTheirSamplesCounted) {
  TempDir dir;
  auto head = OpenHead(dir.path(), /*keep_covered_segments=*/true);
  FakeRemote remote([](int) { return 204; });
  auto rs = Start(dir.path(), *head, remote.url(), 64 * 1024);  // about two segments
  Write(*head, 10, 0, 50);
  ASSERT_EQ(remote.WaitForSamples(500), 500u);
  remote.SetStatus([](int) { return 503; });
  Write(*head, 10, 50, 2000);
  ASSERT_TRUE(head->Truncate(1900).ok());
  EXPECT_GT(head->wal()->stats().retained_segments_dropped.load(), 0u);
  const uint64_t lost = Lost(*rs);
  EXPECT_GT(lost, 0u);
  remote.SetStatus([](int) { return 204; });
  // Everything not lost arrives; the lost samples are exactly the missing ones.
  for (int i = 0; i < 500 && remote.samples() + lost < 20000; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(remote.samples() + lost, 20000u);
  rs->ForEach([](const RemoteWriteConfig&, const QueueStats&, const WatcherStats& w) {
    EXPECT_GT(w.segments_skipped.load(), 0u);
  });
  std::map<std::string, std::vector<int64_t>> seen = Received(remote);
  for (const auto& [key, ts] : seen) {
    for (size_t k = 1; k < ts.size(); ++k) ASSERT_LT(ts[k - 1], ts[k]) << key;  // in order, once
  }
  rs->Stop();
}

}  // namespace
}  // namespace zw::remote
