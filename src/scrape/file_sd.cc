#include "scrape/file_sd.h"

#include <glob.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "core/names.h"

namespace zw::scrape {
namespace {

std::vector<std::string> Expand(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  return out;
}

}  // namespace

Result<std::vector<TargetGroup>> ParseFileSdContent(std::string_view content,
                                                    const std::string& path) {
  std::vector<TargetGroup> out;
  try {
    YAML::Node root = YAML::Load(std::string(content));
    if (root.IsNull()) return out;
    if (!root.IsSequence())
      return Status::InvalidArgument(path + ": must be a list of target groups");
    for (size_t i = 0; i < root.size(); ++i) {
      const YAML::Node& g = root[i];
      std::string where = fmt::format("{}: group {}", path, i);
      if (!g.IsMap()) return Status::InvalidArgument(where + ": must be a mapping");
      TargetGroup tg;
      tg.source = fmt::format("{}:{}", path, i);
      LabelsBuilder lb;
      for (const auto& kv : g) {
        std::string key = kv.first.as<std::string>();
        if (key == "targets") {
          if (!kv.second.IsSequence())
            return Status::InvalidArgument(where + ": targets must be a list");
          for (const auto& t : kv.second) {
            std::string addr = t.as<std::string>();
            if (addr.empty() || addr.find('/') != std::string::npos) {
              return Status::InvalidArgument(
                  fmt::format("{}: target \"{}\" is not host:port", where, addr));
            }
            tg.targets.push_back(Labels{{"__address__", addr}});
          }
        } else if (key == "labels") {
          if (!kv.second.IsMap())
            return Status::InvalidArgument(where + ": labels must be a mapping");
          for (const auto& l : kv.second) {
            std::string name = l.first.as<std::string>();
            if (!IsValidLabelName(name)) {
              return Status::InvalidArgument(
                  fmt::format("{}: \"{}\" is not a valid label name", where, name));
            }
            lb.Set(name, l.second.as<std::string>());
          }
        } else {
          return Status::InvalidArgument(fmt::format("{}: unknown field \"{}\"", where, key));
        }
      }
      lb.Set("__meta_filepath", path);
      tg.labels = lb.Build();
      out.push_back(std::move(tg));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
  return out;
}

int64_t FileDiscovery::RefreshIntervalMs() const {
  int64_t best = 5 * 60 * 1000;
  bool any = false;
  for (const auto& c : configs_) {
    best = any ? std::min(best, c.refresh_interval_ms) : c.refresh_interval_ms;
    any = true;
  }
  return best;
}

std::optional<std::vector<TargetGroup>> FileDiscovery::Poll() {
  bool changed = first_;
  first_ = false;
  std::set<std::string> present;
  for (const FileSdConfig& c : configs_) {
    for (const std::string& pattern : c.files) {
      for (std::string& path : Expand(pattern)) present.insert(std::move(path));
    }
  }
  for (auto it = files_.begin(); it != files_.end();) {
    if (!present.count(it->first)) {
      it = files_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  for (const std::string& path : present) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) continue;
    int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    FileState& f = files_[path];
    if (f.mtime_ns == mtime && f.size == static_cast<int64_t>(st.st_size)) continue;
    f.mtime_ns = mtime;
    f.size = static_cast<int64_t>(st.st_size);
    std::ifstream in(path);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (!in) {
      spdlog::error("file_sd: cannot read {}; keeping its previous targets", path);
      continue;
    }
    auto groups = ParseFileSdContent(buf.str(), path);
    if (!groups.ok()) {
      spdlog::error("file_sd: {}; keeping the file's previous targets", groups.status().message());
      continue;
    }
    f.groups = std::move(groups).value();
    changed = true;
  }
  if (!changed) return std::nullopt;
  std::vector<TargetGroup> all;
  for (const auto& [path, f] : files_) all.insert(all.end(), f.groups.begin(), f.groups.end());
  return all;
}

}  // namespace zw::scrape
