#include "remote/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace zw::remote {
namespace {

bool ParseNumber(std::string_view s, auto& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

std::string Progress::Encode() const {
  std::string out = fmt::format("watermark {} {}\n", watermark.segment, watermark.offset);
  for (int i = 0; i < kProgressBuckets; ++i) {
    const WalPosition& b = buckets[static_cast<size_t>(i)];
    if (b > watermark) out += fmt::format("bucket {} {} {}\n", i, b.segment, b.offset);
  }
  return out;
}

Result<Progress> Progress::Decode(std::string_view text) {
  Progress p;
  bool have_watermark = false;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? "" : text.substr(nl + 1);
    if (line.empty()) continue;
    std::vector<std::string_view> f;
    while (!line.empty()) {
      const size_t sp = line.find(' ');
      f.push_back(line.substr(0, sp));
      line = sp == std::string_view::npos ? "" : line.substr(sp + 1);
    }
    auto bad = [&] {
      return Status::Corruption("progress", 0, fmt::format("line {} is malformed", line_no));
    };
    WalPosition pos;
    if (f.size() == 3 && f[0] == "watermark") {
      if (!ParseNumber(f[1], pos.segment) || !ParseNumber(f[2], pos.offset) || pos.segment < 0)
        return bad();
      p.watermark = pos;
      have_watermark = true;
    } else if (f.size() == 4 && f[0] == "bucket") {
      int i = 0;
      if (!ParseNumber(f[1], i) || i < 0 || i >= kProgressBuckets ||
          !ParseNumber(f[2], pos.segment) || !ParseNumber(f[3], pos.offset) || pos.segment < 0)
        return bad();
      p.buckets[static_cast<size_t>(i)] = pos;
    } else {
      return bad();
    }
  }
  if (!have_watermark) return Status::Corruption("progress", 0, "no watermark line");
  for (WalPosition& b : p.buckets) b = std::max(b, p.watermark);
  return p;
}

Result<std::optional<Progress>> LoadProgress(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::optional<Progress>();
    return Errno("cannot read", path);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  auto p = Progress::Decode(buf.str());
  if (!p.ok()) return Status::Corruption(path, 0, p.status().message());
  return std::optional<Progress>(*p);
}

Status SaveProgress(const std::string& path, const Progress& p, bool sync) {
  const std::string tmp = path + ".tmp";
  const std::string text = p.Encode();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status st = Errno("cannot write", tmp);
      ::close(fd);
      return st;
    }
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd) != 0) {
    Status st = Errno("cannot fsync", tmp);
    ::close(fd);
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename to", path);
  if (sync) {
    const std::string dir = path.substr(0, path.rfind('/'));
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
  }
  return Status::Ok();
}

}  // namespace zw::remote
