#include "scrape/config.h"

#include <strings.h>

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
        // A missing port is allowed (relabelling may move the address elsewhere, e.g. into
        // __param_target); a target left without one is scraped on the scheme's port.
        if (addr.empty() || addr.find('/') != std::string::npos || addr.back() == ':') {
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

Status ParseFileSd(const YAML::Node& n, const std::string& where, FileSdConfig& out) {
  if (!n.IsMap()) return Status::InvalidArgument(where + ": must be a mapping");
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (key == "files") {
      if (!kv.second.IsSequence()) return Status::InvalidArgument(where + ".files: must be a list");
      for (const auto& f : kv.second) {
        std::string path = f.as<std::string>();
        size_t slash = path.rfind('/');
        std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
        if (dir.find_first_of("*?[") != std::string::npos) {
          return Status::InvalidArgument(fmt::format(
              "{}.files: \"{}\": a glob may only be in the last path element", where, path));
        }
        std::string_view p = path;
        if (!p.ends_with(".json") && !p.ends_with(".yml") && !p.ends_with(".yaml")) {
          return Status::InvalidArgument(
              fmt::format("{}.files: \"{}\" must end in .json, .yml or .yaml", where, path));
        }
        out.files.push_back(std::move(path));
      }
    } else if (key == "refresh_interval") {
      auto d = Duration(kv.second, where + ".refresh_interval");
      if (!d.ok()) return d.status();
      out.refresh_interval_ms = *d;
    } else {
      return Status::InvalidArgument(fmt::format("{}: unknown field \"{}\"", where, key));
    }
  }
  if (out.files.empty()) return Status::InvalidArgument(where + ": files is required");
  return Status::Ok();
}

Status ParseBasicAuth(const YAML::Node& n, const std::string& where, BasicAuth& out) {
  if (!n.IsMap()) return Status::InvalidArgument(where + ": must be a mapping");
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (key == "username") {
      out.username = kv.second.as<std::string>();
    } else if (key == "password") {
      out.password = kv.second.as<std::string>();
    } else if (key == "password_file") {
      out.password_file = kv.second.as<std::string>();
    } else {
      return Status::InvalidArgument(fmt::format("{}: unknown field \"{}\"", where, key));
    }
  }
  if (!out.password.empty() && !out.password_file.empty())
    return Status::InvalidArgument(where + ": at most one of password and password_file");
  return Status::Ok();
}

Status ParseAuthorization(const YAML::Node& n, const std::string& where, Authorization& out) {
  if (!n.IsMap()) return Status::InvalidArgument(where + ": must be a mapping");
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (key == "type") {
      out.type = kv.second.as<std::string>();
    } else if (key == "credentials") {
      out.credentials = kv.second.as<std::string>();
    } else if (key == "credentials_file") {
      out.credentials_file = kv.second.as<std::string>();
    } else {
      return Status::InvalidArgument(fmt::format("{}: unknown field \"{}\"", where, key));
    }
  }
  if (out.type.empty()) out.type = "Bearer";
  if (out.type.find_first_of(" \t\r\n") != std::string::npos)
    return Status::InvalidArgument(where + ": type must be one word");
  // As Prometheus: basic credentials belong in basic_auth.
  if (out.type.size() == 5 && strncasecmp(out.type.c_str(), "basic", 5) == 0)
    return Status::InvalidArgument(where + ": type Basic is not allowed, use basic_auth");
  if (!out.credentials.empty() && !out.credentials_file.empty())
    return Status::InvalidArgument(where + ": at most one of credentials and credentials_file");
  return Status::Ok();
}

Status ParseTls(const YAML::Node& n, const std::string& where, TlsConfig& out) {
  if (!n.IsMap()) return Status::InvalidArgument(where + ": must be a mapping");
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (key == "ca_file") {
      out.ca_file = kv.second.as<std::string>();
    } else if (key == "server_name") {
      out.server_name = kv.second.as<std::string>();
    } else if (key == "insecure_skip_verify") {
      out.insecure_skip_verify = kv.second.as<bool>();
    } else if (key == "cert_file" || key == "key_file") {
      return Status::InvalidArgument(where + ": " + key +
                                     ": client certificates are not supported");
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
      if (job.scheme != "http" && job.scheme != "https") {
        return Status::InvalidArgument(where + ": scheme \"" + job.scheme +
                                       "\" is not valid (http or https)");
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
    } else if (key == "file_sd_configs") {
      if (!v.IsSequence())
        return Status::InvalidArgument(where + ": file_sd_configs must be a list");
      for (size_t i = 0; i < v.size(); ++i) {
        FileSdConfig fc;
        ZW_RETURN_IF_ERROR(ParseFileSd(v[i], fmt::format("{}: file_sd_configs[{}]", where, i), fc));
        job.file_sd_configs.push_back(std::move(fc));
      }
    } else if (key == "relabel_configs" || key == "metric_relabel_configs") {
      auto rc = ParseRelabelConfigs(v);
      if (!rc.ok())
        return Status::InvalidArgument(where + ": " + key + ": " + rc.status().message());
      (key == "relabel_configs" ? job.relabel_configs : job.metric_relabel_configs) =
          std::move(rc).value();
    } else if (key == "basic_auth") {
      BasicAuth b;
      ZW_RETURN_IF_ERROR(ParseBasicAuth(v, where + ": basic_auth", b));
      job.basic_auth = std::move(b);
    } else if (key == "authorization") {
      Authorization a;
      ZW_RETURN_IF_ERROR(ParseAuthorization(v, where + ": authorization", a));
      job.authorization = std::move(a);
    } else if (key == "tls_config") {
      ZW_RETURN_IF_ERROR(ParseTls(v, where + ": tls_config", job.tls_config));
    } else {
      return Status::InvalidArgument(where + ": unknown field \"" + key + "\"");
    }
  }
  if (job.basic_auth && job.authorization)
    return Status::InvalidArgument(where + ": at most one of basic_auth and authorization");
  // Discovery and target relabelling only decide which targets exist and their labels,
  // which identify a target's loop on their own; the rest is how every loop scrapes.
  YAML::Node how = YAML::Clone(n);
  for (const char* k : {"static_configs", "file_sd_configs", "relabel_configs"}) how.remove(k);
  job.fingerprint = fmt::format("{}|{}|{}", job.interval_ms, job.timeout_ms, YAML::Dump(how));
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

Status ParseBasicAuthConfig(const YAML::Node& n, const std::string& where, BasicAuth& out) {
  return ParseBasicAuth(n, where, out);
}
Status ParseAuthorizationConfig(const YAML::Node& n, const std::string& where, Authorization& out) {
  return ParseAuthorization(n, where, out);
}
Status ParseTlsConfig(const YAML::Node& n, const std::string& where, TlsConfig& out) {
  return ParseTls(n, where, out);
}

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
