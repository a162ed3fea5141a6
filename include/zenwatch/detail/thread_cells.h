// Per-thread cells: the storage behind Counter and Histogram. Not part of the public interface.
//
// Every thread that updates a metric owns an Arena, a private table of 64-bit cells, and each
// metric's CellBlock has the same offset in every arena. An update is a plain load and store on
// the calling thread's own cell: no lock, no atomic read-modify-write (a `lock xadd` alone costs
// ~9 ns on the reference machine) and no cache line written by two threads. A read sums the
// block over all arenas.
//
// An arena is never freed. When its thread exits it goes back to a pool and the next new thread
// carries on from its values, so no increment is lost and the number of arenas is the peak
// number of live threads that have updated a metric. An arena costs 32 KiB for its chunk table
// plus 32 KiB per chunk of 4096 cells its thread has touched.
//
// Cells are atomics so that a reader may load a cell while its owner stores to it; the owner is
// its only writer, so relaxed loads and stores are enough and a read never sees a torn value.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <span>

namespace zenwatch::detail {

using Cell = std::atomic<std::uint64_t>;

inline constexpr std::uint32_t kChunkBits = 12;
inline constexpr std::uint32_t kChunkCells = std::uint32_t{1} << kChunkBits;
inline constexpr std::uint32_t kMaxChunks = 4096;

struct alignas(64) Chunk {
  Cell cells[kChunkCells];
};

struct Arena {
  std::atomic<Chunk*> chunks[kMaxChunks];
};

// The calling thread's arena; null until the thread's first update.
inline thread_local constinit Arena* tls_arena = nullptr;

// Finds or makes the calling thread's arena and the chunk holding `offset`.
// May throw std::bad_alloc.
Cell* LocalCellsSlow(std::uint32_t offset);

inline Cell* LocalCells(std::uint32_t offset) {
  if (Arena* arena = tls_arena; arena != nullptr) [[likely]] {
    // Only this thread stores to its own chunk table, so a relaxed load sees its own stores.
    Chunk* chunk = arena->chunks[offset >> kChunkBits].load(std::memory_order_relaxed);
    if (chunk != nullptr) [[likely]] {
      return &chunk->cells[offset & (kChunkCells - 1)];
    }
  }
  return LocalCellsSlow(offset);
}

// REQUIRES: the calling thread owns `cell` (it came from LocalCells on this thread).
inline void AddInt(Cell& cell, std::uint64_t n) {
  cell.store(cell.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline void AddDouble(Cell& cell, double v) {
  double sum = std::bit_cast<double>(cell.load(std::memory_order_relaxed)) + v;
  cell.store(std::bit_cast<std::uint64_t>(sum), std::memory_order_relaxed);
}

void NoteRejectedUpdate() noexcept;

// One metric's cells: `ints` integer cells followed by `doubles` floating-point cells, all zero
// at construction. Thread safety: Local() and ReadSums() may be called concurrently from any
// thread; construction and destruction must not race with either.
class CellBlock {
 public:
  // Throws std::invalid_argument if the block would not fit in one chunk, std::length_error
  // when the cell space (kMaxChunks * kChunkCells cells) is exhausted.
  CellBlock(std::uint32_t ints, std::uint32_t doubles);
  // Zeroes the block in every arena and returns it for reuse.
  ~CellBlock();
  CellBlock(const CellBlock&) = delete;
  CellBlock& operator=(const CellBlock&) = delete;

  // The calling thread's cells: [0, ints) integers, then [ints, ints + doubles) doubles.
  Cell* Local() const { return LocalCells(offset_); }

  // Sums each cell over all arenas. Updates in flight may or may not be included.
  // REQUIRES: ints.size() == this->ints, doubles.size() == this->doubles.
  void ReadSums(std::span<std::uint64_t> ints, std::span<double> doubles) const;

 private:
  std::uint32_t offset_;
  std::uint32_t ints_;
  std::uint32_t doubles_;
};

}  // namespace zenwatch::detail
