#include "cli/config.h"

#include <fstream>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

namespace zw::cli {

Status CheckConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("--config " + path + ": cannot open the file");
  try {
    YAML::Node root = YAML::Load(in);
    if (!root.IsNull() && !root.IsMap()) {
      return Status::InvalidArgument("--config " + path + ": the top level must be a mapping");
    }
    for (const auto& kv : root) {
      spdlog::warn("config {}: section \"{}\" is not used by this version", path,
                   kv.first.as<std::string>());
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("--config " + path + ": " + e.what());
  }
  return Status::Ok();
}

}  // namespace zw::cli
