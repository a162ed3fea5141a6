#include "dashboard/stream_hub.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include "core/sample.h"
#include "promql/ast.h"
#include "promql/parser.h"
#include "promql/selector.h"
#include "promql/value_json.h"

namespace zw::dashboard {

using promql::JsonWriter;
using promql::WriteLabels;
using promql::WritePoint;
using promql::WriteResult;
using promql::WriteString;
namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<const std::string> Share(rapidjson::StringBuffer& buf) {
  return std::make_shared<const std::string>(buf.GetString(), buf.GetSize());
}

std::shared_ptr<const std::string> ModeMessage(bool snapshot) {
  return std::make_shared<const std::string>(snapshot ? R"({"type":"mode","mode":"snapshot"})"
                                                      : R"({"type":"mode","mode":"live"})");
}

// {"type":<type>,"id":<id>,<key>:<json>}: an update message, `json` (already JSON) copied once.
std::shared_ptr<const std::string> UpdateMessage(std::string_view type, std::string_view id,
                                                 std::string_view key, std::string_view json) {
  rapidjson::StringBuffer quoted;
  JsonWriter w(quoted);
  WriteString(w, id);
  std::string msg;
  msg.reserve(type.size() + quoted.GetSize() + key.size() + json.size() + 24);
  msg += R"({"type":")";
  msg += type;
  msg += R"(","id":)";
  msg.append(quoted.GetString(), quoted.GetSize());
  msg += R"(,")";
  msg += key;
  msg += R"(":)";
  msg += json;
  msg += '}';
  return std::make_shared<const std::string>(std::move(msg));
}

std::shared_ptr<const std::string> ExprMessage(std::string_view id, std::string_view result_json) {
  return UpdateMessage("expr_update", id, "result", result_json);
}

// One frame of messages: a lone message as itself, several as a JSON array of them in order.
std::shared_ptr<const std::string> Frame(std::vector<std::shared_ptr<const std::string>> msgs) {
  if (msgs.size() == 1) return std::move(msgs.front());
  size_t size = msgs.size() + 1;
  for (const auto& m : msgs) size += m->size();
  std::string frame;
  frame.reserve(size);
  frame += '[';
  for (const auto& m : msgs) {
    if (frame.size() > 1) frame += ',';
    frame += *m;
  }
  frame += ']';
  return std::make_shared<const std::string>(std::move(frame));
}

// Seconds (a JSON number) to milliseconds; false if absent. Sets *bad when present but not
// a positive finite number.
bool SecondsField(const rapidjson::Value& doc, const char* key, int64_t* ms, bool* bad) {
  auto it = doc.FindMember(key);
  if (it == doc.MemberEnd() || it->value.IsNull()) return false;
  if (!it->value.IsNumber() || !std::isfinite(it->value.GetDouble()) ||
      it->value.GetDouble() <= 0 || it->value.GetDouble() > 1e9) {
    *bad = true;
    return false;
  }
  *ms = std::llround(it->value.GetDouble() * 1000);
  if (*ms <= 0) *bad = true;
  return true;
}

}  // namespace

struct StreamHub::SelectorGroup {
  std::string key;  // the matchers, printed: identical selectors share a group
  Matchers matchers;
  std::vector<std::shared_ptr<SelectorSub>> subs;  // guarded by the hub's mu_
};

struct StreamHub::SelectorSub {
  std::string id;
  ClientId client = 0;
  std::shared_ptr<SelectorGroup> group;
  int64_t range_ms = 0;
  std::atomic<bool> ready{false};  // its history message has been sent
};

struct StreamHub::Client {
  ClientId id = 0;
  std::shared_ptr<StreamSink> sink;
  std::atomic<bool> snapshot{false};
  std::atomic<int> snapshots_sent{0};
  Clock::time_point next_snapshot;  // dispatch thread only
  // Guarded by the hub's mu_.
  std::map<std::string, std::shared_ptr<SelectorSub>> selectors;
  std::map<std::string, std::shared_ptr<ExprGroup>> exprs;
};

// What one round sends, per client, flushed as one frame each (see "Framing" in the header).
class StreamHub::Outbox {
 public:
  void Add(const std::shared_ptr<Client>& c, std::shared_ptr<const std::string> msg) {
    auto [it, inserted] = index_.try_emplace(c->id, entries_.size());
    if (inserted) entries_.push_back({c, {}});
    entries_[it->second].msgs.push_back(std::move(msg));
  }
  // Sends every client its frame, live (a full queue switches the client to snapshots).
  void Flush(StreamHub& hub) {
    for (Entry& e : entries_) hub.SendLive(*e.client, Frame(std::move(e.msgs)));
    entries_.clear();
    index_.clear();
  }

 private:
  struct Entry {
    std::shared_ptr<Client> client;
    std::vector<std::shared_ptr<const std::string>> msgs;
  };
  std::vector<Entry> entries_;  // in the order clients were first added
  std::unordered_map<ClientId, size_t> index_;
};

struct StreamHub::ExprGroup {
  std::string key;
  std::string expr;
  int64_t range_ms = 0;  // 0: instant
  int64_t step_ms = 0;
  std::set<std::pair<ClientId, std::string>> subscribers;  // guarded by the hub's mu_

  // Eval thread only.
  bool evaluated = false;
  promql::Matrix matrix;  // range expressions: the last result
  int64_t last_end = 0;
  std::string fingerprint;

  mutable std::mutex result_mu;
  std::string result_json;  // guarded by result_mu; {"resultType":...,"result":...}

  std::string Result() const {
    std::lock_guard lock(result_mu);
    return result_json;
  }
};

StreamHub::StreamHub(StreamOptions options, storage::Queryable* storage, promql::Engine* engine,
                     DashboardService* service, std::function<int64_t()> now_ms)
    : options_(options),
      storage_(storage),
      engine_(engine),
      service_(service),
      now_ms_(std::move(now_ms)),
      index_(std::make_shared<const GroupIndex>()) {}

StreamHub::~StreamHub() { Stop(); }

void StreamHub::Start() {
  dispatch_thread_ = std::thread([this] { DispatchLoop(); });
  eval_thread_ = std::thread([this] { EvalLoop(); });
}

void StreamHub::Stop() {
  active_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(dispatch_mu_);
    stopping_ = true;
    pending_.clear();
  }
  {
    std::lock_guard lock(eval_mu_);
    stopping_ = true;
  }
  dispatch_cv_.notify_all();
  eval_cv_.notify_all();
  if (dispatch_thread_.joinable()) dispatch_thread_.join();
  if (eval_thread_.joinable()) eval_thread_.join();
}

StreamHub::ClientId StreamHub::Connect(std::shared_ptr<StreamSink> sink) {
  auto c = std::make_shared<Client>();
  c->sink = std::move(sink);
  std::unique_lock lock(mu_);
  c->id = next_client_++;
  clients_.emplace(c->id, c);
  stats_.clients.store(clients_.size());
  return c->id;
}

void StreamHub::Disconnect(ClientId client) {
  std::unique_lock lock(mu_);
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  std::vector<std::string> ids;
  for (const auto& [id, sub] : c.selectors) ids.push_back(id);
  for (const auto& [id, group] : c.exprs) ids.push_back(id);
  for (const std::string& id : ids) UnsubscribeLocked(c, id);
  clients_.erase(it);
  stats_.clients.store(clients_.size());
}

size_t StreamHub::QueuedBytes() const {
  std::shared_lock lock(mu_);
  size_t total = 0;
  for (const auto& [id, c] : clients_) total += c->sink->QueuedBytes();
  return total;
}

void StreamHub::SendError(const std::shared_ptr<StreamSink>& sink, const std::string* id,
                          std::string_view message) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("type");
  w.String("error");
  w.Key("id");
  if (id) {
    WriteString(w, *id);
  } else {
    w.Null();
  }
  w.Key("errorType");
  w.String("bad_data");
  w.Key("error");
  WriteString(w, message);
  w.EndObject();
  (void)sink->Send(Share(buf));
}

void StreamHub::OnMessage(ClientId client, std::string_view text) {
  std::shared_ptr<StreamSink> sink;
  {
    std::shared_lock lock(mu_);
    auto it = clients_.find(client);
    if (it == clients_.end()) return;
    sink = it->second->sink;
  }
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return SendError(sink, nullptr, "message must be a JSON object");
  }
  auto str = [&doc](const char* key) -> std::optional<std::string> {
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  std::optional<std::string> type = str("type");
  std::optional<std::string> id = str("id");
  if (!type) return SendError(sink, id ? &*id : nullptr, "missing string field \"type\"");
  if (*type != "subscribe" && *type != "unsubscribe") {
    return SendError(sink, id ? &*id : nullptr,
                     fmt::format("unknown message type \"{}\" (expected subscribe or "
                                 "unsubscribe)",
                                 *type));
  }
  if (!id || id->empty()) return SendError(sink, nullptr, "missing string field \"id\"");
  if (*type == "unsubscribe") {
    std::unique_lock lock(mu_);
    auto it = clients_.find(client);
    if (it != clients_.end()) UnsubscribeLocked(*it->second, *id);
    return;
  }
  std::optional<std::string> selector = str("selector");
  std::optional<std::string> expr = str("expr");
  if (selector.has_value() == expr.has_value()) {
    return SendError(sink, &*id, "a subscription needs exactly one of \"selector\" and \"expr\"");
  }
  bool bad = false;
  int64_t range_ms = 0, step_ms = 0;
  bool has_range = SecondsField(doc, "range", &range_ms, &bad);
  if (bad) return SendError(sink, &*id, "\"range\" must be a positive number of seconds");
  bool has_step = SecondsField(doc, "step", &step_ms, &bad);
  if (bad) return SendError(sink, &*id, "\"step\" must be a positive number of seconds");
  if (selector) {
    return SubscribeSelector(client, *id, *selector,
                             has_range ? range_ms : options_.default_range_ms);
  }
  if (has_range && !has_step) step_ms = std::max<int64_t>(1000, range_ms / 240 / 1000 * 1000);
  if (has_range && range_ms / step_ms > options_.max_steps) {
    return SendError(sink, &*id,
                     fmt::format("range / step gives over {} points", options_.max_steps));
  }
  SubscribeExpr(client, *id, *expr, has_range ? range_ms : 0, has_range ? step_ms : 0);
}

void StreamHub::SubscribeSelector(ClientId client, const std::string& id, std::string_view selector,
                                  int64_t range_ms) {
  auto matchers = promql::ParseSeriesSelector(selector);
  std::unique_lock lock(mu_);
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (!matchers.ok()) {
    auto sink = c.sink;
    lock.unlock();
    return SendError(sink, &id, matchers.status().message());
  }
  UnsubscribeLocked(c, id);  // the same id again replaces the subscription
  if (c.selectors.size() + c.exprs.size() >= options_.max_subscriptions_per_client) {
    auto sink = c.sink;
    lock.unlock();
    return SendError(sink, &id,
                     fmt::format("too many subscriptions (at most {} per connection)",
                                 options_.max_subscriptions_per_client));
  }
  std::vector<std::string> parts;
  for (const Matcher& m : *matchers) parts.push_back(m.ToString());
  std::sort(parts.begin(), parts.end());  // the order matchers are written in does not matter
  std::string key;
  for (const std::string& part : parts) key += part + "\n";
  auto& group = selector_groups_[key];
  const bool new_group = !group;
  if (new_group) {
    group = std::make_shared<SelectorGroup>();
    group->key = std::move(key);
    group->matchers = std::move(*matchers);
  }
  auto sub = std::make_shared<SelectorSub>();
  sub->id = id;
  sub->client = client;
  sub->group = group;
  sub->range_ms = range_ms;
  group->subs.push_back(sub);
  c.selectors.emplace(id, std::move(sub));
  if (new_group) RebuildIndexLocked();
  UpdateActiveLocked();
  lock.unlock();
  {
    std::lock_guard dl(dispatch_mu_);
    history_jobs_.push_back({client, id});
  }
  dispatch_cv_.notify_one();
}

void StreamHub::SubscribeExpr(ClientId client, const std::string& id, std::string_view expr,
                              int64_t range_ms, int64_t step_ms) {
  auto parsed = promql::ParseExpr(expr);
  std::unique_lock lock(mu_);
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (!parsed.ok()) {
    auto sink = c.sink;
    lock.unlock();
    return SendError(sink, &id, parsed.status().message());
  }
  UnsubscribeLocked(c, id);
  if (c.selectors.size() + c.exprs.size() >= options_.max_subscriptions_per_client) {
    auto sink = c.sink;
    lock.unlock();
    return SendError(sink, &id,
                     fmt::format("too many subscriptions (at most {} per connection)",
                                 options_.max_subscriptions_per_client));
  }
  std::string key = fmt::format("{}\n{}\n{}", expr, range_ms, step_ms);
  auto& group = groups_[key];
  if (!group) {
    group = std::make_shared<ExprGroup>();
    group->key = key;
    group->expr = std::string(expr);
    group->range_ms = range_ms;
    group->step_ms = step_ms;
  }
  group->subscribers.insert({client, id});
  c.exprs.emplace(id, group);
  UpdateActiveLocked();
  auto g = group;
  lock.unlock();
  {
    std::lock_guard el(eval_mu_);
    initial_jobs_.push_back({client, id, std::move(g)});
  }
  eval_cv_.notify_one();
}

void StreamHub::UnsubscribeLocked(Client& c, const std::string& id) {
  if (auto sel = c.selectors.find(id); sel != c.selectors.end()) {
    std::shared_ptr<SelectorGroup> group = sel->second->group;
    std::erase(group->subs, sel->second);
    c.selectors.erase(sel);
    if (group->subs.empty()) {
      selector_groups_.erase(group->key);
      RebuildIndexLocked();
    }
  } else if (auto it = c.exprs.find(id); it != c.exprs.end()) {
    ExprGroup& g = *it->second;
    g.subscribers.erase({c.id, id});
    if (g.subscribers.empty()) groups_.erase(g.key);
    c.exprs.erase(it);
  }
  UpdateActiveLocked();
}

void StreamHub::RebuildIndexLocked() {
  auto index = std::make_shared<GroupIndex>();
  for (const auto& [key, group] : selector_groups_) {
    std::string_view name;
    for (const Matcher& m : group->matchers) {
      if (m.type() == MatchType::kEqual && m.name() == kMetricNameLabel) name = m.value();
    }
    if (name.empty()) {
      index->unnamed.push_back(group);
    } else {
      index->by_name[std::string(name)].push_back(group);
    }
  }
  index_.store(std::move(index));
  // Every verdict is void from here on. Registered series stay: samples of theirs may be on
  // their way to the dispatch thread, which re-matches them against the new index.
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  if (selector_groups_.empty()) {
    // No group at all: nothing registered is wanted any more.
    for (SeriesShard& shard : series_) {
      std::lock_guard lock(shard.mu);
      shard.map.clear();
    }
  }
}

void StreamHub::UpdateActiveLocked() {
  active_.store(!groups_.empty() || !selector_groups_.empty(), std::memory_order_release);
}

StreamHub::Targets StreamHub::Match(const GroupIndex& index, const Labels& labels) {
  std::vector<std::shared_ptr<SelectorGroup>> targets;
  auto consider = [&](const std::vector<std::shared_ptr<SelectorGroup>>& groups) {
    for (const auto& g : groups) {
      bool match = true;
      for (const Matcher& m : g->matchers) {
        if (!m.Matches(labels.Get(m.name()))) {
          match = false;
          break;
        }
      }
      if (match) targets.push_back(g);
    }
  };
  if (!index.by_name.empty()) {
    if (auto named = index.by_name.find(std::string(labels.MetricName()));
        named != index.by_name.end()) {
      consider(named->second);
    }
  }
  consider(index.unnamed);
  if (targets.empty()) return nullptr;
  return std::make_shared<const std::vector<std::shared_ptr<SelectorGroup>>>(std::move(targets));
}

bool StreamHub::Decide(storage::SeriesRef ref, const Labels& labels, uint64_t epoch) {
  // epoch_ was read before index_: this index is the epoch's or a newer one, so a verdict
  // stored under `epoch` is never older than the subscriptions it was decided against.
  std::shared_ptr<const GroupIndex> index = index_.load();
  stats_.interest_decisions.fetch_add(1, std::memory_order_relaxed);
  Targets targets = Match(*index, labels);
  const bool wanted = targets != nullptr;
  if (wanted) {
    // Registered before the verdict is stored: whoever keeps a sample on a "yes" finds the
    // series' labels when the sample reaches the dispatch thread.
    SeriesShard& shard = series_[ref % kShards];
    std::lock_guard lock(shard.mu);
    if (shard.map.size() >= kMaxSeriesPerShard && !shard.map.contains(ref)) {
      // Bounded: forget this shard's series and void every verdict, so that the series
      // still wanted are decided, and registered, again.
      shard.map.clear();
      epoch_.fetch_add(1, std::memory_order_acq_rel);
    }
    shard.map.insert_or_assign(ref, SeriesEntry{epoch, labels, std::move(targets)});
  }
  verdicts_.Set(ref, epoch, wanted);
  return wanted;
}

bool StreamHub::Lookup(storage::SeriesRef ref, Labels* labels, Targets* targets) {
  const uint64_t epoch = epoch_.load(std::memory_order_acquire);
  SeriesShard& shard = series_[ref % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(ref);
  if (it == shard.map.end()) return false;
  SeriesEntry& e = it->second;
  if (e.epoch != epoch) {
    // The groups changed since it was decided: match it again, once per epoch.
    e.targets = Match(*index_.load(), e.labels);
    e.epoch = epoch;
    if (!e.targets) {
      shard.map.erase(it);
      return false;
    }
  }
  *labels = e.labels;
  *targets = e.targets;
  return true;
}

bool StreamHub::Interested(storage::SeriesRef ref, const Labels& labels) {
  const uint64_t epoch = epoch_.load(std::memory_order_acquire);
  switch (verdicts_.Get(ref, epoch)) {
    case VerdictTable::Verdict::kYes:
      return true;
    case VerdictTable::Verdict::kNo:
      return false;
    case VerdictTable::Verdict::kUnknown:
      break;
  }
  return Decide(ref, labels, epoch);
}

void StreamHub::OnCommit(std::vector<storage::CommittedSample>&& samples) {
  data_arrived_.store(true, std::memory_order_relaxed);
  if (samples.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(dispatch_mu_);
    if (stopping_) return;
    if (pending_samples_ + samples.size() > options_.max_pending_samples) {
      overflowed_ = true;
      stats_.dropped_samples.fetch_add(samples.size(), std::memory_order_relaxed);
      return;
    }
    pending_samples_ += samples.size();
    pending_.push_back(std::move(samples));
    // While the dispatch thread gathers a round it sleeps until the round is due: waking it
    // on every commit would cost a context switch each.
    wake = std::exchange(dispatch_idle_, false);
  }
  if (wake) dispatch_cv_.notify_one();
}

void StreamHub::EnterSnapshot(Client& c) {
  bool was = false;
  if (!c.snapshot.compare_exchange_strong(was, true)) return;
  stats_.snapshot_switches.fetch_add(1, std::memory_order_relaxed);
  c.snapshots_sent.store(0);
  c.sink->DropPending();
  (void)c.sink->Send(ModeMessage(true));
}

void StreamHub::SendLive(Client& c, std::shared_ptr<const std::string> msg) {
  if (c.snapshot.load(std::memory_order_acquire)) return;
  if (c.sink->Send(std::move(msg)) == StreamSink::SendResult::kFull) EnterSnapshot(c);
}

// ---- dispatch thread ----

void StreamHub::DispatchLoop() {
  const auto tick = std::max<std::chrono::milliseconds>(options_.snapshot_interval / 4,
                                                        std::chrono::milliseconds(10));
  auto next_tick = Clock::now() + tick;
  Clock::time_point last_round;  // of live samples
  for (;;) {
    std::vector<std::vector<storage::CommittedSample>> batches;
    std::deque<HistoryJob> jobs;
    bool overflow = false;
    {
      std::unique_lock lock(dispatch_mu_);
      auto has_work = [this] {
        return stopping_ || !pending_.empty() || !history_jobs_.empty() || overflowed_;
      };
      if (!has_work()) {
        dispatch_idle_ = true;
        dispatch_cv_.wait_until(lock, next_tick, has_work);
        dispatch_idle_ = false;
      }
      // Live samples gather until update_interval after the previous round; new
      // subscriptions and overflow are served at once.
      const auto due = last_round + options_.update_interval;
      if (!pending_.empty() && Clock::now() < due) {
        dispatch_cv_.wait_until(lock, std::min(due, next_tick), [this] {
          return stopping_ || !history_jobs_.empty() || overflowed_;
        });
      }
      if (stopping_) return;
      batches.swap(pending_);
      pending_samples_ = 0;
      jobs.swap(history_jobs_);
      overflow = std::exchange(overflowed_, false);
    }
    Outbox out;
    for (const HistoryJob& job : jobs) {
      std::shared_ptr<Client> c;
      std::shared_ptr<SelectorSub> sub;
      {
        std::shared_lock lock(mu_);
        auto it = clients_.find(job.client);
        if (it == clients_.end()) continue;
        c = it->second;
        auto s = c->selectors.find(job.sub_id);
        if (s == c->selectors.end()) continue;
        sub = s->second;
      }
      // A client in snapshot mode gets this history in its next snapshot.
      if (!c->snapshot.load()) {
        out.Add(c, std::make_shared<const std::string>(
                       SelectorHistory(sub->id, sub->group->matchers, sub->range_ms)));
      }
      sub->ready.store(true, std::memory_order_release);
    }
    if (!batches.empty()) {
      last_round = Clock::now();
      DispatchSamples(std::move(batches), out);
    }
    out.Flush(*this);
    if (overflow) {
      // Samples were lost: every client with a selector subscription resynchronises.
      std::shared_lock lock(mu_);
      for (const auto& [id, c] : clients_) {
        if (!c->selectors.empty()) EnterSnapshot(*c);
      }
    }
    if (Clock::now() >= next_tick) {
      SnapshotRound();
      next_tick = Clock::now() + tick;
    }
  }
}

void StreamHub::DispatchSamples(std::vector<std::vector<storage::CommittedSample>> batches,
                                Outbox& out) {
  stats_.dispatch_rounds.fetch_add(1, std::memory_order_relaxed);
  Round& round = round_;  // the dispatch thread's: its vectors keep their capacity
  // The round's samples by series, then time (commits of different transactions may
  // interleave; each series is sent in time order). Stale markers are not sent.
  round.samples.clear();
  for (const auto& batch : batches) {
    for (const storage::CommittedSample& s : batch) {
      if (!IsStaleNaN(s.v)) round.samples.push_back(s);
    }
  }
  std::stable_sort(round.samples.begin(), round.samples.end(),
                   [](const storage::CommittedSample& a, const storage::CommittedSample& b) {
                     return a.ref != b.ref ? a.ref < b.ref : a.t < b.t;
                   });
  // One run of samples per wanted series, then per selector group the runs it gets: the
  // matching and the encoding are done once per group, whatever its number of subscribers.
  round.runs.clear();
  const auto& samples = round.samples;
  for (size_t i = 0, j = 0; i < samples.size(); i = j) {
    while (j < samples.size() && samples[j].ref == samples[i].ref) ++j;
    Round::Run run;
    if (Lookup(samples[i].ref, &run.labels, &run.targets)) {
      run.begin = i;
      run.end = j;
      round.runs.push_back(std::move(run));
    }
  }
  round.to_group.clear();
  for (const Round::Run& run : round.runs) {
    for (const auto& g : *run.targets) round.to_group.emplace_back(g.get(), &run);
  }
  std::sort(round.to_group.begin(), round.to_group.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return std::less<>()(a.first, b.first);
    return a.second->labels < b.second->labels;
  });
  std::shared_lock lock(mu_);
  rapidjson::StringBuffer& series_json = round.series_json;
  JsonWriter w(series_json);
  for (size_t i = 0, j = 0; i < round.to_group.size(); i = j) {
    SelectorGroup* group = round.to_group[i].first;
    series_json.Clear();
    w.Reset(series_json);
    w.StartArray();
    for (; j < round.to_group.size() && round.to_group[j].first == group; ++j) {
      const Round::Run& run = *round.to_group[j].second;
      w.StartObject();
      w.Key("metric");
      WriteLabels(w, run.labels);
      w.Key("values");
      w.StartArray();
      for (size_t k = run.begin; k < run.end; ++k) WritePoint(w, samples[k].t, samples[k].v);
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    // Subscribers with the same id (the same page open in several browsers) share a message.
    std::vector<std::pair<std::string_view, std::shared_ptr<const std::string>>> by_id;
    for (const auto& sub : group->subs) {
      if (!sub->ready.load(std::memory_order_acquire)) {
        continue;  // the history message, still to come, holds these samples
      }
      auto cit = clients_.find(sub->client);
      if (cit == clients_.end()) continue;
      if (cit->second->snapshot.load(std::memory_order_acquire)) continue;
      auto same = std::find_if(by_id.begin(), by_id.end(),
                               [&](const auto& e) { return e.first == sub->id; });
      if (same == by_id.end()) {
        by_id.emplace_back(sub->id,
                           UpdateMessage("metric_update", sub->id, "series",
                                         {series_json.GetString(), series_json.GetSize()}));
        same = by_id.end() - 1;
      }
      stats_.metric_updates.fetch_add(1, std::memory_order_relaxed);
      out.Add(cit->second, same->second);
    }
  }
}

std::string StreamHub::SelectorHistory(const std::string& id, const Matchers& matchers,
                                       int64_t range_ms) {
  int64_t now = now_ms_();
  int64_t mint = now - range_ms;
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("type");
  w.String("metric_update");
  w.Key("id");
  WriteString(w, id);
  w.Key("series");
  w.StartArray();
  if (auto q = storage_->NewQuerier(mint, now)) {
    storage::SelectHints hints;
    hints.start = mint;
    hints.end = now;
    auto set = q->Select(true, &hints, matchers);
    while (set->Next()) {
      const storage::Series& s = set->At();
      auto it = s.Iterator();
      bool started = false;
      if (it->Seek(mint)) {
        do {
          Sample smp = it->At();
          if (smp.t > now) break;
          if (IsStaleNaN(smp.v)) continue;
          if (!started) {
            w.StartObject();
            w.Key("metric");
            WriteLabels(w, s.labels());
            w.Key("values");
            w.StartArray();
            started = true;
          }
          WritePoint(w, smp.t, smp.v);
        } while (it->Next());
      }
      if (started) {
        w.EndArray();
        w.EndObject();
      }
    }
    if (!set->Err().ok()) spdlog::warn("stream: history of {}: {}", id, set->Err().message());
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

void StreamHub::SnapshotRound() {
  std::vector<std::shared_ptr<Client>> due;
  const auto now = Clock::now();
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, c] : clients_) {
      if (c->snapshot.load() && c->next_snapshot <= now) due.push_back(c);
    }
  }
  for (const auto& c : due) {
    c->next_snapshot = now + options_.snapshot_interval;
    if (c->sink->QueuedBytes() > 0) continue;  // still busy with what it has
    bool caught_up = c->snapshots_sent.load() > 0;
    // The snapshot: every subscription's current state.
    std::vector<std::shared_ptr<const std::string>> msgs;
    {
      std::vector<std::shared_ptr<SelectorSub>> selectors;
      std::vector<std::pair<std::string, std::shared_ptr<ExprGroup>>> exprs;
      {
        std::shared_lock lock(mu_);
        for (const auto& [id, sub] : c->selectors) selectors.push_back(sub);
        for (const auto& [id, g] : c->exprs) exprs.emplace_back(id, g);
      }
      for (const auto& sub : selectors) {
        msgs.push_back(std::make_shared<const std::string>(
            SelectorHistory(sub->id, sub->group->matchers, sub->range_ms)));
        sub->ready.store(true);
      }
      for (const auto& [id, g] : exprs) {
        std::string result = g->Result();
        if (!result.empty()) msgs.push_back(ExprMessage(id, result));
      }
    }
    if (caught_up) {
      // The previous snapshot drained within one interval: back to live.
      c->snapshots_sent.store(0);
      c->snapshot.store(false, std::memory_order_release);
      msgs.insert(msgs.begin(), ModeMessage(false));
      SendLive(*c, Frame(std::move(msgs)));
      continue;
    }
    stats_.snapshots.fetch_add(1, std::memory_order_relaxed);
    c->snapshots_sent.fetch_add(1);
    // Its queue is empty, so the snapshot is queued whatever its size.
    if (!msgs.empty()) (void)c->sink->Send(Frame(std::move(msgs)));
  }
}

// ---- eval thread ----

void StreamHub::EvalLoop() {
  auto next_eval = Clock::now() + options_.expr_interval;
  auto next_summary = Clock::now() + options_.summary_interval;
  for (;;) {
    std::deque<InitialJob> jobs;
    {
      std::unique_lock lock(eval_mu_);
      eval_cv_.wait_until(lock, std::min(next_eval, next_summary),
                          [this] { return stopping_ || !initial_jobs_.empty(); });
      if (stopping_) return;
      jobs.swap(initial_jobs_);
    }
    Outbox out;
    for (InitialJob& job : jobs) {
      ExprGroup& g = *job.group;
      if (!g.evaluated) {
        std::string error;
        Evaluate(g, now_ms_(), &error);
        if (!error.empty()) {
          // Tell every subscriber of the group and drop their subscriptions.
          std::vector<std::pair<std::shared_ptr<StreamSink>, std::string>> told;
          {
            std::unique_lock lock(mu_);
            auto subscribers = g.subscribers;
            for (const auto& [cid, sid] : subscribers) {
              auto it = clients_.find(cid);
              if (it == clients_.end()) continue;
              told.emplace_back(it->second->sink, sid);
              UnsubscribeLocked(*it->second, sid);
            }
          }
          for (const auto& [sink, sid] : told) SendError(sink, &sid, error);
          continue;
        }
      }
      SendExprResult(g, out, job.client);
    }
    auto now = Clock::now();
    if (now >= next_eval) {
      next_eval = now + options_.expr_interval;
      const bool data = data_arrived_.exchange(false, std::memory_order_relaxed);
      std::vector<std::shared_ptr<ExprGroup>> groups;
      {
        std::shared_lock lock(mu_);
        for (const auto& [key, g] : groups_) groups.push_back(g);
      }
      const int64_t now_ms = now_ms_();
      for (const auto& g : groups) {
        // Without new data a range result still moves when a step boundary passes: its
        // window shifts and a new last step appears (as much as a second late, not until
        // the next sample).
        const bool boundary = g->evaluated && g->range_ms > 0 && now_ms >= g->last_end + g->step_ms;
        if (!data && !boundary) continue;
        std::string error;
        if (Evaluate(*g, now_ms, &error)) SendExprResult(*g, out);
        if (!error.empty()) spdlog::debug("stream: {}: {}", g->expr, error);
      }
    }
    if (Clock::now() >= next_summary) {
      next_summary = Clock::now() + options_.summary_interval;
      Summary(out);
    }
    out.Flush(*this);
  }
}

bool StreamHub::Evaluate(ExprGroup& g, int64_t now, std::string* error) {
  stats_.expr_evaluations.fetch_add(1, std::memory_order_relaxed);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  std::string fingerprint;
  if (g.range_ms == 0) {
    auto r = engine_->Instant(*storage_, g.expr, now);
    if (!r.ok()) {
      *error = r.status().message();
      return false;
    }
    // Labels and values, not the evaluation time, decide whether the result changed.
    if (const auto* vec = std::get_if<promql::Vector>(&r->value)) {
      for (const auto& s : *vec) fingerprint += s.labels.ToString() + promql::FormatNumber(s.v);
    } else if (const auto* sc = std::get_if<promql::Scalar>(&r->value)) {
      fingerprint = promql::FormatNumber(sc->v);
    } else if (const auto* st = std::get_if<promql::String>(&r->value)) {
      fingerprint = st->v;
    }
    w.StartObject();
    WriteResult(w, r->value);
    w.EndObject();
  } else {
    const int64_t step = g.step_ms;
    const int64_t end = now - ((now % step) + step) % step;  // the last whole step
    const int64_t start = end - g.range_ms;
    // Only the steps from the previous result's last one on (it may have gained samples);
    // everything when there is no usable previous result.
    const bool incremental =
        g.evaluated && g.last_end > 0 && end >= g.last_end && end - g.last_end < g.range_ms;
    const int64_t from = incremental ? g.last_end : start;
    auto r = engine_->Range(*storage_, g.expr, from, end, step);
    if (!r.ok()) {
      *error = r.status().message();
      return false;
    }
    stats_.expr_steps_evaluated.fetch_add(static_cast<uint64_t>((end - from) / step + 1),
                                          std::memory_order_relaxed);
    auto& fresh = std::get<promql::Matrix>(r->value);
    if (!incremental) {
      g.matrix = std::move(fresh);
    } else {
      std::map<Labels, promql::Series> merged;
      for (auto& s : g.matrix) {
        std::erase_if(s.points, [&](const promql::Point& p) { return p.t < start || p.t >= from; });
        if (!s.points.empty()) merged.emplace(s.labels, std::move(s));
      }
      for (auto& s : fresh) {
        auto [it, inserted] = merged.try_emplace(s.labels, std::move(s));
        if (!inserted) {
          auto& pts = it->second.points;
          pts.insert(pts.end(), s.points.begin(), s.points.end());
        }
      }
      g.matrix.clear();
      for (auto& [labels, s] : merged) g.matrix.push_back(std::move(s));
    }
    std::sort(g.matrix.begin(), g.matrix.end(),
              [](const promql::Series& a, const promql::Series& b) { return a.labels < b.labels; });
    g.last_end = end;
    w.StartObject();
    promql::Value value = g.matrix;
    WriteResult(w, value);
    w.EndObject();
  }
  std::string json(buf.GetString(), buf.GetSize());
  if (g.range_ms != 0) fingerprint = json;
  bool changed = !g.evaluated || fingerprint != g.fingerprint;
  g.evaluated = true;
  g.fingerprint = std::move(fingerprint);
  if (changed) {
    std::lock_guard lock(g.result_mu);
    g.result_json = std::move(json);
  }
  return changed;
}

void StreamHub::SendExprResult(ExprGroup& g, Outbox& out, ClientId only) {
  std::string result = g.Result();
  if (result.empty()) return;
  // Subscribers with the same id (the same page open in several browsers) share a message.
  std::unordered_map<std::string_view, std::shared_ptr<const std::string>> by_id;
  std::shared_lock lock(mu_);
  for (const auto& [cid, sid] : g.subscribers) {
    if (only != 0 && cid != only) continue;
    auto it = clients_.find(cid);
    if (it == clients_.end()) continue;
    auto& msg = by_id[sid];
    if (!msg) msg = ExprMessage(sid, result);
    stats_.expr_updates.fetch_add(1, std::memory_order_relaxed);
    out.Add(it->second, msg);
  }
}

void StreamHub::Summary(Outbox& out) {
  {
    std::shared_lock lock(mu_);
    if (clients_.empty()) return;
  }
  std::string data = DashboardService::HealthJson(service_->Health());
  auto msg =
      std::make_shared<const std::string>(R"({"type":"summary_update","data":)" + data + "}");
  stats_.summaries.fetch_add(1, std::memory_order_relaxed);
  std::shared_lock lock(mu_);
  for (const auto& [id, c] : clients_) out.Add(c, msg);
}

}  // namespace zw::dashboard
