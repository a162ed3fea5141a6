// The YAML configuration file. This version reads no settings from it yet (scrape,
// rules and remote_write sections arrive with their issues); a given file must still
// exist and be valid YAML so a typo is caught at start rather than ignored.
#pragma once

#include <string>

#include "core/status.h"

namespace zw::cli {

// Returns the file's text once it is known to be a YAML mapping.
Result<std::string> LoadConfigFile(const std::string& path);

}  // namespace zw::cli
