#include "tsdb/mem_series.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace zw::tsdb {

AppendCheck MemSeries::Check(int64_t t, double v, uint64_t txn, int64_t ooo_min) const {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  auto duplicate = [bits](uint64_t held) {
    return held == bits ? AppendCheck::kIgnoreDuplicate : AppendCheck::kConflictingDuplicate;
  };
  if (txn != 0 && txn_ == txn && txn_max_t_ >= max_t_) {
    if (t > txn_max_t_) return AppendCheck::kOk;
    if (t == txn_max_t_) return duplicate(txn_last_bits_);
    // Older than this transaction's newest pending sample: in order against what is
    // committed, but the transaction will apply it after its newer one.
    if (t > max_t_) return t >= ooo_min ? AppendCheck::kOutOfOrderOk : AppendCheck::kOutOfOrder;
  }
  if (t > max_t_) return AppendCheck::kOk;
  if (t == max_t_) return duplicate(last_bits_);
  if (auto held = Lookup(t)) return duplicate(*held);
  return t >= ooo_min ? AppendCheck::kOutOfOrderOk : AppendCheck::kOutOfOrder;
}

std::optional<uint64_t> MemSeries::Lookup(int64_t t) const {
  auto o = std::lower_bound(ooo_.begin(), ooo_.end(), t,
                            [](const Sample& s, int64_t x) { return s.t < x; });
  if (o != ooo_.end() && o->t == t) return std::bit_cast<uint64_t>(o->v);
  auto find_in = [t](std::span<const uint8_t> bytes) -> std::optional<uint64_t> {
    chunkenc::XorIterator it(bytes);
    if (it.Seek(t) && it.At().t == t) return std::bit_cast<uint64_t>(it.At().v);
    return std::nullopt;
  };
  auto c = std::lower_bound(closed_.begin(), closed_.end(), t,
                            [](const ClosedChunk& ch, int64_t x) { return ch.max_t < x; });
  if (c != closed_.end() && c->min_t <= t) return find_in(c->data());
  if (open_.NumSamples() > 0 && open_.MinTime() <= t && t <= max_t_) return find_in(open_.Bytes());
  return std::nullopt;
}

void MemSeries::InsertOutOfOrder(int64_t t, double v) {
  auto o = std::lower_bound(ooo_.begin(), ooo_.end(), t,
                            [](const Sample& s, int64_t x) { return s.t < x; });
  ooo_.insert(o, Sample{t, v});
}

void MemSeries::MarkPending(uint64_t txn, int64_t t, double v) {
  if (txn_ == txn && t <= txn_max_t_) return;  // an out-of-order one: the newest stays
  txn_ = txn;
  txn_max_t_ = t;
  txn_last_bits_ = std::bit_cast<uint64_t>(v);
}

ClosedChunk ClosedChunk::Copy(std::span<const uint8_t> data, int64_t min_t, int64_t max_t) {
  std::shared_ptr<uint8_t[]> owned = std::make_shared_for_overwrite<uint8_t[]>(data.size());
  if (!data.empty()) std::memcpy(owned.get(), data.data(), data.size());
  ClosedChunk c;
  const uint8_t* first = owned.get();
  c.owner = std::shared_ptr<const void>(std::move(owned), first);
  c.min_t = min_t;
  c.max_t = max_t;
  c.size = static_cast<uint32_t>(data.size());
  return c;
}

Result<std::span<const uint8_t>> ClosedChunk::Load(std::vector<uint8_t>* scratch) const {
  if (!mapped) return data();
  scratch->resize(size);
  auto* file = static_cast<const fs::MappedFile*>(owner.get());
  Status s = file->ReadAt(disk.offset, {reinterpret_cast<char*>(scratch->data()), size});
  if (!s.ok()) {
    return Status::Error(s.code(), "head chunk file {} offset {}: {}", disk.file, disk.offset,
                         s.ToString());
  }
  return std::span<const uint8_t>(*scratch);
}

void MemSeries::Append(int64_t t, double v, int64_t chunk_range, int max_samples,
                       HeadChunkDisk* disk) {
  if (open_.NumSamples() > 0) {
    // The open chunk ends at the next multiple of chunk_range after its first sample, so
    // chunks of all series line up with the block boundaries they will be cut into.
    int64_t start = open_.MinTime();
    int64_t q = start / chunk_range - (start % chunk_range < 0 ? 1 : 0);
    int64_t end = (q + 1) * chunk_range;
    if (open_.NumSamples() >= max_samples || t >= end) CutChunk(disk);
  }
  open_.Append(t, v);
  max_t_ = t;
  last_bits_ = std::bit_cast<uint64_t>(v);
  if (open_.NumSamples() >= max_samples) {
    // A full chunk is cut now rather than at the next sample: its bytes go to the chunk
    // file (off the heap once that file is mapped) instead of waiting a scrape interval in
    // the open chunk's buffer, and the empty open chunk allocates nothing until then.
    CutChunk(disk);
  } else if (disk && disk->sealed() != seen_sealed_) {
    // Chunks cut earlier whose file was finished since move to the mapping now, rather
    // than at this series' next cut (up to a chunk's time later).
    MigrateChunks(*disk);
  }
}

void MemSeries::CutChunk(HeadChunkDisk* disk) {
  // Grown one entry at a time rather than doubled: a series holds a handful of closed
  // chunks (2-3 hours' worth), every spare entry costs 48 bytes per series, and moving a
  // handful of entries once per chunk cut costs next to nothing.
  if (closed_.size() == closed_.capacity()) closed_.reserve(closed_.size() + 1);
  closed_.push_back(ClosedChunk::Copy(open_.Bytes(), open_.MinTime(), max_t_));
  if (disk) {
    closed_.back().disk = disk->Write(closed_.back().bytes(), max_t_);
    MigrateChunks(*disk);
  }
  open_ = chunkenc::XorChunk();
}

void MemSeries::MigrateChunks(const HeadChunkDisk& disk) {
  const uint32_t sealed = disk.sealed();
  if (sealed == seen_sealed_) return;
  seen_sealed_ = sealed;
  for (ClosedChunk& c : closed_) {
    if (c.mapped || c.disk.file == 0) continue;
    std::shared_ptr<const fs::MappedFile> map = disk.Mapped(c.disk.file);
    if (!map) continue;
    std::string_view data = map->data();
    if (c.disk.offset > data.size() || data.size() - c.disk.offset < c.size) continue;
    // Not compared with the heap copy: that would fault the page in, which is what
    // mapping avoids. The file was written from these very bytes.
    const fs::MappedFile* file = map.get();
    c.owner = std::shared_ptr<const void>(std::move(map), file);
    c.mapped = true;
  }
}

bool MemSeries::Overlaps(int64_t mint, int64_t maxt) const {
  if (!ooo_.empty()) {
    auto o = std::lower_bound(ooo_.begin(), ooo_.end(), mint,
                              [](const Sample& s, int64_t x) { return s.t < x; });
    if (o != ooo_.end() && o->t <= maxt) return true;
  }
  if (closed_.empty() && open_.NumSamples() == 0) return false;
  if (max_t_ < mint) return false;
  int64_t min_t = closed_.empty() ? open_.MinTime() : closed_.front().min_t;
  return min_t <= maxt;
}

int64_t MemSeries::MinTimeLocked() const {
  int64_t m = kMaxTime;
  if (!closed_.empty()) {
    m = closed_.front().min_t;
  } else if (open_.NumSamples() > 0) {
    m = open_.MinTime();
  }
  if (!ooo_.empty()) m = std::min(m, ooo_.front().t);
  return m;
}

void MemSeries::TruncateBefore(int64_t mint) {
  auto keep = std::find_if(closed_.begin(), closed_.end(),
                           [mint](const ClosedChunk& c) { return c.max_t >= mint; });
  closed_.erase(closed_.begin(), keep);
  if (closed_.capacity() > closed_.size()) closed_.shrink_to_fit();
  if (open_.NumSamples() > 0 && max_t_ < mint) {
    open_ = chunkenc::XorChunk();
  }
  auto o = std::lower_bound(ooo_.begin(), ooo_.end(), mint,
                            [](const Sample& s, int64_t x) { return s.t < x; });
  ooo_.erase(ooo_.begin(), o);
  if (ooo_.empty()) std::vector<Sample>().swap(ooo_);
}

std::vector<Sample> MemSeries::OutOfOrderSnapshot(int64_t mint, int64_t maxt) const {
  auto lo = std::lower_bound(ooo_.begin(), ooo_.end(), mint,
                             [](const Sample& s, int64_t x) { return s.t < x; });
  auto hi =
      std::upper_bound(lo, ooo_.end(), maxt, [](int64_t x, const Sample& s) { return x < s.t; });
  return {lo, hi};
}

std::vector<ClosedChunk> MemSeries::Snapshot(int64_t mint, int64_t maxt) const {
  std::vector<ClosedChunk> out;
  out.reserve(closed_.size() + 1);  // one allocation per reader, not one per doubling
  for (const ClosedChunk& c : closed_) {
    if (c.max_t >= mint && c.min_t <= maxt) out.push_back(c);
  }
  if (open_.NumSamples() > 0 && max_t_ >= mint && open_.MinTime() <= maxt) {
    out.push_back(ClosedChunk::Copy(open_.Bytes(), open_.MinTime(), max_t_));
  }
  return out;
}

double MemSeries::LastValueLocked() const { return std::bit_cast<double>(last_bits_); }

size_t MemSeries::ChunkBytesLocked() const {
  size_t n = open_.Bytes().size() + ooo_.size() * sizeof(Sample);
  for (const ClosedChunk& c : closed_) n += c.size;
  return n;
}

namespace {

// Sample buffers of finished iterators, for the next ones on the thread: an iterator per
// series per query would otherwise allocate and zero-fill kBuffer samples each time.
constexpr size_t kPooledBuffers = 8;
thread_local std::vector<std::vector<Sample>> t_buffers;

}  // namespace

ChunksIterator::ChunksIterator(std::vector<ClosedChunk> chunks, int64_t mint, int64_t maxt,
                               std::vector<Sample> ooo)
    : chunks_(std::move(chunks)), mint_(mint), maxt_(maxt), ooo_(std::move(ooo)) {
  merged_ = !ooo_.empty();
}

ChunksIterator::~ChunksIterator() {
  if (buf_.size() == kBuffer && t_buffers.size() < kPooledBuffers) {
    t_buffers.push_back(std::move(buf_));
  }
}

bool ChunksIterator::Next() {
  if (!merged_) return ChunkNext();
  if (!out_started_) chunk_valid_ = ChunkNext();
  return Pick();
}

bool ChunksIterator::Seek(int64_t t) {
  if (!merged_) return ChunkSeek(t);
  if (out_started_ && out_.t >= t) return true;
  if (!out_started_) {
    chunk_valid_ = ChunkSeek(t);
  } else if (chunk_valid_ && buf_[pos_].t < t) {
    chunk_valid_ = ChunkSeek(t);
  }
  while (ooo_pos_ < ooo_.size() && ooo_[ooo_pos_].t < std::max(t, mint_)) ++ooo_pos_;
  return Pick();
}

bool ChunksIterator::Pick() {
  out_started_ = true;
  bool have_ooo = ooo_pos_ < ooo_.size() && ooo_[ooo_pos_].t <= maxt_;
  if (chunk_valid_ && (!have_ooo || buf_[pos_].t < ooo_[ooo_pos_].t)) {
    out_ = buf_[pos_];
    chunk_valid_ = ChunkNext();
    return true;
  }
  if (have_ooo) {
    out_ = ooo_[ooo_pos_++];
    return true;
  }
  ooo_pos_ = ooo_.size();
  return false;
}

bool ChunksIterator::OpenChunk(size_t i) {
  idx_ = i;
  if (i >= chunks_.size()) {
    it_.reset();
    done_ = true;
    return false;
  }
  // The XorIterator of the previous chunk may view scratch_: drop it before refilling.
  it_.reset();
  auto bytes = chunks_[i].Load(&scratch_);
  if (!bytes.ok()) {
    err_ = bytes.status();
    done_ = true;
    return false;
  }
  it_.emplace(*bytes);
  return true;
}

bool ChunksIterator::ChunkNext() {
  if (pos_ + 1 < len_) {
    ++pos_;
    return true;
  }
  if (!started_) return Fill(mint_);
  // Timestamps within a series strictly increase: the next sample is the first one at or
  // after the last decoded one + 1.
  if (len_ == 0 || buf_[len_ - 1].t == kMaxTime) {
    pos_ = len_ = 0;
    return false;
  }
  return Fill(buf_[len_ - 1].t + 1);
}

bool ChunksIterator::ChunkSeek(int64_t t) {
  if (!started_) return Fill(std::max(t, mint_));
  if (pos_ >= len_) return false;  // at the end
  if (buf_[pos_].t >= t) return true;
  if (buf_[len_ - 1].t >= t) {
    pos_ =
        static_cast<size_t>(std::partition_point(buf_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                                 buf_.begin() + static_cast<std::ptrdiff_t>(len_),
                                                 [t](const Sample& s) { return s.t < t; }) -
                            buf_.begin());
    return true;
  }
  return Fill(t);
}

bool ChunksIterator::Fill(int64_t t) {
  started_ = true;
  pos_ = len_ = 0;
  if (done_) return false;
  if (buf_.empty()) {
    if (!t_buffers.empty()) {
      buf_ = std::move(t_buffers.back());
      t_buffers.pop_back();
    } else {
      buf_.resize(kBuffer);
    }
  }
  size_t i = it_ ? idx_ : 0;
  while (i < chunks_.size() && chunks_[i].max_t < t) ++i;  // skip chunks that end before t
  if ((!it_ || i != idx_) && !OpenChunk(i)) return false;
  bool more = it_->Seek(t);
  while (true) {
    if (more) {
      // The sample Seek landed on, then the rest straight from the decoder into buf_.
      if (it_->At().t > maxt_) {
        done_ = true;
        break;
      }
      buf_[len_++] = it_->At();
      if (len_ == kBuffer) break;
      const size_t want = kBuffer - len_;
      Sample* out = buf_.data() + len_;
      const size_t got = it_->NextBatch(out, want);
      // Cut at the first sample past maxt_ (also in a chunk whose times do not ascend, as
      // one at a time did); a branch-free pass over the batch finds out whether there is one.
      const int64_t maxt = maxt_;
      bool past = false;
      for (size_t j = 0; j < got; ++j) past |= out[j].t > maxt;
      if (past) {
        len_ += static_cast<size_t>(
            std::find_if(out, out + got, [maxt](const Sample& s) { return s.t > maxt; }) - out);
        done_ = true;
        break;
      }
      len_ += got;
      if (got == want) break;  // buf_ is full
      // The chunk ended (or failed): on to the check below.
    }
    if (!it_->Err().ok()) {
      err_ = it_->Err();
      done_ = true;
      break;
    }
    if (!OpenChunk(idx_ + 1)) break;
    more = it_->Seek(t);
  }
  return len_ > 0;
}

}  // namespace zw::tsdb
