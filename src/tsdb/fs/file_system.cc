#include "tsdb/fs/file_system.h"

#include <cstring>

#include <fmt/format.h>

namespace zw::fs {

WritableFile::~WritableFile() = default;
FileSystem::~FileSystem() = default;
MappedFile::~MappedFile() = default;

namespace {

class CopiedFile final : public MappedFile {
 public:
  explicit CopiedFile(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string_view data() const override { return bytes_; }

 private:
  const std::string bytes_;
};

}  // namespace

Status MappedFile::ReadAt(uint64_t offset, std::span<char> dst) const {
  std::string_view bytes = data();
  if (offset > bytes.size() || bytes.size() - offset < dst.size()) {
    return Status::IOError(fmt::format("read {} bytes at offset {} of a {}-byte mapped file",
                                       dst.size(), offset, bytes.size()));
  }
  if (!dst.empty()) std::memcpy(dst.data(), bytes.data() + offset, dst.size());
  return Status::Ok();
}

Result<std::shared_ptr<const MappedFile>> FileSystem::Map(const std::string& path, MapOptions) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  return std::shared_ptr<const MappedFile>(std::make_shared<CopiedFile>(std::move(bytes).value()));
}

Status FileSystem::Link(const std::string& from, const std::string& to) {
  auto bytes = ReadFile(from);
  if (!bytes.ok()) return bytes.status();
  if (Exists(to)) return Status::IOError("link " + from + " to " + to + ": File exists");
  auto file = NewWritableFile(to, /*truncate=*/true);
  if (!file.ok()) return file.status();
  ZW_RETURN_IF_ERROR((*file)->Append(*bytes));
  ZW_RETURN_IF_ERROR((*file)->Sync());
  return (*file)->Close();
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  std::string out(dir);
  if (out.empty()) return std::string(name);
  if (out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

}  // namespace zw::fs
