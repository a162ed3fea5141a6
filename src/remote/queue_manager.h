// The queue manager of one remote: series labels by WAL reference (after
// write_relabel_configs), shards that batch and send samples, and the acknowledgement
// bookkeeping that becomes the persisted progress (progress.h).
//
// Flow: the WAL watcher (wal_watcher.h) hands it series records (StoreSeries) and samples
// records (Append). Each sample goes to the shard of its series' bucket (a hash of the
// relabelled labels), so a series' samples stay in WAL order. A shard holds at most
// queue_config.capacity samples: Append blocks while the shard it needs is full, which stops
// the watcher reading (backpressure; the WAL keeps the data). A shard sends a request when
// it has max_samples_per_send samples or its oldest sample waited batch_send_deadline: a
// snappy protobuf WriteRequest, one TimeSeries per series with its samples in time order.
// Network errors, 5xx and (with retry_on_http_429) 429 are retried forever with exponential
// backoff from min_backoff to max_backoff; other answers are final: 2xx sent, any other
// status failed (counted and logged with the status and body, never retried).
//
// Sharding (sharding.h): every reshard_interval a tuner thread computes the shard count the
// load needs, within [min_shards, max_shards]. The watcher thread applies a new count at its
// next Append: it has every shard send what it holds at once (no batch deadline), waits
// until all are empty with nothing in flight, then adds or removes shards. Since a series'
// shard is its bucket modulo the shard count, draining first keeps each series' samples in
// order, and nothing is dropped or sent twice. The watcher does not read the WAL meanwhile.
// A failing remote blocks the drain like it blocks a full shard; Unblock ends the wait.
//
// Stop: Append returns false from then on; shards send what they hold until the flush
// deadline, then the progress is written (fsynced). Samples not acknowledged by then are
// read again from the WAL after a restart.
//
// Thread safety: StoreSeries, SeriesReset and Append are called by one thread (the
// watcher); Stats, Unblock and Stop from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/labels.h"
#include "core/status.h"
#include "remote/config.h"
#include "remote/http_client.h"
#include "remote/progress.h"
#include "remote/wal_watcher.h"
#include "tsdb/record/record.h"

namespace zw::remote {

// Monotonic counters unless noted; relaxed atomics, read one by one.
struct QueueStats {
  std::atomic<uint64_t> samples_in{0};              // taken from the WAL into the shards
  std::atomic<uint64_t> samples_sent{0};            // acknowledged with 2xx
  std::atomic<uint64_t> samples_failed{0};          // refused for good (4xx other than retried 429)
  std::atomic<uint64_t> samples_retried{0};         // in requests that failed recoverably
  std::atomic<uint64_t> samples_dropped{0};         // dropped by write_relabel_configs
  std::atomic<uint64_t> samples_unknown_series{0};  // referenced a series never seen
  std::atomic<uint64_t> samples_skipped{0};         // acknowledged before a restart, not resent
  std::atomic<uint64_t> requests_sent{0};
  std::atomic<uint64_t> requests_failed{0};  // attempts without a 2xx, retried or not
  std::atomic<uint64_t> bytes_sent{0};       // compressed request bodies acknowledged
  std::atomic<int64_t> samples_pending{0};   // gauge: in shards or in flight
  std::atomic<int64_t> highest_read_ms{0};   // gauge: newest sample timestamp read from the WAL
  std::atomic<int64_t> highest_sent_ms{0};   // gauge: newest sample timestamp acknowledged
  std::atomic<int64_t> shards{0};            // gauge
  std::atomic<double> shards_desired{0};     // gauge: the tuner's unrounded desire
  std::atomic<int64_t> shards_min{0};        // gauge: queue_config.min_shards
  std::atomic<int64_t> shards_max{0};        // gauge: queue_config.max_shards (at most 256)
  std::atomic<uint64_t> send_nanos{0};       // time shards spent sending, retries included
  std::atomic<uint64_t> reshards{0};         // shard count changes
  std::atomic<uint64_t> samples_lost{0};     // in WAL segments deleted before they were read
  std::atomic<int64_t> series{0};            // gauge: series known by reference
};

struct QueueOptions {
  RemoteWriteConfig config;
  std::string progress_path;  // "" : do not persist
  // Where a restart resumes (from the progress file); samples of a bucket at or before the
  // bucket's position are not sent again.
  std::optional<Progress> resume;
  // How long Stop() keeps sending what is queued.
  std::chrono::milliseconds flush_deadline{5000};
  // How often the tuner recomputes the shard count; 0: never (the queue keeps min_shards
  // unless RequestShards is called).
  std::chrono::milliseconds reshard_interval{10000};
};

class QueueManager final : public WriteTo {
 public:
  // Errors: those of HttpClient::Create (TLS setup).
  static Result<std::unique_ptr<QueueManager>> Create(QueueOptions options);
  ~QueueManager() override;  // Stop()

  // WriteTo, called by the watcher thread.
  void StoreSeries(std::span<const record::RefSeries> series, int segment) override;
  void SeriesReset(int segment) override;
  bool Append(std::span<const record::RefSample> samples, WalPosition end) override;

  // Asks for `n` shards (clamped to [min_shards, max_shards]); the watcher thread applies
  // it at its next Append. The tuner calls it; tests may too.
  void RequestShards(int n);

  // Counts samples of WAL segments deleted before the watcher read them.
  void CountLost(uint64_t n) { stats_.samples_lost.fetch_add(n, std::memory_order_relaxed); }

  // Makes a blocked or later Append return false.
  void Unblock();
  // Unblock, then flush for at most flush_deadline, join the shards, persist progress.
  // Idempotent.
  void Stop();

  const QueueStats& stats() const { return stats_; }
  // The progress as acknowledged so far.
  Progress CurrentProgress() const;
  const RemoteWriteConfig& config() const { return opts_.config; }

 private:
  struct Series {
    std::string encoded;  // protobuf Label messages; empty when relabelling dropped it
    Labels labels;        // as logged (to tell a re-used reference)
    int bucket = 0;
    int last_segment = 0;
  };
  struct Queued {
    const Series* series;
    int64_t t;
    double v;
    uint64_t seq;  // the WAL record's sequence number (see records_)
  };
  struct Shard {
    std::mutex mu;
    std::condition_variable has_data;  // or stopping
    std::condition_variable has_room;  // or unblocked
    std::deque<Queued> queue;
    std::condition_variable idle;                       // queue empty and nothing in flight
    std::chrono::steady_clock::time_point batch_start;  // when queue became non-empty
    bool busy = false;                                  // a batch is in flight
    bool flush = false;  // send partial batches now (a reshard is draining)
    bool quit = false;   // exit once empty (removed by a reshard)
    std::unique_ptr<HttpClient> client;
    std::thread thread;
  };
  struct RecordAck {
    WalPosition end;
    uint32_t pending;  // samples not yet acknowledged
  };

  explicit QueueManager(QueueOptions options);
  // Starts a shard with its own connection. Errors: those of HttpClient::Create.
  Result<std::unique_ptr<Shard>> StartShard();
  // Watcher thread: drains every shard, then runs `n` of them. False when unblocked.
  bool Reshard(int n);
  void RunTuner();
  void RunShard(Shard& shard);
  // Sends one batch until acknowledged, refused, or (when stopping) out of time. Returns
  // whether the batch is finished (acknowledged or refused).
  bool SendBatch(Shard& shard, std::vector<Queued>& batch);
  void Ack(std::span<const Queued> batch);
  void SaveProgress(bool sync);

  const QueueOptions opts_;
  QueueStats stats_;
  // Changed by the watcher thread (Reshard) under shards_mu_; other threads read it under
  // shards_mu_, the watcher thread without.
  std::mutex shards_mu_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<int> wanted_shards_{0};
  std::atomic<int64_t> last_send_end_ns_{0};  // steady clock; when a request last finished
  std::thread tuner_;
  std::mutex tuner_mu_;
  std::condition_variable tuner_cv_;
  bool tuner_stop_ = false;

  // Watcher thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Series>> series_;
  std::vector<std::vector<Queued>> per_shard_;  // scratch for Append

  std::atomic<bool> unblocked_{false};
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point stop_deadline_;
  std::mutex stop_mu_;
  bool stopped_ = false;

  // Acknowledgement bookkeeping.
  mutable std::mutex ack_mu_;
  std::deque<RecordAck> records_;  // from sequence number first_seq_ on
  uint64_t first_seq_ = 0;
  Progress progress_;
  uint64_t progress_version_ = 0;  // bumped on every change
  // Series forgotten by SeriesReset, freed once every record enqueued before is finished.
  std::vector<std::pair<uint64_t, std::unique_ptr<Series>>> graveyard_;

  std::mutex save_mu_;
  uint64_t saved_version_ = 0;
};

}  // namespace zw::remote
