#include "tsdb/chunkenc/xor_chunk.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

XorIterator::XorIterator(std::span<const uint8_t> bytes) : in_(bytes) {
  if (bytes.size() < kHeaderBytes) {
    err_ = Corrupt("shorter than the 2-byte header", 0);
    done_ = true;
    return;
  }
  total_ = static_cast<uint16_t>((bytes[0] << 8) | bytes[1]);
  bit_ = kHeaderBytes * 8;
  tail_start_ = static_cast<uint32_t>(bytes.size() > kTail ? bytes.size() - kTail : 0);
  std::memcpy(tail_, bytes.data() + tail_start_, bytes.size() - tail_start_);
}

Status XorIterator::Corrupt(std::string_view what, size_t bit) const {
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

// The checked decoder, one field at a time through the BitReader: the first two samples,
// and any sample the fast decoder leaves (damage, or bits running out). The per-sample
// readers are inlined into Decode. A read past the end returns zeros and leaves the reader
// failed, which is harmless to the arithmetic here, so the reader is checked once per
// sample rather than after every field; only the checks that keep shifts in range come
// first.
[[gnu::always_inline]] inline XorIterator::Damage XorIterator::ReadValue(BitReader& r, State& s) {
  const unsigned control = static_cast<unsigned>(r.PeekBits(2));
  if (control < 0b10) {  // '0': the same value
    r.Skip(1);
    return Damage::kNone;
  }
  unsigned trailing;
  if (control == 0b10) {  // the current window
    r.Skip(2);
    if (s.sigbits == 0) return r.ok() ? Damage::kNoWindow : Damage::kTruncated;
    trailing = 64u - s.leading - s.sigbits;
  } else {  // '11': a new window
    const uint64_t head = r.ReadBits(13);
    const unsigned leading = static_cast<unsigned>(head >> 6) & 31;
    unsigned sig = static_cast<unsigned>(head & 63);
    if (sig == 0) sig = 64;
    if (leading + sig > 64) return r.ok() ? Damage::kWideWindow : Damage::kTruncated;
    s.leading = static_cast<uint8_t>(leading);
    s.sigbits = static_cast<uint8_t>(sig);
    trailing = 64u - leading - sig;
  }
  s.v ^= r.ReadBitsWide(s.sigbits) << trailing;
  return Damage::kNone;
}

[[gnu::always_inline]] inline XorIterator::Damage XorIterator::ReadRest(BitReader& r, State& s) {
  const DodCode code = kDodCodes[r.PeekBits(4)];
  uint64_t dod;
  if (code.width == 0) {
    r.Skip(1);
    dod = 0;
  } else if (code.width < 64) {
    const unsigned w = code.width;
    const uint64_t raw = r.ReadBits(code.total) & LowMask(w);
    // The bucket's range is -(2^(w-1) - 1) .. 2^(w-1); larger raw values are negative.
    dod = raw > (uint64_t{1} << (w - 1)) ? raw - (uint64_t{1} << w) : raw;
  } else {
    r.Skip(4);
    dod = r.ReadBitsWide(64);
  }
  s.delta += dod;
  s.t += s.delta;
  const Damage d = ReadValue(r, s);
  if (d != Damage::kNone) return d;
  return r.ok() ? Damage::kNone : Damage::kTruncated;
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

XorIterator::Damage XorIterator::ReadFirst(BitReader& r, State& s) {
  const Varint zz = ReadUvarint(r);
  if (zz.damage != Damage::kNone) return zz.damage;
  s.t = (zz.value >> 1) ^ (uint64_t{0} - (zz.value & 1));  // undo zig-zag
  s.v = r.ReadBitsWide(64);
  return r.ok() ? Damage::kNone : Damage::kTruncated;
}

XorIterator::Damage XorIterator::ReadSecond(BitReader& r, State& s) {
  const Varint delta = ReadUvarint(r);
  if (delta.damage != Damage::kNone) return delta.damage;
  s.delta = delta.value;
  s.t += s.delta;
  const Damage d = ReadValue(r, s);
  if (d != Damage::kNone) return d;
  return r.ok() ? Damage::kNone : Damage::kTruncated;
}

namespace {

// The fast decoder's reads. REQUIRES: the bytes from base + bit / 8 on are readable: 8 for
// Load57, 9 for Load64.
//
// The next bits from `bit` on, left-aligned; at least the top 57 are the stream's.
[[gnu::always_inline]] inline uint64_t Load57(const uint8_t* base, size_t bit) {
  return bits_internal::LoadBE64(base + bit / 8) << (bit & 7);
}
// The next 64 bits from `bit` on.
[[gnu::always_inline]] inline uint64_t Load64(const uint8_t* base, size_t bit) {
  const uint8_t* p = base + bit / 8;
  const unsigned skip = bit & 7;
  // For skip == 0 the extra byte shifts out entirely (an int shifted by 8).
  return (bits_internal::LoadBE64(p) << skip) | (uint64_t{p[8]} >> (8 - skip));
}

// The dod bucket widths and their prefix + payload lengths, indexed by the number of
// leading ones of the code (0..3), one byte each: 0/1, 14/16, 17/20, 20/24.
constexpr uint32_t kDodWidths = 0x14'11'0e'00;
constexpr uint32_t kDodLengths = 0x18'14'10'01;

// The state the fast decoder carries from sample to sample, in registers.
struct FastState {
  uint64_t t;
  uint64_t delta;
  uint64_t v;
  unsigned leading;
  unsigned sigbits;
};

// Decodes the sample (a `rest`: dod, then value) starting at `bit` of `base` into `f`, and
// returns the bit after it; or returns 0 without touching `f` when the value is damaged
// (a window reused before any was set, or wider than 64 bits), which the checked decoder
// then reports. A sample takes at most 4 + 64 + 13 + 64 = 145 bits, so all the reads lie
// within base[bit / 8 .. bit / 8 + 20).
//
// The dod code and the value's control come from one 64-bit load at the sample's start
// (together at most 24 + 13 bits), except after a 64-bit dod; the value's bits come from a
// second load. The forms are told apart by branches, not selects: in regular data they
// repeat, and then the next sample's position is known before this sample's bits arrive,
// so that the loads of several samples overlap.
[[gnu::always_inline]] inline size_t FastSample(const uint8_t* base, size_t bit, uint64_t w,
                                                FastState& f) {
  uint64_t dod = 0;
  if (static_cast<int64_t>(w) >= 0) {  // '0': the same spacing
    w <<= 1;
    bit += 1;
  } else {
    // Leading ones of the dod code, at most 4.
    const unsigned ones = static_cast<unsigned>(std::countl_zero(~w | (uint64_t{1} << 59)));
    if (ones < 4) [[likely]] {
      const unsigned width = (kDodWidths >> (ones * 8)) & 0xff;
      const unsigned len = (kDodLengths >> (ones * 8)) & 0xff;
      const uint64_t raw = (w << (ones + 1)) >> (64 - width);  // width >= 14 here
      const uint64_t half = uint64_t{1} << (width - 1);
      dod = raw - (uint64_t{raw > half} << width);
      w <<= len;  // 57 - 24 >= 13 valid bits left for the value's control
      bit += len;
    } else {
      dod = Load64(base, bit + 4);
      bit += 68;
      w = Load57(base, bit);
    }
  }
  if (static_cast<int64_t>(w) >= 0) {  // '0': the same value
    f.delta += dod;
    f.t += f.delta;
    return bit + 1;
  }
  unsigned leading = f.leading;
  unsigned sig = f.sigbits;
  if ((w << 1) >> 63 == 0) {  // '10': the current window
    if (sig == 0) [[unlikely]]
      return 0;
    bit += 2;
  } else {  // '11' leading:5 sigbits:6, sigbits 0 standing for 64
    leading = static_cast<unsigned>(w >> 57) & 31;
    sig = ((static_cast<unsigned>(w >> 51) - 1) & 63) + 1;
    if (leading + sig > 64) [[unlikely]]
      return 0;
    f.leading = leading;
    f.sigbits = sig;
    bit += 13;
  }
  f.v ^= (Load64(base, bit) >> (64 - sig)) << (64 - leading - sig);
  f.delta += dod;
  f.t += f.delta;
  return bit + sig;
}

// A stretch of the fast decoder: the chunk's bytes up to where kFastBytes stop being
// readable after a sample's first byte, then the zero-padded copy of the last bytes.
struct FastRun {
  const uint8_t* in;
  size_t direct_end;  // bit where the copy takes over
  const uint8_t* tail;
  size_t tail_end;  // the real bits in the copy
  FastState f;
  size_t bit;  // in the chunk
};

// Decodes into out[n..want) for as long as the fast decoder can; returns the new n.
[[gnu::always_inline]] inline unsigned RunFastBody(FastRun& run, Sample* out, unsigned n,
                                                   unsigned want) {
  FastState f = run.f;
  size_t b = run.bit;
  const uint8_t* const in = run.in;
  const size_t direct_end = run.direct_end;
  while (n < want && b < direct_end) {
    const uint64_t w = Load57(in, b);
    if (w >> 62 == 0) {
      // '0' '0': the same spacing and the same value, as in a series that holds still; a
      // run of them is taken at once (at most 28: the 57 bits of the load).
      const unsigned k = std::min({static_cast<unsigned>(std::countl_zero(w)) / 2, 28u, want - n});
      for (unsigned i = 0; i < k; ++i) {
        f.t += f.delta;
        out[n++] = Sample{static_cast<int64_t>(f.t), std::bit_cast<double>(f.v)};
      }
      b += 2 * k;
      continue;
    }
    const size_t next = FastSample(in, b, w, f);
    if (next == 0) [[unlikely]]
      break;
    out[n++] = Sample{static_cast<int64_t>(f.t), std::bit_cast<double>(f.v)};
    b = next;
  }
  // In the copy a sample counts only when it ends within the real bits; one that does not
  // is truncated, which the checked decoder reports.
  if (n < want && b >= direct_end) {
    const size_t end = run.tail_end;
    size_t rel = b - direct_end;
    while (n < want && rel < end) {
      FastState g = f;
      const size_t next = FastSample(run.tail, rel, Load57(run.tail, rel), g);
      if (next == 0 || next > end) break;
      f = g;
      out[n++] = Sample{static_cast<int64_t>(f.t), std::bit_cast<double>(f.v)};
      rel = next;
    }
    b = rel + direct_end;
  }
  run.f = f;
  run.bit = b;
  return n;
}

unsigned RunFastPortable(FastRun& run, Sample* out, unsigned n, unsigned want) {
  return RunFastBody(run, out, n, want);
}

#if defined(__x86_64__) && defined(__GNUC__)

// The same code for CPUs with BMI2 and LZCNT, as packed_chunk.cc does: the variable shifts
// and the leading-ones count on the path from one sample's position to the next take one
// instruction each rather than two to three. Integer instructions only, so the results are
// the same.
[[gnu::target("bmi,bmi2,lzcnt")]] unsigned RunFastBmi2(FastRun& run, Sample* out, unsigned n,
                                                       unsigned want) {
  return RunFastBody(run, out, n, want);
}

#else

unsigned RunFastBmi2(FastRun& run, Sample* out, unsigned n, unsigned want) {
  return RunFastBody(run, out, n, want);
}

#endif

unsigned RunFast(FastRun& run, Sample* out, unsigned n, unsigned want) {
  static const bool bmi2 = bits_internal::CpuHasBmi2();
  return bmi2 ? RunFastBmi2(run, out, n, want) : RunFastPortable(run, out, n, want);
}

}  // namespace

unsigned XorIterator::DecodeFast(State& s, size_t* bit, Sample* out, unsigned n,
                                 unsigned want) const {
  FastRun run{in_.data(),
              size_t{tail_start_} * 8,
              tail_,
              (in_.size() - tail_start_) * 8,
              {s.t, s.delta, s.v, s.leading, s.sigbits},
              *bit};
  n = RunFast(run, out, n, want);
  *bit = run.bit;
  s.t = run.f.t;
  s.delta = run.f.delta;
  s.v = run.f.v;
  s.leading = static_cast<uint8_t>(run.f.leading);
  s.sigbits = static_cast<uint8_t>(run.f.sigbits);
  return n;
}

unsigned XorIterator::Decode(Sample* out, unsigned want) {
  State s = s_;  // a local copy, so that it can live in registers
  size_t bit = bit_;
  unsigned n = 0;
  Damage d = Damage::kNone;
  size_t fail_bit = 0;
  while (n < want) {
    if (read_ + n >= 2) {
      n = DecodeFast(s, &bit, out, n, want);
      if (n == want) break;
    }
    // One sample through the checked decoder: the first two, or one the fast decoder left.
    BitReader r(in_, bit);
    d = read_ + n == 0 ? ReadFirst(r, s) : read_ + n == 1 ? ReadSecond(r, s) : ReadRest(r, s);
    if (d != Damage::kNone) [[unlikely]] {
      fail_bit = r.BitOffset();
      break;
    }
    bit = r.BitOffset();
    out[n++] = Sample{static_cast<int64_t>(s.t), std::bit_cast<double>(s.v)};
  }
  s_ = s;
  bit_ = bit;
  read_ = static_cast<uint16_t>(read_ + n);
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
    pending_ = Corrupt(what, fail_bit);
  }
  return n;
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
  const unsigned n = Decode(buf_, std::min<unsigned>(kBatch, total_ - read_));
  count_ = static_cast<uint8_t>(n);
  if (n == 0) {  // damage right at the first sample
    err_ = std::move(pending_);
    done_ = true;
    return false;
  }
  return true;
}

size_t XorIterator::NextBatch(Sample* out, size_t n) {
  size_t k = 0;
  // First what Next has decoded already; if that is enough, buf_[pos_] stays the current
  // sample.
  while (k < n && pos_ + 1 < count_) out[k++] = buf_[++pos_];
  if (k == n) return k;
  while (k < n) {
    if (done_) break;
    if (!pending_.ok()) {
      err_ = std::move(pending_);
      done_ = true;
      break;
    }
    if (read_ == total_) {
      done_ = true;
      CheckEnd();
      break;
    }
    k += Decode(out + k, static_cast<unsigned>(std::min<size_t>(n - k, total_ - read_)));
  }
  pos_ = 0;
  count_ = 0;
  if (k > 0) {
    buf_[0] = out[k - 1];
    count_ = 1;
  }
  return k;
}

bool XorIterator::Seek(int64_t t) {
  if (count_ > 0 && buf_[pos_].t >= t) return true;
  while (Next()) {
    if (buf_[pos_].t >= t) return true;
  }
  return false;
}

void XorIterator::CheckEnd() {
  // Our encoder pads with at most 7 zero bits; Prometheus before 3.0 sometimes added a
  // whole zero byte more. Anything else means the count or the bytes are wrong.
  const size_t left = in_.size() * 8 - bit_;
  if (left > 15) {
    err_ = Corrupt(fmt::format("{} bits after the last sample", left), bit_);
    return;
  }
  BitReader r(in_, bit_);
  if (left > 0 && r.ReadBits(static_cast<unsigned>(left)) != 0) {
    err_ = Corrupt("non-zero padding after the last sample", r.BitOffset());
  }
}

}  // namespace zw::chunkenc
