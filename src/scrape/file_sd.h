// file_sd_configs: target groups read from JSON or YAML files, as Prometheus writes them:
//
//   [{"targets": ["10.0.0.1:9100", "10.0.0.2:9100"], "labels": {"env": "prod"}}, ...]
//
// Each target gets the label __meta_filepath (the file it came from). Files are watched
// by polling: Poll() re-expands the globs and re-reads any file whose size or mtime
// changed (no inotify). A file that cannot be read or parsed is logged and keeps the
// groups it had; a file that disappears takes its groups with it.
//
// Not thread-safe: used by one job's discovery loop.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "scrape/config.h"
#include "scrape/target.h"

namespace zw::scrape {

// Parses one file's content. `path` decides the format (.json or .yml/.yaml) and is set
// as __meta_filepath and as each group's source.
Result<std::vector<TargetGroup>> ParseFileSdContent(std::string_view content,
                                                    const std::string& path);

class FileDiscovery {
 public:
  explicit FileDiscovery(std::vector<FileSdConfig> configs) : configs_(std::move(configs)) {}

  // Re-checks every file; returns every group of every file when anything changed since the
  // last call (the first call always returns), nullopt otherwise.
  std::optional<std::vector<TargetGroup>> Poll();

  // The shortest refresh_interval of the configs.
  int64_t RefreshIntervalMs() const;

 private:
  struct FileState {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    std::vector<TargetGroup> groups;
  };
  std::vector<FileSdConfig> configs_;
  std::map<std::string, FileState> files_;
  bool first_ = true;
};

}  // namespace zw::scrape
