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
  // The current sample. REQUIRES: the last Next or Seek returned true.
  Sample At() const { return Sample{ts_[pos_], std::bit_cast<double>(vs_[pos_])}; }
  // Ok, or Corruption when the bytes are truncated or damaged. Set once Next has returned
  // every sample before the damage.
  const Status& Err() const { return err_; }

 private:
  // Samples are decoded kBatch at a time into a small buffer, so that the decoder's state
  // stays in registers from one sample to the next instead of going through memory on
  // every call: decoding one sample per call took twice as long. 8 measured no slower
  // than 16, 32 or 64 (bench/chunk_bench.cc) and keeps the iterator small.
  static constexpr unsigned kBatch = 8;

  // Where the decoder is and what the previous sample was.
  struct State {
    BitReader r;
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
  static Varint ReadUvarint(BitReader& r);
  static Damage ReadFirst(State& s);
  static Damage ReadSecond(State& s);
  static Damage ReadRest(State& s);
  static Damage ReadValue(State& s);
  void CheckEnd();
  Status Corrupt(std::string_view what) const;

  State s_;
  Status err_;
  Status pending_;  // ends the iteration once the samples decoded before it are returned
  uint16_t total_ = 0;
  uint16_t read_ = 0;  // samples decoded so far
  bool done_ = false;  // Next returned false: at the end or failed
  uint8_t pos_ = 0;    // the current sample in ts_/vs_
  uint8_t count_ = 0;  // decoded samples in ts_/vs_; 0 when there is no current sample
  int64_t ts_[kBatch] = {};
  uint64_t vs_[kBatch] = {};
};

}  // namespace zw::chunkenc
