// The desired shard computation, driven with made-up counters and elapsed times.
#include "remote/sharding.h"

#include <gtest/gtest.h>

namespace zw::remote {
namespace {

TEST(EwmaRate, FirstIntervalSetsLaterOnesMoveByAlpha) {
  EwmaRate r(0.2);
  r.Tick(100, 10);
  EXPECT_DOUBLE_EQ(r.rate(), 10);
  r.Tick(200, 10);  // instant 20: 10 + 0.2 × 10
  EXPECT_DOUBLE_EQ(r.rate(), 12);
  r.Tick(0, 0);  // no time passed: ignored
  EXPECT_DOUBLE_EQ(r.rate(), 12);
}

TEST(DesiredShards, SendTimePerSampleTimesIncomingPlusBacklog) {
  // 1,000 samples/s out, shards busy 2 s per second: 2 ms per sample. 1,000 in/s, caught up.
  EXPECT_DOUBLE_EQ(DesiredShards(1000, 1000, 2, 0), 2);
  // 60 s behind: backlog 60,000 samples, 5 % of it per second more: 4,000/s × 2 ms.
  EXPECT_DOUBLE_EQ(DesiredShards(1000, 1000, 2, 60), 8);
  EXPECT_DOUBLE_EQ(DesiredShards(1000, 0, 2, 0), 0);  // nothing sent: unknown cost
}

TEST(NextShardCount, ToleranceClampAndNoDownshardWhileBehind) {
  EXPECT_EQ(NextShardCount(10.5, 10, 1, 50, 0), 10);  // ceil 11, within 30 %
  EXPECT_EQ(NextShardCount(7.2, 10, 1, 50, 0), 10);   // ceil 8, within 30 %
  EXPECT_EQ(NextShardCount(13.5, 10, 1, 50, 0), 14);  // beyond 30 %
  EXPECT_EQ(NextShardCount(2.1, 10, 1, 50, 0), 3);
  EXPECT_EQ(NextShardCount(2.1, 10, 1, 50, 11), 10);  // more than 10 s behind: keep
  EXPECT_EQ(NextShardCount(2.1, 10, 1, 50, 9), 3);
  EXPECT_EQ(NextShardCount(500, 10, 1, 50, 0), 50);  // clamped to max
  EXPECT_EQ(NextShardCount(0.2, 10, 4, 50, 0), 4);   // clamped to min
  EXPECT_EQ(NextShardCount(0.2, 1, 1, 50, 0), 1);
  EXPECT_EQ(NextShardCount(1.9, 1, 1, 50, 0), 2);  // 2 > 1.3
}

TEST(ShardTuner, FollowsTheLoadAndHoldsWhileSendingFails) {
  ShardTuner t(1, 20);
  ShardCounters c;
  // Interval 1: 10,000 samples in and out, shards busy 50 s in 10 s: 5 ms per sample at
  // 1,000/s needs 5 shards.
  c.samples_in = 10000;
  c.samples_out = 10000;
  c.send_nanos = 50'000'000'000;
  ShardDecision d = t.Update(c, 10, 1, true);
  EXPECT_DOUBLE_EQ(d.desired, 5);
  EXPECT_EQ(d.shards, 5);
  // Interval 2: the same rates; 5 shards is right.
  c.samples_in += 10000;
  c.samples_out += 10000;
  c.send_nanos += 50'000'000'000;
  d = t.Update(c, 10, 5, true);
  EXPECT_DOUBLE_EQ(d.desired, 5);
  EXPECT_EQ(d.shards, 5);
  // Interval 3: the load triples; the EWMA moves a fifth of the way (1,000 → 1,400/s in,
  // send time per sample unchanged): 7 shards, beyond the 30 % tolerance of 5.
  c.samples_in += 30000;
  c.samples_out += 30000;
  c.send_nanos += 150'000'000'000;
  d = t.Update(c, 10, 5, true);
  EXPECT_NEAR(d.desired, 7, 1e-9);
  EXPECT_EQ(d.shards, 7);
  // Interval 4: the remote is failing: the desire is shown but the count kept.
  c.samples_in += 30000;
  c.highest_read_ms = 600'000;
  d = t.Update(c, 10, 7, false);
  EXPECT_GT(d.desired, 7);
  EXPECT_EQ(d.shards, 7);
}

TEST(ShardTuner, NothingSentKeepsTheCurrentCount) {
  ShardTuner t(2, 8);
  ShardCounters c;
  c.samples_in = 500;
  ShardDecision d = t.Update(c, 10, 3, true);
  EXPECT_EQ(d.shards, 3);
  EXPECT_DOUBLE_EQ(d.desired, 3);
}

}  // namespace
}  // namespace zw::remote
