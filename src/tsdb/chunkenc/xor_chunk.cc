#include "tsdb/chunkenc/xor_chunk.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace zw::chunkenc {

// The encoding relies on these; a platform where they fail cannot read our files.
static_assert(sizeof(double) == sizeof(uint64_t) && std::numeric_limits<double>::is_iec559,
              "values are stored as IEEE 754 binary64 bits");
static_assert(sizeof(int64_t) == sizeof(uint64_t), "timestamps wrap as 64-bit two's complement");
static_assert(static_cast<uint64_t>(int64_t{-1}) == ~uint64_t{0},
              "signed to unsigned conversion is modular (guaranteed since C++20)");

namespace {

constexpr size_t kHeaderBytes = 2;

// The delta-of-delta buckets after the '0' (dod == 0) case: prefix, its length, and the
// payload width. A width-n bucket holds -(2^(n-1) - 1) .. 2^(n-1), see the format doc.
struct DodBucket {
  uint64_t prefix;
  unsigned prefix_len;
  unsigned width;
};
constexpr DodBucket kDod14{0b10, 2, 14};
constexpr DodBucket kDod17{0b110, 3, 17};
constexpr DodBucket kDod20{0b1110, 4, 20};
constexpr uint64_t kDod64Prefix = 0b1111;

constexpr uint64_t LowMask(unsigned n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

// Whether the two's complement `dod` lies in the bucket's range. Shifting the range to start
// at 0 turns the two comparisons into one unsigned one.
constexpr bool Fits(uint64_t dod, unsigned width) {
  const uint64_t low = (uint64_t{1} << (width - 1)) - 1;  // -low is the range's bottom
  return dod + low <= LowMask(width);
}
static_assert(Fits(static_cast<uint64_t>(int64_t{-8191}), 14) && Fits(8192, 14));
static_assert(!Fits(static_cast<uint64_t>(int64_t{-8192}), 14) && !Fits(8193, 14));

// The fewest bits a chunk of `n` samples can take: a one-byte varint and the raw first
// value, a one-byte uvarint and a one-bit value for the second, two bits for each later one.
constexpr size_t MinBits(uint16_t n) {
  size_t bits = kHeaderBytes * 8;
  if (n >= 1) bits += 8 + 64;
  if (n >= 2) bits += 8 + 1;
  if (n >= 3) bits += size_t{2} * (n - 2);
  return bits;
}

void WriteUvarint(BitWriter& w, uint64_t v) {
  while (v >= 0x80) {
    w.WriteBits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  w.WriteBits(v, 8);
}

[[noreturn]] void DieMisuse(const char* what) {
  std::fputs("zenwatch: XorChunk::Append: ", stderr);
  std::fputs(what, stderr);
  std::fputc('\n', stderr);
  std::abort();
}

}  // namespace

Result<XorChunk> XorChunk::FromBytes(std::string bytes) {
  if (bytes.size() < kHeaderBytes) {
    return Status::Corruption(
        "", 0, fmt::format("xor chunk: {} bytes, shorter than the 2-byte header", bytes.size()));
  }
  const uint16_t n =
      static_cast<uint16_t>((static_cast<uint8_t>(bytes[0]) << 8) | static_cast<uint8_t>(bytes[1]));
  if (bytes.size() * 8 < MinBits(n)) {
    return Status::Corruption(
        "", 0,
        fmt::format("xor chunk: header claims {} samples, which need at least {} bits; have {} "
                    "bytes",
                    n, MinBits(n), bytes.size()));
  }
  XorChunk c;
  c.w_ = BitWriter::Adopt(bytes);
  c.num_ = n;
  c.adopted_ = true;
  return c;
}

// Inlined into Append: a call per sample is a measurable share of the append cost.
[[gnu::always_inline]] inline void XorChunk::AppendValue(uint64_t prefix, unsigned prefix_len,
                                                         uint64_t bits) {
  const uint64_t x = bits ^ v_;
  v_ = bits;
  // The three forms are written as selects feeding one write; this measured a little faster
  // than a branch and a write per form (and than forcing the selects with bit masks).
  const unsigned leading = std::min(static_cast<unsigned>(std::countl_zero(x)), 31u);  // 5 bits
  const unsigned trailing = static_cast<unsigned>(std::countr_zero(x)) & 63;  // 64 iff x == 0
  // Never true while leading_ is kNoWindow, which exceeds any leading count.
  const bool reuse = leading >= leading_ && trailing >= trailing_;
  const unsigned new_sig = 64 - leading - trailing;  // 1..64 when x != 0; 64 is written as 0
  const bool same = x == 0;
  const bool fresh = !same && !reuse;

  const uint64_t control = same ? 0
                           : reuse
                               ? 0b10
                               : (uint64_t{0b11} << 11) | (uint64_t{leading} << 6) | (new_sig & 63);
  const unsigned control_len = same ? 1 : reuse ? 2 : 13;
  const unsigned sig = same ? 0 : reuse ? 64u - leading_ - trailing_ : new_sig;
  const uint64_t payload = x >> (reuse ? trailing_ : trailing);
  leading_ = fresh ? static_cast<uint8_t>(leading) : leading_;
  trailing_ = fresh ? static_cast<uint8_t>(trailing) : trailing_;
  w_.WriteBits((prefix << control_len) | control, prefix_len + control_len, payload, sig);
}

void XorChunk::Append(int64_t t, double v) {
  if (num_ == kMaxSamples) [[unlikely]]
    DieMisuse("chunk already holds 65535 samples");
  if (adopted_) [[unlikely]]
    DieMisuse("chunk adopted by FromBytes is read-only");

  const uint64_t tu = static_cast<uint64_t>(t);
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  if (num_ >= 2) [[likely]] {
    const uint64_t delta = tu - t_;
    const uint64_t dod = delta - delta_;
    delta_ = delta;
    // The dod code and the value's control bits go into one prefix, so that a sample is
    // usually a single write.
    uint64_t prefix;
    unsigned prefix_len;
    if (dod == 0) {
      prefix = 0;
      prefix_len = 1;
    } else if (Fits(dod, kDod14.width)) {
      prefix = (kDod14.prefix << kDod14.width) | (dod & LowMask(kDod14.width));
      prefix_len = kDod14.prefix_len + kDod14.width;
    } else if (Fits(dod, kDod17.width)) {
      prefix = (kDod17.prefix << kDod17.width) | (dod & LowMask(kDod17.width));
      prefix_len = kDod17.prefix_len + kDod17.width;
    } else if (Fits(dod, kDod20.width)) {
      prefix = (kDod20.prefix << kDod20.width) | (dod & LowMask(kDod20.width));
      prefix_len = kDod20.prefix_len + kDod20.width;
    } else {
      w_.WriteBits(kDod64Prefix, 4, dod, 64);
      prefix = 0;
      prefix_len = 0;
    }
    AppendValue(prefix, prefix_len, bits);
  } else if (num_ == 0) {
    if (w_.Bytes().empty()) w_.WriteBits(0, kHeaderBytes * 8);  // the header, written lazily
    first_t_ = t;
    // Zig-zag: small negative and positive numbers both get short varints.
    WriteUvarint(w_, (tu << 1) ^ static_cast<uint64_t>(t >> 63));
    w_.WriteBits(bits, 64);
    v_ = bits;
  } else {
    delta_ = tu - t_;
    WriteUvarint(w_, delta_);
    AppendValue(0, 0, bits);
  }
  t_ = tu;
  ++num_;
  w_.PatchBE16(0, num_);
}

XorIterator XorChunk::Iterator() const { return XorIterator(Bytes()); }

XorIterator::XorIterator(std::span<const uint8_t> bytes) {
  s_.r = BitReader(bytes);
  if (bytes.size() < kHeaderBytes) {
    err_ = Corrupt("shorter than the 2-byte header");
    done_ = true;
    return;
  }
  total_ = static_cast<uint16_t>(s_.r.ReadBits(16));
}

Status XorIterator::Corrupt(std::string_view what) const {
  const size_t bit = s_.r.BitOffset();
  return Status::Corruption(
      "", bit / 8,
      fmt::format("xor chunk: {} at bit {}, after {} of {} samples", what, bit, read_, total_));
}

namespace {

// How to read a delta-of-delta from the next 4 bits of the stream: the bits its prefix and
// payload take together, and the payload width (0: dod is 0; 64: read separately).
struct DodCode {
  uint8_t total;
  uint8_t width;
};
constexpr DodCode kDodCodes[16] = {
    {1, 0},   {1, 0},   {1, 0},   {1, 0},   {1, 0}, {1, 0}, {1, 0}, {1, 0},  // 0xxx
    {16, 14}, {16, 14}, {16, 14}, {16, 14},                                  // 10xx
    {20, 17}, {20, 17},                                                      // 110x
    {24, 20},                                                                // 1110
    {4, 64},                                                                 // 1111
};

}  // namespace

// The per-sample readers are inlined into Fill's loop. A read past the end returns zeros and
// leaves the reader failed, which is harmless to the arithmetic here, so the reader is
// checked once per sample rather than after every field; only the checks that keep shifts
// in range come first.
[[gnu::always_inline]] inline XorIterator::Damage XorIterator::ReadValue(State& s) {
  const unsigned control = static_cast<unsigned>(s.r.PeekBits(2));
  if (control < 0b10) {  // '0': the same value
    s.r.Skip(1);
    return Damage::kNone;
  }
  unsigned trailing;
  if (control == 0b10) {  // the current window
    s.r.Skip(2);
    if (s.sigbits == 0) return s.r.ok() ? Damage::kNoWindow : Damage::kTruncated;
    trailing = 64u - s.leading - s.sigbits;
  } else {  // '11': a new window
    const uint64_t head = s.r.ReadBits(13);
    const unsigned leading = static_cast<unsigned>(head >> 6) & 31;
    unsigned sig = static_cast<unsigned>(head & 63);
    if (sig == 0) sig = 64;
    if (leading + sig > 64) return s.r.ok() ? Damage::kWideWindow : Damage::kTruncated;
    s.leading = static_cast<uint8_t>(leading);
    s.sigbits = static_cast<uint8_t>(sig);
    trailing = 64u - leading - sig;
  }
  s.v ^= s.r.ReadBitsWide(s.sigbits) << trailing;
  return Damage::kNone;
}

[[gnu::always_inline]] inline XorIterator::Damage XorIterator::ReadRest(State& s) {
  const DodCode code = kDodCodes[s.r.PeekBits(4)];
  uint64_t dod;
  if (code.width == 0) {
    s.r.Skip(1);
    dod = 0;
  } else if (code.width < 64) {
    const unsigned w = code.width;
    const uint64_t raw = s.r.ReadBits(code.total) & LowMask(w);
    // The bucket's range is -(2^(w-1) - 1) .. 2^(w-1); larger raw values are negative.
    dod = raw > (uint64_t{1} << (w - 1)) ? raw - (uint64_t{1} << w) : raw;
  } else {
    s.r.Skip(4);
    dod = s.r.ReadBitsWide(64);
  }
  s.delta += dod;
  s.t += s.delta;
  const Damage d = ReadValue(s);
  if (d != Damage::kNone) return d;
  return s.r.ok() ? Damage::kNone : Damage::kTruncated;
}

XorIterator::Varint XorIterator::ReadUvarint(BitReader& r) {
  uint64_t x = 0;
  for (unsigned shift = 0;; shift += 7) {
    const uint64_t b = r.ReadBits(8);
    if (!r.ok()) return {0, Damage::kTruncated};
    if (shift == 63 && b > 1) return {0, Damage::kVarintOverflow};
    x |= (b & 0x7f) << shift;
    if (b < 0x80) return {x, Damage::kNone};
  }
}

XorIterator::Damage XorIterator::ReadFirst(State& s) {
  const Varint zz = ReadUvarint(s.r);
  if (zz.damage != Damage::kNone) return zz.damage;
  s.t = (zz.value >> 1) ^ (uint64_t{0} - (zz.value & 1));  // undo zig-zag
  s.v = s.r.ReadBitsWide(64);
  return s.r.ok() ? Damage::kNone : Damage::kTruncated;
}

XorIterator::Damage XorIterator::ReadSecond(State& s) {
  const Varint delta = ReadUvarint(s.r);
  if (delta.damage != Damage::kNone) return delta.damage;
  s.delta = delta.value;
  s.t += s.delta;
  const Damage d = ReadValue(s);
  if (d != Damage::kNone) return d;
  return s.r.ok() ? Damage::kNone : Damage::kTruncated;
}

bool XorIterator::Fill() {
  pos_ = 0;
  count_ = 0;
  if (done_) return false;
  if (!pending_.ok()) {
    err_ = std::move(pending_);
    done_ = true;
    return false;
  }
  if (read_ == total_) {
    done_ = true;
    CheckEnd();
    return false;
  }

  State s = s_;  // a local copy, so that it can live in registers
  const unsigned want = std::min<unsigned>(kBatch, total_ - read_);
  unsigned n = 0;
  Damage d = Damage::kNone;
  for (; n < want && read_ + n < 2; ++n) {
    d = read_ + n == 0 ? ReadFirst(s) : ReadSecond(s);
    if (d != Damage::kNone) break;
    ts_[n] = static_cast<int64_t>(s.t);
    vs_[n] = s.v;
  }
  if (d == Damage::kNone) {
    for (; n < want; ++n) {
      d = ReadRest(s);
      if (d != Damage::kNone) [[unlikely]]
        break;
      ts_[n] = static_cast<int64_t>(s.t);
      vs_[n] = s.v;
    }
  }
  s_ = s;
  read_ = static_cast<uint16_t>(read_ + n);
  count_ = static_cast<uint8_t>(n);
  if (d != Damage::kNone) {
    const char* what = "truncated sample";
    switch (d) {
      case Damage::kNone:
      case Damage::kTruncated:
        break;
      case Damage::kVarintOverflow:
        what = "varint overflows 64 bits";
        break;
      case Damage::kNoWindow:
        what = "value reuses a window before any was set";
        break;
      case Damage::kWideWindow:
        what = "value window wider than 64 bits";
        break;
    }
    if (n == 0) {
      err_ = Corrupt(what);
      done_ = true;
      return false;
    }
    pending_ = Corrupt(what);
  }
  return n > 0;
}

bool XorIterator::Seek(int64_t t) {
  if (count_ > 0 && ts_[pos_] >= t) return true;
  while (Next()) {
    if (ts_[pos_] >= t) return true;
  }
  return false;
}

void XorIterator::CheckEnd() {
  // Our encoder pads with at most 7 zero bits; Prometheus before 3.0 sometimes added a
  // whole zero byte more. Anything else means the count or the bytes are wrong.
  const size_t left = s_.r.BitsLeft();
  if (left > 15) {
    err_ = Corrupt(fmt::format("{} bits after the last sample", left));
  } else if (left > 0 && s_.r.ReadBits(static_cast<unsigned>(left)) != 0) {
    err_ = Corrupt("non-zero padding after the last sample");
  }
}

}  // namespace zw::chunkenc
