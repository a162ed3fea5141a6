#include "tsdb/chunkenc/bstream.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace zw::chunkenc {

void BitWriter::Grow(size_t need) {
  // A quarter more each time: appends stay amortised O(1) and a full buffer wastes at most
  // a fifth of itself (an eighth on average), where doubling wasted up to half. The head
  // holds one writer per series, so that spare room is paid per series. 120 bytes hold a
  // typical 120-sample chunk of a counter or a histogram bucket.
  size_t n = std::max({need, kInitialBytes, size_t{cap_} + cap_ / 4});
  // malloc hands out 16-byte granules holding 8 bytes of its own header: ask for what
  // fills them.
  n = (n + 8 + 15) / 16 * 16 - 8;
  if (n > kMaxBytes) {
    std::fputs("zenwatch: BitWriter: stream over 512 MiB\n", stderr);
    std::abort();  // far beyond any chunk or column; continuing would corrupt the stream
  }
  std::unique_ptr<uint8_t[]> b(new uint8_t[n]);
  const size_t used = std::min<size_t>(cap_, (bit_len_ + 7) / 8);
  if (used) std::memcpy(b.get(), buf_.get(), used);
  // Zero past the written bytes, as WriteBits needs (the old buffer's tail was zero too).
  std::memset(b.get() + used, 0, n - used);
  buf_ = std::move(b);
  cap_ = static_cast<uint32_t>(n);
}

}  // namespace zw::chunkenc
