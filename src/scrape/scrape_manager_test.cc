#include "scrape/scrape_manager.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tsdb/head.h"

namespace zw::scrape {
namespace {

Config Parse(const std::string& yaml) {
  auto c = ParseConfig(yaml);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Config{};
}

// Waits until `pred` holds for the manager's targets, for at most 10 s.
template <typename P>
bool WaitFor(const ScrapeManager& m, P pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred(m.Targets())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Nothing listens on port 1 of 127.0.0.1: every scrape fails quickly, which is enough to
// see a loop's state.
constexpr const char* kJob = R"(
scrape_configs:
  - job_name: j
    scrape_interval: 1s
    scrape_timeout: 100ms
    SAMPLE_LIMIT
    static_configs: [{targets: ["127.0.0.1:1", "127.0.0.1:2", "drop.me:3"]}]
    relabel_configs: [{source_labels: [__address__], regex: "drop.*", action: drop}]
)";

std::string JobYaml(const std::string& sample_limit) {
  std::string s = kJob;
  s.replace(s.find("SAMPLE_LIMIT"), 12, sample_limit);
  return s;
}

TEST(ScrapeManager, RelabelDropsAndReloadKeepsUnchangedTargets) {
  auto head = std::move(tsdb::Head::Open({})).value();
  ScrapeManager m(head.get());
  m.ApplyConfig(Parse(JobYaml("")));
  ASSERT_EQ(m.Targets().size(), 2u);
  auto dropped = m.DroppedTargets();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].discovered_labels.Get("__address__"), "drop.me:3");
  ASSERT_TRUE(WaitFor(m, [](const std::vector<TargetInfo>& ts) {
    for (const auto& t : ts) {
      if (t.health != "down") return false;
    }
    return true;
  }));

  // The same configuration again: the loops carry on with their state.
  m.ApplyConfig(Parse(JobYaml("")));
  for (const auto& t : m.Targets()) EXPECT_EQ(t.health, "down") << t.url;

  // One target fewer: the other keeps its state.
  auto c = Parse(JobYaml(""));
  c.scrape_configs[0].static_configs[0].targets = {"127.0.0.1:1"};
  m.ApplyConfig(c);
  ASSERT_EQ(m.Targets().size(), 1u);
  EXPECT_EQ(m.Targets()[0].health, "down");

  // A changed scrape setting restarts the job's loops.
  m.ApplyConfig(Parse(JobYaml("sample_limit: 10")));
  auto ts = m.Targets();
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].health, "unknown");
  EXPECT_EQ(ts[1].health, "unknown");
  m.Stop();
}

TEST(ScrapeManager, AuthorizationHeader) {
  auto c = Parse(R"(
scrape_configs:
  - {job_name: a, basic_auth: {username: Aladdin, password: open sesame}}
  - {job_name: b, authorization: {credentials: tok}}
  - {job_name: c, authorization: {type: Token, credentials_file: /nonexistent/zw}}
  - {job_name: d}
)");
  EXPECT_EQ(AuthorizationHeader(c.scrape_configs[0]), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(AuthorizationHeader(c.scrape_configs[1]), "Bearer tok");
  EXPECT_THROW(AuthorizationHeader(c.scrape_configs[2]), std::runtime_error);
  EXPECT_EQ(AuthorizationHeader(c.scrape_configs[3]), "");
}

}  // namespace
}  // namespace zw::scrape
