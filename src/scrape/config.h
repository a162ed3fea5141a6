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
//
// Not yet supported, and rejected with a clear error rather than ignored: https,
// file_sd_configs, relabel_configs, metric_relabel_configs, basic_auth, authorization.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace zw::scrape {

struct StaticConfig {
  std::vector<std::string> targets;  // host:port
  std::vector<std::pair<std::string, std::string>> labels;
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

// The job zenwatch runs when the configuration has none named "zenwatch": itself, every
// 15 s, at `listen_address`.
ScrapeConfig SelfScrapeConfig(const std::string& listen_address);

}  // namespace zw::scrape
