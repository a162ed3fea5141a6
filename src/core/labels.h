// Label sets: the identity of a series.
//
// A Labels value is an immutable, sorted (by name) list of name/value pairs with unique
// names and no empty values, whose strings are interned (see symbols.h), and whose 64-bit
// hash (XXH3 over name 0xff value 0xff ...) is computed once on construction. The metric
// name is the label "__name__".
//
// The pairs and the hash live in one immutable, reference-counted block that copies share:
// a copy is one pointer and an atomic increment, so the head, the index and the ingest
// caches hold a series' labels once. An empty Labels holds no block. Copies may be used and
// destroyed on any thread concurrently (like shared_ptr); one object is thread-compatible.
#pragma once

#include <algorithm>
#include <atomic>
#include <compare>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zw {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string_view name;
  std::string_view value;
  friend bool operator==(const Label&, const Label&) = default;
};

class Labels {
 public:
  Labels() = default;
  Labels(const Labels& o) noexcept : rep_(o.rep_) {
    if (rep_) rep_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Labels(Labels&& o) noexcept : rep_(std::exchange(o.rep_, nullptr)) {}
  Labels& operator=(const Labels& o) noexcept {
    Labels(o).swap(*this);
    return *this;
  }
  Labels& operator=(Labels&& o) noexcept {
    Labels(std::move(o)).swap(*this);
    return *this;
  }
  ~Labels() { Release(); }
  void swap(Labels& o) noexcept { std::swap(rep_, o.rep_); }

  // Sorts, interns and drops pairs whose value is empty. For duplicate names the last wins.
  Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);
  static Labels FromPairs(std::vector<std::pair<std::string_view, std::string_view>> pairs);
  // REQUIRES: `sorted` is sorted by name, names unique, values non-empty and interned.
  static Labels FromSortedInterned(std::vector<Label> sorted);

  std::string_view Get(std::string_view name) const;  // "" when absent
  bool Has(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricNameLabel); }
  uint64_t Hash() const { return rep_ ? rep_->hash : EmptyHash(); }
  // Hash over only the given (sorted) names, or all but them; used for grouping.
  uint64_t HashFor(const std::vector<std::string>& names) const;
  uint64_t HashWithout(const std::vector<std::string>& names) const;

  size_t size() const { return rep_ ? rep_->size : 0; }
  bool empty() const { return rep_ == nullptr; }
  const Label& operator[](size_t i) const { return rep_->pairs()[i]; }
  const Label* begin() const { return rep_ ? rep_->pairs() : nullptr; }
  const Label* end() const { return rep_ ? rep_->pairs() + rep_->size : nullptr; }

  // Prometheus notation: name{a="b", c="d"}; values escaped.
  std::string ToString() const;
  // Bytes of label strings (for memory accounting and size limits).
  size_t ByteSize() const;

  friend bool operator==(const Labels& a, const Labels& b) {
    if (a.rep_ == b.rep_) return true;
    if (a.Hash() != b.Hash() || a.size() != b.size()) return false;
    return std::equal(a.begin(), a.end(), b.begin());
  }
  friend std::strong_ordering operator<=>(const Labels& a, const Labels& b);

  // Heap bytes of the shared block (0 when empty), for memory accounting.
  size_t BlockBytes() const;

 private:
  // The shared block: this header, then `size` pairs. Never modified once built.
  struct Rep {
    std::atomic<uint32_t> refs;
    uint32_t size;
    uint64_t hash;
    Label* pairs() { return reinterpret_cast<Label*>(this + 1); }
    const Label* pairs() const { return reinterpret_cast<const Label*>(this + 1); }
  };
  static_assert(sizeof(Rep) % alignof(Label) == 0);

  static uint64_t EmptyHash();
  void Release() noexcept {
    if (rep_ && rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) Free(rep_);
    rep_ = nullptr;
  }
  static void Free(Rep* rep) noexcept;

  Rep* rep_ = nullptr;
};

// Builds a Labels from a base by setting and deleting labels.
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  explicit LabelsBuilder(const Labels& base);
  LabelsBuilder& Set(std::string_view name, std::string_view value);  // "" deletes
  LabelsBuilder& Del(std::string_view name);
  std::string_view Get(std::string_view name) const;
  Labels Build() const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

struct LabelsHash {
  size_t operator()(const Labels& l) const { return l.Hash(); }
};

}  // namespace zw
