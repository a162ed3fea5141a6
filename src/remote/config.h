// The `remote_write` section of the YAML configuration, as Prometheus writes it:
//
//   remote_write:
//     - url: https://vm.example:8428/api/v1/write   # required, http or https
//       name: vm                    # optional, unique; default: a hash of the url
//       remote_timeout: 30s
//       headers: {X-Scope-OrgID: team-a}
//       basic_auth: {username: u, password: p}       # or password_file
//       authorization: {type: Bearer, credentials: t}  # or credentials_file
//       bearer_token: t             # or bearer_token_file (the old spelling of authorization)
//       tls_config: {ca_file: ca.pem, server_name: h, insecure_skip_verify: false}
//       write_relabel_configs: [...]  # scrape/relabel.h
//       queue_config:
//         capacity: 10000           # samples buffered per shard
//         max_shards: 50
//         min_shards: 1
//         max_samples_per_send: 2000
//         batch_send_deadline: 5s
//         min_backoff: 30ms
//         max_backoff: 5s
//         retry_on_http_429: true
//
// Defaults are Prometheus's (2.45 and later) except retry_on_http_429, which zenwatch turns
// on: a 429 means "later", and dropping samples by default would lose data. Unknown fields,
// at most one way of authenticating, reserved headers and non-positive sizes are errors that
// name the entry and the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "scrape/config.h"
#include "scrape/relabel.h"

namespace zw::remote {

struct QueueConfig {
  int capacity = 10000;
  int max_shards = 50;
  int min_shards = 1;
  int max_samples_per_send = 2000;
  int64_t batch_send_deadline_ms = 5000;
  int64_t min_backoff_ms = 30;
  int64_t max_backoff_ms = 5000;
  bool retry_on_http_429 = true;
};

struct RemoteWriteConfig {
  std::string url;
  std::string name;  // as configured ("" when not)
  int64_t remote_timeout_ms = 30000;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<scrape::BasicAuth> basic_auth;
  std::optional<scrape::Authorization> authorization;  // also from bearer_token(_file)
  scrape::TlsConfig tls_config;
  std::vector<scrape::RelabelConfig> write_relabel_configs;
  QueueConfig queue_config;

  // From url.
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  std::string port;    // explicit, or 80 / 443
  std::string target;  // path and query, at least "/"

  // The entry's YAML as written: equal fingerprints mean an unchanged remote on reload.
  std::string fingerprint;

  // The remote's identity in metrics (remote_name) and on disk: name, else 6 hex digits of a
  // hash of the url.
  std::string RemoteName() const;
};

// Parses the `remote_write` list of a whole configuration file (other sections are ignored).
// Errors: InvalidArgument such as `remote_write[1] (url "http://x"): queue_config:
// max_shards: must be a positive integer`.
Result<std::vector<RemoteWriteConfig>> ParseRemoteWriteConfigs(std::string_view yaml);

}  // namespace zw::remote
