// The dashboard's files as embedded in the binary. The table is generated at build time by
// web/build.mjs (webui_assets.cc in the build directory); nothing here is written by hand.
#pragma once

#include <cstddef>
#include <string_view>

namespace zw::webui {

struct Asset {
  std::string_view path;          // "/index.html" or "/assets/<name>-<hash>.<ext>"
  std::string_view content_type;  // with charset for text types
  std::string_view etag;          // quoted, a hash of the content; the gzip form adds "-gz"
  const unsigned char* data;      // the file
  size_t size;
  const unsigned char* gzip;  // the same file gzip-compressed
  size_t gzip_size;
  bool immutable;  // the name carries a content hash: cacheable forever
};

extern const Asset kAssets[];
extern const size_t kAssetCount;

}  // namespace zw::webui
