// A block's chunk segments (docs/format/blocks.md, "Chunk segments"): files chunks/000001,
// 000002, ... holding framed, checksummed chunks (Gorilla XOR, zstd'd XOR or packed). A
// chunk is addressed by a reference `segment << 32 | offset`.
//
// ChunkWriter is used by one thread. ChunkReader is immutable and thread safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/sample.h"
#include "core/status.h"
#include "tsdb/chunkenc/packed_chunk.h"
#include "tsdb/chunkenc/xor_chunk.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb {

// On-disk values: do not change.
inline constexpr uint32_t kChunkSegmentMagic = 0x5A574348;  // "ZWCH"
inline constexpr uint8_t kChunkSegmentVersion = 1;
inline constexpr size_t kChunkSegmentHeaderSize = 8;
// 3 is reserved for downsampled aggregate chunks (docs/format/blocks.md).
enum class ChunkEncoding : uint8_t { kXor = 1, kXorZstd = 2, kPacked = 4 };

inline constexpr uint64_t kDefaultSegmentSize = uint64_t{512} << 20;

class ChunkWriter {
 public:
  // Writes segments into `dir`, which must exist. A segment is cut before a chunk that would
  // take it past `segment_size` bytes (a single larger chunk still gets a segment of its
  // own). With `compress`, a chunk is stored zstd-compressed when that saves at least 10 %.
  ChunkWriter(fs::FileSystem* fs, std::string dir, uint64_t segment_size, bool compress);
  ~ChunkWriter();

  // Appends one XOR chunk (zstd'd when the writer compresses); returns its reference.
  Result<uint64_t> Write(std::string_view xor_bytes);
  // Appends a chunk already encoded as `encoding`, as it is; returns its reference.
  Result<uint64_t> WriteEncoded(ChunkEncoding encoding, std::string_view data);
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

// The XOR bytes of a chunk: `raw.data` itself, its decompression, or (packed chunks) its
// samples re-encoded as one XOR chunk, in `*buf`. For consumers of ChunkMeta (compaction,
// downsampling), whose chunks are XOR. Errors: Corruption (naming `what`) when the data does
// not decode.
Result<std::string_view> ChunkXorBytes(const RawChunk& raw, std::string* buf,
                                       std::string_view what);

// The samples of a block chunk of any encoding, in the storage iterator shape. Reset points
// it at a chunk (whose bytes must outlive the iteration); buffers are reused across chunks.
// Errors (Err) are Corruption with the offset within the chunk; the caller names the file.
class ChunkSampleIterator {
 public:
  void Reset(const RawChunk& raw, std::string_view what);
  bool Next() {
    switch (mode_) {
      case Mode::kXor:
        return xor_->Next();
      case Mode::kPacked:
        return packed_.Next();
      case Mode::kFailed:
        break;
    }
    return false;
  }
  bool Seek(int64_t t) {
    switch (mode_) {
      case Mode::kXor:
        return xor_->Seek(t);
      case Mode::kPacked:
        return packed_.Seek(t);
      case Mode::kFailed:
        break;
    }
    return false;
  }
  Sample At() const { return mode_ == Mode::kXor ? xor_->At() : packed_.At(); }
  // The decoded samples from the current one to the chunk's end when the chunk is packed
  // (decoded whole); empty for XOR chunks, which decode as they go.
  std::span<const Sample> Buffered() const {
    return mode_ == Mode::kPacked ? packed_.Rest() : std::span<const Sample>();
  }
  Status Err() const {
    switch (mode_) {
      case Mode::kXor:
        return xor_->Err();
      case Mode::kPacked:
        return packed_.Err();
      case Mode::kFailed:
        break;
    }
    return err_;
  }

 private:
  enum class Mode : uint8_t { kFailed, kXor, kPacked };
  Mode mode_ = Mode::kFailed;
  std::optional<chunkenc::XorIterator> xor_;
  chunkenc::PackedIterator packed_;
  std::string buf_;  // a decompressed kXorZstd chunk
  Status err_;       // why the chunk could not be opened (kFailed)
};

// The sample count from an XOR chunk's header (0 if it is too short to have one).
uint16_t XorChunkNumSamples(std::string_view xor_bytes);

}  // namespace zw::tsdb
