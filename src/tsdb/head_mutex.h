// A mutex of 4 bytes for the head's per-series lock: std::mutex takes 40, and the head holds
// one per active series. Critical sections under it are short (an append, a snapshot), so
// a contended lock spins briefly and then sleeps on a futex (C++20 atomic wait).
//
// The classic three-state futex lock: 0 unlocked, 1 locked, 2 locked and maybe waited for.
// unlock wakes a sleeper only when the state says one may be there. Meets Lockable, so
// std::lock_guard and std::unique_lock work with it. Not recursive; not fair.
#pragma once

#include <atomic>
#include <cstdint>

namespace zw::tsdb {

class SmallMutex {
 public:
  SmallMutex() = default;
  SmallMutex(const SmallMutex&) = delete;
  SmallMutex& operator=(const SmallMutex&) = delete;

  void lock() {
    uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) [[likely]] {
      return;
    }
    LockSlow();
  }

  bool try_lock() {
    uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() {
    if (state_.exchange(0, std::memory_order_release) == 2) state_.notify_one();
  }

 private:
  void LockSlow() {
    for (int i = 0; i < 64; ++i) {
      uint32_t expected = 0;
      if (state_.load(std::memory_order_relaxed) == 0 &&
          state_.compare_exchange_weak(expected, 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    // From here on the lock is taken as "maybe waited for" (2), so that whoever releases
    // it wakes the next sleeper even if this thread gets it without sleeping.
    while (state_.exchange(2, std::memory_order_acquire) != 0) state_.wait(2);
  }

  std::atomic<uint32_t> state_{0};
};

static_assert(sizeof(SmallMutex) == 4);

}  // namespace zw::tsdb
