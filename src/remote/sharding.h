// How many shards a remote's queue should run: the dynamic sharding of Prometheus's queue
// manager (its calculateDesiredShards), written from its documented behaviour.
//
// Every update interval (10 s) the queue feeds its counters to a ShardTuner, which keeps
// exponentially weighted rates (weight 0.2 for the newest interval) of
//   - samples in: taken from the WAL into the queue (after write_relabel_configs),
//   - samples out: whose request finished (acknowledged or refused for good),
//   - send time: seconds shards spent sending (retries and backoff included) per second,
// and computes
//   time per sample = send time rate / samples out rate          (shard-seconds per sample)
//   backlog         = lag seconds × samples in rate              (samples behind)
//   desired         = time per sample × (samples in rate + 5 % of backlog per second)
// i.e. the shards that keep up with what arrives and catch up on the backlog within ~20 s.
// The queue changes its shard count to ceil(desired), clamped to [min_shards, max_shards],
// only when that is more than 30 % away from the current count, never downwards while more
// than 10 s behind, and never while sending is failing (no request finished for two batch
// deadlines): more shards do not help an unreachable remote.
//
// Pure arithmetic, no clock: the caller passes elapsed time, so tests drive it directly.
// Not thread safe.
#pragma once

#include <cstdint>

namespace zw::remote {

// A rate smoothed over update intervals: the first interval sets it, each later one moves
// it by `alpha` of the way to that interval's rate.
class EwmaRate {
 public:
  explicit EwmaRate(double alpha = 0.2) : alpha_(alpha) {}
  // `events` happened in the last `seconds` (> 0).
  void Tick(double events, double seconds);
  double rate() const { return rate_; }

 private:
  double alpha_;
  double rate_ = 0;
  bool init_ = false;
};

// The queue's monotonic counters at one moment.
struct ShardCounters {
  uint64_t samples_in = 0;
  uint64_t samples_out = 0;
  uint64_t send_nanos = 0;      // summed over shards
  int64_t highest_read_ms = 0;  // newest sample timestamp read from the WAL
  int64_t highest_sent_ms = 0;  // newest sample timestamp acknowledged
};

struct ShardDecision {
  double desired = 0;  // before rounding and clamping; what the metric shows
  int shards = 0;      // the count to run
};

inline constexpr double kShardTolerance = 0.3;
inline constexpr double kBacklogCatchup = 0.05;
inline constexpr double kNoDownshardLagSeconds = 10;

// The unrounded shard count for these rates (see the file comment); 0 when nothing was sent.
double DesiredShards(double in_rate, double out_rate, double send_seconds_rate, double lag_seconds);

// The count to run next given the unrounded desire: the current one within the tolerance or
// when lagging more than 10 s and the desire is lower; else ceil(desired) clamped.
int NextShardCount(double desired, int current, int min_shards, int max_shards, double lag_seconds);

class ShardTuner {
 public:
  ShardTuner(int min_shards, int max_shards) : min_(min_shards), max_(max_shards) {}

  // Feeds the counters as of now, `seconds` after the previous call (or after the queue
  // started). `sending_ok`: a request finished within the last two batch deadlines.
  ShardDecision Update(const ShardCounters& now, double seconds, int current, bool sending_ok);

 private:
  const int min_, max_;
  ShardCounters last_;
  EwmaRate in_, out_, send_seconds_;
};

}  // namespace zw::remote
