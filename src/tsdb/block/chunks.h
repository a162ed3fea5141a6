// A block's chunk segments (docs/format/blocks.md, "Chunk segments"): files chunks/000001,
// 000002, ... holding framed, checksummed Gorilla chunks. A chunk is addressed by a
// reference `segment << 32 | offset`.
//
// ChunkWriter is used by one thread. ChunkReader is immutable and thread safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

// On-disk values: do not change.
inline constexpr uint32_t kChunkSegmentMagic = 0x5A574348;  // "ZWCH"
inline constexpr uint8_t kChunkSegmentVersion = 1;
inline constexpr size_t kChunkSegmentHeaderSize = 8;
enum class ChunkEncoding : uint8_t { kXor = 1, kXorZstd = 2 };

inline constexpr uint64_t kDefaultSegmentSize = uint64_t{512} << 20;

class ChunkWriter {
 public:
  // Writes segments into `dir`, which must exist. A segment is cut before a chunk that would
  // take it past `segment_size` bytes (a single larger chunk still gets a segment of its
  // own). With `compress`, a chunk is stored zstd-compressed when that saves at least 10 %.
  ChunkWriter(fs::FileSystem* fs, std::string dir, uint64_t segment_size, bool compress);
  ~ChunkWriter();

  // Appends one XOR chunk; returns its reference.
  Result<uint64_t> Write(std::string_view xor_bytes);
  // Writes out, fsyncs and closes the last segment. REQUIRES: called once, last.
  Status Finish();
  uint64_t BytesWritten() const { return bytes_written_; }

 private:
  Status CutSegment();
  Status Flush();

  fs::FileSystem* const fs_;
  const std::string dir_;
  const uint64_t segment_size_;
  const bool compress_;
  uint32_t segment_ = 0;  // current segment number, 0 before the first
  uint64_t offset_ = 0;   // within the current segment
  uint64_t bytes_written_ = 0;
  std::unique_ptr<fs::WritableFile> file_;
  std::string buf_;
  std::string scratch_;
};

// A chunk located in a segment whose checksum has been verified.
struct RawChunk {
  ChunkEncoding encoding;
  std::string_view data;
};

class ChunkReader {
 public:
  // Maps every segment in `dir` (names must be 000001, 000002, ... without gaps) and checks
  // their headers. Errors: Corruption naming the segment.
  static Result<std::unique_ptr<ChunkReader>> Open(fs::FileSystem* fs, const std::string& dir);

  // Locates the chunk at `ref` and verifies its CRC. Errors: Corruption naming the segment
  // and offset.
  Result<RawChunk> Read(uint64_t ref) const;
  // Total bytes of all segments.
  uint64_t Size() const;
  size_t NumSegments() const { return segments_.size(); }

 private:
  struct Segment {
    std::string path;
    std::shared_ptr<const fs::MappedFile> file;
  };
  std::vector<Segment> segments_;
};

// The XOR bytes of a chunk: `raw.data` itself, or its decompression into `*buf`.
// Errors: Corruption (naming `what`) when the compressed data does not decode.
Result<std::string_view> ChunkXorBytes(const RawChunk& raw, std::string* buf,
                                       std::string_view what);

// The sample count from an XOR chunk's header (0 if it is too short to have one).
uint16_t XorChunkNumSamples(std::string_view xor_bytes);

}  // namespace zw::tsdb
