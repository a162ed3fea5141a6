// StreamHub: the live side of the dashboard — what /api/v1/stream's clients subscribe to and
// what they are sent (docs/dashboard_api.md, "Live stream").
//
// It is a storage::CommitObserver (see storage/observed_appendable.h): the ingest paths
// append through an ObservedStorage that tells the hub what was committed.
//
// Selector subscriptions: identical selectors (the same text) form one group, matched and
// encoded once for all their subscribers. Whether any group wants a series is decided once
// per (series reference, epoch) and kept in a VerdictTable, so the ingest path pays one
// atomic load per sample while anyone subscribes and one per transaction while nobody does.
// The epoch moves when the set of groups changes (a subscriber joining or leaving an existing
// group keeps every answer). Deciding looks only at the groups whose selector names the
// series' metric (or names none). A series found wanted is registered once with its labels
// and target groups: committed samples carry only reference, time and value.
// Committed samples are handed to the dispatch thread (a bounded queue; overflow drops
// samples and switches the affected clients to snapshots). It sends at most one
// metric_update per subscription every `update_interval`: a round after a quiet interval
// goes out at once, later ones gather what was committed meanwhile, so the number of
// messages does not grow with the commit rate. The first message of a subscription carries
// its last `range` of history; live samples may repeat the newest of those.
//
// Expression subscriptions: identical (expr, range, step) subscriptions share one evaluation.
// The eval thread re-evaluates every expression at most once per `expr_interval`, and only
// when new data was committed since the last round or, for a range expression, when a step
// boundary passed since its last result; a range expression keeps its last result
// and evaluates only the steps from its previous last step on, shifting the window. A result
// is sent only when it changed (instant vectors compare labels and values, not the
// evaluation time). The same thread sends summary_update (DashboardService::Health) every
// `summary_interval` while any client is connected.
//
// Framing: whatever one round of a thread sends one client (its selector updates and new
// histories, or its expression updates and summary, or a snapshot) goes out as one frame —
// a lone message as itself, several as a JSON array of them in order — so a client costs
// one queue entry, one wakeup and one write per round, whatever its number of subscriptions.
//
// Backpressure: each client's StreamSink has a bounded queue. When a message does not fit,
// the client goes to snapshot mode: its queue is dropped, it is sent {"type":"mode",
// "mode":"snapshot"}, live updates stop, and every `snapshot_interval` — if its queue has
// drained — it gets a full snapshot of each subscription. A client whose queue drained
// between two snapshot rounds has caught up: it is sent mode "live" and goes on live. The
// ingest path never waits for a client, and memory is bounded by the queues' bounds.
//
// Thread safety: every public method is thread-safe. Sinks are called from the hub's threads
// and from Subscribe's caller.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <rapidjson/stringbuffer.h>

#include "core/matcher.h"
#include "dashboard/health.h"
#include "dashboard/verdict_table.h"
#include "promql/engine.h"
#include "storage/observed_appendable.h"

namespace zw::dashboard {

// Where a client's messages go: the WebSocket session behind it. Thread-safe.
class StreamSink {
 public:
  enum class SendResult { kQueued, kFull, kClosed };
  virtual ~StreamSink() = default;
  // Queues one text message unless that would pass the queue's bound (kFull: not queued).
  virtual SendResult Send(std::shared_ptr<const std::string> text) = 0;
  // Drops the queued messages not yet being written.
  virtual void DropPending() = 0;
  // Bytes queued and not yet written.
  virtual size_t QueuedBytes() const = 0;
};

struct StreamOptions {
  std::chrono::milliseconds expr_interval{1000};
  std::chrono::milliseconds summary_interval{5000};
  std::chrono::milliseconds snapshot_interval{2000};
  // At most one metric_update per selector subscription this often (0: one per round).
  std::chrono::milliseconds update_interval{250};
  // Committed samples waiting for the dispatch thread; beyond this they are dropped.
  size_t max_pending_samples = 500'000;
  int64_t default_range_ms = 5 * 60 * 1000;  // history of a new selector subscription
  size_t max_subscriptions_per_client = 200;
  int64_t max_steps = 11000;  // per range expression, as query_range
};

struct StreamStats {
  std::atomic<uint64_t> clients{0};
  std::atomic<uint64_t> metric_updates{0};
  std::atomic<uint64_t> expr_updates{0};
  std::atomic<uint64_t> expr_evaluations{0};
  std::atomic<uint64_t> expr_steps_evaluated{0};  // steps over all range evaluations
  std::atomic<uint64_t> summaries{0};
  std::atomic<uint64_t> snapshot_switches{0};
  std::atomic<uint64_t> snapshots{0};
  std::atomic<uint64_t> dropped_samples{0};     // pending queue overflow
  std::atomic<uint64_t> interest_decisions{0};  // series matched against the selector groups
  std::atomic<uint64_t> dispatch_rounds{0};
};

class StreamHub final : public storage::CommitObserver {
 public:
  using ClientId = uint64_t;

  // REQUIRES: storage, engine and service outlive the hub. now_ms gives data time.
  StreamHub(StreamOptions options, storage::Queryable* storage, promql::Engine* engine,
            DashboardService* service, std::function<int64_t()> now_ms);
  ~StreamHub() override;  // Stop()

  void Start();
  // Stops the threads; clients are not closed (the server closes their connections).
  void Stop();

  ClientId Connect(std::shared_ptr<StreamSink> sink);
  void Disconnect(ClientId client);
  // One client → server message (JSON text). Bad messages get an "error" message back.
  void OnMessage(ClientId client, std::string_view text);

  // CommitObserver.
  bool Active() const override { return active_.load(std::memory_order_acquire); }
  bool Interested(storage::SeriesRef ref, const Labels& labels) override;
  void OnCommit(std::vector<storage::CommittedSample>&& samples) override;

  const StreamStats& stats() const { return stats_; }
  // Bytes queued to all clients and not yet written.
  size_t QueuedBytes() const;

 private:
  struct Client;
  struct SelectorSub;
  struct SelectorGroup;
  struct ExprGroup;
  class Outbox;
  // The selector groups a series belongs to; null: none.
  using Targets = std::shared_ptr<const std::vector<std::shared_ptr<SelectorGroup>>>;
  // A series some group wanted when it was decided: its labels (committed samples come
  // without) and the groups it goes to as of `epoch`.
  struct SeriesEntry {
    uint64_t epoch = 0;
    Labels labels;
    Targets targets;
  };
  struct SeriesShard {
    std::mutex mu;
    std::unordered_map<storage::SeriesRef, SeriesEntry> map;  // guarded by mu
  };
  // The selector groups by the metric name their selector requires ("" for those that
  // require none); rebuilt whenever the set of groups changes, read without mu_.
  struct GroupIndex {
    std::unordered_map<std::string, std::vector<std::shared_ptr<SelectorGroup>>> by_name;
    std::vector<std::shared_ptr<SelectorGroup>> unnamed;
  };
  static constexpr size_t kShards = 64;
  static constexpr size_t kMaxSeriesPerShard = 1 << 16;

  void SendError(const std::shared_ptr<StreamSink>& sink, const std::string* id,
                 std::string_view message);
  void SubscribeSelector(ClientId client, const std::string& id, std::string_view selector,
                         int64_t range_ms);
  void SubscribeExpr(ClientId client, const std::string& id, std::string_view expr,
                     int64_t range_ms, int64_t step_ms);
  // REQUIRES: mu_ held exclusively.
  void UnsubscribeLocked(Client& c, const std::string& id);
  // The set of selector groups changed: a new index and a new epoch (every verdict void).
  void RebuildIndexLocked();
  void UpdateActiveLocked();

  static Targets Match(const GroupIndex& index, const Labels& labels);
  // Ingest threads, on a verdict missing for `epoch`: decides, registers a wanted series.
  bool Decide(storage::SeriesRef ref, const Labels& labels, uint64_t epoch);
  // Dispatch thread: the labels and current targets of a registered series; false if it is
  // not registered (any more) or no group wants it now.
  bool Lookup(storage::SeriesRef ref, Labels* labels, Targets* targets);
  // Sends to a live client; a full queue switches it to snapshot mode.
  void SendLive(Client& c, std::shared_ptr<const std::string> msg);
  void EnterSnapshot(Client& c);

  void DispatchLoop();
  // One round: every sample committed since the previous one.
  void DispatchSamples(std::vector<std::vector<storage::CommittedSample>> batches, Outbox& out);
  // The history message of a selector subscription (its last range_ms before now).
  std::string SelectorHistory(const std::string& id, const Matchers& matchers, int64_t range_ms);
  void SnapshotRound();

  void EvalLoop();
  // Evaluates a group (incrementally when it can); true if its result changed.
  bool Evaluate(ExprGroup& g, int64_t now, std::string* error);
  void SendExprResult(ExprGroup& g, Outbox& out, ClientId only = 0);
  void Summary(Outbox& out);

  const StreamOptions options_;
  storage::Queryable* const storage_;
  promql::Engine* const engine_;
  DashboardService* const service_;
  const std::function<int64_t()> now_ms_;
  StreamStats stats_;

  std::atomic<bool> active_{false};
  std::atomic<bool> data_arrived_{false};
  VerdictTable verdicts_;
  std::array<SeriesShard, kShards> series_;
  std::atomic<std::shared_ptr<const GroupIndex>> index_;  // read on verdict misses only
  // Verdicts of older epochs are void. Moves after index_ is replaced (so whoever reads an
  // epoch and then index_ sees an index at least as new) and when a full series_ shard
  // is emptied (so its series are decided, and registered, again).
  std::atomic<uint64_t> epoch_{1};

  mutable std::shared_mutex mu_;  // guards clients_, groups_, selector_groups_, their contents
  ClientId next_client_ = 1;
  std::map<ClientId, std::shared_ptr<Client>> clients_;
  std::map<std::string, std::shared_ptr<ExprGroup>> groups_;               // by expr, range, step
  std::map<std::string, std::shared_ptr<SelectorGroup>> selector_groups_;  // by selector text

  // Dispatch thread's inbox.
  std::mutex dispatch_mu_;
  std::condition_variable dispatch_cv_;
  std::vector<std::vector<storage::CommittedSample>> pending_;  // guarded by dispatch_mu_
  size_t pending_samples_ = 0;                                  // dispatch_mu_
  bool overflowed_ = false;                                     // dispatch_mu_
  bool dispatch_idle_ = false;  // dispatch_mu_: waiting for work, so a commit must wake it
  struct HistoryJob {
    ClientId client;
    std::string sub_id;
  };
  std::deque<HistoryJob> history_jobs_;  // dispatch_mu_
  // The dispatch thread's working space for a round, kept so that its vectors keep their
  // capacity from round to round.
  struct Round {
    struct Run {  // the samples[begin, end) of one wanted series
      Labels labels;
      Targets targets;
      size_t begin = 0, end = 0;
    };
    std::vector<storage::CommittedSample> samples;
    std::vector<Run> runs;
    std::vector<std::pair<SelectorGroup*, const Run*>> to_group;
    rapidjson::StringBuffer series_json;
  };
  Round round_;  // dispatch thread only

  // Eval thread's inbox.
  std::mutex eval_mu_;
  std::condition_variable eval_cv_;
  struct InitialJob {
    ClientId client;
    std::string sub_id;
    std::shared_ptr<ExprGroup> group;
  };
  std::deque<InitialJob> initial_jobs_;  // guarded by eval_mu_

  bool stopping_ = false;  // guarded by both dispatch_mu_ and eval_mu_ (set under each)
  std::thread dispatch_thread_;
  std::thread eval_thread_;
};

}  // namespace zw::dashboard
