#include "remote/config.h"

#include <strings.h>

#include <set>

#include <fmt/format.h>
#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include "core/time.h"

namespace zw::remote {
namespace {

// Headers the sender sets itself; Prometheus refuses them in `headers` too.
constexpr const char* kReservedHeaders[] = {"Authorization",
                                            "Host",
                                            "Content-Encoding",
                                            "Content-Type",
                                            "Content-Length",
                                            "User-Agent",
                                            "Connection",
                                            "Keep-Alive",
                                            "Proxy-Connection",
                                            "Transfer-Encoding",
                                            "Upgrade",
                                            "Proxy-Authenticate",
                                            "Proxy-Authorization",
                                            "Te",
                                            "Trailer",
                                            "X-Prometheus-Remote-Write-Version"};

Result<int64_t> PositiveDuration(const YAML::Node& n, const std::string& where) {
  auto d = ParseDurationMs(n.as<std::string>());
  if (!d.ok()) return Status::InvalidArgument(where + ": " + d.status().message());
  if (*d <= 0) return Status::InvalidArgument(where + ": must be positive");
  return d;
}

Result<int> PositiveInt(const YAML::Node& n, const std::string& where) {
  int64_t v = 0;
  try {
    v = n.as<int64_t>();
  } catch (const YAML::Exception&) {
    return Status::InvalidArgument(where + ": must be a positive integer");
  }
  if (v <= 0 || v > (int64_t{1} << 30))
    return Status::InvalidArgument(where + ": must be a positive integer (at most 2^30)");
  return static_cast<int>(v);
}

Status ParseQueue(const YAML::Node& n, const std::string& where, QueueConfig& q) {
  if (!n.IsMap()) return Status::InvalidArgument(where + ": must be a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string at = where + ": " + key;
    auto set_int = [&](int& field) -> Status {
      auto v = PositiveInt(kv.second, at);
      if (!v.ok()) return v.status();
      field = *v;
      return Status::Ok();
    };
    auto set_duration = [&](int64_t& field) -> Status {
      auto v = PositiveDuration(kv.second, at);
      if (!v.ok()) return v.status();
      field = *v;
      return Status::Ok();
    };
    if (key == "capacity") {
      ZW_RETURN_IF_ERROR(set_int(q.capacity));
    } else if (key == "max_shards") {
      ZW_RETURN_IF_ERROR(set_int(q.max_shards));
    } else if (key == "min_shards") {
      ZW_RETURN_IF_ERROR(set_int(q.min_shards));
    } else if (key == "max_samples_per_send") {
      ZW_RETURN_IF_ERROR(set_int(q.max_samples_per_send));
    } else if (key == "batch_send_deadline") {
      ZW_RETURN_IF_ERROR(set_duration(q.batch_send_deadline_ms));
    } else if (key == "min_backoff") {
      ZW_RETURN_IF_ERROR(set_duration(q.min_backoff_ms));
    } else if (key == "max_backoff") {
      ZW_RETURN_IF_ERROR(set_duration(q.max_backoff_ms));
    } else if (key == "retry_on_http_429") {
      try {
        q.retry_on_http_429 = kv.second.as<bool>();
      } catch (const YAML::Exception&) {
        return Status::InvalidArgument(at + ": must be true or false");
      }
    } else if (key == "max_retries") {
      return Status::InvalidArgument(at +
                                     ": no longer supported (Prometheus retries forever "
                                     "on recoverable errors, and so does zenwatch)");
    } else {
      return Status::InvalidArgument(fmt::format("{}: unknown field \"{}\"", where, key));
    }
  }
  if (q.min_shards > q.max_shards) {
    return Status::InvalidArgument(fmt::format("{}: min_shards {} is greater than max_shards {}",
                                               where, q.min_shards, q.max_shards));
  }
  if (q.min_backoff_ms > q.max_backoff_ms) {
    return Status::InvalidArgument(fmt::format("{}: min_backoff {} is greater than max_backoff {}",
                                               where, FormatDurationMs(q.min_backoff_ms),
                                               FormatDurationMs(q.max_backoff_ms)));
  }
  return Status::Ok();
}

Status ParseUrl(RemoteWriteConfig& c, const std::string& where) {
  std::string_view u = c.url;
  if (u.starts_with("http://")) {
    c.scheme = "http";
    u.remove_prefix(7);
  } else if (u.starts_with("https://")) {
    c.scheme = "https";
    u.remove_prefix(8);
  } else {
    return Status::InvalidArgument(
        fmt::format("{}: url \"{}\": the scheme must be http or https", where, c.url));
  }
  const size_t slash = u.find_first_of("/?");
  std::string_view authority = u.substr(0, slash);
  c.target = slash == std::string_view::npos ? "/" : std::string(u.substr(slash));
  if (c.target.front() == '?') c.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("{}: url \"{}\": put credentials in basic_auth, not in the url", where, c.url));
  }
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidArgument(fmt::format("{}: url \"{}\": unclosed [", where, c.url));
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return Status::InvalidArgument(fmt::format("{}: url \"{}\": bad host", where, c.url));
      port = rest.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty())
    return Status::InvalidArgument(fmt::format("{}: url \"{}\": no host", where, c.url));
  if (port.empty()) port = c.scheme == "https" ? "443" : "80";
  for (char ch : port) {
    if (ch < '0' || ch > '9')
      return Status::InvalidArgument(fmt::format("{}: url \"{}\": bad port", where, c.url));
  }
  if (port.size() > 5 || std::stoi(std::string(port)) > 65535 || std::stoi(std::string(port)) == 0)
    return Status::InvalidArgument(fmt::format("{}: url \"{}\": bad port", where, c.url));
  c.host = std::string(host);
  c.port = std::string(port);
  return Status::Ok();
}

Status ParseEntry(const YAML::Node& n, const std::string& index, RemoteWriteConfig& c) {
  if (!n.IsMap()) return Status::InvalidArgument(index + ": must be a mapping");
  if (n["url"]) c.url = n["url"].as<std::string>();
  if (c.url.empty()) return Status::InvalidArgument(index + ": url is required");
  const std::string where = fmt::format("{} (url \"{}\")", index, c.url);
  ZW_RETURN_IF_ERROR(ParseUrl(c, where));
  std::string bearer, bearer_file;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    const std::string at = where + ": " + key;
    if (key == "url") {
      continue;
    } else if (key == "name") {
      c.name = v.as<std::string>();
    } else if (key == "remote_timeout") {
      auto d = PositiveDuration(v, at);
      if (!d.ok()) return d.status();
      c.remote_timeout_ms = *d;
    } else if (key == "headers") {
      if (!v.IsMap()) return Status::InvalidArgument(at + ": must be a mapping");
      for (const auto& h : v) {
        std::string name = h.first.as<std::string>();
        for (const char* reserved : kReservedHeaders) {
          if (strcasecmp(name.c_str(), reserved) == 0)
            return Status::InvalidArgument(fmt::format("{}: {} is a reserved header", at, name));
        }
        if (name.empty() || name.find_first_of(" \t\r\n:") != std::string::npos)
          return Status::InvalidArgument(fmt::format("{}: \"{}\" is not a header name", at, name));
        std::string value = h.second.as<std::string>();
        if (value.find_first_of("\r\n") != std::string::npos)
          return Status::InvalidArgument(
              fmt::format("{}: {}: the value has a line break", at, name));
        c.headers.emplace_back(std::move(name), std::move(value));
      }
    } else if (key == "basic_auth") {
      c.basic_auth.emplace();
      ZW_RETURN_IF_ERROR(scrape::ParseBasicAuthConfig(v, at, *c.basic_auth));
    } else if (key == "authorization") {
      c.authorization.emplace();
      ZW_RETURN_IF_ERROR(scrape::ParseAuthorizationConfig(v, at, *c.authorization));
    } else if (key == "bearer_token") {
      bearer = v.as<std::string>();
    } else if (key == "bearer_token_file") {
      bearer_file = v.as<std::string>();
    } else if (key == "tls_config") {
      ZW_RETURN_IF_ERROR(scrape::ParseTlsConfig(v, at, c.tls_config));
    } else if (key == "write_relabel_configs") {
      auto r = scrape::ParseRelabelConfigs(v);
      if (!r.ok()) return Status::InvalidArgument(at + ": " + r.status().message());
      c.write_relabel_configs = std::move(r).value();
    } else if (key == "queue_config") {
      ZW_RETURN_IF_ERROR(ParseQueue(v, at, c.queue_config));
    } else if (key == "metadata_config" || key == "send_exemplars" ||
               key == "send_native_histograms") {
      // Settings for data zenwatch's WAL does not hold (metadata is not forwarded yet;
      // exemplars and native histograms are not stored): accepted, without effect.
      continue;
    } else {
      return Status::InvalidArgument(fmt::format("{}: unknown field \"{}\"", where, key));
    }
  }
  if (!bearer.empty() && !bearer_file.empty())
    return Status::InvalidArgument(where + ": at most one of bearer_token and bearer_token_file");
  const bool has_bearer = !bearer.empty() || !bearer_file.empty();
  if (int(c.basic_auth.has_value()) + int(c.authorization.has_value()) + int(has_bearer) > 1) {
    return Status::InvalidArgument(
        where + ": at most one of basic_auth, authorization and bearer_token(_file)");
  }
  if (has_bearer) {
    c.authorization.emplace();
    c.authorization->credentials = bearer;
    c.authorization->credentials_file = bearer_file;
  }
  c.fingerprint = YAML::Dump(n);
  return Status::Ok();
}

}  // namespace

std::string RemoteWriteConfig::RemoteName() const {
  if (!name.empty()) return name;
  return fmt::format("{:06x}", XXH3_64bits(url.data(), url.size()) & 0xffffff);
}

Result<std::vector<RemoteWriteConfig>> ParseRemoteWriteConfigs(std::string_view yaml) {
  std::vector<RemoteWriteConfig> out;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return out;
    const YAML::Node rw = root["remote_write"];
    if (!rw || rw.IsNull()) return out;
    if (!rw.IsSequence()) return Status::InvalidArgument("remote_write: must be a list");
    std::set<std::string> names, urls;
    for (size_t i = 0; i < rw.size(); ++i) {
      RemoteWriteConfig c;
      const std::string index = fmt::format("remote_write[{}]", i);
      ZW_RETURN_IF_ERROR(ParseEntry(rw[i], index, c));
      if (!c.name.empty()) {
        for (char ch : c.name) {
          const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                          (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
          if (!ok) {
            return Status::InvalidArgument(fmt::format(
                "{}: name \"{}\": use letters, digits, '_', '-' and '.' only (it names a "
                "directory)",
                index, c.name));
          }
        }
      }
      if (c.name.empty() && !urls.insert(c.url).second) {
        return Status::InvalidArgument(fmt::format(
            "{}: url \"{}\" is configured twice; give the entries distinct names", index, c.url));
      }
      if (!names.insert(c.RemoteName()).second) {
        return Status::InvalidArgument(
            fmt::format("{}: remote name \"{}\" is used twice", index, c.RemoteName()));
      }
      out.push_back(std::move(c));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("remote_write: ") + e.what());
  }
  return out;
}

}  // namespace zw::remote
