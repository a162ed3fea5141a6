// The `dashboard:` section of the configuration file: which domains the dashboard shows, how
// their health is judged, and the PromQL each domain's figures come from (docs/dashboard_api.md).
//
//   dashboard:
//     freshness: 5m          # no sample for this long: status "unknown"
//     rate_window: 1m        # the [window] of the default rate() expressions
//     thresholds:            # defaults for every domain
//       error_ratio: {degraded: 0.01, unhealthy: 0.05}
//       latency_p95_seconds: {degraded: 0.5, unhealthy: 2}
//     domains:               # default: neural, coordination, database, memory, interfaces
//       - neural             # a name alone takes every default
//       - name: database
//         thresholds: {latency_p95_seconds: {degraded: 0.1}}
//         request_rate: sum(rate(db_queries_total[1m]))
//         error_rate: sum(rate(db_query_errors_total[1m]))
//         latency: histogram_quantile($quantile, sum by (le) (rate(db_seconds_bucket[1m])))
//
// Expressions are templates: $domain, $window and (in latency) $quantile are replaced before
// they are parsed. A domain's series are those labelled domain="<name>".
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zw::dashboard {

struct Thresholds {
  double error_ratio_degraded = 0.01;
  double error_ratio_unhealthy = 0.05;
  double latency_p95_degraded = 0.5;  // seconds
  double latency_p95_unhealthy = 2.0;
};

struct DomainConfig {
  std::string name;
  Thresholds thresholds;
  // Templates as configured (see Expand); empty: automatic.
  std::string request_rate;
  std::string error_rate;
  std::string latency;
};

struct DashboardConfig {
  int64_t freshness_ms = 5 * 60 * 1000;
  std::string rate_window = "1m";
  std::vector<DomainConfig> domains;

  // nullptr when no domain has that name.
  const DomainConfig* Find(std::string_view name) const;
  // A domain's template with $domain, $window and $quantile filled in.
  std::string Expand(const std::string& tmpl, const DomainConfig& domain,
                     double quantile = 0.95) const;
};

// Without an expression a figure is automatic (health.h): built from the domain's metric
// names as the JSON push and the client library write them.
extern const char* const kDefaultDomains[5];

// Reads the `dashboard` section of a whole configuration file ("" or no section: defaults).
// Errors (InvalidArgument) name the key, e.g. `dashboard.domains[1].request_rate: 1:6:
// parse error: ...`, `dashboard.thresholds.error_ratio: degraded (0.2) must not exceed
// unhealthy (0.1)`, `dashboard.domains[2]: duplicate domain "neural"`, unknown keys.
Result<DashboardConfig> ParseDashboardConfig(std::string_view yaml);

}  // namespace zw::dashboard
