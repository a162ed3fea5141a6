#include "tsdb/downsample/downsample.h"

#include <algorithm>
#include <utility>

#include "tsdb/block/writer.h"
#include "tsdb/chunkenc/xor_chunk.h"
#include "tsdb/downsample/aggregate.h"

namespace zw::tsdb {

namespace {

// Downsampled series have few points; long chunks index cheaply and compress well, but a
// query decodes a whole chunk to reach one sample, so stay with the head's length.
constexpr int kSamplesPerChunk = 120;

class VectorChunkSeriesSet final : public ChunkSeriesSet {
 public:
  explicit VectorChunkSeriesSet(std::vector<EncodedSeries> series) : series_(std::move(series)) {}
  bool Next() override {
    if (++pos_ >= series_.size()) return false;
    metas_.clear();
    for (const EncodedSeries::Chunk& c : series_[pos_].chunks) {
      metas_.push_back({c.min_t, c.max_t, c.bytes});
    }
    return true;
  }
  const Labels& labels() const override { return series_[pos_].labels; }
  std::span<const ChunkMeta> chunks() const override { return metas_; }
  Status Err() const override { return Status::Ok(); }

 private:
  std::vector<EncodedSeries> series_;
  size_t pos_ = static_cast<size_t>(-1);
  std::vector<ChunkMeta> metas_;
};

// Decodes the chunks of the set's current series, clipped to [mint, maxt].
Status DecodeSeries(const ChunkSeriesSet& set, int64_t mint, int64_t maxt,
                    std::vector<Sample>* out) {
  out->clear();
  for (const ChunkMeta& c : set.chunks()) {
    chunkenc::XorIterator it({reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size()});
    while (it.Next()) {
      Sample s = it.At();
      if (s.t < mint || s.t > maxt) continue;
      if (!out->empty() && s.t <= out->back().t) {
        return Status::Error(StatusCode::kCorruption,
                             "downsample: series {} has samples out of order at t={}",
                             set.labels().ToString(), s.t);
      }
      out->push_back(s);
    }
    if (!it.Err().ok()) {
      return Status::Error(StatusCode::kCorruption, "downsample: series {}: {}",
                           set.labels().ToString(), it.Err().ToString());
    }
  }
  return Status::Ok();
}

Labels WithAggr(const Labels& base, Aggr a) {
  return LabelsBuilder(base).Set(kAggrLabel, AggrName(a)).Build();
}

}  // namespace

EncodedSeries EncodeSeries(Labels labels, std::span<const Sample> samples, int samples_per_chunk) {
  EncodedSeries out;
  out.labels = std::move(labels);
  const auto per_chunk = static_cast<size_t>(samples_per_chunk);
  for (size_t i = 0; i < samples.size(); i += per_chunk) {
    size_t end = std::min(samples.size(), i + per_chunk);
    chunkenc::XorChunk chunk;
    for (size_t j = i; j < end; ++j) chunk.Append(samples[j].t, samples[j].v);
    auto bytes = chunk.Bytes();
    out.chunks.push_back({samples[i].t, samples[end - 1].t,
                          std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())});
  }
  return out;
}

std::unique_ptr<ChunkSeriesSet> NewVectorChunkSeriesSet(std::vector<EncodedSeries> series) {
  return std::make_unique<VectorChunkSeriesSet>(std::move(series));
}

Result<BlockMeta> DownsampleBlock(fs::FileSystem* fs, const std::string& blocks_dir, Block& source,
                                  int64_t resolution_ms,
                                  const std::function<bool(const Labels&)>& is_counter) {
  const BlockMeta& src = source.meta();
  const bool from_raw = src.resolution_ms == 0 && resolution_ms == kResolution5m;
  const bool from_5m = src.resolution_ms == kResolution5m && resolution_ms == kResolution1h;
  if (!from_raw && !from_5m) {
    return Status::Error(StatusCode::kInvalidArgument,
                         "DownsampleBlock: cannot make resolution {} ms from block {} of "
                         "resolution {} ms (raw -> 300000 and 300000 -> 3600000 only)",
                         resolution_ms, src.ulid, src.resolution_ms);
  }

  std::vector<EncodedSeries> out;
  std::vector<Sample> samples;
  std::unique_ptr<ChunkSeriesSet> set = source.Chunks(src.min_time, src.max_time - 1);
  while (set->Next()) {
    const Labels& labels = set->labels();
    ZW_RETURN_IF_ERROR(DecodeSeries(*set, src.min_time, src.max_time - 1, &samples));
    if (samples.empty()) continue;
    if (from_raw) {
      if (labels.Has(kAggrLabel)) {
        return Status::Error(StatusCode::kInvalidArgument,
                             "DownsampleBlock: raw series {} in block {} carries the reserved "
                             "label {}",
                             labels.ToString(), src.ulid, kAggrLabel);
      }
      bool counter = is_counter ? is_counter(labels) : DefaultIsCounter(labels);
      Aggregates a = AggregateRaw(samples, resolution_ms, counter);
      for (Aggr kind : kAllAggrs) {
        const std::vector<Sample>& points = a.Of(kind);
        if (points.empty()) continue;
        out.push_back(EncodeSeries(WithAggr(labels, kind), points, kSamplesPerChunk));
      }
    } else {
      Aggr kind;
      if (!ParseAggr(labels.Get(kAggrLabel), &kind)) {
        return Status::Error(StatusCode::kInvalidArgument,
                             "DownsampleBlock: series {} in 5m block {} has no valid {} label",
                             labels.ToString(), src.ulid, kAggrLabel);
      }
      std::vector<Sample> points = Reaggregate(kind, samples, resolution_ms);
      if (!points.empty()) out.push_back(EncodeSeries(labels, points, kSamplesPerChunk));
    }
  }
  ZW_RETURN_IF_ERROR(set->Err());

  // Adding the label can change the order of series, so sort before writing.
  std::sort(out.begin(), out.end(),
            [](const EncodedSeries& a, const EncodedSeries& b) { return a.labels < b.labels; });

  BlockMeta meta;
  meta.min_time = src.min_time;
  meta.max_time = src.max_time;
  meta.level = src.level;
  meta.sources = src.sources;
  meta.parents = {src.ulid};
  meta.resolution_ms = resolution_ms;
  std::unique_ptr<ChunkSeriesSet> series = NewVectorChunkSeriesSet(std::move(out));
  return WriteBlock(fs, blocks_dir, *series, std::move(meta));
}

}  // namespace zw::tsdb
