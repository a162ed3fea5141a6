#include "tsdb/block/merge.h"

#include <algorithm>
#include <deque>
#include <set>

#include "tsdb/chunkenc/xor_chunk.h"

namespace zw::tsdb {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class MergedChunkSeriesSet final : public ChunkSeriesSet {
 public:
  explicit MergedChunkSeriesSet(std::vector<std::unique_ptr<ChunkSeriesSet>> sets)
      : sets_(std::move(sets)), live_(sets_.size(), false) {}

  bool Next() override {
    if (!err_.ok()) return false;
    // Advance the sets that supplied the current series (all of them at the start).
    for (size_t i = 0; i < sets_.size(); ++i) {
      if (!started_ || current_[i]) {
        live_[i] = sets_[i]->Next();
        if (!live_[i] && !sets_[i]->Err().ok()) {
          err_ = sets_[i]->Err();
          return false;
        }
      }
    }
    started_ = true;
    const Labels* min = nullptr;
    for (size_t i = 0; i < sets_.size(); ++i) {
      if (live_[i] && (!min || sets_[i]->labels() < *min)) min = &sets_[i]->labels();
    }
    current_.assign(sets_.size(), false);
    if (!min) return false;
    labels_ = *min;
    owned_.clear();
    chunks_.clear();
    std::vector<std::pair<ChunkMeta, size_t>> all;  // chunk, rank of its set
    for (size_t i = 0; i < sets_.size(); ++i) {
      if (live_[i] && sets_[i]->labels() == labels_) {
        current_[i] = true;
        for (const ChunkMeta& c : sets_[i]->chunks()) all.emplace_back(c, i);
      }
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const auto& a, const auto& b) { return a.first.min_t < b.first.min_t; });
    // Runs of chunks that overlap in time; a run of one passes through.
    for (size_t i = 0; i < all.size();) {
      size_t j = i + 1;
      int64_t run_max = all[i].first.max_t;
      while (j < all.size() && all[j].first.min_t <= run_max) {
        run_max = std::max(run_max, all[j].first.max_t);
        ++j;
      }
      if (j == i + 1) {
        chunks_.push_back(all[i].first);
      } else if (!MergeRun(std::span(all).subspan(i, j - i))) {
        return false;
      }
      i = j;
    }
    return true;
  }
  const Labels& labels() const override { return labels_; }
  std::span<const ChunkMeta> chunks() const override { return chunks_; }
  Status Err() const override { return err_; }

 private:
  bool MergeRun(std::span<const std::pair<ChunkMeta, size_t>> run) {
    struct Tagged {
      Sample s;
      size_t rank;
    };
    std::vector<Tagged> samples;
    for (const auto& [c, rank] : run) {
      chunkenc::XorIterator it(Bytes(c.bytes));
      while (it.Next()) samples.push_back({it.At(), rank});
      if (!it.Err().ok()) {
        err_ = it.Err();
        return false;
      }
    }
    std::stable_sort(samples.begin(), samples.end(), [](const Tagged& a, const Tagged& b) {
      return a.s.t != b.s.t ? a.s.t < b.s.t : a.rank < b.rank;
    });
    chunkenc::XorChunk chunk;
    int64_t min_t = 0, max_t = 0;
    auto cut = [&] {
      auto b = chunk.Bytes();
      owned_.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
      chunks_.push_back({min_t, max_t, owned_.back()});
      chunk = chunkenc::XorChunk();
    };
    for (size_t k = 0; k < samples.size(); ++k) {
      if (k > 0 && samples[k].s.t == samples[k - 1].s.t) continue;  // keep the first set's
      if (chunk.NumSamples() == kMergedChunkSamples) cut();
      if (chunk.NumSamples() == 0) min_t = samples[k].s.t;
      max_t = samples[k].s.t;
      chunk.Append(samples[k].s.t, samples[k].s.v);
    }
    if (chunk.NumSamples() > 0) cut();
    return true;
  }

  std::vector<std::unique_ptr<ChunkSeriesSet>> sets_;
  std::vector<bool> live_;     // the set is at a series
  std::vector<bool> current_;  // the set's series is the one being returned
  bool started_ = false;
  Labels labels_;
  std::vector<ChunkMeta> chunks_;
  std::deque<std::string> owned_;
  Status err_;
};

}  // namespace

std::unique_ptr<ChunkSeriesSet> MergeChunkSeriesSets(
    std::vector<std::unique_ptr<ChunkSeriesSet>> sets) {
  return std::make_unique<MergedChunkSeriesSet>(std::move(sets));
}

Result<BlockMeta> CompactBlocks(fs::FileSystem* fs, const std::string& blocks_dir,
                                const std::vector<std::shared_ptr<Block>>& blocks,
                                const WriteBlockOptions& options) {
  if (blocks.empty()) return Status::InvalidArgument("CompactBlocks: no blocks");
  BlockMeta meta;
  meta.min_time = kMaxTime;
  meta.max_time = kMinTime;
  meta.level = 0;
  meta.resolution_ms = blocks.front()->meta().resolution_ms;
  std::set<std::string> sources;
  std::vector<std::unique_ptr<ChunkSeriesSet>> sets;
  for (const auto& b : blocks) {
    const BlockMeta& m = b->meta();
    if (m.resolution_ms != meta.resolution_ms) {
      return Status::InvalidArgument("CompactBlocks: blocks of different resolutions");
    }
    meta.min_time = std::min(meta.min_time, m.min_time);
    meta.max_time = std::max(meta.max_time, m.max_time);
    meta.level = std::max(meta.level, m.level + 1);
    sources.insert(m.sources.begin(), m.sources.end());
    meta.parents.push_back(m.ulid);
    sets.push_back(b->Chunks(m.min_time, m.max_time - 1));
  }
  meta.sources.assign(sources.begin(), sources.end());
  auto merged = MergeChunkSeriesSets(std::move(sets));
  return WriteBlock(fs, blocks_dir, *merged, std::move(meta), options);
}

}  // namespace zw::tsdb
