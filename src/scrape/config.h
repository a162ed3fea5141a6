// The scrape section of the YAML configuration, as Prometheus writes it:
//
//   global: {scrape_interval: 15s, scrape_timeout: 10s}
//   scrape_configs:
//     - job_name: node
//       scrape_interval: 15s          # default: global, else 1m
//       scrape_timeout: 10s           # default: global, else 10s; never above the interval
//       metrics_path: /metrics
//       scheme: http
//       params: {module: [x]}
//       honor_labels: false
//       honor_timestamps: true
//       sample_limit: 0               # 0 = no limit
//       static_configs: [{targets: ["127.0.0.1:9100"], labels: {env: prod}}]
//       file_sd_configs: [{files: ["targets/*.json", "more.yml"], refresh_interval: 5m}]
//       relabel_configs: [...]        # see relabel.h
//       metric_relabel_configs: [...]
//       basic_auth: {username: u, password: p}          # or password_file
//       authorization: {type: Bearer, credentials: t}   # or credentials_file
//
//       scheme: https
//       tls_config: {ca_file: ca.pem, server_name: h, insecure_skip_verify: false}
//
// Not supported, and rejected with a clear error rather than ignored: client certificates
// (tls_config cert_file/key_file), every other service discovery.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "scrape/relabel.h"

namespace zw::scrape {

struct StaticConfig {
  std::vector<std::string> targets;  // host:port
  std::vector<std::pair<std::string, std::string>> labels;
};

struct FileSdConfig {
  std::vector<std::string> files;  // paths; the last element may hold glob characters
  int64_t refresh_interval_ms = 5 * 60 * 1000;
};

// Credentials sent with every scrape. A *_file is read at each scrape, so rotating the
// secret needs no reload.
struct BasicAuth {
  std::string username;
  std::string password;
  std::string password_file;
};
struct Authorization {
  std::string type = "Bearer";
  std::string credentials;
  std::string credentials_file;
};

// How https targets are verified. Without ca_file the system's CA store is used; the
// certificate must match server_name (default: the target's host).
struct TlsConfig {
  std::string ca_file;
  std::string server_name;
  bool insecure_skip_verify = false;
};

struct ScrapeConfig {
  std::string job_name;
  int64_t interval_ms = 60000;
  int64_t timeout_ms = 10000;
  std::string metrics_path = "/metrics";
  std::string scheme = "http";
  std::vector<std::pair<std::string, std::string>> params;  // repeated keys allowed
  bool honor_labels = false;
  bool honor_timestamps = true;
  uint64_t sample_limit = 0;
  std::vector<StaticConfig> static_configs;
  std::vector<FileSdConfig> file_sd_configs;
  std::vector<RelabelConfig> relabel_configs;
  std::vector<RelabelConfig> metric_relabel_configs;
  std::optional<BasicAuth> basic_auth;
  std::optional<Authorization> authorization;
  TlsConfig tls_config;
  // The job's YAML as written, with the global defaults it inherited: equal fingerprints
  // mean the same job, which a reload leaves running.
  std::string fingerprint;
};

struct Config {
  int64_t global_interval_ms = 60000;
  int64_t global_timeout_ms = 10000;
  std::vector<ScrapeConfig> scrape_configs;
};

// Parses the whole configuration file; sections other than `global` and
// `scrape_configs` are left to their own modules. Errors: InvalidArgument naming the
// job and field, e.g. `scrape_configs[1] (job "node"): scrape_timeout 20s is greater than
// scrape_interval 15s`.
Result<Config> ParseConfig(std::string_view yaml);

// The HTTP client sections shared with other clients of the configuration (remote_write):
// each parses one mapping with Prometheus's field names; errors name `where` and the field.
Status ParseBasicAuthConfig(const YAML::Node& n, const std::string& where, BasicAuth& out);
Status ParseAuthorizationConfig(const YAML::Node& n, const std::string& where, Authorization& out);
Status ParseTlsConfig(const YAML::Node& n, const std::string& where, TlsConfig& out);

// The job zenwatch runs when the configuration has none named "zenwatch": itself, every
// 15 s, at `listen_address`.
ScrapeConfig SelfScrapeConfig(const std::string& listen_address);

}  // namespace zw::scrape
