#include "ingest/push.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "ingest/log_buckets.h"
#include "storage/series_set.h"
#include "tsdb/head.h"

namespace zw::ingest {
namespace {

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = tsdb::Head::Open({});
    ASSERT_TRUE(h.ok());
    head_ = std::move(h).value();
    push_ = std::make_unique<PushIngester>(head_.get());
  }

  std::vector<Sample> Samples(const Labels& ls) { return storage::ReadExact(*head_, ls); }

  std::unique_ptr<tsdb::Head> head_;
  std::unique_ptr<PushIngester> push_;
};

const Labels kReq{{"__name__", "coordination_tasks_total"},
                  {"domain", "coordination"},
                  {"source", "swarm-1"},
                  {"level", "swarm"}};

TEST_F(PushTest, CounterAccumulatesAcrossFormats) {
  auto r = push_->Push(
      R"({"source":"swarm-1","domain":"coordination","type":"counter","name":"tasks","value":2,"labels":{"level":"swarm"},"timestamp":1000})",
      0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  r = push_->Push(
      R"([{"source":"swarm-1","domain":"coordination","type":"counter","name":"tasks","value":3,"labels":{"level":"swarm"},"timestamp":2000}])",
      0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  r = push_->Push(
      "{\"source\":\"swarm-1\",\"domain\":\"coordination\",\"type\":\"counter\",\"name\":\"tasks\","
      "\"value\":1,\"labels\":{\"level\":\"swarm\"},\"timestamp\":3000}\n"
      "{\"source\":\"swarm-1\",\"domain\":\"coordination\",\"type\":\"counter\",\"name\":\"tasks\","
      "\"value\":1,\"labels\":{\"level\":\"swarm\"},\"timestamp\":3000}\n",
      0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->events, 2u);
  EXPECT_EQ(r->samples, 1u);  // two increments at one timestamp make one sample
  EXPECT_EQ(Samples(kReq), (std::vector<Sample>{{1000, 2}, {2000, 5}, {3000, 7}}));
  ASSERT_TRUE(head_->Metadata("coordination_tasks_total").has_value());
  EXPECT_EQ(head_->Metadata("coordination_tasks_total")->type, MetricType::kCounter);
}

TEST_F(PushTest, CounterTotalSurvivesARestartOfTheIngester) {
  ASSERT_TRUE(
      push_
          ->Push(
              R"({"source":"swarm-1","domain":"coordination","type":"counter","name":"tasks","value":4,"labels":{"level":"swarm"},"timestamp":1000})",
              0)
          .ok());
  PushIngester fresh(head_.get());  // as after a server restart: state comes from storage
  ASSERT_TRUE(
      fresh
          .Push(
              R"({"source":"swarm-1","domain":"coordination","type":"counter","name":"tasks","value":1,"labels":{"level":"swarm"},"timestamp":2000})",
              0)
          .ok());
  EXPECT_EQ(Samples(kReq).back(), (Sample{2000, 5}));
}

TEST_F(PushTest, GaugeSetsAndDefaultsTimestampToNow) {
  ASSERT_TRUE(
      push_
          ->Push(
              R"({"source":"wasm","domain":"neural","type":"gauge","name":"memory.bytes","value":1048576})",
              123456)
          .ok());
  EXPECT_EQ(Samples(Labels{
                {"__name__", "neural_memory_bytes"}, {"domain", "neural"}, {"source", "wasm"}}),
            (std::vector<Sample>{{123456, 1048576}}));
}

TEST_F(PushTest, TimerBecomesCumulativeHistogramInSeconds) {
  std::string body;
  for (double ms : {10.0, 20.0, 20.0, 400.0}) {
    body += R"({"source":"db","domain":"database","type":"timer","name":"query","value":)" +
            std::to_string(ms) + R"(,"labels":{"adapter":"sqlite"},"timestamp":5000})" + "\n";
  }
  ASSERT_TRUE(push_->Push(body, 0).ok());
  Labels base{{"domain", "database"}, {"source", "db"}, {"adapter", "sqlite"}};
  auto with = [&](std::string name, std::string le = "") {
    LabelsBuilder b(base);
    b.Set("__name__", name);
    if (!le.empty()) b.Set("le", le);
    return b.Build();
  };
  EXPECT_EQ(Samples(with("database_query_seconds_count")), (std::vector<Sample>{{5000, 4}}));
  EXPECT_NEAR(Samples(with("database_query_seconds_sum"))[0].v, 0.45, 1e-12);
  EXPECT_EQ(Samples(with("database_query_seconds_bucket", "+Inf")),
            (std::vector<Sample>{{5000, 4}}));
  // 0.02 s falls in the bucket whose bound is the smallest 2^(i/16) >= 0.02.
  int i = LogBucketIndex(0.02);
  EXPECT_EQ(Samples(with("database_query_seconds_bucket", FormatLe(LogBucketBound(i)))),
            (std::vector<Sample>{{5000, 3}}));
  // The bound just below an occupied bucket exists too, holding what lies below it.
  EXPECT_EQ(Samples(with("database_query_seconds_bucket", FormatLe(LogBucketBound(i - 1)))),
            (std::vector<Sample>{{5000, 1}}));
  auto meta = head_->Metadata("database_query_seconds");
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->unit, "seconds");
  EXPECT_EQ(meta->type, MetricType::kHistogram);
}

TEST_F(PushTest, HistogramStateIsReloadedFromStorage) {
  ASSERT_TRUE(
      push_
          ->Push(
              R"({"source":"s","domain":"neural","type":"histogram","name":"batch","value":3,"timestamp":1000})",
              0)
          .ok());
  PushIngester fresh(head_.get());
  ASSERT_TRUE(
      fresh
          .Push(
              R"({"source":"s","domain":"neural","type":"histogram","name":"batch","value":3,"timestamp":2000})",
              0)
          .ok());
  Labels le{{"__name__", "neural_batch_bucket"},
            {"domain", "neural"},
            {"source", "s"},
            {"le", FormatLe(LogBucketBound(LogBucketIndex(3)))}};
  EXPECT_EQ(Samples(le), (std::vector<Sample>{{1000, 1}, {2000, 2}}));
  EXPECT_EQ(
      Samples(Labels{{"__name__", "neural_batch_count"}, {"domain", "neural"}, {"source", "s"}})
          .back()
          .v,
      2);
}

TEST_F(PushTest, LogBucketsBoundTheRelativeError) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exp10(-5, 8);
  for (int k = 0; k < 100000; ++k) {
    double v = std::pow(10.0, exp10(rng));
    int i = LogBucketIndex(v);
    ASSERT_LE(v, LogBucketBound(i));
    ASSERT_GT(v, LogBucketBound(i - 1));
    ASSERT_LE((LogBucketBound(i) - LogBucketBound(i - 1)) / LogBucketBound(i - 1), 0.0444);
    ASSERT_EQ(*LogBucketIndexForLe(FormatLe(LogBucketBound(i))), i);
  }
  EXPECT_EQ(LogBucketIndex(LogBucketBound(5)), 5);  // bounds are inclusive
}

struct BadCase {
  const char* body;
  const char* expect;  // a part of the error message
};

TEST_F(PushTest, BadInputIsRejectedWholeWithAClearError) {
  const char* good =
      R"({"source":"a","domain":"coordination","type":"gauge","name":"g","value":1,"timestamp":1000})";
  std::vector<BadCase> cases = {
      {"", "empty body"},
      {"{", "invalid JSON"},
      {"[1]", "not a JSON object"},
      {R"({"domain":"d","type":"gauge","name":"g","value":1})",
       "item 1: field \"source\": missing"},
      {R"({"source":"a","domain":"d","type":"meter","name":"g","value":1})", "field \"type\""},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g","value":"1"})",
       "field \"value\": must be a number"},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g"})", "field \"value\": missing"},
      {R"({"source":"a","domain":"d e","type":"gauge","name":"g","value":1})", "field \"domain\""},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g$","value":1})", "field \"name\""},
      {R"({"source":"a","domain":"d","type":"counter","name":"c","value":-1})",
       "must not be negative"},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g","value":1,"labels":{"0bad":"x"}})",
       "labels.0bad"},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g","value":1,"labels":{"a":1}})",
       "labels.a"},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g","value":1,"labels":{"domain":"x"}})",
       "labels.domain"},
      {R"({"source":"a","domain":"d","type":"timer","name":"t","value":1,"labels":{"le":"x"}})",
       "labels.le"},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g","value":1,"timestamp":-5})",
       "field \"timestamp\""},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g","value":1,"metadata":3})",
       "field \"metadata\""},
      {R"({"source":"a","domain":"d","type":"gauge","name":"g","value":1,"extra":true})",
       "field \"extra\": unknown"},
  };
  for (const BadCase& c : cases) {
    std::string body = std::string(good) + "\n" + c.body;
    if (std::string(c.body).empty()) body = "  ";
    auto r = push_->Push(body, 0);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.body << " -> " << r.status().message();
  }
  EXPECT_EQ(head_->NumSeries(), 0u);  // the good first item was not stored either
}

TEST_F(PushTest, OutOfOrderInARequestRejectsAll) {
  auto r = push_->Push(
      R"([{"source":"a","domain":"d","type":"gauge","name":"other","value":1,"timestamp":5000},
                          {"source":"a","domain":"d","type":"gauge","name":"g","value":1,"timestamp":2000},
                          {"source":"a","domain":"d","type":"gauge","name":"g","value":2,"timestamp":1000}])",
      0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfOrder);
  EXPECT_NE(r.status().message().find("item 2"), std::string::npos) << r.status().message();
  EXPECT_TRUE(Samples(Labels{{"__name__", "d_other"}, {"domain", "d"}, {"source", "a"}}).empty());
}

TEST_F(PushTest, ATypeCannotChange) {
  ASSERT_TRUE(
      push_
          ->Push(
              R"({"source":"a","domain":"d","type":"gauge","name":"x_total","value":1,"timestamp":1})",
              0)
          .ok());
  auto r = push_->Push(
      R"({"source":"a","domain":"d","type":"counter","name":"x","value":1,"timestamp":2})", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("stored as a gauge"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace zw::ingest
