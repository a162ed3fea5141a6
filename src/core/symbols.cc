#include "core/symbols.h"

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include <xxhash.h>

namespace zw {
namespace {

// A shard owns an arena of fixed blocks; strings never straddle blocks, so the views stay
// valid forever. Sharding by hash keeps contention low when many threads intern at once.
class Shard {
 public:
  std::string_view Intern(std::string_view s, size_t& bytes) {
    std::lock_guard lock(mu_);
    auto it = set_.find(s);
    if (it != set_.end()) return *it;
    char* p = Allocate(s.size());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    std::string_view stored(p, s.size());
    set_.insert(stored);
    bytes += s.size();
    return stored;
  }

 private:
  static constexpr size_t kBlock = 64 * 1024;

  char* Allocate(size_t n) {
    if (n > kBlock / 4) {
      big_.push_back(std::make_unique<char[]>(n == 0 ? 1 : n));
      return big_.back().get();
    }
    if (blocks_.empty() || used_ + n > kBlock) {
      blocks_.push_back(std::make_unique<char[]>(kBlock));
      used_ = 0;
    }
    char* p = blocks_.back().get() + used_;
    used_ += n;
    return p;
  }

  std::mutex mu_;
  std::unordered_set<std::string_view> set_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::unique_ptr<char[]>> big_;
  size_t used_ = 0;
};

struct Table {
  static constexpr size_t kShards = 64;
  std::array<Shard, kShards> shards;
  std::atomic<size_t> bytes{0};
};

Table& GlobalTable() {
  static Table* table = new Table();  // never destroyed: views must outlive static dtors
  return *table;
}

}  // namespace

std::string_view Intern(std::string_view s) {
  Table& t = GlobalTable();
  size_t shard = XXH3_64bits(s.data(), s.size()) % Table::kShards;
  size_t added = 0;
  std::string_view out = t.shards[shard].Intern(s, added);
  if (added) t.bytes.fetch_add(added, std::memory_order_relaxed);
  return out;
}

size_t InternedBytes() { return GlobalTable().bytes.load(std::memory_order_relaxed); }

}  // namespace zw
