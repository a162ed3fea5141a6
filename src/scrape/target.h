// From discovered target groups to scrape targets: the labels Prometheus attaches before
// relabelling (__address__, __scheme__, __metrics_path__, __param_<name>,
// __scrape_interval__, __scrape_timeout__, job and the group's labels), the job's
// relabel_configs, and what is left afterwards: the target's labels (no "__" labels;
// instance defaults to __address__) and its URL, interval and timeout.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/status.h"
#include "scrape/config.h"

namespace zw::scrape {

// What service discovery found: addresses with labels shared by the group. `source`
// names where the group came from (a file path, "static/0").
struct TargetGroup {
  std::string source;
  std::vector<Labels> targets;  // each has __address__ (and may have more labels)
  Labels labels;
};

struct Target {
  Labels discovered;  // before relabelling
  Labels labels;      // after; empty when dropped
  bool dropped = false;
  std::string scheme, host, port;
  std::string path_and_query;  // request target, e.g. /metrics?module=x
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;

  std::string Url() const;
  // Identifies the loop: two targets with equal keys are one target.
  std::string Key() const;
};

// Builds the targets of `group` for `job`. Dropped targets are returned with
// dropped=true. A target whose labels are invalid after relabelling (no __address__, a
// bad interval or timeout) is an error naming it; the caller logs it and skips it.
std::vector<Result<Target>> PopulateTargets(const ScrapeConfig& job, const TargetGroup& group);

// The static_configs of `job` as target groups.
std::vector<TargetGroup> StaticGroups(const ScrapeConfig& job);

}  // namespace zw::scrape
