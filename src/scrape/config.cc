#include "scrape/config.h"

#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/names.h"
#include "core/time.h"

namespace zw::scrape {
namespace {

Result<int64_t> Duration(const YAML::Node& n, const std::string& where) {
  auto d = ParseDurationMs(n.as<std::string>());
  if (!d.ok()) return Status::InvalidArgument(where + ": " + d.status().message());
  if (*d <= 0) return Status::InvalidArgument(where + ": must be positive");
  return d;
}

Status ParseStatic(const YAML::Node& n, const std::string& where, StaticConfig& out) {
  if (!n.IsMap()) return Status::InvalidArgument(where + ": must be a mapping");
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (key == "targets") {
      if (!kv.second.IsSequence())
        return Status::InvalidArgument(where + ".targets: must be a list");
      for (const auto& t : kv.second) {
        std::string addr = t.as<std::string>();
        size_t colon = addr.rfind(':');
        if (addr.empty() || addr.find('/') != std::string::npos || colon == std::string::npos ||
            colon + 1 == addr.size()) {
          return Status::InvalidArgument(
              fmt::format("{}.targets: \"{}\" is not host:port", where, addr));
        }
        out.targets.push_back(addr);
      }
    } else if (key == "labels") {
      if (!kv.second.IsMap()) return Status::InvalidArgument(where + ".labels: must be a mapping");
      for (const auto& l : kv.second) {
        std::string name = l.first.as<std::string>();
        if (!IsValidLabelName(name)) {
          return Status::InvalidArgument(
              fmt::format("{}.labels: \"{}\" is not a valid label name", where, name));
        }
        out.labels.emplace_back(name, l.second.as<std::string>());
      }
    } else {
      return Status::InvalidArgument(fmt::format("{}: unknown field \"{}\"", where, key));
    }
  }
  return Status::Ok();
}

Status ParseJob(const YAML::Node& n, const std::string& at, const Config& global,
                ScrapeConfig& job) {
  if (!n.IsMap()) return Status::InvalidArgument(at + ": must be a mapping");
  job.interval_ms = global.global_interval_ms;
  job.timeout_ms = global.global_timeout_ms;
  if (n["job_name"]) job.job_name = n["job_name"].as<std::string>();
  if (job.job_name.empty()) return Status::InvalidArgument(at + ": job_name is required");
  std::string where = fmt::format("{} (job \"{}\")", at, job.job_name);
  bool timeout_set = false;
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "job_name") continue;
    if (key == "scrape_interval") {
      auto d = Duration(v, where + ": scrape_interval");
      if (!d.ok()) return d.status();
      job.interval_ms = *d;
    } else if (key == "scrape_timeout") {
      auto d = Duration(v, where + ": scrape_timeout");
      if (!d.ok()) return d.status();
      job.timeout_ms = *d;
      timeout_set = true;
    } else if (key == "metrics_path") {
      job.metrics_path = v.as<std::string>();
      if (job.metrics_path.empty() || job.metrics_path[0] != '/') {
        return Status::InvalidArgument(where + ": metrics_path must start with /");
      }
    } else if (key == "scheme") {
      job.scheme = v.as<std::string>();
      if (job.scheme != "http") {
        return Status::InvalidArgument(where + ": scheme \"" + job.scheme +
                                       "\" is not supported yet (only http)");
      }
    } else if (key == "params") {
      if (!v.IsMap()) return Status::InvalidArgument(where + ": params must be a mapping of lists");
      for (const auto& p : v) {
        for (const auto& value : p.second)
          job.params.emplace_back(p.first.as<std::string>(), value.as<std::string>());
      }
    } else if (key == "honor_labels") {
      job.honor_labels = v.as<bool>();
    } else if (key == "honor_timestamps") {
      job.honor_timestamps = v.as<bool>();
    } else if (key == "sample_limit") {
      job.sample_limit = v.as<uint64_t>();
    } else if (key == "static_configs") {
      if (!v.IsSequence())
        return Status::InvalidArgument(where + ": static_configs must be a list");
      for (size_t i = 0; i < v.size(); ++i) {
        StaticConfig sc;
        ZW_RETURN_IF_ERROR(ParseStatic(v[i], fmt::format("{}: static_configs[{}]", where, i), sc));
        job.static_configs.push_back(std::move(sc));
      }
    } else if (key == "file_sd_configs" || key == "relabel_configs" ||
               key == "metric_relabel_configs" || key == "basic_auth" || key == "authorization") {
      return Status::InvalidArgument(where + ": " + key + " is not supported yet");
    } else {
      return Status::InvalidArgument(where + ": unknown field \"" + key + "\"");
    }
  }
  // As in Prometheus, a timeout inherited from global is capped by the job's interval.
  if (!timeout_set && job.timeout_ms > job.interval_ms) job.timeout_ms = job.interval_ms;
  if (job.timeout_ms > job.interval_ms) {
    return Status::InvalidArgument(
        fmt::format("{}: scrape_timeout {} is greater than scrape_interval {}", where,
                    FormatDurationMs(job.timeout_ms), FormatDurationMs(job.interval_ms)));
  }
  return Status::Ok();
}

}  // namespace

Result<Config> ParseConfig(std::string_view yaml) {
  Config cfg;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsNull()) return cfg;
    if (!root.IsMap())
      return Status::InvalidArgument("configuration: the top level must be a mapping");
    if (const YAML::Node g = root["global"]) {
      for (const auto& kv : g) {
        std::string key = kv.first.as<std::string>();
        if (key == "scrape_interval") {
          auto d = Duration(kv.second, "global: scrape_interval");
          if (!d.ok()) return d.status();
          cfg.global_interval_ms = *d;
        } else if (key == "scrape_timeout") {
          auto d = Duration(kv.second, "global: scrape_timeout");
          if (!d.ok()) return d.status();
          cfg.global_timeout_ms = *d;
        }
      }
    }
    if (const YAML::Node sc = root["scrape_configs"]) {
      if (!sc.IsSequence()) return Status::InvalidArgument("scrape_configs: must be a list");
      std::set<std::string> names;
      for (size_t i = 0; i < sc.size(); ++i) {
        ScrapeConfig job;
        ZW_RETURN_IF_ERROR(ParseJob(sc[i], fmt::format("scrape_configs[{}]", i), cfg, job));
        if (!names.insert(job.job_name).second) {
          return Status::InvalidArgument(
              fmt::format("scrape_configs[{}]: job_name \"{}\" is used twice", i, job.job_name));
        }
        cfg.scrape_configs.push_back(std::move(job));
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("configuration: ") + e.what());
  }
  return cfg;
}

ScrapeConfig SelfScrapeConfig(const std::string& listen_address) {
  ScrapeConfig job;
  job.job_name = "zenwatch";
  job.interval_ms = 15000;
  job.timeout_ms = 10000;
  job.static_configs.push_back({{listen_address}, {}});
  return job;
}

}  // namespace zw::scrape
