// Counter: a value that only goes up (Prometheus type "counter").
#pragma once

#include <cstdint>

#include "zenwatch/detail/thread_cells.h"
#include "zenwatch/types.h"

namespace zenwatch {

// Thread safety: every method may be called concurrently from any number of threads.
// Inc() takes no lock and does no atomic read-modify-write: each thread adds into cells of its
// own (see detail/thread_cells.h), so threads hammering one counter do not contend. Value()
// sums those cells under a lock shared by all metrics; it includes every increment that
// happened before it and may include increments made concurrently.
//
// Inc() can throw std::bad_alloc only on a thread's first update of a metric in a new chunk of
// 4096 cells; it never throws otherwise. A Counter must outlive every use of it.
class Counter {
 public:
  Counter();
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Inc() { detail::AddInt(cells_.Local()[kIntCell], 1); }

  // A negative or NaN amount is a programmer error: the call changes nothing and is counted in
  // RejectedUpdates(). +Inf is accepted, as Prometheus accepts it.
  void Inc(double amount) {
    if (!(amount >= 0.0)) [[unlikely]] {
      detail::NoteRejectedUpdate();
      return;
    }
    detail::Cell* cells = cells_.Local();
    // Whole amounts go to an integer cell: exact, and an integer add is the cheapest update.
    if (amount < 0x1p53) {
      const auto whole = static_cast<std::uint64_t>(amount);
      if (static_cast<double>(whole) == amount) {
        detail::AddInt(cells[kIntCell], whole);
        return;
      }
    }
    detail::AddDouble(cells[kDoubleCell], amount);
  }

  double Value() const;

 private:
  static constexpr int kIntCell = 0;
  static constexpr int kDoubleCell = 1;

  detail::CellBlock cells_;
};

}  // namespace zenwatch
