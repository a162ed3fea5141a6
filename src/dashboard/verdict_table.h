// VerdictTable: per series reference, a yes/no answer valid for one epoch — what the stream
// hub remembers of "does any subscription want this series?" so that the ingest path pays one
// atomic load per sample instead of a lock and a hash lookup.
//
// An answer is stored with the epoch it was decided in; Get with any other epoch finds
// nothing (kUnknown). So a caller that bumps its epoch whenever the question's premises change
// (subscriptions added or removed) invalidates every answer at once, without touching them.
//
// Layout: references below kDenseLimit (the head hands them out densely from 1) live in pages
// of kPageSize words, allocated on first use and kept until the table is destroyed (8 bytes per
// reference of a touched page; a page directory of 128 KiB). One word holds epoch << 1 | yes,
// read and written with single atomic operations: no lock, no hashing. Other references (0, or
// from a storage that does not number densely) go to sharded maps behind mutexes, bounded at
// kMaxSparsePerShard entries per shard (a full shard is emptied: its answers are decided again).
//
// Thread safety: every method may be called concurrently. Two Sets of the same reference race
// benignly: one wins, and an answer of an older epoch is never taken for a newer one.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace zw::dashboard {

class VerdictTable {
 public:
  enum class Verdict : uint8_t { kUnknown, kNo, kYes };

  static constexpr unsigned kPageBits = 12;
  static constexpr size_t kPageSize = size_t{1} << kPageBits;
  static constexpr size_t kPages = size_t{1} << 14;
  static constexpr uint64_t kDenseLimit = uint64_t{kPages} * kPageSize;  // 2^26
  static constexpr size_t kSparseShards = 16;
  static constexpr size_t kMaxSparsePerShard = size_t{1} << 16;

  VerdictTable();
  ~VerdictTable();
  VerdictTable(const VerdictTable&) = delete;
  VerdictTable& operator=(const VerdictTable&) = delete;

  // The answer stored for `ref` in `epoch`, else kUnknown. REQUIRES: 0 < epoch < 2^63.
  Verdict Get(uint64_t ref, uint64_t epoch) const {
    if (ref > 0 && ref < kDenseLimit) {
      const Page* page = pages_[ref >> kPageBits].load(std::memory_order_acquire);
      if (page == nullptr) return Verdict::kUnknown;
      return Decode((*page)[ref & (kPageSize - 1)].load(std::memory_order_acquire), epoch);
    }
    return GetSparse(ref, epoch);
  }

  // Stores the answer for `ref` in `epoch`. REQUIRES: 0 < epoch < 2^63.
  void Set(uint64_t ref, uint64_t epoch, bool yes);

  // Pages allocated so far (for tests and memory accounting).
  size_t pages() const { return page_count_.load(std::memory_order_relaxed); }

 private:
  using Page = std::array<std::atomic<uint64_t>, kPageSize>;
  struct SparseShard {
    std::mutex mu;
    std::unordered_map<uint64_t, uint64_t> words;  // guarded by mu
  };

  static Verdict Decode(uint64_t word, uint64_t epoch) {
    if (word >> 1 != epoch) return Verdict::kUnknown;
    return (word & 1) != 0 ? Verdict::kYes : Verdict::kNo;
  }
  static uint64_t Encode(uint64_t epoch, bool yes) { return epoch << 1 | (yes ? 1 : 0); }

  Verdict GetSparse(uint64_t ref, uint64_t epoch) const;

  const std::unique_ptr<std::atomic<Page*>[]> pages_;  // kPages slots, null until used
  std::atomic<size_t> page_count_{0};
  mutable std::array<SparseShard, kSparseShards> sparse_;
};

}  // namespace zw::dashboard
