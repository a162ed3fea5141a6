// The YAML configuration file. Its `global` and `scrape_configs` sections are read by
// src/scrape; other sections (rules, remote_write, ...) arrive with their issues and are
// reported as unused. A given file must exist and be valid YAML.
#pragma once

#include <string>

#include "core/status.h"
#include "scrape/config.h"

namespace zw::cli {

// Returns the file's text once it is known to be a YAML mapping.
Result<std::string> LoadConfigFile(const std::string& path);

// The scrape configuration of `path` ("" for none) plus the job scraping zenwatch itself
// at `self_address` unless the file has a job named "zenwatch". Used at start and on reload
// (SIGHUP, POST /-/reload); an error names the file and leaves the caller's running
// configuration alone.
Result<scrape::Config> LoadScrapeConfig(const std::string& path, const std::string& self_address);

}  // namespace zw::cli
