#include "zenwatch/detail/thread_cells.h"

#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "zenwatch/types.h"

namespace zenwatch {
namespace detail {
namespace {

constexpr std::uint32_t kChunkMask = kChunkCells - 1;
constexpr std::uint64_t kTotalCells = std::uint64_t{kMaxChunks} * kChunkCells;

// The arenas and the allocator of offsets shared by all of them.
struct CellSpace {
  std::mutex mu;
  std::vector<Arena*> arenas;  // every arena ever made, in use or idle
  std::vector<Arena*> idle;    // arenas whose thread has exited
  std::uint64_t next = 0;      // first never-allocated offset
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> free_by_size;
};

// Leaked on purpose: metrics in static objects and the main thread's exit handlers reach it
// after ordinary statics could have been destroyed.
CellSpace& Space() {
  static CellSpace* space = new CellSpace;
  return *space;
}

std::atomic<std::uint64_t> rejected_updates{0};

// Set once the thread's lease has been returned; an update made by a later thread_local
// destructor then takes an arena for good rather than registering a second lease.
thread_local constinit bool tls_exiting = false;

struct ArenaLease {
  ~ArenaLease() {
    tls_exiting = true;
    if (tls_arena == nullptr) return;
    CellSpace& space = Space();
    std::lock_guard lock(space.mu);
    space.idle.push_back(tls_arena);
    tls_arena = nullptr;
  }
};

void AcquireArena() {
  CellSpace& space = Space();
  {
    std::lock_guard lock(space.mu);
    if (!space.idle.empty()) {
      tls_arena = space.idle.back();
      space.idle.pop_back();
    } else {
      auto* arena = new Arena();
      space.arenas.push_back(arena);
      tls_arena = arena;
    }
  }
  if (!tls_exiting) {
    // Constructed on first use, so its destructor runs when this thread exits.
    thread_local ArenaLease lease;
    (void)lease;
  }
}

}  // namespace

Cell* LocalCellsSlow(std::uint32_t offset) {
  if (tls_arena == nullptr) AcquireArena();
  std::atomic<Chunk*>& slot = tls_arena->chunks[offset >> kChunkBits];
  Chunk* chunk = slot.load(std::memory_order_relaxed);
  if (chunk == nullptr) {
    chunk = new Chunk();
    // Release: a reader that sees the pointer sees the zeroed cells.
    slot.store(chunk, std::memory_order_release);
  }
  return &chunk->cells[offset & kChunkMask];
}

void NoteRejectedUpdate() noexcept { rejected_updates.fetch_add(1, std::memory_order_relaxed); }

CellBlock::CellBlock(std::uint32_t ints, std::uint32_t doubles) : ints_(ints), doubles_(doubles) {
  const std::uint64_t size = std::uint64_t{ints} + doubles;
  if (size == 0 || size > kChunkCells) {
    throw std::invalid_argument("zenwatch: a metric needs between 1 and " +
                                std::to_string(kChunkCells) + " cells, not " +
                                std::to_string(size));
  }
  const auto size32 = static_cast<std::uint32_t>(size);
  CellSpace& space = Space();
  std::lock_guard lock(space.mu);
  if (auto it = space.free_by_size.find(size32);
      it != space.free_by_size.end() && !it->second.empty()) {
    offset_ = it->second.back();
    it->second.pop_back();
    return;
  }
  std::uint64_t start = space.next;
  if ((start & kChunkMask) + size > kChunkCells) start = (start | kChunkMask) + 1;  // no straddling
  if (start + size > kTotalCells) {
    throw std::length_error("zenwatch: out of metric cells (" + std::to_string(kTotalCells) +
                            " in all)");
  }
  offset_ = static_cast<std::uint32_t>(start);
  space.next = start + size;
}

CellBlock::~CellBlock() {
  const std::uint32_t size = ints_ + doubles_;
  CellSpace& space = Space();
  std::lock_guard lock(space.mu);
  for (Arena* arena : space.arenas) {
    Chunk* chunk = arena->chunks[offset_ >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) continue;
    Cell* cells = &chunk->cells[offset_ & kChunkMask];
    for (std::uint32_t i = 0; i < size; ++i) cells[i].store(0, std::memory_order_relaxed);
  }
  space.free_by_size[size].push_back(offset_);
}

void CellBlock::ReadSums(std::span<std::uint64_t> ints, std::span<double> doubles) const {
  for (auto& v : ints) v = 0;
  for (auto& v : doubles) v = 0;
  CellSpace& space = Space();
  std::lock_guard lock(space.mu);
  for (const Arena* arena : space.arenas) {
    const Chunk* chunk = arena->chunks[offset_ >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) continue;
    const Cell* cells = &chunk->cells[offset_ & kChunkMask];
    for (std::uint32_t i = 0; i < ints_; ++i) ints[i] += cells[i].load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < doubles_; ++i) {
      doubles[i] += std::bit_cast<double>(cells[ints_ + i].load(std::memory_order_relaxed));
    }
  }
}

}  // namespace detail

std::uint64_t RejectedUpdates() noexcept {
  return detail::rejected_updates.load(std::memory_order_relaxed);
}

}  // namespace zenwatch
