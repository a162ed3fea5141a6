#include "dashboard/config.h"

#include <cmath>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/names.h"
#include "core/time.h"
#include "promql/parser.h"

namespace zw::dashboard {

const char* const kDefaultDomains[5] = {"neural", "coordination", "database", "memory",
                                        "interfaces"};

namespace {

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

Status Error(const std::string& where, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", where, what));
}

Status CheckKeys(const YAML::Node& map, const std::string& where,
                 std::initializer_list<std::string_view> known) {
  if (!map.IsMap()) return Error(where, "must be a mapping");
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (std::string_view k : known) ok = ok || key == k;
    if (!ok) return Error(where, fmt::format("unknown field \"{}\"", key));
  }
  return Status::Ok();
}

Result<double> Number(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) return Error(where, "must be a number");
  double v;
  if (!YAML::convert<double>::decode(n, v) || !std::isfinite(v) || v < 0) {
    return Error(where, fmt::format("must be a non-negative number, not \"{}\"", n.Scalar()));
  }
  return v;
}

// Reads {degraded, unhealthy} over *degraded and *unhealthy.
Status ReadPair(const YAML::Node& n, const std::string& where, double* degraded,
                double* unhealthy) {
  if (Status st = CheckKeys(n, where, {"degraded", "unhealthy"}); !st.ok()) return st;
  if (n["degraded"]) {
    auto v = Number(n["degraded"], where + ".degraded");
    if (!v.ok()) return v.status();
    *degraded = *v;
  }
  if (n["unhealthy"]) {
    auto v = Number(n["unhealthy"], where + ".unhealthy");
    if (!v.ok()) return v.status();
    *unhealthy = *v;
  }
  if (*degraded > *unhealthy) {
    return Error(
        where, fmt::format("degraded ({}) must not exceed unhealthy ({})", *degraded, *unhealthy));
  }
  return Status::Ok();
}

Status ReadThresholds(const YAML::Node& n, const std::string& where, Thresholds* t) {
  if (Status st = CheckKeys(n, where, {"error_ratio", "latency_p95_seconds"}); !st.ok()) return st;
  if (n["error_ratio"]) {
    Status st = ReadPair(n["error_ratio"], where + ".error_ratio", &t->error_ratio_degraded,
                         &t->error_ratio_unhealthy);
    if (!st.ok()) return st;
  }
  if (n["latency_p95_seconds"]) {
    Status st = ReadPair(n["latency_p95_seconds"], where + ".latency_p95_seconds",
                         &t->latency_p95_degraded, &t->latency_p95_unhealthy);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Result<int64_t> Duration(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) return Error(where, "must be a duration like 5m");
  auto d = ParseDurationMs(n.Scalar());
  if (!d.ok() || *d <= 0) {
    return Error(where, fmt::format("\"{}\" is not a positive duration like 5m", n.Scalar()));
  }
  return *d;
}

Status CheckExpression(const DashboardConfig& c, const DomainConfig& d, const std::string& tmpl,
                       const std::string& where) {
  auto parsed = promql::ParseExpr(c.Expand(tmpl, d));
  if (!parsed.ok()) return Error(where, parsed.status().message());
  return Status::Ok();
}

Result<DashboardConfig> Parse(const YAML::Node& root) {
  DashboardConfig c;
  Thresholds defaults;
  YAML::Node section = root.IsMap() ? root["dashboard"] : YAML::Node();
  YAML::Node domains;
  if (section && !section.IsNull()) {
    Status st =
        CheckKeys(section, "dashboard", {"freshness", "rate_window", "thresholds", "domains"});
    if (!st.ok()) return st;
    if (section["freshness"]) {
      auto d = Duration(section["freshness"], "dashboard.freshness");
      if (!d.ok()) return d.status();
      c.freshness_ms = *d;
    }
    if (section["rate_window"]) {
      auto d = Duration(section["rate_window"], "dashboard.rate_window");
      if (!d.ok()) return d.status();
      c.rate_window = section["rate_window"].Scalar();
    }
    if (section["thresholds"]) {
      st = ReadThresholds(section["thresholds"], "dashboard.thresholds", &defaults);
      if (!st.ok()) return st;
    }
    domains = section["domains"];
  }

  if (!domains || domains.IsNull()) {
    for (const char* name : kDefaultDomains) {
      c.domains.push_back({name, defaults, "", "", ""});
    }
    return c;
  }
  if (!domains.IsSequence()) return Error("dashboard.domains", "must be a list");
  if (domains.size() == 0) return Error("dashboard.domains", "must name at least one domain");
  std::set<std::string> seen;
  for (size_t i = 0; i < domains.size(); ++i) {
    std::string where = fmt::format("dashboard.domains[{}]", i);
    const YAML::Node& n = domains[i];
    DomainConfig d{"", defaults, "", "", ""};
    if (n.IsScalar()) {
      d.name = n.Scalar();
    } else {
      Status st =
          CheckKeys(n, where, {"name", "thresholds", "request_rate", "error_rate", "latency"});
      if (!st.ok()) return st;
      if (!n["name"] || !n["name"].IsScalar()) return Error(where, "missing \"name\"");
      d.name = n["name"].Scalar();
      if (n["thresholds"]) {
        st = ReadThresholds(n["thresholds"], where + ".thresholds", &d.thresholds);
        if (!st.ok()) return st;
      }
      for (auto [key, field] :
           {std::pair{"request_rate", &d.request_rate}, std::pair{"error_rate", &d.error_rate},
            std::pair{"latency", &d.latency}}) {
        if (!n[key]) continue;
        if (!n[key].IsScalar() || n[key].Scalar().empty()) {
          return Error(where + "." + key, "must be a PromQL expression");
        }
        *field = n[key].Scalar();
      }
    }
    if (!IsValidLabelName(d.name)) {
      return Error(where, fmt::format("domain \"{}\" must be letters, digits and underscores, "
                                      "not starting with a digit",
                                      d.name));
    }
    if (!seen.insert(d.name).second) {
      return Error(where, fmt::format("duplicate domain \"{}\"", d.name));
    }
    for (auto [key, tmpl] :
         {std::pair{"request_rate", &d.request_rate}, std::pair{"error_rate", &d.error_rate},
          std::pair{"latency", &d.latency}}) {
      if (tmpl->empty()) continue;  // the automatic expression
      Status st = CheckExpression(c, d, *tmpl, where + "." + key);
      if (!st.ok()) return st;
    }
    c.domains.push_back(std::move(d));
  }
  return c;
}

}  // namespace

const DomainConfig* DashboardConfig::Find(std::string_view name) const {
  for (const DomainConfig& d : domains) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string DashboardConfig::Expand(const std::string& tmpl, const DomainConfig& domain,
                                    double quantile) const {
  std::string s = ReplaceAll(tmpl, "$domain", domain.name);
  s = ReplaceAll(std::move(s), "$window", rate_window);
  return ReplaceAll(std::move(s), "$quantile", fmt::format("{}", quantile));
}

Result<DashboardConfig> ParseDashboardConfig(std::string_view yaml) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsNull() && !root.IsMap()) {
      return Status::InvalidArgument("the configuration's top level must be a mapping");
    }
    return Parse(root);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("dashboard: ") + e.what());
  }
}

}  // namespace zw::dashboard
