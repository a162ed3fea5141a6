#include "dashboard/stream_hub.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "storage/observed_appendable.h"
#include "tsdb/head.h"

namespace zw::dashboard {
namespace {

using namespace std::chrono_literals;

// A client connection: messages pile up while paused (a client that does not read), else
// they are "written" at once. The queue is bounded the way the WebSocket session's is.
class FakeSink final : public StreamSink {
 public:
  explicit FakeSink(size_t cap = 1 << 20) : cap_(cap) {}

  SendResult Send(std::shared_ptr<const std::string> text) override {
    std::lock_guard lock(mu_);
    if (!queue_.empty() && queued_ + text->size() > cap_) return SendResult::kFull;
    sent_.push_back(text);
    if (!paused_) {
      Receive(*text);
      cv_.notify_all();
      return SendResult::kQueued;
    }
    queued_ += text->size();
    queue_.push_back(std::move(text));
    max_queued_ = std::max(max_queued_, queued_);
    return SendResult::kQueued;
  }
  void DropPending() override {
    std::lock_guard lock(mu_);
    while (queue_.size() > 1) {  // the front one is "being written"
      queued_ -= queue_.back()->size();
      queue_.pop_back();
    }
  }
  size_t QueuedBytes() const override {
    std::lock_guard lock(mu_);
    return queued_;
  }

  void Pause() {
    std::lock_guard lock(mu_);
    paused_ = true;
  }
  void Resume() {  // the client reads everything queued
    std::lock_guard lock(mu_);
    paused_ = false;
    for (auto& m : queue_) Receive(*m);
    queue_.clear();
    queued_ = 0;
    cv_.notify_all();
  }
  size_t max_queued() const {
    std::lock_guard lock(mu_);
    return max_queued_;
  }
  // Every frame queued so far, as the hub handed it over (to tell shared ones apart).
  std::vector<std::shared_ptr<const std::string>> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }

  // Waits for the next message matching `type` (and id, if given); the ones before it are
  // consumed. Returns an empty document's type "" on timeout.
  std::string Next(std::string_view type, std::string_view id = "",
                   std::chrono::milliseconds timeout = 3000ms) {
    std::unique_lock lock(mu_);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (!received_.empty()) {
        std::string m = std::move(received_.front());
        received_.pop_front();
        rapidjson::Document d;
        d.Parse(m.c_str());
        if (d.HasParseError() || !d.IsObject()) continue;
        if (type != d["type"].GetString()) continue;
        if (!id.empty() && (!d.HasMember("id") || !d["id"].IsString() || id != d["id"].GetString()))
          continue;
        return m;
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && received_.empty()) return "";
    }
  }
  size_t Count(std::string_view type) {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& m : received_) n += m.find("\"type\":\"" + std::string(type) + "\"") == 1;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  const size_t cap_;
  bool paused_ = false;
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_ = 0;
  size_t max_queued_ = 0;
  // A frame holds one message or a JSON array of them: the client reads them in order.
  void Receive(const std::string& frame) {
    rapidjson::Document d;
    d.Parse(frame.c_str());
    if (d.HasParseError() || !d.IsArray()) {
      received_.push_back(frame);
      return;
    }
    for (const auto& m : d.GetArray()) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      m.Accept(w);
      received_.push_back(std::string(buf.GetString(), buf.GetSize()));
    }
  }

  std::deque<std::string> received_;
  std::vector<std::shared_ptr<const std::string>> sent_;
};

class StreamHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    head_ = std::move(tsdb::Head::Open({})).value();
    now_ = 1'700'000'000'000;
    auto clock = [this] { return now_.load(); };
    service_ = std::make_unique<DashboardService>(*ParseDashboardConfig(""),
                                                  ServiceContext{.storage = head_.get(),
                                                                 .engine = &engine_,
                                                                 .now_ms = clock,
                                                                 .active_series = nullptr,
                                                                 .samples_appended = nullptr,
                                                                 .firing_alerts = nullptr});
    StreamOptions o;
    o.expr_interval = 30ms;
    o.summary_interval = 150ms;
    o.snapshot_interval = 80ms;
    hub_ = std::make_unique<StreamHub>(o, head_.get(), &engine_, service_.get(), clock);
    observed_ = std::make_unique<storage::ObservedStorage>(head_.get(), hub_.get());
    hub_->Start();
  }
  void TearDown() override { hub_->Stop(); }

  void Append(const Labels& ls, int64_t t, double v) {
    auto app = observed_->NewAppender();
    ASSERT_TRUE(app->Append(0, ls, t, v).ok());
    ASSERT_TRUE(app->Commit().ok());
  }

  static rapidjson::Document Json(const std::string& s) {
    rapidjson::Document d;
    d.Parse(s.c_str());
    return d;
  }

  std::unique_ptr<tsdb::Head> head_;
  promql::Engine engine_;
  std::atomic<int64_t> now_;
  std::unique_ptr<DashboardService> service_;
  std::unique_ptr<StreamHub> hub_;
  std::unique_ptr<storage::ObservedStorage> observed_;
};

Labels UpA() { return Labels{{"__name__", "up"}, {"job", "a"}}; }
Labels UpB() { return Labels{{"__name__", "up"}, {"job", "b"}}; }

TEST_F(StreamHubTest, SelectorGetsHistoryThenOnlyMatchingCommittedSamples) {
  Append(UpA(), now_ - 1000, 1);
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s1","selector":"up{job=\"a\"}"})j");
  std::string first = sink->Next("metric_update", "s1");
  ASSERT_FALSE(first.empty());
  auto d = Json(first);
  ASSERT_EQ(d["series"].Size(), 1u);
  EXPECT_STREQ(d["series"][0]["metric"]["job"].GetString(), "a");
  EXPECT_STREQ(d["series"][0]["values"][0][1].GetString(), "1");

  Append(UpB(), now_, 7);
  Append(UpA(), now_, 2);
  std::string live = sink->Next("metric_update", "s1");
  ASSERT_FALSE(live.empty());
  d = Json(live);
  ASSERT_EQ(d["series"].Size(), 1u);
  EXPECT_STREQ(d["series"][0]["metric"]["job"].GetString(), "a");
  EXPECT_STREQ(d["series"][0]["values"][0][1].GetString(), "2");
  EXPECT_EQ(d["series"][0]["values"][0][0].GetDouble(), static_cast<double>(now_) / 1000);
}

TEST_F(StreamHubTest, SamplesOfOneCommitArriveTogether) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up"})j");
  ASSERT_FALSE(sink->Next("metric_update", "s").empty());  // (empty) history
  auto app = observed_->NewAppender();
  ASSERT_TRUE(app->Append(0, UpA(), now_, 1).ok());
  ASSERT_TRUE(app->Append(0, UpB(), now_, 2).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto d = Json(sink->Next("metric_update", "s"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(d["series"].Size(), 2u);
}

TEST_F(StreamHubTest, OneRoundGoesToAClientAsOneFrame) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s1","selector":"up{job=\"a\"}"})j");
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s2","selector":"up{job=\"b\"}"})j");
  ASSERT_FALSE(sink->Next("metric_update", "s1").empty());  // histories
  ASSERT_FALSE(sink->Next("metric_update", "s2").empty());
  const size_t before = sink->sent().size();
  auto app = observed_->NewAppender();
  ASSERT_TRUE(app->Append(0, UpA(), now_, 1).ok());
  ASSERT_TRUE(app->Append(0, UpB(), now_, 2).ok());
  ASSERT_TRUE(app->Commit().ok());
  std::map<std::string, std::string> live;  // the two updates, in either order
  for (int i = 0; i < 2; ++i) {
    std::string text = sink->Next("metric_update");
    auto m = Json(text);
    ASSERT_TRUE(m.IsObject());
    live[m["id"].GetString()] = text;
  }
  auto d1 = Json(live["s1"]);
  auto d2 = Json(live["s2"]);
  ASSERT_TRUE(d1.IsObject() && d2.IsObject());
  EXPECT_STREQ(d1["series"][0]["values"][0][1].GetString(), "1");
  EXPECT_STREQ(d2["series"][0]["values"][0][1].GetString(), "2");
  // Both updates came in one frame (a summary_update may have come in another): a JSON
  // array of the two messages.
  auto sent = sink->sent();
  int updates = 0;
  for (size_t i = before; i < sent.size(); ++i) {
    if (sent[i]->find("metric_update") == std::string::npos) continue;
    ++updates;
    auto batch = Json(*sent[i]);
    ASSERT_TRUE(batch.IsArray()) << *sent[i];
    ASSERT_EQ(batch.Size(), 2u);
    std::set<std::string> ids{batch[0]["id"].GetString(), batch[1]["id"].GetString()};
    EXPECT_EQ(ids, (std::set<std::string>{"s1", "s2"}));
  }
  EXPECT_EQ(updates, 1);
}

TEST_F(StreamHubTest, ActiveOnlyWithSubscriptions) {
  EXPECT_FALSE(hub_->Active());
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  EXPECT_FALSE(hub_->Active());  // connected, nothing subscribed
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up"})j");
  EXPECT_TRUE(hub_->Active());
  hub_->OnMessage(id, R"j({"type":"unsubscribe","id":"s"})j");
  EXPECT_FALSE(hub_->Active());
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"e","expr":"up"})j");
  EXPECT_TRUE(hub_->Active());
  hub_->Disconnect(id);
  EXPECT_FALSE(hub_->Active());
}

TEST_F(StreamHubTest, UnsubscribedSelectorGetsNothingMore) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up"})j");
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"keep","selector":"other"})j");
  ASSERT_FALSE(sink->Next("metric_update", "s").empty());
  ASSERT_FALSE(sink->Next("metric_update", "keep").empty());  // histories
  hub_->OnMessage(id, R"j({"type":"unsubscribe","id":"s"})j");
  Append(UpA(), now_, 1);
  Append(Labels{{"__name__", "other"}}, now_, 1);
  // "other" was committed after "up": had "s" still been live, its update would come first.
  auto d = Json(sink->Next("metric_update"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["id"].GetString(), "keep");
}

TEST_F(StreamHubTest, ExpressionSentOnSubscribeThenOnlyWhenChanged) {
  Append(UpA(), now_ - 1000, 1);
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"e","expr":"sum(up)"})j");
  auto d = Json(sink->Next("expr_update", "e"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["result"]["resultType"].GetString(), "vector");
  EXPECT_STREQ(d["result"]["result"][0]["value"][1].GetString(), "1");

  // New data that leaves the result as it was: re-evaluated, not sent.
  uint64_t evals = hub_->stats().expr_evaluations.load();
  now_ += 1000;
  Append(Labels{{"__name__", "unrelated"}}, now_, 5);
  for (int i = 0; i < 100 && hub_->stats().expr_evaluations.load() == evals; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_GT(hub_->stats().expr_evaluations.load(), evals);
  EXPECT_TRUE(sink->Next("expr_update", "e", 200ms).empty());

  Append(UpB(), now_, 4);
  d = Json(sink->Next("expr_update", "e"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["result"]["result"][0]["value"][1].GetString(), "5");
}

TEST_F(StreamHubTest, NoNewDataNoReevaluation) {
  Append(UpA(), now_ - 1000, 1);
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"e","expr":"up"})j");
  ASSERT_FALSE(sink->Next("expr_update", "e").empty());
  std::this_thread::sleep_for(100ms);  // lets a round clear the "new data" flag
  uint64_t evals = hub_->stats().expr_evaluations.load();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(hub_->stats().expr_evaluations.load(), evals);
}

TEST_F(StreamHubTest, RangeExpressionEvaluatesOnlyNewSteps) {
  now_ = 1'700'000'000'000 - (1'700'000'000'000 % 10'000);  // on a step boundary
  for (int i = 0; i < 12; ++i) Append(UpA(), now_ - 110'000 + i * 10'000, i);
  std::this_thread::sleep_for(150ms);  // a round takes the "new data" flag of these appends
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"r","expr":"up * 2","range":60,"step":10})j");
  auto d = Json(sink->Next("expr_update", "r"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["result"]["resultType"].GetString(), "matrix");
  EXPECT_EQ(d["result"]["result"][0]["values"].Size(), 7u);  // 60 s / 10 s + 1
  EXPECT_EQ(hub_->stats().expr_steps_evaluated.load(), 7u);

  now_ += 10'000;
  Append(UpA(), now_, 100);
  // The boundary passing and the new sample may be two rounds or one; each evaluates the
  // previous last step again (it may have gained samples) and the new one.
  for (;;) {
    d = Json(sink->Next("expr_update", "r"));
    ASSERT_TRUE(d.IsObject());
    const auto& v = d["result"]["result"][0]["values"];
    if (v.Size() == 7u && std::string_view(v[6][1].GetString()) == "200") break;
  }
  EXPECT_GE(hub_->stats().expr_steps_evaluated.load(), 9u);
  EXPECT_LE(hub_->stats().expr_steps_evaluated.load(), 11u);
  const auto& values = d["result"]["result"][0]["values"];

  // The shifted result is what a full evaluation gives.
  auto full = engine_.Range(*head_, "up * 2", now_ - 60'000, now_, 10'000);
  ASSERT_TRUE(full.ok());
  const auto& m = std::get<promql::Matrix>(full->value);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].points.size(), values.Size());
  for (size_t i = 0; i < m[0].points.size(); ++i) {
    EXPECT_EQ(values[static_cast<rapidjson::SizeType>(i)][0].GetDouble() * 1000,
              static_cast<double>(m[0].points[i].t));
    EXPECT_EQ(std::stod(values[static_cast<rapidjson::SizeType>(i)][1].GetString()),
              m[0].points[i].v);
  }
}

TEST_F(StreamHubTest, RangeExpressionMovesAtStepBoundaryWithoutNewData) {
  now_ = 1'700'000'000'000 - (1'700'000'000'000 % 10'000) + 2'000;
  Append(UpA(), now_ - 102'000, 4);    // within the lookback of every step below
  std::this_thread::sleep_for(150ms);  // a round takes the "new data" flag of this append
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"r","expr":"up","range":60,"step":10})j");
  auto d = Json(sink->Next("expr_update", "r"));
  ASSERT_TRUE(d.IsObject());
  const double last = d["result"]["result"][0]["values"][6][0].GetDouble();
  EXPECT_TRUE(sink->Next("expr_update", "r", 200ms).empty());  // nothing new, no boundary
  now_ += 10'000;  // the next step boundary passes; no sample comes
  d = Json(sink->Next("expr_update", "r"));
  ASSERT_TRUE(d.IsObject());
  const auto& values = d["result"]["result"][0]["values"];
  ASSERT_EQ(values.Size(), 7u);
  EXPECT_EQ(values[6][0].GetDouble(), last + 10);
  EXPECT_STREQ(values[6][1].GetString(), "4");
}

TEST_F(StreamHubTest, SharedExpressionEvaluatedOnce) {
  Append(UpA(), now_ - 1000, 1);
  auto a = std::make_shared<FakeSink>();
  auto b = std::make_shared<FakeSink>();
  auto ia = hub_->Connect(a);
  auto ib = hub_->Connect(b);
  hub_->OnMessage(ia, R"j({"type":"subscribe","id":"x","expr":"sum(up)"})j");
  ASSERT_FALSE(a->Next("expr_update", "x").empty());
  hub_->OnMessage(ib, R"j({"type":"subscribe","id":"y","expr":"sum(up)"})j");
  ASSERT_FALSE(b->Next("expr_update", "y").empty());
  std::this_thread::sleep_for(150ms);
  uint64_t evals = hub_->stats().expr_evaluations.load();
  Append(UpA(), now_, 3);
  ASSERT_FALSE(a->Next("expr_update", "x").empty());
  ASSERT_FALSE(b->Next("expr_update", "y").empty());
  EXPECT_EQ(hub_->stats().expr_evaluations.load(), evals + 1);
}

TEST_F(StreamHubTest, SameExpressionAndIdShareOneMessage) {
  Append(UpA(), now_ - 1000, 1);
  auto a = std::make_shared<FakeSink>();
  auto b = std::make_shared<FakeSink>();
  auto c = std::make_shared<FakeSink>();
  auto ia = hub_->Connect(a);
  auto ib = hub_->Connect(b);
  auto ic = hub_->Connect(c);
  hub_->OnMessage(ia, R"j({"type":"subscribe","id":"x","expr":"sum(up)"})j");
  hub_->OnMessage(ib, R"j({"type":"subscribe","id":"x","expr":"sum(up)"})j");
  hub_->OnMessage(ic, R"j({"type":"subscribe","id":"y","expr":"sum(up)"})j");
  ASSERT_FALSE(a->Next("expr_update", "x").empty());
  ASSERT_FALSE(b->Next("expr_update", "x").empty());
  ASSERT_FALSE(c->Next("expr_update", "y").empty());
  Append(UpA(), now_, 3);
  ASSERT_FALSE(a->Next("expr_update", "x").empty());
  ASSERT_FALSE(b->Next("expr_update", "x").empty());
  ASSERT_FALSE(c->Next("expr_update", "y").empty());
  auto last_expr = [](const FakeSink& sink) {
    std::shared_ptr<const std::string> last;
    for (const auto& m : sink.sent()) {
      if (m->starts_with(R"({"type":"expr_update")")) last = m;
    }
    return last;
  };
  auto ma = last_expr(*a), mb = last_expr(*b), mc = last_expr(*c);
  ASSERT_TRUE(ma && mb && mc);
  EXPECT_EQ(ma.get(), mb.get());  // one message built for both
  EXPECT_NE(ma.get(), mc.get());  // another id, another message
  EXPECT_NE(mc->find(R"("id":"y")"), std::string::npos);
}

TEST_F(StreamHubTest, BadSubscriptionsGetErrors) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"e","expr":"sum(rate(up[5m])"})j");
  auto d = Json(sink->Next("error"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["id"].GetString(), "e");
  EXPECT_STREQ(d["errorType"].GetString(), "bad_data");
  EXPECT_EQ(std::string(d["error"].GetString()).rfind("1:", 0), 0u) << d["error"].GetString();

  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up{"})j");
  d = Json(sink->Next("error"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["id"].GetString(), "s");

  hub_->OnMessage(id, "not json");
  d = Json(sink->Next("error"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_TRUE(d["id"].IsNull());

  hub_->OnMessage(id, R"j({"type":"subscribe","id":"r","expr":"up","range":-5})j");
  d = Json(sink->Next("error"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_NE(std::string(d["error"].GetString()).find("range"), std::string::npos);

  hub_->OnMessage(id, R"j({"type":"subscribe","id":"t","selector":"up","expr":"up"})j");
  EXPECT_FALSE(sink->Next("error", "t").empty());
  hub_->OnMessage(id, R"j({"type":"shout","id":"u"})j");
  EXPECT_FALSE(sink->Next("error", "u").empty());
  // An expression that parses but cannot be evaluated: error, and no subscription.
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"v","expr":"\"text\" + 1"})j");
  EXPECT_FALSE(sink->Next("error", "v").empty());
  EXPECT_FALSE(hub_->Active());
}

TEST_F(StreamHubTest, SlowClientSwitchesToSnapshotsAndBack) {
  auto sink = std::make_shared<FakeSink>(4096);
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up"})j");
  ASSERT_FALSE(sink->Next("metric_update", "s").empty());
  sink->Pause();
  int i = 0;
  for (; i < 5000 && hub_->stats().snapshot_switches.load() == 0; ++i) {
    Append(UpA(), now_ - 10'000 + i, i);  // one commit each
    if (i % 100 == 99) std::this_thread::sleep_for(5ms);
  }
  for (int k = 0; k < 100 && hub_->stats().snapshot_switches.load() == 0; ++k)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(hub_->stats().snapshot_switches.load(), 1u);
  const int last = i + 500;
  for (; i <= last; ++i) Append(UpA(), now_ - 10'000 + i, i);  // ingestion never waits
  std::this_thread::sleep_for(300ms);
  EXPECT_LE(sink->max_queued(), 4096u);           // the bound held throughout
  EXPECT_EQ(hub_->stats().snapshots.load(), 0u);  // nothing more while it does not read

  sink->Resume();
  ASSERT_FALSE(sink->Next("mode").empty());  // "snapshot"
  // Reading again: a snapshot with everything, then live again.
  std::string snap = sink->Next("metric_update", "s");
  ASSERT_FALSE(snap.empty());
  EXPECT_NE(snap.find("\"" + std::to_string(last) + "\""), std::string::npos);
  std::string mode = sink->Next("mode");
  EXPECT_NE(mode.find("\"live\""), std::string::npos) << mode;
  Append(UpA(), now_ + 2000, 42);
  std::string live = sink->Next("metric_update", "s");
  while (!live.empty() && live.find("\"42\"") == std::string::npos)
    live = sink->Next("metric_update", "s");
  EXPECT_FALSE(live.empty());
}

TEST_F(StreamHubTest, SummaryUpdatesToEveryClient) {
  auto a = std::make_shared<FakeSink>();
  auto b = std::make_shared<FakeSink>();
  hub_->Connect(a);
  hub_->Connect(b);
  auto d = Json(a->Next("summary_update"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(d["data"]["domains"].Size(), 5u);
  EXPECT_STREQ(d["data"]["domains"][0]["status"].GetString(), "unknown");
  EXPECT_FALSE(b->Next("summary_update").empty());
}

TEST_F(StreamHubTest, IdenticalSelectorsShareOneDecisionAndOneMessage) {
  auto a = std::make_shared<FakeSink>();
  auto b = std::make_shared<FakeSink>();
  auto ida = hub_->Connect(a);
  auto idb = hub_->Connect(b);
  hub_->OnMessage(ida, R"j({"type":"subscribe","id":"s","selector":"up{job=\"a\"}"})j");
  ASSERT_FALSE(a->Next("metric_update", "s").empty());
  EXPECT_TRUE(hub_->Interested(1007, UpA()));
  EXPECT_EQ(hub_->stats().interest_decisions.load(), 1u);
  // The same selector, written differently, joins the group: the decision stands.
  hub_->OnMessage(idb,
                  R"j({"type":"subscribe","id":"s","selector":"{job=\"a\",__name__=\"up\"}"})j");
  ASSERT_FALSE(b->Next("metric_update", "s").empty());
  EXPECT_TRUE(hub_->Interested(1007, UpA()));
  EXPECT_EQ(hub_->stats().interest_decisions.load(), 1u);
  uint64_t updates = hub_->stats().metric_updates.load();
  Append(UpA(), now_, 5);  // the head's own reference for the series: a decision of its own
  auto da = Json(a->Next("metric_update", "s"));
  auto db = Json(b->Next("metric_update", "s"));
  ASSERT_TRUE(da.IsObject());
  ASSERT_TRUE(db.IsObject());
  EXPECT_STREQ(da["series"][0]["values"][0][1].GetString(), "5");
  EXPECT_STREQ(db["series"][0]["values"][0][1].GetString(), "5");
  EXPECT_EQ(hub_->stats().metric_updates.load(), updates + 2);
  // One subscriber leaving keeps the group; the last one leaving changes the groups.
  uint64_t decisions = hub_->stats().interest_decisions.load();
  hub_->OnMessage(ida, R"j({"type":"unsubscribe","id":"s"})j");
  EXPECT_TRUE(hub_->Interested(1007, UpA()));
  EXPECT_EQ(hub_->stats().interest_decisions.load(), decisions);
  hub_->OnMessage(idb, R"j({"type":"unsubscribe","id":"s"})j");
  EXPECT_FALSE(hub_->Interested(1007, UpA()));
  EXPECT_EQ(hub_->stats().interest_decisions.load(), decisions + 1);
}

TEST_F(StreamHubTest, OnlySelectorsNamingTheMetricOrNoneAreConsidered) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"n","selector":"other_metric"})j");
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"j","selector":"{job=\"b\"}"})j");
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"r","selector":"{__name__=~\"u.\"}"})j");
  // References far from the head's own, which the appends below get.
  EXPECT_TRUE(hub_->Interested(1001, UpA()));  // the regex on the name
  EXPECT_TRUE(hub_->Interested(1002, UpB()));  // both the job and the regex
  EXPECT_FALSE(hub_->Interested(1003, Labels{{"__name__", "zzz"}}));
  EXPECT_TRUE(hub_->Interested(1004, Labels{{"__name__", "other_metric"}}));
  ASSERT_FALSE(sink->Next("metric_update", "r").empty());
  Append(UpB(), now_, 3);
  // Both updates come in one round, in either order.
  std::map<std::string, std::string> live;
  for (int i = 0; i < 2; ++i) {
    std::string text = sink->Next("metric_update");
    auto m = Json(text);
    ASSERT_TRUE(m.IsObject());
    live[m["id"].GetString()] = text;
  }
  ASSERT_EQ(live.count("j"), 1u);
  ASSERT_EQ(live.count("r"), 1u);
  auto d = Json(live["j"]);
  EXPECT_STREQ(d["series"][0]["metric"]["job"].GetString(), "b");
  d = Json(live["r"]);
  EXPECT_EQ(d["series"].Size(), 1u);
}

TEST(StreamHubCoalescing, CommitsWithinOneIntervalGoOutAsOneUpdate) {
  auto head = std::move(tsdb::Head::Open({})).value();
  promql::Engine engine;
  int64_t now = 1'700'000'000'000;
  auto clock = [now] { return now; };
  DashboardService service(*ParseDashboardConfig(""), ServiceContext{.storage = head.get(),
                                                                     .engine = &engine,
                                                                     .now_ms = clock,
                                                                     .active_series = nullptr,
                                                                     .samples_appended = nullptr,
                                                                     .firing_alerts = nullptr});
  StreamOptions o;
  o.update_interval = 1000ms;
  StreamHub hub(o, head.get(), &engine, &service, clock);
  storage::ObservedStorage observed(head.get(), &hub);
  hub.Start();
  auto sink = std::make_shared<FakeSink>();
  auto id = hub.Connect(sink);
  hub.OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up"})j");
  ASSERT_FALSE(sink->Next("metric_update", "s").empty());  // history
  auto append = [&](const Labels& ls, int64_t t, double v) {
    auto app = observed.NewAppender();
    ASSERT_TRUE(app->Append(0, ls, t, v).ok());
    ASSERT_TRUE(app->Commit().ok());
  };
  // A first commit after a quiet interval goes out at once; the next ones, committed
  // before the interval has passed, come together in the following round.
  append(UpA(), now, 1);
  auto first = sink->Next("metric_update", "s", 300ms);
  ASSERT_FALSE(first.empty());
  append(UpA(), now + 1, 2);
  append(UpB(), now + 1, 3);
  append(UpA(), now + 2, 4);
  EXPECT_TRUE(sink->Next("metric_update", "s", 200ms).empty());  // not before the interval
  rapidjson::Document d;
  d.Parse(sink->Next("metric_update", "s", 3000ms).c_str());
  ASSERT_TRUE(d.IsObject());
  ASSERT_EQ(d["series"].Size(), 2u);
  EXPECT_STREQ(d["series"][0]["metric"]["job"].GetString(), "a");
  ASSERT_EQ(d["series"][0]["values"].Size(), 2u);
  EXPECT_STREQ(d["series"][0]["values"][0][1].GetString(), "2");
  EXPECT_STREQ(d["series"][0]["values"][1][1].GetString(), "4");
  EXPECT_STREQ(d["series"][1]["values"][0][1].GetString(), "3");
  hub.Stop();
}

TEST_F(StreamHubTest, InterestIsCachedPerReference) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up{job=\"a\"}"})j");
  EXPECT_TRUE(hub_->Interested(1, UpA()));
  // Same reference, same subscriptions: the cached answer, whatever labels come along.
  EXPECT_TRUE(hub_->Interested(1, UpB()));
  EXPECT_FALSE(hub_->Interested(2, UpB()));
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s2","selector":"up{job=\"b\"}"})j");
  EXPECT_TRUE(hub_->Interested(2, UpB()));  // a new version decides again
}

TEST_F(StreamHubTest, SubscriptionAfterASeriesWasFoundUnwantedGetsItsSamples) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"o","selector":"other"})j");
  ASSERT_FALSE(sink->Next("metric_update", "o").empty());  // (empty) history
  Append(UpA(), now_ - 10, 1);                             // decided: nobody wants it
  const uint64_t decisions = hub_->stats().interest_decisions.load();
  EXPECT_GE(decisions, 1u);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up{job=\"a\"}"})j");
  ASSERT_FALSE(sink->Next("metric_update", "s").empty());  // history
  Append(UpA(), now_, 2);
  auto d = Json(sink->Next("metric_update", "s"));
  ASSERT_TRUE(d.IsObject());
  ASSERT_EQ(d["series"].Size(), 1u);
  EXPECT_STREQ(d["series"][0]["metric"]["job"].GetString(), "a");
  EXPECT_STREQ(d["series"][0]["values"][0][1].GetString(), "2");
  EXPECT_GT(hub_->stats().interest_decisions.load(), decisions);  // decided again
  // Removing it stops them: the next update is the other subscription's.
  hub_->OnMessage(id, R"j({"type":"unsubscribe","id":"s"})j");
  Append(UpA(), now_ + 1, 3);
  Append(Labels{{"__name__", "other"}}, now_ + 1, 4);
  d = Json(sink->Next("metric_update"));
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["id"].GetString(), "o");
  EXPECT_FALSE(hub_->Interested(1234, UpA()));
}

TEST_F(StreamHubTest, SamplesOnTheirWaySurviveAChangeOfGroups) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up{job=\"a\"}"})j");
  ASSERT_FALSE(sink->Next("metric_update", "s").empty());
  const storage::SeriesRef ref = 424242;  // not the head's: only the hub knows its labels
  ASSERT_TRUE(hub_->Interested(ref, UpA()));
  // Another group: every verdict is void, but a sample kept on the old one still goes out.
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"t","selector":"other"})j");
  ASSERT_FALSE(sink->Next("metric_update", "t").empty());
  hub_->OnCommit({{ref, now_, 9}});
  auto d = Json(sink->Next("metric_update", "s"));
  ASSERT_TRUE(d.IsObject());
  ASSERT_EQ(d["series"].Size(), 1u);
  EXPECT_STREQ(d["series"][0]["metric"]["__name__"].GetString(), "up");
  EXPECT_STREQ(d["series"][0]["metric"]["job"].GetString(), "a");
  EXPECT_STREQ(d["series"][0]["values"][0][1].GetString(), "9");
}

TEST_F(StreamHubTest, SamplesOfSeriesNeverFoundWantedAreNotSent) {
  auto sink = std::make_shared<FakeSink>();
  auto id = hub_->Connect(sink);
  hub_->OnMessage(id, R"j({"type":"subscribe","id":"s","selector":"up"})j");
  ASSERT_FALSE(sink->Next("metric_update", "s").empty());
  ASSERT_FALSE(hub_->Interested(555, Labels{{"__name__", "zzz"}}));
  hub_->OnCommit({{555, now_, 1}, {556, now_, 2}});  // one unwanted, one never decided
  EXPECT_TRUE(sink->Next("metric_update", "s", 400ms).empty());
  Append(UpB(), now_, 3);  // and the stream goes on
  auto d = Json(sink->Next("metric_update", "s"));
  ASSERT_TRUE(d.IsObject());
  ASSERT_EQ(d["series"].Size(), 1u);
  EXPECT_STREQ(d["series"][0]["values"][0][1].GetString(), "3");
}

}  // namespace
}  // namespace zw::dashboard
