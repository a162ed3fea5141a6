// The Gorilla (XOR) chunk: a series' samples for a short stretch of time, timestamps as
// delta-of-deltas and values as XORs with their predecessor. The byte layout is specified in
// docs/format/chunks.md and is frozen: it lives on disk and matches Prometheus's XOR chunk.
//
// XorChunk builds a chunk sample by sample; XorIterator reads any chunk's bytes, including
// borrowed ones (a memory-mapped file). The codec does not decide how long a chunk gets:
// the head cuts chunks (120 samples or 2 hours) and frames them on disk.
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/sample.h"
#include "core/status.h"
#include "tsdb/chunkenc/bstream.h"

namespace zw::chunkenc {

class XorIterator;

// Owns its bytes. Not thread-safe: the head holds the series lock around every call.
// Copyable and movable; a moved-from chunk must be assigned before further use.
class XorChunk {
 public:
  // The most samples the 16-bit count in the header can hold.
  static constexpr uint16_t kMaxSamples = UINT16_MAX;

  // An empty chunk: the 2-byte header with a count of 0. Allocates nothing until the first
  // Append (the head keeps an empty open chunk for a series whose last chunk was cut full).
  XorChunk() = default;

  // Adopts bytes written earlier (e.g. read from disk) for reading. Checks the header only:
  // at least 2 bytes, and enough bytes for the count it claims. Damage further in shows up
  // as the iterator's Err(). Errors: Corruption (offset within the chunk).
  // The adopted chunk is read-only: its time range is not decoded (it lives in the chunk's
  // index entry), so Append, MinTime and MaxTime are not available on it.
  static Result<XorChunk> FromBytes(std::string bytes);

  // Appends one sample. Any timestamp is encoded exactly, also equal, decreasing or far
  // apart ones; keeping them increasing is the caller's business. The value is kept bit
  // for bit (NaN payloads, stale markers, -0.0).
  // REQUIRES: NumSamples() < kMaxSamples; the chunk was not adopted by FromBytes.
  // Violations abort: they would silently write a chunk that decodes wrongly.
  void Append(int64_t t, double v);

  uint16_t NumSamples() const { return num_; }

  // The encoding so far (docs/format/chunks.md). Valid until the next Append; the same
  // samples always give the same bytes.
  std::span<const uint8_t> Bytes() const {
    return w_.Bytes().empty() ? std::span<const uint8_t>(kEmpty) : w_.Bytes();
  }

  // Of the appended samples. REQUIRES: NumSamples() > 0, chunk not adopted.
  int64_t MinTime() const { return first_t_; }
  int64_t MaxTime() const { return static_cast<int64_t>(t_); }

  // An iterator over Bytes(); valid while the chunk is alive and not appended to.
  XorIterator Iterator() const;

 private:
  // Writes `prefix_len` bits of `prefix` (the timestamp's code), then the value.
  void AppendValue(uint64_t prefix, unsigned prefix_len, uint64_t bits);

  static constexpr uint8_t kEmpty[2] = {0, 0};  // the encoding of no samples

  // The head holds one open chunk per series: the small fields share a word (56 bytes).
  BitWriter w_;
  uint16_t num_ = 0;
  bool adopted_ = false;
  // The current '11' window; leading_ == kNoWindow until the first one is written.
  static constexpr uint8_t kNoWindow = 0xff;
  uint8_t leading_ = kNoWindow;
  uint8_t trailing_ = 0;
  // Encoder state, so that Append never re-reads the stream. Time arithmetic is unsigned
  // (wrapping), see the format doc.
  int64_t first_t_ = 0;
  uint64_t t_ = 0;
  uint64_t delta_ = 0;
  uint64_t v_ = 0;
};

// Reads the samples of a chunk in order, in the iterator shape used throughout storage:
//
//   XorIterator it(bytes);
//   while (it.Next()) Use(it.At());
//   if (!it.Err().ok()) ...
//
// or, a batch at a time, NextBatch(out, n) in place of n calls of Next and At.
//
// Borrows the bytes, which must outlive it. Never reads outside them; damaged or truncated
// bytes end the iteration with a Corruption error, after the samples before the damage.
class XorIterator {
 public:
  explicit XorIterator(std::span<const uint8_t> bytes);

  // Advances to the next sample; false at the end or on error (see Err).
  bool Next() {
    if (pos_ + 1 < count_) [[likely]] {
      ++pos_;
      return true;
    }
    return Fill();
  }
  // Advances to the first sample at or after `t`; if the current sample already is, stays
  // on it. Never moves backwards. False when no such sample is left, or on error.
  bool Seek(int64_t t);
  // The current sample. REQUIRES: the last Next or Seek returned true, or the last
  // NextBatch wrote a sample.
  Sample At() const { return buf_[pos_]; }
  // Does what up to `n` calls of Next would, writing the sample each one moves to into
  // out[0..): the samples are decoded straight into `out`. Returns how many were written;
  // fewer than `n` only when the iteration ended (Next would have returned false), so Err()
  // is final then. The last sample written becomes the current one (At, Seek).
  size_t NextBatch(Sample* out, size_t n);
  // Ok, or Corruption when the bytes are truncated or damaged. Set once Next has returned
  // every sample before the damage.
  const Status& Err() const { return err_; }

 private:
  // Next decodes kBatch samples at a time into a small buffer, so that the decoder's state
  // stays in registers from one sample to the next instead of going through memory on
  // every call. With the fast decoder, 16 measured about 10 % faster than 8 in
  // BM_XorDecode (32 a little faster still); 16 keeps the iterator at 536 bytes (it was
  // 384). Readers that want many samples use NextBatch and skip this buffer.
  static constexpr unsigned kBatch = 16;
  // The fast decoder reads fields straight from unaligned 64-bit loads, which may take up
  // to kFastBytes bytes from the byte holding the first bit of a sample. The last kTail
  // bytes of the chunk are copied into tail_, padded with zeros, so that it also runs
  // there; a sample that ends past the real bytes is left to the checked decoder.
  static constexpr size_t kFastBytes = 20;
  static constexpr size_t kTail = 24;

  // What the previous sample was; the position is bit_.
  struct State {
    uint64_t t = 0;  // time arithmetic is unsigned (wrapping), see the format doc
    uint64_t delta = 0;
    uint64_t v = 0;
    uint8_t leading = 0;
    uint8_t sigbits = 0;  // of the current window; 0 until the first '11' value
  };
  enum class Damage : uint8_t { kNone, kTruncated, kVarintOverflow, kNoWindow, kWideWindow };
  struct Varint {
    uint64_t value;
    Damage damage;
  };

  bool Fill();
  // Decodes up to `want` (<= the samples left) samples into `out`. Returns how many; fewer
  // only on damage, which is then in pending_.
  unsigned Decode(Sample* out, unsigned want);
  // Decodes samples after the second one from bit *bit on with the fast decoder, as long
  // as it can, into out[n..want). Returns the new n.
  unsigned DecodeFast(State& s, size_t* bit, Sample* out, unsigned n, unsigned want) const;
  static Varint ReadUvarint(BitReader& r);
  static Damage ReadFirst(BitReader& r, State& s);
  static Damage ReadSecond(BitReader& r, State& s);
  static Damage ReadRest(BitReader& r, State& s);
  static Damage ReadValue(BitReader& r, State& s);
  void CheckEnd();
  Status Corrupt(std::string_view what, size_t bit) const;

  std::span<const uint8_t> in_;
  size_t bit_ = 0;  // where the next sample starts
  State s_;
  Status err_;
  Status pending_;  // ends the iteration once the samples decoded before it are returned
  uint16_t total_ = 0;
  uint16_t read_ = 0;        // samples decoded so far
  bool done_ = false;        // Next returned false: at the end or failed
  uint8_t pos_ = 0;          // the current sample in buf_
  uint8_t count_ = 0;        // decoded samples in buf_; 0 when there is no current sample
  uint32_t tail_start_ = 0;  // in_[tail_start_..] is copied to the start of tail_
  Sample buf_[kBatch] = {};
  uint8_t tail_[kTail + kFastBytes] = {};
};

}  // namespace zw::chunkenc
