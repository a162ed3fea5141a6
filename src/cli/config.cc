#include "cli/config.h"

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

namespace zw::cli {

Result<std::string> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("--config " + path + ": cannot open the file");
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = std::move(buf).str();
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsNull() && !root.IsMap()) {
      return Status::InvalidArgument("--config " + path + ": the top level must be a mapping");
    }
    for (const auto& kv : root) {
      std::string section = kv.first.as<std::string>();
      if (section != "global" && section != "scrape_configs" && section != "dashboard") {
        spdlog::warn("config {}: section \"{}\" is not used by this version", path, section);
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("--config " + path + ": " + e.what());
  }
  return text;
}

Result<scrape::Config> LoadScrapeConfig(const std::string& path, const std::string& self_address) {
  std::string text;
  if (!path.empty()) {
    auto loaded = LoadConfigFile(path);
    if (!loaded.ok()) return loaded.status();
    text = std::move(loaded).value();
  }
  auto config = scrape::ParseConfig(text);
  if (!config.ok())
    return Status::InvalidArgument("--config " + path + ": " + config.status().message());
  bool has_self = false;
  for (const auto& job : config->scrape_configs) has_self = has_self || job.job_name == "zenwatch";
  if (!has_self) config->scrape_configs.push_back(scrape::SelfScrapeConfig(self_address));
  return config;
}

}  // namespace zw::cli
