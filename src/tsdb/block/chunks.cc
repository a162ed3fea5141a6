#include "tsdb/block/chunks.h"

#include <zstd.h>

#include "core/coding.h"
#include "core/crc32c.h"

namespace zw::tsdb {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;
constexpr int kZstdLevel = 9;
// A zstd frame holds a decompressed size; chunks hold at most 65535 samples, far less than
// this bound, which keeps a damaged header from asking for a huge buffer.
constexpr size_t kMaxChunkBytes = size_t{16} << 20;

std::string SegmentName(uint32_t n) { return fmt::format("{:06d}", n); }

uint32_t GetBE32(std::string_view s, size_t pos) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

}  // namespace

ChunkWriter::ChunkWriter(fs::FileSystem* fs, std::string dir, uint64_t segment_size, bool compress)
    : fs_(fs), dir_(std::move(dir)), segment_size_(segment_size), compress_(compress) {}

ChunkWriter::~ChunkWriter() = default;

Status ChunkWriter::Flush() {
  if (buf_.empty()) return Status::Ok();
  ZW_RETURN_IF_ERROR(file_->Append(buf_));
  buf_.clear();
  return Status::Ok();
}

Status ChunkWriter::CutSegment() {
  if (file_) {
    ZW_RETURN_IF_ERROR(Flush());
    ZW_RETURN_IF_ERROR(file_->Sync());
    ZW_RETURN_IF_ERROR(file_->Close());
  }
  ++segment_;
  auto f = fs_->NewWritableFile(fs::JoinPath(dir_, SegmentName(segment_)), /*truncate=*/true);
  if (!f.ok()) return f.status();
  file_ = std::move(f).value();
  PutBE32(buf_, kChunkSegmentMagic);
  buf_.push_back(static_cast<char>(kChunkSegmentVersion));
  buf_.append(3, '\0');
  offset_ = kChunkSegmentHeaderSize;
  bytes_written_ += kChunkSegmentHeaderSize;
  return Status::Ok();
}

Result<uint64_t> ChunkWriter::Write(std::string_view xor_bytes) {
  if (compress_ && xor_bytes.size() >= 32) {
    scratch_.resize(ZSTD_compressBound(xor_bytes.size()));
    size_t n = ZSTD_compress(scratch_.data(), scratch_.size(), xor_bytes.data(), xor_bytes.size(),
                             kZstdLevel);
    if (!ZSTD_isError(n) && n * 10 <= xor_bytes.size() * 9) {
      return WriteEncoded(ChunkEncoding::kXorZstd, std::string_view(scratch_.data(), n));
    }
  }
  return WriteEncoded(ChunkEncoding::kXor, xor_bytes);
}

Result<uint64_t> ChunkWriter::WriteEncoded(ChunkEncoding encoding, std::string_view data) {
  std::string frame;
  PutUvarint(frame, data.size());
  size_t framed = frame.size() + 1 + data.size() + 4;
  if (!file_ || (offset_ > kChunkSegmentHeaderSize && offset_ + framed > segment_size_)) {
    ZW_RETURN_IF_ERROR(CutSegment());
  }
  uint64_t ref = (uint64_t{segment_} << 32) | offset_;
  auto enc = static_cast<char>(encoding);
  buf_.append(frame);
  buf_.push_back(enc);
  buf_.append(data);
  PutBE32(buf_, Crc32c(data, Crc32c(&enc, 1)));
  offset_ += framed;
  bytes_written_ += framed;
  if (buf_.size() >= kFlushBytes) ZW_RETURN_IF_ERROR(Flush());
  return ref;
}

Status ChunkWriter::Finish() {
  if (!file_) return Status::Ok();
  ZW_RETURN_IF_ERROR(Flush());
  ZW_RETURN_IF_ERROR(file_->Sync());
  return file_->Close();
}

Result<std::unique_ptr<ChunkReader>> ChunkReader::Open(fs::FileSystem* fs, const std::string& dir) {
  auto names = fs->ListDir(dir);
  if (!names.ok()) {
    // A block without chunks (every series deleted) may have no chunks directory content,
    // but the directory itself is always written.
    return Status::Corruption(dir, 0, "chunks directory: " + names.status().message());
  }
  auto reader = std::unique_ptr<ChunkReader>(new ChunkReader());
  for (size_t i = 0; i < names->size(); ++i) {
    std::string path = fs::JoinPath(dir, (*names)[i]);
    if ((*names)[i] != SegmentName(static_cast<uint32_t>(i + 1))) {
      return Status::Corruption(path, 0,
                                fmt::format("{}: unexpected file, want segment {}", path,
                                            SegmentName(static_cast<uint32_t>(i + 1))));
    }
    auto m = fs->Map(path);
    if (!m.ok()) return m.status();
    std::string_view d = (*m)->data();
    if (d.size() < kChunkSegmentHeaderSize || GetBE32(d, 0) != kChunkSegmentMagic ||
        static_cast<uint8_t>(d[4]) != kChunkSegmentVersion ||
        d.substr(5, 3) != std::string_view("\0\0\0", 3)) {
      return Status::Corruption(path, 0, path + ": bad chunk segment header");
    }
    if (d.size() > (uint64_t{1} << 32)) {
      return Status::Corruption(path, 0, path + ": segment larger than 4 GiB");
    }
    reader->segments_.push_back({std::move(path), std::move(m).value()});
  }
  return reader;
}

Result<RawChunk> ChunkReader::Read(uint64_t ref) const {
  uint64_t seg = ref >> 32;
  uint64_t off = ref & 0xffffffff;
  if (seg == 0 || seg > segments_.size()) {
    return Status::Corruption(
        segments_.empty() ? "chunks" : segments_.front().path, 0,
        fmt::format("chunk reference {:#x} names missing segment {}", ref, seg));
  }
  const Segment& s = segments_[seg - 1];
  std::string_view d = s.file->data();
  auto bad = [&](std::string_view what) {
    return Status::Corruption(s.path, off, fmt::format("{} at offset {}: {}", s.path, off, what));
  };
  if (off < kChunkSegmentHeaderSize || off >= d.size()) return bad("chunk offset out of range");
  Decoder dec(d.substr(off));
  uint64_t len;
  uint8_t enc;
  if (!dec.Uvarint(&len) || !dec.Byte(&enc)) return bad("truncated chunk header");
  if (len > dec.remaining() || dec.remaining() - len < 4) return bad("truncated chunk");
  size_t start = off + dec.offset();
  std::string_view data = d.substr(start, len);
  uint32_t want = GetBE32(d, start + len);
  auto encc = static_cast<char>(enc);
  if (Crc32c(data, Crc32c(&encc, 1)) != want) return bad("chunk checksum mismatch");
  if (enc != static_cast<uint8_t>(ChunkEncoding::kXor) &&
      enc != static_cast<uint8_t>(ChunkEncoding::kXorZstd) &&
      enc != static_cast<uint8_t>(ChunkEncoding::kPacked)) {
    return bad(fmt::format("unknown chunk encoding {}", enc));
  }
  return RawChunk{static_cast<ChunkEncoding>(enc), data};
}

uint64_t ChunkReader::Size() const {
  uint64_t n = 0;
  for (const Segment& s : segments_) n += s.file->data().size();
  return n;
}

namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Result<std::string_view> Unzstd(std::string_view data, std::string* buf, std::string_view what) {
  unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxChunkBytes) {
    return Status::Corruption(std::string(what), 0,
                              fmt::format("{}: bad zstd frame in chunk", what));
  }
  buf->resize(size);
  size_t n = ZSTD_decompress(buf->data(), buf->size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != size) {
    return Status::Corruption(std::string(what), 0,
                              fmt::format("{}: zstd chunk does not decompress", what));
  }
  return std::string_view(*buf);
}

}  // namespace

Result<std::string_view> ChunkXorBytes(const RawChunk& raw, std::string* buf,
                                       std::string_view what) {
  switch (raw.encoding) {
    case ChunkEncoding::kXor:
      return raw.data;
    case ChunkEncoding::kXorZstd:
      return Unzstd(raw.data, buf, what);
    case ChunkEncoding::kPacked:
      break;
  }
  thread_local std::vector<Sample> samples;
  Status s = chunkenc::DecodePacked(Bytes(raw.data), &samples);
  if (!s.ok()) {
    return Status::Corruption(std::string(what), s.offset(),
                              fmt::format("{}: {}", what, s.message()));
  }
  chunkenc::XorChunk x;
  for (const Sample& smp : samples) x.Append(smp.t, smp.v);
  auto b = x.Bytes();
  buf->assign(reinterpret_cast<const char*>(b.data()), b.size());
  return std::string_view(*buf);
}

void ChunkSampleIterator::Reset(const RawChunk& raw, std::string_view what) {
  switch (raw.encoding) {
    case ChunkEncoding::kPacked:
      mode_ = Mode::kPacked;
      packed_.Reset(Bytes(raw.data));
      return;
    case ChunkEncoding::kXor:
      mode_ = Mode::kXor;
      xor_.emplace(Bytes(raw.data));
      return;
    case ChunkEncoding::kXorZstd:
      break;
  }
  auto bytes = Unzstd(raw.data, &buf_, what);
  if (!bytes.ok()) {
    mode_ = Mode::kFailed;
    err_ = bytes.status();
    return;
  }
  mode_ = Mode::kXor;
  xor_.emplace(Bytes(*bytes));
}

uint16_t XorChunkNumSamples(std::string_view b) {
  if (b.size() < 2) return 0;
  return static_cast<uint16_t>((static_cast<uint8_t>(b[0]) << 8) | static_cast<uint8_t>(b[1]));
}

}  // namespace zw::tsdb
