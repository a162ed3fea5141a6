#include "tsdb/chunkenc/packed_chunk.h"

#include <zstd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <numeric>

#include "core/coding.h"
#include "tsdb/chunkenc/bstream.h"

namespace zw::chunkenc {
namespace {

// On-disk values (docs/format/chunks.md, "Packed chunk"): do not change.
constexpr uint8_t kFlagRaw = 0;
constexpr uint8_t kFlagZstd = 1;
constexpr uint8_t kValuesDecimal = 0;
constexpr uint8_t kValuesBits = 1;
constexpr uint8_t kMaxOrder = 2;
constexpr uint8_t kMaxExponent = 22;  // the decoder accepts every exactly representable power

// The largest payload a valid chunk can have: the headers, and two columns of
// kPackedMaxSamples escaped residuals (88 bits each). Bounds what a damaged zstd header may
// ask for.
constexpr size_t kMaxPayload = 128 + 2 * 11 * kPackedMaxSamples;

constexpr std::array<double, kMaxExponent + 1> kPow10 = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr int64_t kMaxExactMantissa = int64_t{1} << 53;

// Arithmetic on the columns is unsigned: differences wrap modulo 2^64, so any sequence of
// 64-bit integers (timestamps from INT64_MIN to INT64_MAX, arbitrary bit patterns)
// round-trips; the decoder's wrapping additions undo the encoder's wrapping subtractions.
static_assert(std::is_unsigned_v<uint64_t>);

uint64_t ZigZag(uint64_t v) {
  return (v << 1) ^ static_cast<uint64_t>(static_cast<int64_t>(v) >> 63);
}
uint64_t UnZigZag(uint64_t u) { return (u >> 1) ^ (~(u & 1) + 1); }
uint64_t Magnitude(uint64_t v) { return static_cast<int64_t>(v) < 0 ? 0 - v : v; }

// Residuals of order `order`: the first `order` values are kept whole (the heads), the rest
// are differences of that order.
void Residuals(std::span<const uint64_t> xs, unsigned order, std::vector<uint64_t>* out) {
  out->clear();
  uint64_t prev = 0, prev_delta = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    uint64_t delta = xs[i] - prev;
    if (order == 0 || (order == 1 && i >= 1) || (order == 2 && i >= 2)) {
      out->push_back(order == 0 ? xs[i] : order == 1 ? delta : delta - prev_delta);
    }
    prev_delta = delta;
    prev = xs[i];
  }
}

// Residual codes. A residual r (divided by the column's gcd) becomes an unsigned u: r itself
// when no residual of the column is negative, else its zig-zag form. u is Rice-coded with
// parameter k: h = u >> k as h one-bits and a zero, then the low k bits of u; when h would
// be kEscape or more, kEscape one-bits and then all 64 bits of u.
constexpr unsigned kEscape = 24;
// Bytes a fast read needs left from the byte its code starts in: the longest code (kEscape
// one-bits and 64 bits) ends within 12 bytes, and the last 8-byte load starts before that.
constexpr size_t kFastMargin = 24;
constexpr uint8_t kUnsignedFlag = 0x40;

uint64_t Code(uint64_t q, bool is_unsigned) { return is_unsigned ? q : ZigZag(q); }

// Bits of the Rice code of `u` with parameter k.
uint64_t RiceBits(uint64_t u, unsigned k) {
  uint64_t h = u >> k;
  return h < kEscape ? h + 1 + k : kEscape + 64;
}

struct Column {
  unsigned order = 0;
  uint64_t gcd = 0;
  bool is_unsigned = false;
  unsigned k = 0;
  uint64_t bits = 0;
};

// Residuals divided by the gcd, as codes; fills c.gcd and c.is_unsigned.
void Codes(std::span<const uint64_t> residuals, Column* c, std::vector<uint64_t>* out) {
  uint64_t g = 0;
  bool negative = false;
  for (uint64_t r : residuals) {
    g = std::gcd(g, Magnitude(r));
    negative |= static_cast<int64_t>(r) < 0;
  }
  c->gcd = g;
  c->is_unsigned = !negative;
  out->clear();
  if (g == 0) return;
  for (uint64_t r : residuals) {
    uint64_t q = Magnitude(r) / g;
    out->push_back(Code(static_cast<int64_t>(r) < 0 ? 0 - q : q, c->is_unsigned));
  }
}

// The Rice parameter for `codes` and the bits they take with it. The best k is within a
// few of log2 of the mean; the ones around it are tried.
void ChooseK(std::span<const uint64_t> codes, Column* c) {
  c->k = 0;
  c->bits = 0;
  if (codes.empty()) return;
  long double sum = 0;
  for (uint64_t u : codes) sum += static_cast<long double>(u);
  const auto mean = static_cast<uint64_t>(std::min<long double>(sum / codes.size(), 1.8e19L));
  const int center = mean == 0 ? 0 : std::bit_width(mean) - 1;
  c->bits = UINT64_MAX;
  for (int k = std::max(0, center - 2); k <= std::min(63, center + 2); ++k) {
    uint64_t bits = 0;
    for (uint64_t u : codes) bits += RiceBits(u, static_cast<unsigned>(k));
    if (bits < c->bits) {
      c->bits = bits;
      c->k = static_cast<unsigned>(k);
    }
  }
}

// The order whose residuals take the fewest bits.
Column ChooseColumn(std::span<const uint64_t> xs, std::vector<uint64_t>* residuals,
                    std::vector<uint64_t>* codes) {
  Column best;
  best.bits = UINT64_MAX;
  for (unsigned order = 0; order <= kMaxOrder; ++order) {
    Column c;
    c.order = order;
    Residuals(xs, order, residuals);
    Codes(*residuals, &c, codes);
    ChooseK(*codes, &c);
    // Heads cost about as much whatever the order; residuals decide.
    if (c.bits < best.bits) best = c;
  }
  return best;
}

void PutColumn(std::string& out, std::span<const uint64_t> xs, std::vector<uint64_t>* residuals,
               std::vector<uint64_t>* codes) {
  Column c = ChooseColumn(xs, residuals, codes);
  out.push_back(static_cast<char>(c.order));
  uint64_t prev = 0;
  for (size_t i = 0; i < std::min<size_t>(c.order, xs.size()); ++i) {
    PutUvarint(out, ZigZag(xs[i] - prev));  // x0, then x1 - x0
    prev = xs[i];
  }
  PutUvarint(out, c.gcd);
  if (c.gcd == 0) return;
  out.push_back(static_cast<char>(c.k | (c.is_unsigned ? kUnsignedFlag : 0)));
  Residuals(xs, c.order, residuals);
  Codes(*residuals, &c, codes);
  BitWriter w;
  for (uint64_t u : *codes) {
    uint64_t h = u >> c.k;
    if (h < kEscape) {
      // h ones and a zero, then the low k bits.
      w.WriteBits(((uint64_t{1} << h) - 1) << 1, static_cast<unsigned>(h) + 1);
      if (c.k > 0) w.WriteBits(u & ((uint64_t{1} << c.k) - 1), c.k);
    } else {
      w.WriteBits((uint64_t{1} << kEscape) - 1, kEscape);
      w.WriteBits(u, 64);
    }
  }
  auto bits = w.Bytes();
  PutUvarint(out, bits.size());
  out.append(reinterpret_cast<const char*>(bits.data()), bits.size());
}

// The value of mantissa `m` at exponent `e`, as the decoder computes it.
double FromDecimal(int64_t m, unsigned e) {
  double d = static_cast<double>(m);
  return e == 0 ? d : d / kPow10[e];
}

// The smallest exponent e at which `v` is exactly m / 10^e, and m; false when there is none
// up to kPackedMaxDecimalExponent. Exactness is checked bit for bit, so -0.0 and NaNs have
// none.
bool ToDecimal(double v, unsigned* e_out, int64_t* m_out) {
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  for (unsigned e = 0; e <= kPackedMaxDecimalExponent; ++e) {
    double x = v * kPow10[e];
    if (!(std::fabs(x) < 9.2e18)) return false;  // also NaN and infinities
    auto m = static_cast<int64_t>(std::nearbyint(x));
    if (e > 0 && (m > kMaxExactMantissa || m < -kMaxExactMantissa)) return false;
    if (std::bit_cast<uint64_t>(FromDecimal(m, e)) == bits) {
      *e_out = e;
      *m_out = m;
      return true;
    }
  }
  return false;
}

// Every value as a mantissa at one common exponent; false when some value has none.
bool ToDecimals(std::span<const Sample> samples, unsigned* exp, std::vector<uint64_t>* ms) {
  std::vector<unsigned> es(samples.size());
  ms->resize(samples.size());
  unsigned common = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    int64_t m;
    if (!ToDecimal(samples[i].v, &es[i], &m)) return false;
    (*ms)[i] = static_cast<uint64_t>(m);
    common = std::max(common, es[i]);
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    int64_t m = static_cast<int64_t>((*ms)[i]);
    for (unsigned k = es[i]; k < common; ++k) {
      if (__builtin_mul_overflow(m, int64_t{10}, &m)) return false;
    }
    if (common > 0 && (m > kMaxExactMantissa || m < -kMaxExactMantissa)) return false;
    if (std::bit_cast<uint64_t>(FromDecimal(m, common)) != std::bit_cast<uint64_t>(samples[i].v)) {
      return false;
    }
    (*ms)[i] = static_cast<uint64_t>(m);
  }
  *exp = common;
  return true;
}

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
// Creating a zstd context costs more than decompressing a small chunk: one per thread.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

// Reads the payload; every read is bounds-checked, and `offset()` locates damage.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in)
      : p_(in.data()), begin_(in.data()), end_(in.data() + in.size()) {}
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  bool done() const { return p_ == end_; }
  bool Byte(uint8_t* v) {
    if (p_ == end_) return false;
    *v = *p_++;
    return true;
  }
  bool Bytes(uint64_t n, std::span<const uint8_t>* out) {
    if (n > static_cast<uint64_t>(end_ - p_)) return false;
    *out = std::span<const uint8_t>(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }
  bool Uvarint(uint64_t* v) {
    if (p_ != end_ && *p_ < 0x80) [[likely]] {
      *v = *p_++;
      return true;
    }
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      uint8_t b = *p_++;
      if (shift == 63 && b > 1) return false;  // past 64 bits
      x |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        *v = x;
        return true;
      }
    }
    return false;
  }

 private:
  const uint8_t* p_;
  const uint8_t* begin_;
  const uint8_t* end_;
};

// A column whose head (order, heads, divisor, code) has been read and whose residual codes
// are decoded by FastCode and FinishColumn into xs, to be turned into values by EmitColumn.
struct ColumnCodes {
  uint8_t order = 0;
  size_t heads = 0;
  uint64_t prev = 0, delta = 0;  // the last value and difference, as the residuals build on
  uint64_t g = 0;
  unsigned k = 0;
  bool is_unsigned = false;
  bool done = false;  // every code is in xs (or there are none: all residuals zero)
  std::span<const uint8_t> bits;
  size_t bitpos = 0;  // codes before this bit are decoded
  size_t i = 0;       // into xs[i]; xs[0, heads) hold the heads, xs[heads, i) raw codes
};

// Reads a column's head for `n` integers, writing the heads into xs. Returns null, or what
// is wrong.
[[gnu::always_inline]] inline const char* ReadColumnHead(Reader& r, size_t n, uint64_t* xs,
                                                         ColumnCodes* c) {
  uint8_t order;
  if (!r.Byte(&order)) return "truncated column header";
  if (order > kMaxOrder) return "unknown column order";
  c->order = order;
  c->heads = std::min<size_t>(order, n);
  uint64_t prev = 0, delta = 0;
  for (size_t i = 0; i < c->heads; ++i) {
    uint64_t z;
    if (!r.Uvarint(&z)) return "truncated column head";
    delta = UnZigZag(z);
    xs[i] = prev + delta;
    prev = xs[i];
  }
  c->prev = prev;
  c->delta = delta;
  if (!r.Uvarint(&c->g)) return "truncated column divisor";
  c->i = c->heads;
  if (c->g == 0) {
    // Every residual is zero: there are no codes (EmitColumn makes the values).
    c->i = n;
    c->done = true;
    return nullptr;
  }
  uint8_t mode;
  uint64_t len;
  if (!r.Byte(&mode)) return "truncated column code";
  c->k = mode & 0x3f;
  c->is_unsigned = (mode & kUnsignedFlag) != 0;
  if (mode & 0x80) return "unknown column code";
  if (!r.Uvarint(&len) || !r.Bytes(len, &c->bits)) return "truncated column residuals";
  return nullptr;
}

// Decodes the next code into xs[c.i] straight from 64-bit loads, without the bit reader's
// checks, when at least kFastMargin bytes are left from where it starts (no code spans more
// than 88 bits, so both loads stay inside); false, doing nothing, when fewer are.
[[gnu::always_inline]] inline bool FastCode(ColumnCodes& c, uint64_t* xs) {
  if ((c.bitpos >> 3) + kFastMargin > c.bits.size()) return false;
  const uint8_t* base = c.bits.data();
  auto load = [base](size_t pos, unsigned width) {  // width <= 56 bits at bit `pos`
    const uint64_t w = bits_internal::LoadBE64(base + (pos >> 3)) << (pos & 7);
    return (w >> 1) >> (63 - width);
  };
  const size_t bitpos = c.bitpos;
  const unsigned k = c.k;
  const uint64_t w = bits_internal::LoadBE64(base + (bitpos >> 3)) << (bitpos & 7);
  const auto ones = static_cast<unsigned>(std::countl_one(w));
  uint64_t u;
  if (ones < kEscape) [[likely]] {
    const unsigned used = ones + 1;
    if (used + k <= 56) [[likely]] {
      u = (uint64_t{ones} << k) | (((w << used) >> 1) >> (63 - k));
    } else {
      const uint64_t low =
          k <= 56 ? load(bitpos + used, k)
                  : (load(bitpos + used, k - 32) << 32) | load(bitpos + used + k - 32, 32);
      u = (uint64_t{ones} << k) | low;
    }
    c.bitpos = bitpos + used + k;
  } else {
    u = (load(bitpos + kEscape, 32) << 32) | load(bitpos + kEscape + 32, 32);
    c.bitpos = bitpos + kEscape + 64;
  }
  xs[c.i++] = u;
  return true;
}

// Decodes codes into xs[c.i, n) while the margin lasts: every code that fits in one 64-bit
// load is taken from it with shifts alone (the load's bits are consumed before the next
// load), others one at a time by FastCode.
[[gnu::always_inline]] inline void FastCodes(ColumnCodes& c, size_t n, uint64_t* xs) {
  const uint8_t* base = c.bits.data();
  const size_t size = c.bits.size();
  const unsigned k = c.k;
  size_t i = c.i;
  size_t bitpos = c.bitpos;
  while (i < n && (bitpos >> 3) + kFastMargin <= size) {
    const auto skew = static_cast<unsigned>(bitpos & 7);
    uint64_t w = bits_internal::LoadBE64(base + (bitpos >> 3)) << skew;
    unsigned avail = 64 - skew;  // bits of w that are the stream's
    const size_t before = i;
    while (i < n) {
      const auto ones = static_cast<unsigned>(std::countl_one(w));
      const unsigned used = ones + 1;
      if (ones >= kEscape || used + k > avail) break;
      xs[i++] = (uint64_t{ones} << k) | (((w << used) >> 1) >> (63 - k));
      w = (w << used) << k;
      avail -= used + k;
      bitpos += used + k;
    }
    if (i != before) continue;
    if (i >= n) break;
    // A code longer than what one load holds: read in parts.
    c.i = i;
    c.bitpos = bitpos;
    FastCode(c, xs);
    i = c.i;
    bitpos = c.bitpos;
  }
  c.i = i;
  c.bitpos = bitpos;
}

// Turns column `c`'s raw codes in xs[c.heads, n) into its values, continuing from the heads,
// and hands each value, heads first, to put(i, x) in order: the values go straight to where
// they are wanted (the samples' times or values) instead of through xs. One loop per order
// and sign mode, so that none branches per value; a column whose residuals are all zero
// (gcd 0) is a loop of its own.
template <uint8_t kOrder, bool kUnsigned, typename Put>
[[gnu::always_inline]] inline void EmitValues(const uint64_t* xs, size_t heads, size_t n,
                                              uint64_t g, uint64_t prev, uint64_t delta, bool zero,
                                              Put& put) {
  for (size_t j = 0; j < heads; ++j) put(j, xs[j]);
  uint64_t p = prev, d = delta;
  if (zero) {
    for (size_t j = heads; j < n; ++j) {
      if constexpr (kOrder == 0) {
        p = 0;
      } else if constexpr (kOrder == 2) {
        p += d;
      }
      put(j, p);
    }
    return;
  }
  for (size_t j = heads; j < n; ++j) {
    const uint64_t res = (kUnsigned ? xs[j] : UnZigZag(xs[j])) * g;
    if constexpr (kOrder == 0) {
      p = res;
    } else if constexpr (kOrder == 1) {
      p += res;
    } else {
      d += res;
      p += d;
    }
    put(j, p);
  }
}

template <typename Put>
[[gnu::always_inline]] inline void EmitColumn(const ColumnCodes& c, const uint64_t* xs, size_t n,
                                              Put& put) {
  const bool zero = c.g == 0;
  switch (c.order * 2 + (c.is_unsigned || zero ? 1 : 0)) {
    case 0:
      return EmitValues<0, false>(xs, c.heads, n, c.g, c.prev, c.delta, zero, put);
    case 1:
      return EmitValues<0, true>(xs, c.heads, n, c.g, c.prev, c.delta, zero, put);
    case 2:
      return EmitValues<1, false>(xs, c.heads, n, c.g, c.prev, c.delta, zero, put);
    case 3:
      return EmitValues<1, true>(xs, c.heads, n, c.g, c.prev, c.delta, zero, put);
    case 4:
      return EmitValues<2, false>(xs, c.heads, n, c.g, c.prev, c.delta, zero, put);
    default:
      return EmitValues<2, true>(xs, c.heads, n, c.g, c.prev, c.delta, zero, put);
  }
}

// Decodes the rest of a column's raw codes into xs[c.i, n) (fast while the margin lasts,
// then through the bit reader, which checks every read) and checks the padding. Returns
// null, or what is wrong. EmitColumn turns the codes into values.
[[gnu::always_inline]] inline const char* FinishColumn(ColumnCodes& c, size_t n, uint64_t* xs) {
  if (c.done) return nullptr;
  FastCodes(c, n, xs);
  const unsigned k = c.k;
  BitReader br(c.bits.subspan(c.bitpos >> 3));
  br.Skip(static_cast<unsigned>(c.bitpos & 7));
  for (size_t i = c.i; i < n; ++i) {
    const auto ones =
        static_cast<unsigned>(std::countl_one(static_cast<uint32_t>(br.PeekBits(32))));
    if (ones < kEscape) {
      br.Skip(ones + 1);
      xs[i] = (uint64_t{ones} << k) | br.ReadBitsWide(k);
    } else {
      br.Skip(kEscape);
      xs[i] = br.ReadBitsWide(64);
    }
    if (!br.ok()) return "truncated column residuals";
  }
  c.i = n;
  c.done = true;
  const size_t left = br.BitsLeft();
  if (left >= 8 || (left > 0 && br.ReadBits(static_cast<unsigned>(left)) != 0)) {
    return "bad padding after the column residuals";
  }
  return nullptr;
}

Status Corrupt(size_t offset, std::string_view what) {
  return Status::Corruption("", offset, fmt::format("packed chunk: {} at byte {}", what, offset));
}

// Decodes `payload` (already decompressed); offsets in errors are within it. Errors are those
// of reading it front to back: the time column's before anything of the value column's.
[[gnu::always_inline]] inline Status DecodePayloadBody(std::span<const uint8_t> payload,
                                                       std::vector<Sample>* out,
                                                       std::vector<uint64_t>* col,
                                                       bool* ascending) {
  Reader r(payload);
  uint64_t n;
  if (!r.Uvarint(&n)) return Corrupt(r.offset(), "truncated sample count");
  if (n == 0 || n > kPackedMaxSamples) return Corrupt(0, fmt::format("bad sample count {}", n));
  // All-zero residuals take no bytes, so the count cannot be checked against the size;
  // kPackedMaxSamples bounds what a damaged count can make us allocate.
  col->resize(2 * n);
  uint64_t* ts = col->data();
  uint64_t* vs = ts + n;
  ColumnCodes ct, cv;
  if (const char* bad = ReadColumnHead(r, n, ts, &ct)) return Corrupt(r.offset(), bad);
  const size_t ts_end = r.offset();
  // The value column's head sits behind the time column's codes (their length is known):
  // both columns' codes are then decoded together, two independent chains of bit reads.
  Status value_head;
  uint8_t kind = 0;
  uint8_t exp = 0;
  if (!r.Byte(&kind)) {
    value_head = Corrupt(r.offset(), "truncated value kind");
  } else if (kind == kValuesDecimal) {
    if (!r.Byte(&exp)) {
      value_head = Corrupt(r.offset(), "truncated decimal exponent");
    } else if (exp > kMaxExponent) {
      value_head = Corrupt(r.offset() - 1, fmt::format("decimal exponent {}", exp));
    }
  } else if (kind != kValuesBits) {
    value_head = Corrupt(r.offset() - 1, fmt::format("unknown value kind {}", kind));
  }
  if (value_head.ok()) {
    if (const char* bad = ReadColumnHead(r, n, vs, &cv)) value_head = Corrupt(r.offset(), bad);
  }
  if (value_head.ok()) {
    while (ct.i < n && cv.i < n && FastCode(ct, ts) && FastCode(cv, vs)) {
    }
  }
  if (const char* bad = FinishColumn(ct, n, ts)) return Corrupt(ts_end, bad);
  if (!value_head.ok()) return value_head;
  if (const char* bad = FinishColumn(cv, n, vs)) return Corrupt(r.offset(), bad);
  if (!r.done()) {
    return Corrupt(r.offset(),
                   fmt::format("{} bytes after the last column", payload.size() - r.offset()));
  }
  // The values go straight into the samples. The writers are always inlined: GCC does not
  // inline them into the BMI2 build by itself, and a call per value cost a fifth of the time.
  out->resize(n);
  Sample* o = out->data();
  int64_t last = 0;
  bool up = true;
  auto put_time = [&](size_t i, uint64_t x) __attribute__((always_inline)) {
    const auto t = static_cast<int64_t>(x);
    up &= i == 0 || t > last;
    last = t;
    o[i].t = t;
  };
  EmitColumn(ct, ts, n, put_time);
  *ascending = up;
  if (kind == kValuesBits) {
    auto put = [o](size_t i, uint64_t x) __attribute__((always_inline)) {
      o[i].v = std::bit_cast<double>(x);
    };
    EmitColumn(cv, vs, n, put);
  } else if (exp == 0) {
    auto put = [o](size_t i, uint64_t x) __attribute__((always_inline)) {
      o[i].v = static_cast<double>(static_cast<int64_t>(x));
    };
    EmitColumn(cv, vs, n, put);
  } else {
    const double div = kPow10[exp];
    auto put = [ o, div ](size_t i, uint64_t x) __attribute__((always_inline)) {
      o[i].v = static_cast<double>(static_cast<int64_t>(x)) / div;
    };
    EmitColumn(cv, vs, n, put);
  }
  return Status::Ok();
}

Status DecodePayloadPortable(std::span<const uint8_t> payload, std::vector<Sample>* out,
                             std::vector<uint64_t>* col, bool* ascending) {
  return DecodePayloadBody(payload, out, col, ascending);
}

#if defined(__x86_64__) && defined(__GNUC__)

// The same code compiled for CPUs with BMI2 and LZCNT: counting a code's leading ones and
// shifting by variable amounts, the chain every code waits on, take one instruction each
// rather than two to three. Integer instructions only, so the results are the same.
[[gnu::target("bmi,bmi2,lzcnt")]] Status DecodePayloadBmi2(std::span<const uint8_t> payload,
                                                           std::vector<Sample>* out,
                                                           std::vector<uint64_t>* col,
                                                           bool* ascending) {
  return DecodePayloadBody(payload, out, col, ascending);
}

#else

Status DecodePayloadBmi2(std::span<const uint8_t> payload, std::vector<Sample>* out,
                         std::vector<uint64_t>* col, bool* ascending) {
  return DecodePayloadBody(payload, out, col, ascending);
}

#endif

Status DecodePayload(std::span<const uint8_t> payload, std::vector<Sample>* out,
                     std::vector<uint64_t>* col, bool* ascending) {
  static const bool bmi2 = bits_internal::CpuHasBmi2();
  return bmi2 ? DecodePayloadBmi2(payload, out, col, ascending)
              : DecodePayloadPortable(payload, out, col, ascending);
}

}  // namespace

std::string EncodePacked(std::span<const Sample> samples, const PackedOptions& options) {
  if (samples.empty() || samples.size() > kPackedMaxSamples) {
    std::abort();  // a caller bug that would write an unreadable chunk
  }
  std::string payload;
  PutUvarint(payload, samples.size());
  std::vector<uint64_t> xs(samples.size()), residuals, codes;
  for (size_t i = 0; i < samples.size(); ++i) xs[i] = static_cast<uint64_t>(samples[i].t);
  PutColumn(payload, xs, &residuals, &codes);
  unsigned exp = 0;
  if (ToDecimals(samples, &exp, &xs)) {
    payload.push_back(static_cast<char>(kValuesDecimal));
    payload.push_back(static_cast<char>(exp));
  } else {
    payload.push_back(static_cast<char>(kValuesBits));
    for (size_t i = 0; i < samples.size(); ++i) xs[i] = std::bit_cast<uint64_t>(samples[i].v);
  }
  PutColumn(payload, xs, &residuals, &codes);

  std::string out;
  if (options.zstd_level != 0 && payload.size() >= 32) {
    out.resize(1 + ZSTD_compressBound(payload.size()));
    size_t n = ZSTD_compressCCtx(ThreadCCtx(), out.data() + 1, out.size() - 1, payload.data(),
                                 payload.size(), options.zstd_level);
    if (!ZSTD_isError(n) && n < payload.size()) {
      out[0] = static_cast<char>(kFlagZstd);
      out.resize(1 + n);
      return out;
    }
  }
  out.clear();
  out.push_back(static_cast<char>(kFlagRaw));
  out.append(payload);
  return out;
}

namespace {

// The payload of a chunk: its bytes after the flag, or their decompression into `*buf`.
Status Payload(std::span<const uint8_t> bytes, std::vector<uint8_t>* buf,
               std::span<const uint8_t>* payload) {
  if (bytes.empty()) return Corrupt(0, "empty chunk");
  if (bytes[0] == kFlagRaw) {
    *payload = bytes.subspan(1);
    return Status::Ok();
  }
  if (bytes[0] != kFlagZstd) return Corrupt(0, fmt::format("unknown flags {:#x}", bytes[0]));
  const uint8_t* frame = bytes.data() + 1;
  const size_t frame_len = bytes.size() - 1;
  unsigned long long size = ZSTD_getFrameContentSize(frame, frame_len);
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxPayload) {
    return Corrupt(1, "bad zstd frame header");
  }
  buf->resize(size);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), buf->data(), buf->size(), frame, frame_len);
  if (ZSTD_isError(n) || n != size) return Corrupt(1, "zstd frame does not decompress");
  *payload = std::span<const uint8_t>(buf->data(), n);
  return Status::Ok();
}

}  // namespace

namespace {

// DecodePacked, also telling whether the timestamps strictly ascend. `out` keeps its
// capacity and is only resized, not cleared first: its samples are all overwritten.
Status DecodeChunk(std::span<const uint8_t> bytes, std::vector<Sample>* out, bool* ascending) {
  thread_local std::vector<uint8_t> buf;
  thread_local std::vector<uint64_t> col;
  std::span<const uint8_t> payload;
  Status s = Payload(bytes, &buf, &payload);
  if (s.ok()) s = DecodePayload(payload, out, &col, ascending);
  if (!s.ok()) {
    out->clear();
    *ascending = false;
  }
  return s;
}

}  // namespace

namespace packed_internal {

bool Bmi2Available() { return bits_internal::CpuHasBmi2(); }

Status DecodeWith(std::span<const uint8_t> bytes, bool bmi2, std::vector<Sample>* out) {
  std::vector<uint8_t> buf;
  std::vector<uint64_t> col;
  std::span<const uint8_t> payload;
  bool ascending;
  Status s = Payload(bytes, &buf, &payload);
  if (s.ok()) {
    s = bmi2 && bits_internal::CpuHasBmi2() ? DecodePayloadBmi2(payload, out, &col, &ascending)
                                            : DecodePayloadPortable(payload, out, &col, &ascending);
  }
  if (!s.ok()) out->clear();
  return s;
}

}  // namespace packed_internal

Status DecodePacked(std::span<const uint8_t> bytes, std::vector<Sample>* out) {
  bool ascending;
  return DecodeChunk(bytes, out, &ascending);
}

size_t PackedNumSamples(std::span<const uint8_t> bytes) {
  thread_local std::vector<uint8_t> buf;
  std::span<const uint8_t> payload;
  if (!Payload(bytes, &buf, &payload).ok()) return 0;
  Reader r(payload);
  uint64_t n;
  if (!r.Uvarint(&n) || n > kPackedMaxSamples) return 0;
  return n;
}

namespace {

// Sample buffers of iterators that have gone, kept for the next ones on the thread. Their
// samples stay as they are (the decoder overwrites what it resizes to), so a buffer that
// held a chunk as long as the next is reused without being filled first. At most
// kPooledBuffers of at most kPooledSamples each: 1 MiB per thread.
constexpr size_t kPooledBuffers = 8;
constexpr size_t kPooledSamples = 8192;
thread_local std::vector<std::vector<Sample>> t_buffers;

}  // namespace

PackedIterator::~PackedIterator() {
  if (samples_.capacity() == 0 || samples_.capacity() > kPooledSamples) return;
  if (t_buffers.size() < kPooledBuffers) t_buffers.push_back(std::move(samples_));
}

void PackedIterator::Reset(std::span<const uint8_t> bytes) {
  if (samples_.capacity() == 0 && !t_buffers.empty()) {
    samples_ = std::move(t_buffers.back());
    t_buffers.pop_back();
  }
  err_ = DecodeChunk(bytes, &samples_, &ascending_);
  pos_ = static_cast<size_t>(-1);
}

bool PackedIterator::Seek(int64_t t) {
  if (pos_ < samples_.size() && samples_[pos_].t >= t) return true;
  // The first later sample at or after t: searched when the timestamps ascend, else walked (a
  // damaged chunk need not be in order).
  size_t i = pos_ == static_cast<size_t>(-1) ? 0 : std::min(pos_ + 1, samples_.size());
  if (ascending_) {
    pos_ = static_cast<size_t>(
        std::partition_point(samples_.begin() + static_cast<std::ptrdiff_t>(i), samples_.end(),
                             [t](const Sample& s) { return s.t < t; }) -
        samples_.begin());
    return pos_ < samples_.size();
  }
  while (i < samples_.size() && samples_[i].t < t) ++i;
  pos_ = i;
  return pos_ < samples_.size();
}

}  // namespace zw::chunkenc
