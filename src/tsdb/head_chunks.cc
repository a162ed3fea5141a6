// Head::Chunks: the head's samples in a time range as chunks, for the block writer.
#include <algorithm>
#include <deque>
#include <optional>

#include <fmt/format.h>

#include "tsdb/head.h"

namespace zw::tsdb {
namespace {

constexpr int kSamplesPerWrittenChunk = 120;

class HeadChunkSeriesSet final : public ChunkSeriesSet {
 public:
  HeadChunkSeriesSet(EpochManager::Guard guard, std::vector<MemSeries*> series, int64_t mint,
                     int64_t maxt)
      : guard_(std::move(guard)), series_(std::move(series)), mint_(mint), maxt_(maxt) {}

  bool Next() override {
    if (!err_.ok()) return false;
    while (++pos_ < series_.size()) {
      MemSeries* s = series_[pos_];
      std::vector<ClosedChunk> chunks;
      std::vector<Sample> ooo;
      {
        std::lock_guard lock(s->mu);
        // Inclusive bounds inside the set: [mint_, maxt_ - 1].
        if (!s->Overlaps(mint_, maxt_ - 1)) continue;
        chunks = s->Snapshot(mint_, maxt_ - 1);
        ooo = s->OutOfOrderSnapshot(mint_, maxt_ - 1);
        // The open chunk (always last, when present) is a copy of a chunk still being
        // appended to; it is treated like one that straddles the range: re-encoded.
        open_index_ = FindOpen(*s, chunks);
      }
      if (!Build(std::move(chunks), std::move(ooo))) {
        if (!err_.ok()) return false;
        continue;
      }
      labels_ = &s->labels();
      return true;
    }
    return false;
  }
  const Labels& labels() const override { return *labels_; }
  std::span<const ChunkMeta> chunks() const override { return metas_; }
  Status Err() const override { return err_; }

 private:
  // The snapshot's last chunk is the open one when the series has an open chunk whose
  // start lies within the snapshot (Snapshot appends it last).
  static size_t FindOpen(const MemSeries& s, const std::vector<ClosedChunk>& chunks) {
    if (chunks.empty() || !s.HasOpenChunkLocked()) return SIZE_MAX;
    return chunks.back().min_t == s.OpenMinTimeLocked() ? chunks.size() - 1 : SIZE_MAX;
  }

  // Fills metas_ from a snapshot; false when nothing of it lies in range.
  bool Build(std::vector<ClosedChunk> chunks, std::vector<Sample> ooo) {
    metas_.clear();
    held_ = std::move(chunks);
    encoded_.clear();
    const int64_t last = maxt_ - 1;
    if (ooo.empty()) {
      // Chunks entirely inside go as they are; the others are cut to the range.
      for (size_t i = 0; i < held_.size(); ++i) {
        const ClosedChunk& c = held_[i];
        if (i != open_index_ && c.min_t >= mint_ && c.max_t <= last) {
          if (!c.mapped) {
            metas_.push_back({c.min_t, c.max_t, c.bytes()});
            continue;
          }
          // Read through the file rather than the mapping (ClosedChunk::Load), so that
          // writing a block does not make the chunk files' pages resident.
          auto b = c.Load(&scratch_);
          if (!b.ok()) {
            err_ = Status::Error(b.status().code(), "head chunks of {}: {}",
                                 series_[pos_]->labels().ToString(), b.status().ToString());
            return false;
          }
          encoded_.emplace_back(reinterpret_cast<const char*>(b->data()), b->size());
          metas_.push_back({c.min_t, c.max_t, encoded_.back()});
          continue;
        }
        ChunksIterator it({c}, mint_, last);
        if (!Reencode(it)) return false;
      }
    } else {
      ChunksIterator it(std::move(held_), mint_, last, std::move(ooo));
      held_.clear();
      if (!Reencode(it)) return false;
    }
    return !metas_.empty();
  }

  // Appends the iterator's samples as chunks of at most kSamplesPerWrittenChunk.
  bool Reencode(ChunksIterator& it) {
    std::optional<chunkenc::XorChunk> chunk;
    int64_t first = 0, prev = 0;
    auto finish = [&] {
      if (!chunk || chunk->NumSamples() == 0) return;
      auto b = chunk->Bytes();
      encoded_.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
      metas_.push_back({first, prev, encoded_.back()});
      chunk.reset();
    };
    while (it.Next()) {
      Sample smp = it.At();
      if (!chunk) {
        chunk.emplace();
        first = smp.t;
      }
      chunk->Append(smp.t, smp.v);
      prev = smp.t;
      if (chunk->NumSamples() >= kSamplesPerWrittenChunk) finish();
    }
    if (!it.Err().ok()) {
      err_ = Status::Error(it.Err().code(), "head chunks of {}: {}",
                           series_[pos_]->labels().ToString(), it.Err().ToString());
      return false;
    }
    finish();
    return true;
  }

  EpochManager::Guard guard_;  // keeps series_ alive
  std::vector<MemSeries*> series_;
  const int64_t mint_, maxt_;
  size_t pos_ = static_cast<size_t>(-1);
  size_t open_index_ = SIZE_MAX;
  const Labels* labels_ = nullptr;
  std::vector<ClosedChunk> held_;  // keeps shared chunk bytes alive for metas_
  // Re-encoded chunk bytes, and mapped chunks' bytes read from their files; a deque keeps
  // their addresses.
  std::deque<std::string> encoded_;
  std::vector<uint8_t> scratch_;  // a mapped chunk's bytes on their way to encoded_
  std::vector<ChunkMeta> metas_;
  Status err_;
};

}  // namespace

std::unique_ptr<ChunkSeriesSet> Head::Chunks(int64_t mint, int64_t maxt) {
  EpochManager::Guard guard = ReadGuard();
  // Below MinTime() the data is in blocks (Truncate raises it). Not MinValidTime(): the DB
  // raises that before cutting [mint, t) so that nothing more arrives there.
  mint = std::max(mint, MinTime());
  std::vector<MemSeries*> series;
  if (mint < maxt) {
    Postings refs = postings_.All();
    series.reserve(refs.size());
    for (SeriesRef r : refs) {
      if (MemSeries* s = GetByRef(r)) series.push_back(s);
    }
    std::sort(series.begin(), series.end(),
              [](const MemSeries* a, const MemSeries* b) { return a->labels() < b->labels(); });
  }
  return std::make_unique<HeadChunkSeriesSet>(std::move(guard), std::move(series), mint, maxt);
}

}  // namespace zw::tsdb
