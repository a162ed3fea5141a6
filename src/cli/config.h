// The YAML configuration file. Its `global` and `scrape_configs` sections are read by
// src/scrape; other sections (rules, remote_write, ...) arrive with their issues and are
// reported as unused. A given file must exist and be valid YAML.
#pragma once

#include <string>

#include "core/status.h"

namespace zw::cli {

// Returns the file's text once it is known to be a YAML mapping.
Result<std::string> LoadConfigFile(const std::string& path);

}  // namespace zw::cli
