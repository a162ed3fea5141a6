#include "tsdb/chunkenc/bstream.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace zw::chunkenc {

bool bits_internal::CpuHasBmi2() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  // LZCNT is CPUID leaf 0x80000001, ECX bit 5 (ABM); Clang's __builtin_cpu_supports has no
  // name for it.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool lzcnt = __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 5));
  return lzcnt && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("bmi");
#else
  return false;
#endif
}

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
