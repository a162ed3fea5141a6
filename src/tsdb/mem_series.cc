#include "tsdb/mem_series.h"

#include <bit>

namespace zw::tsdb {

AppendCheck MemSeries::Check(int64_t t, double v, uint64_t txn) const {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  if (txn != 0 && txn_ == txn && txn_max_t_ >= max_t_) {
    if (t < txn_max_t_) return AppendCheck::kOutOfOrder;
    if (t == txn_max_t_) {
      return bits == txn_last_bits_ ? AppendCheck::kIgnoreDuplicate
                                    : AppendCheck::kConflictingDuplicate;
    }
    return AppendCheck::kOk;
  }
  if (t < max_t_) return AppendCheck::kOutOfOrder;
  if (t == max_t_) {
    return bits == last_bits_ ? AppendCheck::kIgnoreDuplicate : AppendCheck::kConflictingDuplicate;
  }
  return AppendCheck::kOk;
}

void MemSeries::MarkPending(uint64_t txn, int64_t t, double v) {
  txn_ = txn;
  txn_max_t_ = t;
  txn_last_bits_ = std::bit_cast<uint64_t>(v);
}

void MemSeries::Append(int64_t t, double v, int64_t chunk_range, int max_samples) {
  if (open_.NumSamples() > 0) {
    // The open chunk ends at the next multiple of chunk_range after its first sample, so
    // chunks of all series line up with the block boundaries they will be cut into.
    int64_t start = open_min_t_;
    int64_t q = start / chunk_range - (start % chunk_range < 0 ? 1 : 0);
    int64_t end = (q + 1) * chunk_range;
    if (open_.NumSamples() >= max_samples || t >= end) CutChunk();
  }
  if (open_.NumSamples() == 0) open_min_t_ = t;
  open_.Append(t, v);
  max_t_ = t;
  last_bits_ = std::bit_cast<uint64_t>(v);
}

void MemSeries::CutChunk() {
  auto bytes = open_.Bytes();
  closed_.push_back({std::make_shared<const std::string>(
                         reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                     open_min_t_, max_t_});
  open_ = chunkenc::XorChunk();
}

bool MemSeries::Overlaps(int64_t mint, int64_t maxt) const {
  if (max_t_ == kMinTime || max_t_ < mint) return false;
  int64_t min_t = closed_.empty() ? open_min_t_ : closed_.front().min_t;
  return min_t <= maxt;
}

std::vector<ClosedChunk> MemSeries::Snapshot(int64_t mint, int64_t maxt) const {
  std::vector<ClosedChunk> out;
  for (const ClosedChunk& c : closed_) {
    if (c.max_t >= mint && c.min_t <= maxt) out.push_back(c);
  }
  if (open_.NumSamples() > 0 && max_t_ >= mint && open_min_t_ <= maxt) {
    auto bytes = open_.Bytes();
    out.push_back({std::make_shared<const std::string>(reinterpret_cast<const char*>(bytes.data()),
                                                       bytes.size()),
                   open_min_t_, max_t_});
  }
  return out;
}

double MemSeries::LastValueLocked() const { return std::bit_cast<double>(last_bits_); }

size_t MemSeries::ChunkBytesLocked() const {
  size_t n = open_.Bytes().size();
  for (const ClosedChunk& c : closed_) n += c.bytes->size();
  return n;
}

ChunksIterator::ChunksIterator(std::vector<ClosedChunk> chunks, int64_t mint, int64_t maxt)
    : chunks_(std::move(chunks)), mint_(mint), maxt_(maxt) {}

bool ChunksIterator::OpenChunk(size_t i) {
  idx_ = i;
  if (i >= chunks_.size()) {
    it_.reset();
    done_ = true;
    return false;
  }
  const std::string& b = *chunks_[i].bytes;
  it_.emplace(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
  return true;
}

// Timestamps within a series strictly increase, so the next sample is the first one at
// or after the current timestamp + 1: Next and Seek share one walk over the chunks.
bool ChunksIterator::Next() {
  if (!started_) return SeekFrom(mint_);
  if (done_ || cur_.t == kMaxTime) return false;
  return SeekFrom(cur_.t + 1);
}

bool ChunksIterator::Seek(int64_t t) {
  if (done_) return false;
  if (started_ && cur_.t >= t) return true;
  return SeekFrom(std::max(t, mint_));
}

bool ChunksIterator::SeekFrom(int64_t t) {
  if (done_) return false;
  size_t i = it_ ? idx_ : 0;
  while (i < chunks_.size() && chunks_[i].max_t < t) ++i;  // skip chunks that end before t
  if (!it_ || i != idx_) {
    if (!OpenChunk(i)) return false;
  }
  while (true) {
    if (it_->Seek(t)) {
      Sample s = it_->At();
      if (s.t > maxt_) {
        done_ = true;
        return false;
      }
      cur_ = s;
      started_ = true;
      return true;
    }
    if (!it_->Err().ok()) {
      err_ = it_->Err();
      done_ = true;
      return false;
    }
    if (!OpenChunk(idx_ + 1)) return false;
  }
}

}  // namespace zw::tsdb
