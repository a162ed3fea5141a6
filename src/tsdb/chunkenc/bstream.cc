#include "tsdb/chunkenc/bstream.h"

namespace zw::chunkenc {

void BitWriter::Grow(size_t need) {
  // Geometric growth keeps appends amortised O(1); resize zero-fills, as WriteBits needs.
  // 128 bytes hold a typical 120-sample chunk of a counter or a histogram bucket.
  size_t n = buf_.size() < kInitialBytes ? kInitialBytes : buf_.size() * 2;
  while (n < need) n *= 2;
  buf_.resize(n);
}

}  // namespace zw::chunkenc
