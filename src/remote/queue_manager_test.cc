// The queue manager against a local HTTP server that decodes what it receives: batching,
// headers, per-series order, retries, refusals, backpressure, relabelling, resuming.
#include "remote/queue_manager.h"

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "remote/fake_remote_testing.h"

namespace zw::remote {
namespace {

using namespace std::chrono_literals;

RemoteWriteConfig Config(const std::string& url, std::string extra = "") {
  auto c = ParseRemoteWriteConfigs("remote_write:\n  - url: " + url +
                                   "\n    queue_config: {max_samples_per_send: 100, "
                                   "batch_send_deadline: 20ms, min_backoff: 5ms, max_backoff: "
                                   "20ms, capacity: 1000, min_shards: 3, max_shards: 3}\n" +
                                   extra);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? (*c)[0] : RemoteWriteConfig{};
}

std::unique_ptr<QueueManager> MakeQueue(RemoteWriteConfig c, std::optional<Progress> resume = {}) {
  QueueOptions o;
  o.config = std::move(c);
  o.resume = resume;
  o.flush_deadline = 2s;
  auto q = QueueManager::Create(std::move(o));
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  return std::move(q).value();
}

Labels Series(int i) { return Labels{{"__name__", "m"}, {"i", std::to_string(i)}}; }

void AddSeries(QueueManager& q, int n) {
  std::vector<record::RefSeries> s;
  for (int i = 0; i < n; ++i) s.push_back({static_cast<uint64_t>(i + 1), Series(i)});
  q.StoreSeries(s, 0);
}

// Records t = 0..records-1, each with one sample per series; record t ends at offset t+1.
void AppendRecords(QueueManager& q, int series, int records, int first = 0) {
  for (int t = first; t < first + records; ++t) {
    std::vector<record::RefSample> s;
    for (int i = 0; i < series; ++i) s.push_back({static_cast<uint64_t>(i + 1), t, double(t + i)});
    ASSERT_TRUE(q.Append(s, WalPosition{0, static_cast<uint64_t>(t + 1)}));
  }
}

// Every series' samples arrived exactly once each, in time order.
void ExpectInOrder(FakeRemote& remote, int series, int from, int to) {
  std::map<std::string, std::vector<int64_t>> seen;
  for (const auto& r : remote.received())
    for (const auto& [key, samples] : r.series)
      for (const auto& [t, v] : samples) seen[key].push_back(t);
  ASSERT_EQ(seen.size(), static_cast<size_t>(series));
  for (int i = 0; i < series; ++i) {
    const auto& ts = seen["__name__=m,i=" + std::to_string(i)];
    ASSERT_EQ(ts.size(), static_cast<size_t>(to - from)) << i;
    for (size_t k = 0; k < ts.size(); ++k) ASSERT_EQ(ts[k], from + static_cast<int64_t>(k));
  }
}

TEST(QueueManager, BatchesWithHeadersAndKeepsEachSeriesInOrder) {
  FakeRemote remote([](int) { return 204; });
  auto q = MakeQueue(Config(remote.url(),
                            "    headers: {X-Scope-OrgID: t1}\n    basic_auth: "
                            "{username: u, password: p}\n"));
  AddSeries(*q, 20);
  AppendRecords(*q, 20, 50);
  EXPECT_EQ(remote.WaitForSamples(1000), 1000u);
  ExpectInOrder(remote, 20, 0, 50);
  auto got = remote.received();
  ASSERT_FALSE(got.empty());
  for (const auto& r : got) {
    size_t n = 0;
    for (const auto& s : r.series) n += s.second.size();
    EXPECT_LE(n, 100u);
  }
  const auto& h = got[0].headers;
  EXPECT_EQ(h.at("content-encoding"), "snappy");
  EXPECT_EQ(h.at("content-type"), "application/x-protobuf");
  EXPECT_EQ(h.at("x-prometheus-remote-write-version"), "0.1.0");
  EXPECT_EQ(h.at("user-agent"), std::string(kUserAgent));
  EXPECT_EQ(h.at("x-scope-orgid"), "t1");
  EXPECT_EQ(h.at("authorization"), "Basic dTpw");
  q->Stop();
  EXPECT_EQ(q->stats().samples_sent.load(), 1000u);
  EXPECT_EQ(q->stats().samples_pending.load(), 0);
  EXPECT_EQ(q->stats().highest_sent_ms.load(), 49);
  EXPECT_EQ(q->CurrentProgress().watermark, (WalPosition{0, 50}));
  EXPECT_LT(remote.requests(), 40);  // batched, not one request per record
}

TEST(QueueManager, RetriesServerErrorsUntilAccepted) {
  FakeRemote remote([](int n) { return n < 4 ? 503 : 204; });
  auto q = MakeQueue(Config(remote.url()));
  AddSeries(*q, 5);
  AppendRecords(*q, 5, 20);
  EXPECT_EQ(remote.WaitForSamples(100), 100u);
  ExpectInOrder(remote, 5, 0, 20);
  q->Stop();
  EXPECT_GT(q->stats().samples_retried.load(), 0u);
  EXPECT_EQ(q->stats().samples_failed.load(), 0u);
  EXPECT_EQ(q->stats().samples_sent.load(), 100u);
}

TEST(QueueManager, RefusedBatchesAreDroppedNotRetried) {
  FakeRemote remote([](int) { return 400; });
  auto q = MakeQueue(Config(remote.url()));
  AddSeries(*q, 2);
  AppendRecords(*q, 2, 10);
  for (int i = 0; i < 500 && q->stats().samples_failed.load() < 20; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(q->stats().samples_failed.load(), 20u);
  EXPECT_EQ(q->stats().samples_retried.load(), 0u);
  EXPECT_EQ(q->CurrentProgress().watermark, (WalPosition{0, 10}));  // given up: progress moves
  q->Stop();
}

TEST(QueueManager, TooManyRequestsIsRetriedOnlyWhenConfigured) {
  {
    FakeRemote remote([](int n) { return n < 2 ? 429 : 204; });
    auto q = MakeQueue(Config(remote.url()));
    AddSeries(*q, 1);
    AppendRecords(*q, 1, 5);
    EXPECT_EQ(remote.WaitForSamples(5), 5u);
    q->Stop();
    EXPECT_GT(q->stats().samples_retried.load(), 0u);
  }
  {
    FakeRemote remote([](int) { return 429; });
    RemoteWriteConfig c = Config(remote.url());
    c.queue_config.retry_on_http_429 = false;
    auto q = MakeQueue(c);
    AddSeries(*q, 1);
    AppendRecords(*q, 1, 5);
    for (int i = 0; i < 500 && q->stats().samples_failed.load() < 5; ++i)
      std::this_thread::sleep_for(10ms);
    EXPECT_EQ(q->stats().samples_failed.load(), 5u);
    q->Stop();
  }
}

TEST(QueueManager, AFullShardBlocksAppendUntilTheRemoteRecovers) {
  FakeRemote remote([](int) { return 503; });
  RemoteWriteConfig c = Config(remote.url());
  c.queue_config.capacity = 10;
  c.queue_config.min_shards = 1;
  c.queue_config.max_samples_per_send = 5;
  auto q = MakeQueue(c);
  AddSeries(*q, 1);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    AppendRecords(*q, 1, 100);
    done = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(done.load());  // bounded: at most capacity + one batch in memory
  EXPECT_LE(q->stats().samples_pending.load(), 15);
  remote.SetStatus([](int) { return 204; });
  writer.join();
  EXPECT_EQ(remote.WaitForSamples(100), 100u);
  ExpectInOrder(remote, 1, 0, 100);
  q->Stop();
}

TEST(QueueManager, OutageOfTheWholeServerIsRetried) {
  int port;
  {
    FakeRemote probe([](int) { return 204; });
    port = std::stoi(probe.url().substr(17));
  }
  // Nothing listens on `port` now: connection refused, retried.
  RemoteWriteConfig c = Config("http://127.0.0.1:" + std::to_string(port) + "/api/v1/write");
  auto q = MakeQueue(c);
  AddSeries(*q, 1);
  AppendRecords(*q, 1, 3);
  for (int i = 0; i < 300 && q->stats().samples_retried.load() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_GT(q->stats().samples_retried.load(), 0u);
  EXPECT_EQ(q->stats().samples_sent.load(), 0u);
  q->Stop();  // gives up after the flush deadline; nothing acknowledged
  EXPECT_EQ(q->CurrentProgress().watermark, (WalPosition{}));
}

TEST(QueueManager, WriteRelabelConfigsApplyPerSeries) {
  FakeRemote remote([](int) { return 204; });
  auto q = MakeQueue(Config(remote.url(), R"(    write_relabel_configs:
      - source_labels: [i]
        regex: "1"
        action: drop
      - target_label: env
        replacement: prod
)"));
  AddSeries(*q, 3);
  AppendRecords(*q, 3, 4);
  EXPECT_EQ(remote.WaitForSamples(8), 8u);
  q->Stop();
  std::map<std::string, size_t> seen;
  for (const auto& r : remote.received())
    for (const auto& [key, samples] : r.series) seen[key] += samples.size();
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["__name__=m,env=prod,i=0"], 4u);
  EXPECT_EQ(seen["__name__=m,env=prod,i=2"], 4u);
  EXPECT_EQ(q->stats().samples_dropped.load(), 4u);
}

TEST(QueueManager, ResumeSkipsWhatEachBucketHadAcknowledged) {
  FakeRemote remote([](int) { return 204; });
  RemoteWriteConfig c = Config(remote.url());
  // Series 0's bucket acknowledged records up to offset 7, everything else up to 3.
  Progress p;
  p.watermark = {0, 3};
  for (auto& b : p.buckets) b = p.watermark;
  const int bucket0 = static_cast<int>(Series(0).Hash() % kProgressBuckets);
  ASSERT_NE(bucket0, static_cast<int>(Series(1).Hash() % kProgressBuckets));
  p.buckets[static_cast<size_t>(bucket0)] = {0, 7};
  auto q = MakeQueue(c, p);
  AddSeries(*q, 2);
  AppendRecords(*q, 2, 7, 3);  // records t = 3..9, ending at offsets 4..10
  EXPECT_EQ(remote.WaitForSamples(10), 10u);
  q->Stop();
  std::map<std::string, std::vector<int64_t>> seen;
  for (const auto& r : remote.received())
    for (const auto& [key, samples] : r.series)
      for (const auto& [t, v] : samples) seen[key].push_back(t);
  EXPECT_EQ(seen["__name__=m,i=0"], (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(seen["__name__=m,i=1"], (std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(q->stats().samples_skipped.load(), 4u);
}

// A reshard drains the old shards before the new count takes over: under a steady load
// with counts changing every few records, every sample arrives exactly once and in order.
TEST(QueueManager, ReshardUnderLoadLosesAndDuplicatesNothing) {
  FakeRemote remote([](int) { return 204; });
  RemoteWriteConfig c = Config(remote.url());
  c.queue_config.min_shards = 1;
  c.queue_config.max_shards = 16;
  c.queue_config.batch_send_deadline_ms = 1000;  // only a drain flushes partial batches fast
  QueueOptions o;
  o.config = c;
  o.flush_deadline = 2s;
  o.reshard_interval = 0ms;  // no tuner: the test picks the counts
  auto created = QueueManager::Create(std::move(o));
  ASSERT_TRUE(created.ok());
  auto q = std::move(created).value();
  AddSeries(*q, 40);
  const int counts[] = {3, 16, 2, 1, 7, 4, 16, 1};
  int max_seen = 0;
  for (int round = 0; round < 8; ++round) {
    q->RequestShards(counts[round]);
    AppendRecords(*q, 40, 25, round * 25);
    max_seen = std::max<int>(max_seen, static_cast<int>(q->stats().shards.load()));
    EXPECT_EQ(q->stats().shards.load(), counts[round]);
  }
  EXPECT_EQ(remote.WaitForSamples(40 * 200), 40u * 200u);
  q->Stop();
  ExpectInOrder(remote, 40, 0, 200);
  EXPECT_EQ(remote.samples(), 40u * 200u);
  EXPECT_EQ(q->stats().reshards.load(), 8u);
  EXPECT_EQ(q->stats().samples_pending.load(), 0);
  EXPECT_EQ(q->CurrentProgress().watermark, (WalPosition{0, 200}));
  EXPECT_EQ(max_seen, 16);
}

// Requests outside [min_shards, max_shards] are clamped.
TEST(QueueManager, RequestedShardsAreClamped) {
  FakeRemote remote([](int) { return 204; });
  RemoteWriteConfig c = Config(remote.url());
  c.queue_config.min_shards = 2;
  c.queue_config.max_shards = 4;
  auto q = MakeQueue(c);
  EXPECT_EQ(q->stats().shards.load(), 2);
  EXPECT_EQ(q->stats().shards_min.load(), 2);
  EXPECT_EQ(q->stats().shards_max.load(), 4);
  AddSeries(*q, 2);
  q->RequestShards(100);
  AppendRecords(*q, 2, 1);
  EXPECT_EQ(q->stats().shards.load(), 4);
  q->RequestShards(0);
  AppendRecords(*q, 2, 1, 1);
  EXPECT_EQ(q->stats().shards.load(), 2);
  EXPECT_EQ(remote.WaitForSamples(4), 4u);
  q->Stop();
}

// A slow remote and a fast writer: the tuner raises the shard count above min_shards, and
// still every sample arrives once, in order.
TEST(QueueManager, TunerAddsShardsForASlowRemote) {
  FakeRemote remote([](int) {
    std::this_thread::sleep_for(20ms);
    return 204;
  });
  RemoteWriteConfig c = Config(remote.url());
  c.queue_config.min_shards = 1;
  c.queue_config.max_shards = 8;
  c.queue_config.max_samples_per_send = 50;
  QueueOptions o;
  o.config = c;
  o.flush_deadline = 5s;
  o.reshard_interval = 200ms;
  auto created = QueueManager::Create(std::move(o));
  ASSERT_TRUE(created.ok());
  auto q = std::move(created).value();
  AddSeries(*q, 50);
  int max_seen = 1;
  for (int t = 0; t < 400 && max_seen == 1; t += 10) {
    AppendRecords(*q, 50, 10, t);
    max_seen = std::max<int>(max_seen, static_cast<int>(q->stats().shards.load()));
    if (max_seen > 1) {
      EXPECT_EQ(remote.WaitForSamples(static_cast<size_t>(50 * (t + 10))),
                static_cast<size_t>(50 * (t + 10)));
      q->Stop();
      ExpectInOrder(remote, 50, 0, t + 10);
    }
  }
  EXPECT_GT(max_seen, 1);
  EXPECT_GT(q->stats().shards_desired.load(), 1.0);
  q->Stop();
}

}  // namespace
}  // namespace zw::remote
