// A block's Querier and ChunkSeriesSet: matchers → postings → series decoded from the mapped
// index; chunks located and checksummed in the mapped segments, decoded lazily.
#include <algorithm>
#include <deque>
#include <optional>

#include "storage/series_set.h"
#include "tsdb/block/block.h"
#include "tsdb/chunkenc/xor_chunk.h"

namespace zw::tsdb {
namespace {

// A failure while reading `block`, keeping the file and offset of the damage.
Status InBlock(const Block& block, const Status& s) {
  if (s.code() != StatusCode::kCorruption) return s;
  return Status::Corruption(s.file(), s.offset(),
                            fmt::format("block {}: {}", block.dir(), s.message()));
}

const Intervals* DeletedFor(const TombstoneMap& ts, uint64_t id) {
  auto it = ts.find(id);
  return it == ts.end() || it->second.empty() ? nullptr : &it->second;
}

// The chunks of a series that overlap [mint, maxt] and are not wholly deleted.
void SelectChunks(std::vector<ChunkRef>& refs, int64_t mint, int64_t maxt, const Intervals* del) {
  std::erase_if(refs, [&](const ChunkRef& c) {
    return c.max_t < mint || c.min_t > maxt || (del && CoversRange(*del, c.min_t, c.max_t));
  });
}

struct LoadedChunk {
  ChunkRef ref;
  RawChunk raw;
};

// Samples of a series' chunks within [mint, maxt] that no tombstone deletes.
class BlockSampleIterator final : public storage::SampleIterator {
 public:
  BlockSampleIterator(const Block* block, const std::vector<LoadedChunk>* chunks, int64_t mint,
                      int64_t maxt, const Intervals* del)
      : block_(block), chunks_(chunks), mint_(mint), maxt_(maxt), del_(del) {}

  bool Next() override {
    if (done_) return false;
    if (!started_) return Advance(mint_);
    if (cur_.t == kMaxTime) return Finish();
    if (open_ && it_.Next()) {
      // The common case: the chunk's next sample, later than the current one, in range and
      // not deleted.
      Sample s = it_.At();
      if (s.t > cur_.t && s.t <= maxt_ && (del_ == nullptr || !IsDeleted(*del_, s.t))) {
        cur_ = s;
        return true;
      }
    }
    return Advance(cur_.t + 1);
  }
  bool Seek(int64_t t) override {
    if (done_) return false;
    if (started_ && cur_.t >= t) return true;
    return Advance(std::max(t, mint_));
  }
  Sample At() const override { return cur_; }
  Status Err() const override { return err_; }
  // The rest of a packed chunk up to maxt, when no tombstone applies.
  std::span<const Sample> Buffered() const override {
    if (done_ || !open_ || del_ != nullptr) return {};
    std::span<const Sample> rest = it_.Buffered();
    if (rest.empty() || rest.back().t <= maxt_) return rest;
    auto end = std::partition_point(rest.begin(), rest.end(),
                                    [this](const Sample& s) { return s.t <= maxt_; });
    return rest.first(static_cast<size_t>(end - rest.begin()));
  }

 private:
  bool Finish() {
    done_ = true;
    open_ = false;
    return false;
  }

  // Moves to the first kept sample at or after t.
  bool Advance(int64_t t) {
    while (true) {
      if (!open_) {
        while (idx_ < chunks_->size() && (*chunks_)[idx_].ref.max_t < t) ++idx_;
        if (idx_ >= chunks_->size()) return Finish();
        it_.Reset((*chunks_)[idx_].raw, block_->dir());
        open_ = true;
      }
      if (!it_.Seek(t)) {
        if (Status e = it_.Err(); !e.ok()) {
          err_ = InBlock(*block_,
                         Status::Corruption(block_->dir(), (*chunks_)[idx_].ref.ref, e.message()));
          return Finish();
        }
        open_ = false;
        ++idx_;
        continue;
      }
      Sample s = it_.At();
      if (s.t > maxt_) return Finish();
      if (del_ && IsDeleted(*del_, s.t)) {
        if (s.t == kMaxTime) return Finish();
        t = s.t + 1;
        continue;
      }
      cur_ = s;
      started_ = true;
      return true;
    }
  }

  const Block* block_;
  const std::vector<LoadedChunk>* chunks_;
  int64_t mint_, maxt_;
  const Intervals* del_;
  size_t idx_ = 0;
  ChunkSampleIterator it_;
  bool open_ = false;  // it_ is on chunk idx_
  Sample cur_;
  Status err_;
  bool started_ = false;
  bool done_ = false;
};

class BlockSeries final : public storage::Series {
 public:
  const Labels& labels() const override { return labels_; }
  std::unique_ptr<storage::SampleIterator> Iterator() const override {
    return std::make_unique<BlockSampleIterator>(block_, &chunks_, mint_, maxt_, del_);
  }

  const Block* block_ = nullptr;
  Labels labels_;
  std::vector<LoadedChunk> chunks_;
  int64_t mint_ = 0, maxt_ = 0;
  const Intervals* del_ = nullptr;
};

class BlockSeriesSet final : public storage::SeriesSet {
 public:
  BlockSeriesSet(std::shared_ptr<Block> block, std::shared_ptr<const TombstoneMap> ts,
                 BlockPostings ids, int64_t mint, int64_t maxt)
      : block_(std::move(block)), ts_(std::move(ts)), ids_(std::move(ids)) {
    cur_.block_ = block_.get();
    cur_.mint_ = mint;
    cur_.maxt_ = maxt;
  }

  bool Next() override {
    if (!err_.ok()) return false;
    while (++pos_ < ids_.size()) {
      uint64_t id = ids_[pos_];
      Status s = block_->index().Series(id, &cur_.labels_, &refs_);
      if (!s.ok()) return Fail(s);
      cur_.del_ = DeletedFor(*ts_, id);
      SelectChunks(refs_, cur_.mint_, cur_.maxt_, cur_.del_);
      if (refs_.empty()) continue;
      cur_.chunks_.clear();
      for (const ChunkRef& c : refs_) {
        auto raw = block_->chunk_reader().Read(c.ref);
        if (!raw.ok()) return Fail(raw.status());
        cur_.chunks_.push_back({c, *raw});
      }
      return true;
    }
    return false;
  }
  const storage::Series& At() const override { return cur_; }
  Status Err() const override { return err_; }

 private:
  bool Fail(const Status& s) {
    err_ = InBlock(*block_, s);
    pos_ = ids_.size();
    return false;
  }

  std::shared_ptr<Block> block_;
  std::shared_ptr<const TombstoneMap> ts_;
  BlockPostings ids_;
  size_t pos_ = static_cast<size_t>(-1);
  std::vector<ChunkRef> refs_;
  BlockSeries cur_;
  Status err_;
};

class BlockQuerier final : public storage::Querier {
 public:
  BlockQuerier(std::shared_ptr<Block> block, int64_t mint, int64_t maxt)
      : block_(std::move(block)), ts_(block_->tombstones()), mint_(mint), maxt_(maxt) {}

  // Series come in Labels order whether or not `sorted` asks for it: ids sort that way.
  std::unique_ptr<storage::SeriesSet> Select(bool, const storage::SelectHints*,
                                             const Matchers& matchers) override {
    if (!Overlaps())
      return std::make_unique<storage::VectorSeriesSet>(std::vector<storage::VectorSeries>{});
    auto ids = block_->index().ForMatchers(matchers);
    if (!ids.ok()) return storage::ErrorSeriesSet(InBlock(*block_, ids.status()));
    return std::make_unique<BlockSeriesSet>(block_, ts_, std::move(ids).value(), mint_, maxt_);
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const Matchers& matchers) override {
    if (!Overlaps()) return std::vector<std::string>{};
    if (matchers.empty() && CoversBlock()) return block_->index().LabelValues(name);
    std::vector<std::string> out;
    Status s = ForEachInRange(matchers, [&](const Labels& labels) {
      std::string_view v = labels.Get(name);
      if (!v.empty()) out.emplace_back(v);
    });
    if (!s.ok()) return s;
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Result<std::vector<std::string>> LabelNames(const Matchers& matchers) override {
    if (!Overlaps()) return std::vector<std::string>{};
    if (matchers.empty() && CoversBlock()) return block_->index().LabelNames();
    std::vector<std::string> out;
    Status s = ForEachInRange(matchers, [&](const Labels& labels) {
      for (const Label& l : labels) out.emplace_back(l.name);
    });
    if (!s.ok()) return s;
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  bool Overlaps() const {
    return mint_ <= maxt_ && maxt_ >= block_->meta().min_time && mint_ < block_->meta().max_time;
  }
  // Every series of the block has samples in range, so the label index answers directly.
  bool CoversBlock() const {
    return ts_->empty() && mint_ <= block_->meta().min_time && maxt_ >= block_->meta().max_time - 1;
  }

  template <typename F>
  Status ForEachInRange(const Matchers& matchers, F&& f) {
    auto ids = block_->index().ForMatchers(matchers);
    if (!ids.ok()) return InBlock(*block_, ids.status());
    Labels labels;
    std::vector<ChunkRef> refs;
    for (uint64_t id : *ids) {
      Status s = block_->index().Series(id, &labels, &refs);
      if (!s.ok()) return InBlock(*block_, s);
      SelectChunks(refs, mint_, maxt_, DeletedFor(*ts_, id));
      if (!refs.empty()) f(labels);
    }
    return Status::Ok();
  }

  std::shared_ptr<Block> block_;
  std::shared_ptr<const TombstoneMap> ts_;
  int64_t mint_, maxt_;
};

// Every series with its chunks in range, tombstones applied, for compaction.
class BlockChunkSeriesSet final : public ChunkSeriesSet {
 public:
  BlockChunkSeriesSet(std::shared_ptr<Block> block, int64_t mint, int64_t maxt)
      : block_(std::move(block)), ts_(block_->tombstones()), mint_(mint), maxt_(maxt) {
    auto ids = block_->index().AllPostings();
    if (ids.ok()) {
      ids_ = std::move(ids).value();
    } else {
      err_ = InBlock(*block_, ids.status());
    }
  }

  bool Next() override {
    if (!err_.ok()) return false;
    while (++pos_ < ids_.size()) {
      uint64_t id = ids_[pos_];
      Status s = block_->index().Series(id, &labels_, &refs_);
      if (!s.ok()) return Fail(s);
      const Intervals* del = DeletedFor(*ts_, id);
      SelectChunks(refs_, mint_, maxt_, del);
      chunks_.clear();
      owned_.clear();
      for (const ChunkRef& c : refs_) {
        auto raw = block_->chunk_reader().Read(c.ref);
        if (!raw.ok()) return Fail(raw.status());
        bool touched = del && std::any_of(del->begin(), del->end(), [&](const Interval& iv) {
                         return iv.maxt >= c.min_t && iv.mint <= c.max_t;
                       });
        if (!touched) {
          std::string buf;
          auto bytes = ChunkXorBytes(*raw, &buf, block_->dir());
          if (!bytes.ok()) return Fail(bytes.status());
          if (raw->encoding == ChunkEncoding::kXor) {
            chunks_.push_back({c.min_t, c.max_t, *bytes});
          } else {
            owned_.push_back(std::move(buf));
            chunks_.push_back({c.min_t, c.max_t, owned_.back()});
          }
          continue;
        }
        ChunkSampleIterator& it = it_;
        it.Reset(*raw, block_->dir());
        chunkenc::XorChunk out;
        int64_t min_t = 0, max_t = 0;
        while (it.Next()) {
          Sample smp = it.At();
          if (IsDeleted(*del, smp.t)) continue;
          if (out.NumSamples() == 0) min_t = smp.t;
          max_t = smp.t;
          out.Append(smp.t, smp.v);
        }
        if (Status e = it.Err(); !e.ok()) {
          return Fail(Status::Corruption(block_->dir(), c.ref, e.message()));
        }
        if (out.NumSamples() == 0) continue;
        auto b = out.Bytes();
        owned_.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
        chunks_.push_back({min_t, max_t, owned_.back()});
      }
      if (chunks_.empty()) continue;
      return true;
    }
    return false;
  }
  const Labels& labels() const override { return labels_; }
  std::span<const ChunkMeta> chunks() const override { return chunks_; }
  Status Err() const override { return err_; }

 private:
  bool Fail(const Status& s) {
    err_ = InBlock(*block_, s);
    pos_ = ids_.size();
    return false;
  }

  std::shared_ptr<Block> block_;
  std::shared_ptr<const TombstoneMap> ts_;
  int64_t mint_, maxt_;
  BlockPostings ids_;
  size_t pos_ = static_cast<size_t>(-1);
  Labels labels_;
  std::vector<ChunkRef> refs_;
  std::vector<ChunkMeta> chunks_;
  std::deque<std::string> owned_;  // deque: views into it stay valid as it grows
  ChunkSampleIterator it_;         // for chunks that tombstones cut into
  Status err_;
};

}  // namespace

std::unique_ptr<storage::Querier> Block::NewQuerier(int64_t mint, int64_t maxt) {
  return std::make_unique<BlockQuerier>(shared_from_this(), mint, maxt);
}

std::unique_ptr<ChunkSeriesSet> Block::Chunks(int64_t mint, int64_t maxt) {
  return std::make_unique<BlockChunkSeriesSet>(shared_from_this(), mint, maxt);
}

}  // namespace zw::tsdb
