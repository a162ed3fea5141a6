#include "tsdb/fs/file_system.h"

namespace zw::fs {

WritableFile::~WritableFile() = default;
FileSystem::~FileSystem() = default;

std::string JoinPath(std::string_view dir, std::string_view name) {
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  std::string out(dir);
  if (out.empty()) return std::string(name);
  if (out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

}  // namespace zw::fs
