#include "tsdb/block/writer.h"

#include "tsdb/block/chunks.h"
#include "tsdb/block/index.h"
#include "tsdb/chunkenc/packed_chunk.h"
#include "tsdb/chunkenc/xor_chunk.h"

namespace zw::tsdb {
namespace {

Status WriteFileSynced(fs::FileSystem* fs, const std::string& path, std::string_view data) {
  auto f = fs->NewWritableFile(path, /*truncate=*/true);
  if (!f.ok()) return f.status();
  ZW_RETURN_IF_ERROR((*f)->Append(data));
  ZW_RETURN_IF_ERROR((*f)->Sync());
  return (*f)->Close();
}

// Decodes an XOR chunk onto `out`, checking that its samples lie in the chunk's range and
// come after every sample before them.
Status AppendSamples(const ChunkMeta& c, const Labels& labels, std::vector<Sample>* out) {
  chunkenc::XorIterator it(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size()));
  while (it.Next()) {
    Sample smp = it.At();
    if (smp.t < c.min_t || smp.t > c.max_t || (!out->empty() && smp.t <= out->back().t)) {
      return Status::InvalidArgument(fmt::format(
          "WriteBlock: sample at {} of {} is outside its chunk [{}, {}] or out of order", smp.t,
          labels.ToString(), c.min_t, c.max_t));
    }
    out->push_back(smp);
  }
  if (!it.Err().ok()) {
    return Status::InvalidArgument(
        fmt::format("WriteBlock: chunk of {}: {}", labels.ToString(), it.Err().message()));
  }
  return Status::Ok();
}

// Writes a series' samples as packed chunks of equal length (at most
// options.packed_chunk_samples), each as XOR instead when that is smaller.
Status WritePacked(ChunkWriter& writer, std::span<const Sample> samples,
                   const WriteBlockOptions& options, std::vector<ChunkRef>* refs) {
  const size_t parts =
      (samples.size() + options.packed_chunk_samples - 1) / options.packed_chunk_samples;
  const size_t per_part = (samples.size() + parts - 1) / parts;
  for (size_t start = 0; start < samples.size(); start += per_part) {
    auto part = samples.subspan(start, std::min(per_part, samples.size() - start));
    std::string packed = chunkenc::EncodePacked(part, {.zstd_level = options.packed_zstd_level});
    chunkenc::XorChunk x;
    for (const Sample& smp : part) x.Append(smp.t, smp.v);
    auto xb = x.Bytes();
    auto ref = xb.size() < packed.size()
                   ? writer.WriteEncoded(
                         ChunkEncoding::kXor,
                         std::string_view(reinterpret_cast<const char*>(xb.data()), xb.size()))
                   : writer.WriteEncoded(ChunkEncoding::kPacked, packed);
    if (!ref.ok()) return ref.status();
    refs->push_back({part.front().t, part.back().t, *ref});
  }
  return Status::Ok();
}

Result<BlockMeta> WriteInto(fs::FileSystem* fs, const std::string& tmp, ChunkSeriesSet& set,
                            BlockMeta meta, const WriteBlockOptions& options) {
  std::string chunks_dir = fs::JoinPath(tmp, "chunks");
  ZW_RETURN_IF_ERROR(fs->CreateDirs(chunks_dir));
  ChunkWriter writer(fs, chunks_dir, options.segment_size, options.compress_chunks);
  if (options.pack_chunks && (options.packed_chunk_samples == 0 ||
                              options.packed_chunk_samples > chunkenc::kPackedMaxSamples)) {
    return Status::InvalidArgument(fmt::format("WriteBlock: packed_chunk_samples {} not in 1..{}",
                                               options.packed_chunk_samples,
                                               chunkenc::kPackedMaxSamples));
  }
  std::vector<IndexSeries> series;
  std::vector<Sample> samples;  // of the current series, when packing
  while (set.Next()) {
    const Labels& labels = set.labels();
    if (labels.empty()) return Status::InvalidArgument("WriteBlock: series without labels");
    if (!series.empty() && !(series.back().labels < labels)) {
      return Status::InvalidArgument(
          fmt::format("WriteBlock: series {} comes after {}: not in "
                      "Labels order",
                      labels.ToString(), series.back().labels.ToString()));
    }
    IndexSeries s{labels, {}};
    std::span<const ChunkMeta> chunks = set.chunks();
    for (size_t i = 0; i < chunks.size(); ++i) {
      const ChunkMeta& c = chunks[i];
      if (c.min_t > c.max_t || c.min_t < meta.min_time || c.max_t >= meta.max_time) {
        return Status::InvalidArgument(
            fmt::format("WriteBlock: chunk [{}, {}] of {} is outside the block's range [{}, {})",
                        c.min_t, c.max_t, labels.ToString(), meta.min_time, meta.max_time));
      }
      if (i > 0 && c.min_t <= chunks[i - 1].max_t) {
        return Status::InvalidArgument(
            fmt::format("WriteBlock: chunks of {} overlap or are out of order at {}",
                        labels.ToString(), c.min_t));
      }
      uint16_t n = XorChunkNumSamples(c.bytes);
      if (n == 0) {
        return Status::InvalidArgument(
            fmt::format("WriteBlock: empty or malformed chunk in {}", labels.ToString()));
      }
      if (options.pack_chunks) {
        ZW_RETURN_IF_ERROR(AppendSamples(c, labels, &samples));
        continue;
      }
      auto ref = writer.Write(c.bytes);
      if (!ref.ok()) return ref.status();
      s.chunks.push_back({c.min_t, c.max_t, *ref});
      meta.num_samples += n;
      ++meta.num_chunks;
    }
    if (options.pack_chunks && !samples.empty()) {
      ZW_RETURN_IF_ERROR(WritePacked(writer, samples, options, &s.chunks));
      meta.num_samples += samples.size();
      meta.num_chunks += s.chunks.size();
      samples.clear();
    }
    if (s.chunks.empty()) continue;
    series.push_back(std::move(s));
  }
  ZW_RETURN_IF_ERROR(set.Err());
  meta.num_series = series.size();
  if (series.empty()) return meta;
  ZW_RETURN_IF_ERROR(writer.Finish());
  ZW_RETURN_IF_ERROR(WriteFileSynced(fs, fs::JoinPath(tmp, "index"), BuildIndex(series)));
  ZW_RETURN_IF_ERROR(WriteFileSynced(fs, fs::JoinPath(tmp, "meta.json"), EncodeMeta(meta)));
  ZW_RETURN_IF_ERROR(fs->SyncDir(chunks_dir));
  ZW_RETURN_IF_ERROR(fs->SyncDir(tmp));
  return meta;
}

}  // namespace

Result<BlockMeta> WriteBlock(fs::FileSystem* fs, const std::string& blocks_dir,
                             ChunkSeriesSet& series, BlockMeta meta,
                             const WriteBlockOptions& options) {
  if (meta.min_time >= meta.max_time) {
    return Status::InvalidArgument(
        fmt::format("WriteBlock: empty time range [{}, {})", meta.min_time, meta.max_time));
  }
  if (meta.ulid.empty()) meta.ulid = NewUlid();
  if (!IsUlid(meta.ulid)) return Status::InvalidArgument("WriteBlock: bad ULID " + meta.ulid);
  if (meta.level < 1) return Status::InvalidArgument("WriteBlock: level must be at least 1");
  bool default_sources = meta.sources.empty() && meta.level == 1;
  if (default_sources) meta.sources = {meta.ulid};
  meta.version = 1;
  meta.num_samples = meta.num_series = meta.num_chunks = 0;
  ZW_RETURN_IF_ERROR(fs->CreateDirs(blocks_dir));
  std::string dir = fs::JoinPath(blocks_dir, meta.ulid);
  std::string tmp = dir + ".tmp";
  if (fs->Exists(dir)) return Status::InvalidArgument("WriteBlock: block exists: " + dir);
  ZW_RETURN_IF_ERROR(fs->RemoveAll(tmp));
  auto written = WriteInto(fs, tmp, series, std::move(meta), options);
  if (!written.ok() || written->num_series == 0) {
    // Best effort: a failed or empty write leaves nothing; if even this fails, the *.tmp
    // directory is what the DB removes at start.
    (void)fs->RemoveAll(tmp);
    if (!written.ok()) return written.status();
    BlockMeta empty = std::move(written).value();
    empty.ulid.clear();
    if (default_sources) empty.sources.clear();
    return empty;
  }
  ZW_RETURN_IF_ERROR(fs->Rename(tmp, dir));
  ZW_RETURN_IF_ERROR(fs->SyncDir(blocks_dir));
  return written;
}

}  // namespace zw::tsdb
