#include "remote/config.h"

#include <gtest/gtest.h>

namespace zw::remote {
namespace {

std::vector<RemoteWriteConfig> MustParse(std::string_view yaml) {
  auto r = ParseRemoteWriteConfigs(yaml);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<RemoteWriteConfig>{};
}

std::string ErrorOf(std::string_view yaml) {
  auto r = ParseRemoteWriteConfigs(yaml);
  EXPECT_FALSE(r.ok()) << yaml;
  return r.ok() ? "" : r.status().message();
}

TEST(RemoteWriteConfig, AbsentSectionIsEmpty) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse("scrape_configs: []\n").empty());
  EXPECT_TRUE(MustParse("remote_write:\n").empty());
}

TEST(RemoteWriteConfig, DefaultsArePrometheus) {
  auto c = MustParse("remote_write:\n  - url: http://127.0.0.1:8428/api/v1/write\n");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "http");
  EXPECT_EQ(c[0].host, "127.0.0.1");
  EXPECT_EQ(c[0].port, "8428");
  EXPECT_EQ(c[0].target, "/api/v1/write");
  EXPECT_EQ(c[0].remote_timeout_ms, 30000);
  EXPECT_EQ(c[0].queue_config.capacity, 10000);
  EXPECT_EQ(c[0].queue_config.max_shards, 50);
  EXPECT_EQ(c[0].queue_config.min_shards, 1);
  EXPECT_EQ(c[0].queue_config.max_samples_per_send, 2000);
  EXPECT_EQ(c[0].queue_config.batch_send_deadline_ms, 5000);
  EXPECT_EQ(c[0].queue_config.min_backoff_ms, 30);
  EXPECT_EQ(c[0].queue_config.max_backoff_ms, 5000);
  EXPECT_FALSE(c[0].basic_auth);
  EXPECT_FALSE(c[0].authorization);
  EXPECT_EQ(c[0].RemoteName().size(), 6u);  // a hash of the url
}

TEST(RemoteWriteConfig, EveryField) {
  auto c = MustParse(R"(
remote_write:
  - url: https://vm.example/insert/0/prometheus/api/v1/write?extra_label=a=b
    name: vm
    remote_timeout: 10s
    headers: {X-Scope-OrgID: team-a}
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true, server_name: other}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
    queue_config:
      capacity: 500
      max_shards: 4
      min_shards: 2
      max_samples_per_send: 100
      batch_send_deadline: 200ms
      min_backoff: 10ms
      max_backoff: 1s
      retry_on_http_429: false
  - url: http://[::1]/w
    bearer_token_file: /run/token
)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].RemoteName(), "vm");
  EXPECT_EQ(c[0].port, "443");
  EXPECT_EQ(c[0].target, "/insert/0/prometheus/api/v1/write?extra_label=a=b");
  EXPECT_EQ(c[0].remote_timeout_ms, 10000);
  ASSERT_EQ(c[0].headers.size(), 1u);
  EXPECT_EQ(c[0].headers[0].first, "X-Scope-OrgID");
  ASSERT_TRUE(c[0].basic_auth);
  EXPECT_EQ(c[0].basic_auth->username, "u");
  EXPECT_TRUE(c[0].tls_config.insecure_skip_verify);
  EXPECT_EQ(c[0].write_relabel_configs.size(), 1u);
  EXPECT_EQ(c[0].queue_config.capacity, 500);
  EXPECT_EQ(c[0].queue_config.max_shards, 4);
  EXPECT_EQ(c[0].queue_config.min_shards, 2);
  EXPECT_EQ(c[0].queue_config.max_samples_per_send, 100);
  EXPECT_EQ(c[0].queue_config.batch_send_deadline_ms, 200);
  EXPECT_EQ(c[0].queue_config.min_backoff_ms, 10);
  EXPECT_EQ(c[0].queue_config.max_backoff_ms, 1000);
  EXPECT_FALSE(c[0].queue_config.retry_on_http_429);
  EXPECT_EQ(c[1].host, "::1");
  EXPECT_EQ(c[1].port, "80");
  ASSERT_TRUE(c[1].authorization);
  EXPECT_EQ(c[1].authorization->type, "Bearer");
  EXPECT_EQ(c[1].authorization->credentials_file, "/run/token");
  EXPECT_NE(c[0].fingerprint, c[1].fingerprint);
}

TEST(RemoteWriteConfig, ErrorsNameTheEntryAndField) {
  EXPECT_EQ(ErrorOf("remote_write: {url: x}"), "remote_write: must be a list");
  EXPECT_EQ(ErrorOf("remote_write:\n  - name: a\n"), "remote_write[0]: url is required");
  EXPECT_NE(ErrorOf("remote_write:\n  - url: ftp://h/w\n").find("scheme must be http or https"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h:99999/w\n").find("bad port"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://u:p@h/w\n").find("basic_auth"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("remote_write:\n  - url: http://h/w\n    urls: x\n"),
            "remote_write[0] (url \"http://h/w\"): unknown field \"urls\"");
  EXPECT_EQ(ErrorOf("remote_write:\n  - url: http://h/w\n    queue_config: {max_shards: 0}\n"),
            "remote_write[0] (url \"http://h/w\"): queue_config: max_shards: must be a positive "
            "integer (at most 2^30)");
  EXPECT_EQ(ErrorOf("remote_write:\n  - url: http://h/w\n    queue_config: {capacity: lots}\n"),
            "remote_write[0] (url \"http://h/w\"): queue_config: capacity: must be a positive "
            "integer");
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    queue_config: {min_shards: 5, "
                    "max_shards: 2}\n")
                .find("min_shards 5 is greater than max_shards 2"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    queue_config: "
                    "{batch_send_deadline: soon}\n")
                .find("queue_config: batch_send_deadline"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    remote_timeout: 0s\n")
                .find("remote_timeout: must be positive"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    headers: {Authorization: x}\n")
                .find("Authorization is a reserved header"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    basic_auth: {username: u}\n    "
                    "bearer_token: t\n")
                .find("at most one of basic_auth, authorization and bearer_token"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    basic_auth: {username: u, password: "
                    "p, password_file: f}\n")
                .find("basic_auth: at most one of password and password_file"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    write_relabel_configs: [{action: "
                    "nope}]\n")
                .find("write_relabel_configs"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    tls_config: {cert_file: c}\n")
                .find("client certificates are not supported"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - url: http://h/w\n    name: a/b\n").find("name \"a/b\""),
            std::string::npos);
}

TEST(RemoteWriteConfig, NamesAndUrlsAreUnique) {
  EXPECT_NE(ErrorOf("remote_write:\n  - {url: http://a/w, name: x}\n  - {url: http://b/w, name: "
                    "x}\n")
                .find("remote name \"x\" is used twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf("remote_write:\n  - {url: http://a/w}\n  - {url: http://a/w}\n")
                .find("configured twice"),
            std::string::npos);
  EXPECT_EQ(MustParse("remote_write:\n  - {url: http://a/w, name: x}\n  - {url: http://a/w, name: "
                      "y}\n")
                .size(),
            2u);
}

}  // namespace
}  // namespace zw::remote
