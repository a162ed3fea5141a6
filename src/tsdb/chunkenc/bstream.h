// Bit streams for the chunk codecs: a writer that appends bits to a byte buffer it owns and
// a reader over borrowed bytes. Bits are most significant first: the first bit of a stream
// is bit 7 of byte 0. See docs/format/chunks.md.
//
// Both are small value types, not thread-safe; the hot paths are inline because every
// sample of every chunk goes through them.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace zw::chunkenc {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "mixed-endian machines are not supported");

namespace bits_internal {

inline uint64_t LoadBE64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

inline void StoreBE64(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}

// Whether this x86-64 CPU has BMI1, BMI2 and LZCNT (false elsewhere): the decoders have a
// build for such CPUs, where a leading-ones count and a variable shift take one instruction
// each, and pick it once with this.
bool CpuHasBmi2();

}  // namespace bits_internal

// Appends bits to a growing buffer. Bytes() is always the complete stream so far, its last
// byte padded with zero bits, and stays valid until the next write.
//
// Invariant: every buffer byte past the last written bit is zero, and the buffer holds at
// least kSlack bytes past the byte of the next bit once anything was written, so a write
// is one unaligned 8-byte store plus at most one byte.
//
// Memory: the head keeps one writer per active series (its open chunk), so the buffer is a
// bare array grown by a quarter at a time (std::string would at least double it) and the
// writer itself is 16 bytes; a stream holds at most 512 MiB.
class BitWriter {
 public:
  BitWriter() = default;
  // Continues after the last bit of `bytes`, e.g. to read them back through Bytes().
  static BitWriter Adopt(std::string_view bytes) {
    BitWriter w;
    w.Grow(bytes.size() + kSlack);
    if (!bytes.empty()) std::memcpy(w.buf_.get(), bytes.data(), bytes.size());
    w.bit_len_ = static_cast<uint32_t>(bytes.size() * 8);
    return w;
  }
  BitWriter(const BitWriter& o) { *this = o; }
  BitWriter& operator=(const BitWriter& o) {
    if (this == &o) return *this;
    if (o.cap_ == 0) {
      buf_.reset();
      cap_ = 0;
    } else {
      // Only the written bytes carry information; the copy gets the same capacity.
      std::unique_ptr<uint8_t[]> b(new uint8_t[o.cap_]);
      const size_t used = o.Bytes().size();
      std::memcpy(b.get(), o.buf_.get(), used);
      std::memset(b.get() + used, 0, o.cap_ - used);
      buf_ = std::move(b);
      cap_ = o.cap_;
    }
    bit_len_ = o.bit_len_;
    return *this;
  }
  // A moved-from writer is empty, not a length without bytes.
  BitWriter(BitWriter&& o) noexcept
      : buf_(std::move(o.buf_)),
        bit_len_(std::exchange(o.bit_len_, 0)),
        cap_(std::exchange(o.cap_, 0)) {}
  BitWriter& operator=(BitWriter&& o) noexcept {
    if (this != &o) {
      buf_ = std::move(o.buf_);
      bit_len_ = std::exchange(o.bit_len_, 0);
      cap_ = std::exchange(o.cap_, 0);
    }
    return *this;
  }

  // Appends the low `n` bits of `v`, most significant first. REQUIRES: n <= 64.
  void WriteBits(uint64_t v, unsigned n) {
    if (n == 0) return;
    const size_t idx = bit_len_ >> 3;
    const unsigned off = bit_len_ & 7;
    if (cap_ < idx + kSlack) [[unlikely]]
      Grow(idx + kSlack);
    uint8_t* p = buf_.get();
    const uint64_t aligned = v << (64 - n);  // the n bits at the top, the rest zero
    bits_internal::StoreBE64(p + idx, (uint64_t{p[idx]} << 56) | (aligned >> off));
    if (off + n > 64) p[idx + 8] = static_cast<uint8_t>(aligned << (8 - off));
    bit_len_ += n;
  }

  // Appends the low `na` bits of `a`, then the low `nb` bits of `b`, with one store when
  // they fit in 64 bits together. REQUIRES: na <= 64, nb <= 64.
  void WriteBits(uint64_t a, unsigned na, uint64_t b, unsigned nb) {
    if (na + nb <= 64 && nb < 64) {
      WriteBits((a << nb) | (b & ((uint64_t{1} << nb) - 1)), na + nb);
    } else {
      WriteBits(a, na);
      WriteBits(b, nb);
    }
  }

  // Overwrites bytes `i` and `i + 1` of what was written with `v`, big-endian.
  // REQUIRES: i + 2 <= Bytes().size().
  void PatchBE16(size_t i, uint16_t v) {
    buf_[i] = static_cast<uint8_t>(v >> 8);
    buf_[i + 1] = static_cast<uint8_t>(v);
  }

  std::span<const uint8_t> Bytes() const { return {buf_.get(), (bit_len_ + 7) / 8}; }
  // Bytes allocated for the stream (Bytes() plus room to grow), for memory accounting.
  size_t Capacity() const { return cap_; }

 private:
  static constexpr size_t kSlack = 9;  // an 8-byte store plus one spilled byte
  static constexpr size_t kInitialBytes = 120;
  static constexpr size_t kMaxBytes = (size_t{1} << 29) - 16;  // bit offsets fit 32 bits

  // Out of line so that WriteBits stays small enough to inline.
  void Grow(size_t need);

  std::unique_ptr<uint8_t[]> buf_;
  uint32_t bit_len_ = 0;
  uint32_t cap_ = 0;  // at most kMaxBytes, so bit_len_ cannot overflow
};

// Reads bits from borrowed bytes, which must outlive the reader. It never reads past the
// end: a read that needs more bits than remain returns 0 and marks the reader failed, and
// every later read does the same, so a decoder can check ok() once per record instead of
// after every field.
class BitReader {
 public:
  BitReader() = default;
  explicit BitReader(std::span<const uint8_t> in)
      : begin_(in.data()), pos_(in.data()), end_(in.data() + in.size()) {}
  // Starts at bit `bit` of `in` instead of its first bit, as if that many had been read
  // (BitOffset counts from the start of `in`). REQUIRES: bit <= in.size() * 8.
  BitReader(std::span<const uint8_t> in, size_t bit)
      : begin_(in.data()), pos_(in.data() + bit / 8), end_(in.data() + in.size()) {
    if (const unsigned skip = bit & 7; skip != 0) {
      // The rest of the partly read byte, left-aligned; the bits below it stay zero.
      buf_ = uint64_t{*pos_++} << (56 + skip);
      avail_ = 8 - skip;
    }
  }

  // The next `n` bits as an unsigned integer; n == 0 reads nothing and gives 0.
  // REQUIRES: n <= kMaxFastBits.
  uint64_t ReadBits(unsigned n) {
    if (avail_ < n) {
      Refill();
      if (avail_ < n) return Fail();
    }
    const uint64_t v = (buf_ >> 1) >> (63 - n);  // buf_ >> (64 - n), defined for n == 0
    buf_ <<= n;
    avail_ -= n;
    return v;
  }

  // Like ReadBits, for any n <= 64.
  uint64_t ReadBitsWide(unsigned n) {
    if (n <= kMaxFastBits) return ReadBits(n);
    uint64_t hi = ReadBits(n - 32);
    return (hi << 32) | ReadBits(32);
  }

  // The next `n` bits without consuming them; bits past the end of the input read as zero.
  // REQUIRES: 1 <= n <= kMaxFastBits.
  uint64_t PeekBits(unsigned n) {
    if (avail_ < n) Refill();
    return buf_ >> (64 - n);
  }

  // Consumes `n` bits, as ReadBits would. REQUIRES: n <= kMaxFastBits.
  void Skip(unsigned n) { ReadBits(n); }

  bool ok() const { return ok_; }
  // Bits consumed so far; after a failure, where the failing read started.
  size_t BitOffset() const {
    return ok_ ? static_cast<size_t>(pos_ - begin_) * 8 - avail_ : fail_offset_;
  }
  // Bits not yet consumed; 0 after a failure.
  size_t BitsLeft() const { return static_cast<size_t>(end_ - pos_) * 8 + avail_; }

  // The widest read ReadBits can always satisfy from a single refill.
  static constexpr unsigned kMaxFastBits = 56;

 private:
  // Tops buf_ up to at least kMaxFastBits valid bits, or to everything that is left.
  // buf_ holds the next bits left-aligned; its bits past avail_ are zero or already the
  // correct next bits of the stream, so OR-ing a byte in again is harmless.
  void Refill() {
    if (end_ - pos_ >= 8) {
      // One unaligned load; consumes whole bytes until 56..63 bits are valid. avail_ is
      // below 64 here because Refill only runs when a read wants more than avail_.
      buf_ |= bits_internal::LoadBE64(pos_) >> avail_;
      pos_ += (63 - avail_) >> 3;
      avail_ |= 56;
      return;
    }
    while (avail_ <= 56 && pos_ < end_) {
      buf_ |= uint64_t{*pos_++} << (56 - avail_);
      avail_ += 8;
    }
  }

  uint64_t Fail() {
    // Drop what is buffered and the rest of the input so every later read fails too.
    fail_offset_ = BitOffset();
    ok_ = false;
    buf_ = 0;
    avail_ = 0;
    pos_ = end_;
    return 0;
  }

  const uint8_t* begin_ = nullptr;
  const uint8_t* pos_ = nullptr;
  const uint8_t* end_ = nullptr;
  uint64_t buf_ = 0;
  unsigned avail_ = 0;
  size_t fail_offset_ = 0;
  bool ok_ = true;
};

}  // namespace zw::chunkenc
