#include "scrape/target.h"

#include <cctype>
#include <map>

#include <fmt/format.h>

#include "core/time.h"

namespace zw::scrape {
namespace {

constexpr std::string_view kParamPrefix = "__param_";

void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

// The job's params with __param_<name> labels replacing a name's first value (or adding
// the name), in name order as Go's url.Values.Encode writes them.
std::string QueryString(const ScrapeConfig& job, const Labels& ls) {
  std::map<std::string, std::vector<std::string>, std::less<>> params;
  for (const auto& [k, v] : job.params) params[k].push_back(v);
  for (const Label& l : ls) {
    std::string_view n = l.name;
    if (!n.starts_with(kParamPrefix)) continue;
    auto& values = params[std::string(n.substr(kParamPrefix.size()))];
    if (values.empty()) {
      values.emplace_back(l.value);
    } else {
      values[0] = std::string(l.value);
    }
  }
  std::string out;
  for (const auto& [k, values] : params) {
    for (const std::string& v : values) {
      out += out.empty() ? '?' : '&';
      AppendEscaped(out, k);
      out += '=';
      AppendEscaped(out, v);
    }
  }
  return out;
}

}  // namespace

std::string Target::Url() const {
  std::string hostport =
      host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
  return scheme + "://" + hostport + path_and_query;
}

std::string Target::Key() const {
  return fmt::format("{}|{}|{}|{}", labels.ToString(), Url(), interval_ms, timeout_ms);
}

std::vector<TargetGroup> StaticGroups(const ScrapeConfig& job) {
  std::vector<TargetGroup> out;
  for (size_t i = 0; i < job.static_configs.size(); ++i) {
    const StaticConfig& sc = job.static_configs[i];
    TargetGroup g;
    g.source = fmt::format("static/{}", i);
    for (const std::string& addr : sc.targets) g.targets.push_back(Labels{{"__address__", addr}});
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    for (const auto& [k, v] : sc.labels) pairs.emplace_back(k, v);
    g.labels = Labels::FromPairs(std::move(pairs));
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<Result<Target>> PopulateTargets(const ScrapeConfig& job, const TargetGroup& group) {
  std::vector<Result<Target>> out;
  for (const Labels& tl : group.targets) {
    LabelsBuilder b(group.labels);
    for (const Label& l : tl) b.Set(l.name, l.value);  // the target's own labels win
    auto set_default = [&b](std::string_view name, std::string_view value) {
      if (b.Get(name).empty()) b.Set(name, value);
    };
    set_default("job", job.job_name);
    set_default("__scrape_interval__", FormatDurationMs(job.interval_ms));
    set_default("__scrape_timeout__", FormatDurationMs(job.timeout_ms));
    set_default("__metrics_path__", job.metrics_path);
    set_default("__scheme__", job.scheme);
    for (const auto& [k, v] : job.params) set_default(std::string(kParamPrefix) + k, v);

    Target t;
    t.discovered = b.Build();
    std::optional<Labels> relabelled = Relabel(t.discovered, job.relabel_configs);
    if (!relabelled) {
      t.dropped = true;
      out.push_back(std::move(t));
      continue;
    }
    const Labels& ls = *relabelled;
    std::string addr(ls.Get("__address__"));
    auto fail = [&](const std::string& why) {
      return Status::InvalidArgument(
          fmt::format("job \"{}\", target {}: {}", job.job_name, t.discovered.ToString(), why));
    };
    if (addr.empty()) {
      out.push_back(fail("no __address__ after relabelling"));
      continue;
    }
    t.scheme = std::string(ls.Get("__scheme__"));
    if (t.scheme != "http" && t.scheme != "https") {
      out.push_back(fail("scheme \"" + t.scheme + "\" is not supported (http or https)"));
      continue;
    }
    if (addr.find('/') != std::string::npos) {
      out.push_back(fail("__address__ \"" + addr + "\" is not host:port"));
      continue;
    }
    size_t colon = addr.rfind(':');
    size_t bracket = addr.rfind(']');
    if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
      t.host = addr;
      t.port = t.scheme == "https" ? "443" : "80";  // as Prometheus, the scheme's port
    } else {
      t.host = addr.substr(0, colon);
      t.port = addr.substr(colon + 1);
    }
    if (t.host.size() > 2 && t.host.front() == '[') t.host = t.host.substr(1, t.host.size() - 2);
    if (t.host.empty() || t.port.empty()) {
      out.push_back(fail("__address__ \"" + addr + "\" is not host:port"));
      continue;
    }
    auto interval = ParseDurationMs(std::string(ls.Get("__scrape_interval__")));
    auto timeout = ParseDurationMs(std::string(ls.Get("__scrape_timeout__")));
    if (!interval.ok() || *interval <= 0) {
      out.push_back(fail("invalid __scrape_interval__ \"" +
                         std::string(ls.Get("__scrape_interval__")) + "\""));
      continue;
    }
    if (!timeout.ok() || *timeout <= 0) {
      out.push_back(
          fail("invalid __scrape_timeout__ \"" + std::string(ls.Get("__scrape_timeout__")) + "\""));
      continue;
    }
    if (*timeout > *interval) {
      out.push_back(fail("__scrape_timeout__ is greater than __scrape_interval__"));
      continue;
    }
    t.interval_ms = *interval;
    t.timeout_ms = *timeout;
    std::string path(ls.Get("__metrics_path__"));
    if (path.empty() || path[0] != '/') path = "/" + path;
    t.path_and_query = path + QueryString(job, ls);

    LabelsBuilder fin;
    for (const Label& l : ls) {
      if (!std::string_view(l.name).starts_with("__")) fin.Set(l.name, l.value);
    }
    if (fin.Get("instance").empty()) fin.Set("instance", addr);
    t.labels = fin.Build();
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace zw::scrape
