#include "remote/sharding.h"

#include <algorithm>
#include <cmath>

namespace zw::remote {

void EwmaRate::Tick(double events, double seconds) {
  if (seconds <= 0) return;
  const double instant = events / seconds;
  if (init_) {
    rate_ += alpha_ * (instant - rate_);
  } else {
    init_ = true;
    rate_ = instant;
  }
}

double DesiredShards(double in_rate, double out_rate, double send_seconds_rate,
                     double lag_seconds) {
  if (out_rate <= 0) return 0;
  const double time_per_sample = send_seconds_rate / out_rate;
  const double backlog = std::max(0.0, lag_seconds) * in_rate;
  return time_per_sample * (in_rate + kBacklogCatchup * backlog);
}

int NextShardCount(double desired, int current, int min_shards, int max_shards,
                   double lag_seconds) {
  const double lower = current * (1 - kShardTolerance);
  const double upper = current * (1 + kShardTolerance);
  const double rounded = std::ceil(desired);
  int next = current;
  if (rounded < lower || rounded > upper) {
    next = static_cast<int>(std::min(rounded, static_cast<double>(max_shards)));
    if (next < current && lag_seconds > kNoDownshardLagSeconds) next = current;
  }
  return std::clamp(next, min_shards, max_shards);
}

ShardDecision ShardTuner::Update(const ShardCounters& now, double seconds, int current,
                                 bool sending_ok) {
  in_.Tick(static_cast<double>(now.samples_in - last_.samples_in), seconds);
  out_.Tick(static_cast<double>(now.samples_out - last_.samples_out), seconds);
  send_seconds_.Tick(static_cast<double>(now.send_nanos - last_.send_nanos) / 1e9, seconds);
  last_ = now;
  const double lag = std::max<int64_t>(0, now.highest_read_ms - now.highest_sent_ms) / 1000.0;
  ShardDecision d;
  if (out_.rate() <= 0) {
    // Nothing finished sending: no measure of the cost of a sample; keep what runs.
    d.desired = current;
    d.shards = std::clamp(current, min_, max_);
    return d;
  }
  d.desired = DesiredShards(in_.rate(), out_.rate(), send_seconds_.rate(), lag);
  d.shards = sending_ok ? NextShardCount(d.desired, current, min_, max_, lag)
                        : std::clamp(current, min_, max_);
  return d;
}

}  // namespace zw::remote
