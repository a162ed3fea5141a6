#include "zenwatch/family.h"

#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "zenwatch/registry.h"

namespace zenwatch {
namespace {

using ::testing::HasSubstr;

// Runs `f`, expecting std::invalid_argument whose message contains every one of `parts`.
template <typename F>
void ExpectInvalid(F f, std::vector<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    for (const auto& part : parts) EXPECT_THAT(e.what(), HasSubstr(part));
  }
}

TEST(FamilyTest, WithReturnsTheSameSeriesForTheSameLabelsInAnyOrder) {
  Registry r;
  auto& requests = r.AddCounter("requests_total", "Requests.", {"domain", "level"});
  Counter& a = requests.With({{"domain", "coordination"}, {"level", "swarm"}});
  Counter& b = requests.With({{"level", "swarm"}, {"domain", "coordination"}});
  Counter& c = requests.With({{"domain", "coordination"}, {"level", "program"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
}

TEST(FamilyTest, WithTakesOwnedLabels) {
  Registry r;
  auto& g = r.AddGauge("queue_length", "Items queued.", {"queue"});
  const Labels labels{{"queue", "ingest"}};
  EXPECT_EQ(&g.With(labels), &g.With({{"queue", "ingest"}}));
}

TEST(FamilyTest, WithoutLabelsTheOneSeriesExistsFromTheStart) {
  Registry r;
  auto& up = r.AddGauge("up", "Whether the app is up.");
  up.With({}).Set(1);
  EXPECT_EQ(up.With({}).Value(), 1);
  EXPECT_EQ(r.ExpositionText(), "# HELP up Whether the app is up.\n# TYPE up gauge\nup 1\n");
}

TEST(FamilyTest, MissingLabelThrowsNamingIt) {
  Registry r;
  auto& f = r.AddCounter("requests_total", "Requests.", {"domain", "level"});
  ExpectInvalid([&] { f.With({{"domain", "x"}}); }, {"requests_total", "\"level\""});
}

TEST(FamilyTest, UnexpectedLabelThrowsNamingIt) {
  Registry r;
  auto& f = r.AddCounter("requests_total", "Requests.", {"domain"});
  ExpectInvalid(
      [&] {
        f.With({{"domain", "x"}, {"levle", "y"}});
      },
      {"requests_total", "\"levle\""});
  ExpectInvalid([&] { f.With({{"levle", "y"}}); }, {"requests_total", "\"domain\""});
}

TEST(FamilyTest, RepeatedLabelThrows) {
  Registry r;
  auto& f = r.AddCounter("requests_total", "Requests.", {"domain"});
  ExpectInvalid([&] { f.With({{"domain", "x"}, {"domain", "y"}}); }, {"requests_total", "twice"});
}

TEST(FamilyTest, InvalidUtf8ValueThrows) {
  Registry r;
  auto& f = r.AddCounter("requests_total", "Requests.", {"path"});
  ExpectInvalid([&] { f.With({{"path", "\xff\xfe"}}); }, {"requests_total", "path", "UTF-8"});
  f.With({{"path", "caf\xc3\xa9"}}).Inc();  // é
}

TEST(FamilyTest, HistogramSeriesShareTheFamilysBuckets) {
  Registry r;
  auto& f = r.AddHistogram("latency_seconds", "Latency.", {0.1, 1}, {"op"});
  EXPECT_THAT(f.With({{"op", "read"}}).UpperBounds(), ::testing::ElementsAre(0.1, 1));
}

TEST(FamilyTest, ConcurrentWithMakesEachSeriesOnce) {
  Registry r;
  auto& f = r.AddCounter("hits_total", "Hits.", {"shard"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f] {
      for (int i = 0; i < 20'000; ++i) f.With({{"shard", std::to_string(i % 50)}}).Inc();
    });
  }
  for (auto& t : threads) t.join();
  const auto families = r.Collect();
  ASSERT_EQ(families.size(), 1u);
  ASSERT_EQ(families[0].samples.size(), 50u);
  for (const Sample& s : families[0].samples) EXPECT_EQ(s.value, 4 * 20'000 / 50);
}

TEST(RegistryTest, InvalidMetricNameThrowsNamingIt) {
  Registry r;
  ExpectInvalid([&] { r.AddCounter("1st_total", "x"); }, {"\"1st_total\""});
  ExpectInvalid([&] { r.AddGauge("bad-name", "x"); }, {"\"bad-name\""});
  ExpectInvalid([&] { r.AddGauge("", "x"); }, {"\"\""});
  ExpectInvalid([&] { r.AddCallbackGauge("a b", "x", [] { return 1.0; }); }, {"\"a b\""});
  r.AddGauge("ok:with_colons_1", "x");
}

TEST(RegistryTest, InvalidLabelNameThrowsNamingItAndTheMetric) {
  Registry r;
  ExpectInvalid([&] { r.AddCounter("a_total", "x", {"ok", "not:ok"}); }, {"not:ok", "a_total"});
  ExpectInvalid([&] { r.AddCounter("a_total", "x", {"9lives"}); }, {"9lives", "a_total"});
  ExpectInvalid([&] { r.AddCounter("a_total", "x", {"__reserved"}); },
                {"__reserved", "a_total", "reserved"});
  ExpectInvalid([&] { r.AddCounter("a_total", "x", {}, {{"bad-const", "v"}}); }, {"bad-const"});
}

TEST(RegistryTest, DuplicateAndReservedLabelsThrow) {
  Registry r;
  ExpectInvalid([&] { r.AddCounter("a_total", "x", {"k", "k"}); }, {"\"k\"", "twice"});
  ExpectInvalid([&] { r.AddCounter("a_total", "x", {"k"}, {{"k", "v"}}); }, {"\"k\"", "twice"});
  ExpectInvalid([&] { r.AddHistogram("h", "x", {1}, {"le"}); }, {"\"le\"", "h"});
}

TEST(RegistryTest, BadBucketsThrow) {
  Registry r;
  EXPECT_THROW(r.AddHistogram("h", "x", {2, 1}), std::invalid_argument);
}

TEST(RegistryTest, AddingTheSameFamilyAgainReturnsIt) {
  Registry r;
  auto& a = r.AddCounter("a_total", "A.", {"k"});
  EXPECT_EQ(&a, &r.AddCounter("a_total", "A.", {"k"}));
  auto& h = r.AddHistogram("h", "H.", {1, 2});
  EXPECT_EQ(&h, &r.AddHistogram("h", "H.", {1, 2, std::numeric_limits<double>::infinity()}));
}

TEST(RegistryTest, AddingAConflictingFamilyThrows) {
  Registry r;
  r.AddCounter("a_total", "A.", {"k"});
  ExpectInvalid([&] { r.AddGauge("a_total", "A.", {"k"}); }, {"a_total", "already"});
  ExpectInvalid([&] { r.AddCounter("a_total", "A.", {"j"}); }, {"a_total"});
  ExpectInvalid([&] { r.AddCounter("a_total", "Other help.", {"k"}); }, {"a_total"});
  ExpectInvalid([&] { r.AddCallbackCounter("a_total", "A.", [] { return 1.0; }); }, {"a_total"});
  r.AddHistogram("h", "H.", {1});
  ExpectInvalid([&] { r.AddHistogram("h", "H.", {2}); }, {"metric h ", "buckets"});
}

TEST(RegistryTest, HistogramSuffixesClash) {
  Registry r;
  r.AddHistogram("rpc_seconds", "RPC.", {1});
  ExpectInvalid([&] { r.AddCounter("rpc_seconds_count", "x"); }, {"rpc_seconds_count"});
  ExpectInvalid([&] { r.AddGauge("rpc_seconds_bucket", "x"); }, {"rpc_seconds_bucket"});
  r.AddGauge("db_seconds_sum", "x");
  ExpectInvalid([&] { r.AddHistogram("db_seconds", "x", {1}); }, {"db_seconds_sum"});
}

TEST(RegistryTest, ConstLabelsAreOnEverySeries) {
  Registry r;
  auto& f = r.AddCounter("jobs_total", "Jobs.", {"queue"}, {{"zone", "b"}, {"app", "zw"}});
  f.With({{"queue", "q1"}}).Inc();
  EXPECT_EQ(r.ExpositionText(),
            "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\n"
            "jobs_total{app=\"zw\",zone=\"b\",queue=\"q1\"} 1\n");
}

TEST(RegistryTest, LabelledFamiliesWithoutSeriesAreLeftOut) {
  Registry r;
  r.AddCounter("unused_total", "Never used.", {"k"});
  EXPECT_EQ(r.ExpositionText(), "");
}

TEST(RegistryTest, CallbackGaugeAndCounterAreCalledAtScrapeTime) {
  Registry r;
  double active = 3;
  r.AddCallbackGauge("active_series", "Series in the head.", [&] { return active; });
  r.AddCallbackCounter("wal_bytes_written_total", "WAL bytes.", [] { return 4096.0; });
  EXPECT_EQ(r.ExpositionText(),
            "# HELP active_series Series in the head.\n# TYPE active_series gauge\n"
            "active_series 3\n"
            "# HELP wal_bytes_written_total WAL bytes.\n# TYPE wal_bytes_written_total counter\n"
            "wal_bytes_written_total 4096\n");
  active = 5;
  EXPECT_THAT(r.ExpositionText(), HasSubstr("active_series 5\n"));
}

TEST(RegistryTest, CollectorSamplesAreSortedByLabels) {
  Registry r;
  r.AddCollector("wal_segments", "Segments by state.", MetricType::kGauge,
                 [](std::vector<Sample>& out) {
                   out.push_back({{{"state", "open"}, {"dir", "wal"}}, 1});
                   out.push_back({{{"dir", "wal"}, {"state", "closed"}}, 7});
                   out.push_back({{{"dir", "chunks"}, {"state", "closed"}}, 2});
                 });
  EXPECT_EQ(r.ExpositionText(),
            "# HELP wal_segments Segments by state.\n# TYPE wal_segments gauge\n"
            "wal_segments{dir=\"chunks\",state=\"closed\"} 2\n"
            "wal_segments{dir=\"wal\",state=\"closed\"} 7\n"
            "wal_segments{dir=\"wal\",state=\"open\"} 1\n");
}

TEST(RegistryTest, CollectorWithABadLabelNameThrowsAtScrape) {
  Registry r;
  r.AddCollector("things", "Things.", MetricType::kUntyped, [](std::vector<Sample>& out) {
    out.push_back({{{"bad-label", "v"}}, 1});
  });
  ExpectInvalid([&] { r.Collect(); }, {"things", "bad-label"});
}

TEST(RegistryTest, HistogramCollectorsAreRefused) {
  Registry r;
  ExpectInvalid([&] { r.AddCollector("h", "H.", MetricType::kHistogram, [](auto&) {}); }, {"h"});
}

TEST(RegistryTest, ACallbackMayUseTheRegistry) {
  Registry r;
  auto& calls = r.AddCounter("scrapes_total", "Scrapes.");
  r.AddCallbackGauge("registry_families", "Families.", [&] {
    calls.With({}).Inc();
    return static_cast<double>(r.AddCounter("scrapes_total", "Scrapes.").LabelNames().size());
  });
  r.ExpositionText();
  EXPECT_EQ(calls.With({}).Value(), 1);
}

}  // namespace
}  // namespace zenwatch
