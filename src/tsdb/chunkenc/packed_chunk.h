// The packed chunk: a block's denser encoding of one series' samples (docs/format/chunks.md,
// "Packed chunk"). Timestamps and values are turned into 64-bit integer columns —
// timestamps as they are; values as decimal mantissas when every value of the chunk is
// exactly m / 10^e for one small e, else as their raw bit patterns — and each column is
// stored as the differences of order 0, 1 or 2 that come out smallest, divided by their
// greatest common divisor, as zig-zag varints. A column whose differences are all zero
// (15 s scrapes exactly on time, a constant gauge) costs a few bytes in all. The whole
// payload is then zstd-compressed when that is smaller.
//
// Written only when blocks are written (the head keeps Gorilla XOR chunks, which append one
// sample at a time); blocks write long chunks of a series (thousands of samples), which is
// where the columns and zstd pay. Every float bit pattern round-trips exactly: a chunk whose
// values are not all exact decimals (NaN, the stale marker, -0.0, full-precision floats)
// stores bit patterns instead.
//
// Pure functions plus an iterator; thread safe (the zstd contexts are per thread).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/sample.h"
#include "core/status.h"

namespace zw::chunkenc {

// The most samples one packed chunk holds (the same bound as the XOR chunk's 16-bit count,
// so any packed chunk can be re-encoded as one XOR chunk).
inline constexpr size_t kPackedMaxSamples = 65535;
// The largest decimal exponent the encoder tries: 10^18 keeps mantissas of typical values
// within 2^53, and every power up to 10^22 is exact in a double.
inline constexpr int kPackedMaxDecimalExponent = 18;

struct PackedOptions {
  // zstd level for the payload; 0 stores it uncompressed.
  int zstd_level = 9;
};

// Encodes `samples` (1 to kPackedMaxSamples, any timestamps, any values). The same input
// always gives the same bytes. REQUIRES: 1 <= samples.size() <= kPackedMaxSamples.
std::string EncodePacked(std::span<const Sample> samples, const PackedOptions& options = {});

// Decodes every sample of a packed chunk into `out` (replacing its contents). The columns
// hold all timestamps before any value, so damage loses the whole chunk: `out` is left
// empty and the result is Corruption with the byte offset of the damage (in the payload,
// after decompression). Never reads outside `bytes`; a damaged count or zstd header cannot
// make it allocate more than a few MiB.
Status DecodePacked(std::span<const uint8_t> bytes, std::vector<Sample>* out);

namespace packed_internal {
// DecodePacked has two builds of one decoder, picked once by the CPU: the portable one and
// one for x86-64 CPUs with BMI2 and LZCNT. For tests, which must find them identical.
bool Bmi2Available();
// DecodePacked through the portable decoder, or (when available) the BMI2 one.
Status DecodeWith(std::span<const uint8_t> bytes, bool bmi2, std::vector<Sample>* out);
}  // namespace packed_internal

// The sample count from a packed chunk's bytes without decoding the samples; 0 when the
// header is damaged.
size_t PackedNumSamples(std::span<const uint8_t> bytes);

// Reads a packed chunk in the storage iterator shape (Next / Seek / At / Err), decoding it
// whole on construction (or Reset) into buffers it reuses. Borrows nothing: the bytes may
// go away after construction.
class PackedIterator {
 public:
  PackedIterator() = default;
  explicit PackedIterator(std::span<const uint8_t> bytes) { Reset(bytes); }
  PackedIterator(const PackedIterator&) = default;
  PackedIterator(PackedIterator&&) = default;
  PackedIterator& operator=(const PackedIterator&) = default;
  PackedIterator& operator=(PackedIterator&&) = default;
  // Leaves the sample buffer to the next iterator on this thread (a query opens one per
  // series and block: a fresh buffer would be allocated and zero-filled every time).
  ~PackedIterator();

  // Starts over on another chunk, keeping the buffers.
  void Reset(std::span<const uint8_t> bytes);

  // Advances to the next sample; false at the end or on error (see Err).
  bool Next() {
    if (pos_ + 1 < samples_.size()) {
      ++pos_;
      return true;
    }
    pos_ = samples_.size();
    return false;
  }
  // Advances to the first sample at or after `t`; stays when the current one already is.
  // Never moves backwards. False when no such sample is left, or on error.
  bool Seek(int64_t t);
  // REQUIRES: the last Next or Seek returned true.
  Sample At() const { return samples_[pos_]; }
  // The samples from the current one to the chunk's end, when the chunk's timestamps
  // strictly ascend (those zenwatch writes always do; Next and Seek also read chunks that
  // do not). Empty otherwise, and before the first Next or Seek and after the last.
  std::span<const Sample> Rest() const {
    if (!ascending_ || pos_ >= samples_.size()) return {};
    return std::span<const Sample>(samples_).subspan(pos_);
  }
  // Ok, or Corruption (and then no samples at all).
  const Status& Err() const { return err_; }

 private:
  std::vector<Sample> samples_;
  size_t pos_ = static_cast<size_t>(-1);  // Next moves to 0 first
  bool ascending_ = false;                // samples_' timestamps strictly ascend
  Status err_;
};

}  // namespace zw::chunkenc
