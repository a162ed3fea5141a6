// Deferred reclamation for the head's series: a two-epoch scheme.
//
// Readers (queriers, appenders, chunk sets) may hold MemSeries pointers for their whole life,
// without any lock. A reader registers in the current epoch when it starts (Guard) and leaves
// when it ends. Truncation unlinks dead series from every index first, so no new reader can
// find them, then calls Synchronize(): it advances the epoch and waits until every reader
// registered in the previous one has left. After that no reader can still hold an unlinked
// series, and it is freed.
//
// Two counters suffice because Synchronize calls are serialised and each waits before it
// returns: when one starts, only readers of the current epoch can exist.
//
// Thread safe. Registering is a few atomic operations; Synchronize sleeps while it waits.
// A thread must not call Synchronize while it holds a Guard of the same manager (it would
// wait for itself): InGuard() tells.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace zw::tsdb {

class EpochManager {
 public:
  class Guard {
   public:
    Guard() = default;
    explicit Guard(EpochManager* m) : m_(m), depth_(ThreadDepth()) {
      slot_ = m_->Enter();
      depth_->fetch_add(1, std::memory_order_relaxed);
    }
    Guard(Guard&& o) noexcept : m_(o.m_), slot_(o.slot_), depth_(std::move(o.depth_)) {
      o.m_ = nullptr;
    }
    Guard& operator=(Guard&& o) noexcept {
      if (this != &o) {
        Release();
        m_ = o.m_;
        slot_ = o.slot_;
        depth_ = std::move(o.depth_);
        o.m_ = nullptr;
      }
      return *this;
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() { Release(); }

   private:
    void Release() {
      if (m_) {
        m_->Leave(slot_);
        depth_->fetch_sub(1, std::memory_order_relaxed);
      }
      m_ = nullptr;
    }
    EpochManager* m_ = nullptr;
    unsigned slot_ = 0;
    // The creating thread's guard count: a guard may be released on another thread.
    std::shared_ptr<std::atomic<int>> depth_;
  };

  // Advances the epoch and waits until the readers of the previous one have left.
  void Synchronize() {
    uint64_t e = epoch_.load();
    epoch_.store(e + 1);
    auto& old = active_[e & 1];
    auto sleep = std::chrono::microseconds(50);
    while (old.load() != 0) {
      std::this_thread::sleep_for(sleep);
      if (sleep < std::chrono::milliseconds(5)) sleep *= 2;
    }
  }

  // Whether the calling thread created a guard (of any manager) that is still alive.
  static bool InGuard() { return ThreadDepth()->load(std::memory_order_relaxed) > 0; }

 private:
  unsigned Enter() {
    while (true) {
      uint64_t e = epoch_.load();
      active_[e & 1].fetch_add(1);
      // Seq-cst on both sides: either Synchronize sees this reader in the counter, or this
      // reader sees the new epoch and registers there instead.
      if (epoch_.load() == e) return static_cast<unsigned>(e & 1);
      active_[e & 1].fetch_sub(1);
    }
  }
  void Leave(unsigned slot) { active_[slot].fetch_sub(1); }
  static const std::shared_ptr<std::atomic<int>>& ThreadDepth() {
    thread_local const auto depth = std::make_shared<std::atomic<int>>(0);
    return depth;
  }

  std::atomic<uint64_t> epoch_{0};
  std::atomic<int64_t> active_[2] = {0, 0};
};

}  // namespace zw::tsdb
