// Gunzip for scrape bodies sent with Content-Encoding: gzip.
#include <zlib.h>

#include <algorithm>
#include <climits>

#include "ingest/exposition_parser.h"

namespace zw::ingest {

Result<std::string> Gunzip(std::string_view body, size_t max_bytes) {
  z_stream z{};
  // 16 + MAX_WBITS: gzip framing only (header and CRC-32 trailer are checked).
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    return Status::Error(StatusCode::kInternal, "inflateInit2 failed");
  std::string out;
  out.resize(std::min<size_t>(std::max<size_t>(body.size() * 4, 4096), max_bytes + 1));
  size_t in_pos = 0;
  size_t out_pos = 0;
  Status status;
  for (;;) {
    if (out_pos == out.size()) {
      if (out.size() > max_bytes) {
        status = Status::Error(StatusCode::kResourceExhausted,
                               "gzip body inflates to more than {} bytes", max_bytes);
        break;
      }
      out.resize(std::min(out.size() * 2, max_bytes + 1));
    }
    size_t in_chunk = std::min<size_t>(body.size() - in_pos, UINT_MAX);
    size_t out_chunk = std::min<size_t>(out.size() - out_pos, UINT_MAX);
    // zlib takes a non-const pointer but does not write through next_in.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data() + in_pos));
    z.avail_in = static_cast<uInt>(in_chunk);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    z.avail_out = static_cast<uInt>(out_chunk);
    int rc = inflate(&z, Z_NO_FLUSH);
    in_pos += in_chunk - z.avail_in;
    out_pos += out_chunk - z.avail_out;
    if (out_pos > max_bytes) {
      status = Status::Error(StatusCode::kResourceExhausted,
                             "gzip body inflates to more than {} bytes", max_bytes);
      break;
    }
    if (rc == Z_STREAM_END) {
      if (in_pos == body.size()) break;
      // Another gzip member follows.
      if (inflateReset(&z) != Z_OK) {
        status = Status::InvalidArgument("gzip: cannot reset for the next member");
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_out != 0) {
      status = Status::InvalidArgument("gzip: truncated body");
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = Status::InvalidArgument(
          fmt::format("gzip: {}", z.msg != nullptr ? z.msg : "invalid data"));
      break;
    }
  }
  inflateEnd(&z);
  if (!status.ok()) return status;
  out.resize(out_pos);
  return out;
}

}  // namespace zw::ingest
