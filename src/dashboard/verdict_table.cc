#include "dashboard/verdict_table.h"

namespace zw::dashboard {

VerdictTable::VerdictTable() : pages_(new std::atomic<Page*>[kPages]()) {}

VerdictTable::~VerdictTable() {
  for (size_t i = 0; i < kPages; ++i) delete pages_[i].load(std::memory_order_relaxed);
}

void VerdictTable::Set(uint64_t ref, uint64_t epoch, bool yes) {
  const uint64_t word = Encode(epoch, yes);
  if (ref > 0 && ref < kDenseLimit) {
    std::atomic<Page*>& slot = pages_[ref >> kPageBits];
    Page* page = slot.load(std::memory_order_acquire);
    if (page == nullptr) {
      // First use of this page: whoever installs theirs first wins; the others free theirs.
      auto fresh = std::make_unique<Page>();  // value-initialised: every word 0, no epoch
      if (slot.compare_exchange_strong(page, fresh.get(), std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        page = fresh.release();
        page_count_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    (*page)[ref & (kPageSize - 1)].store(word, std::memory_order_release);
    return;
  }
  SparseShard& shard = sparse_[ref % kSparseShards];
  std::lock_guard lock(shard.mu);
  if (shard.words.size() >= kMaxSparsePerShard && !shard.words.contains(ref)) shard.words.clear();
  shard.words[ref] = word;
}

VerdictTable::Verdict VerdictTable::GetSparse(uint64_t ref, uint64_t epoch) const {
  SparseShard& shard = sparse_[ref % kSparseShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.words.find(ref);
  return it == shard.words.end() ? Verdict::kUnknown : Decode(it->second, epoch);
}

}  // namespace zw::dashboard
