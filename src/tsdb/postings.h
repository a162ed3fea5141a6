// The head's inverted index: for every label pair, the sorted list of series references
// that carry it, plus the list of all series. Resolves label matchers to references.
//
// Thread-safe: lookups share a lock, additions and deletions take it exclusively.
#pragma once

#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/labels.h"
#include "core/matcher.h"
#include "storage/appender.h"

namespace zw::tsdb {

using storage::SeriesRef;
using Postings = std::vector<SeriesRef>;  // sorted ascending, no duplicates

class MemPostings {
 public:
  void Add(SeriesRef ref, const Labels& labels);
  void Delete(SeriesRef ref, const Labels& labels);
  // Removes many series at once: each affected list is rewritten once.
  void Delete(std::span<const std::pair<SeriesRef, const Labels*>> series);

  Postings Get(std::string_view name, std::string_view value) const;
  Postings All() const;
  // Sorted label names / values present in the index.
  std::vector<std::string> LabelNames() const;
  std::vector<std::string> LabelValues(std::string_view name) const;
  // The references of series matching every matcher. An empty matcher list selects all.
  Postings ForMatchers(const Matchers& matchers) const;

  // How many distinct name=value pairs the index holds.
  size_t NumLabelPairs() const;

 private:
  // Appends keeping order: references arrive almost sorted (concurrent creators may swap).
  static void InsertSorted(Postings& list, SeriesRef ref);
  // Union of the lists of every value of `name` whose match by `m` equals `want_match`.
  Postings UnionOfValues(std::string_view name, const Matcher& m, bool want_match) const;

  using ValueMap = std::unordered_map<std::string_view, Postings>;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string_view, ValueMap> index_;  // keys are interned
  Postings all_;
};

// Set operations over sorted postings.
Postings Intersect(const Postings& a, const Postings& b);
Postings Subtract(const Postings& a, const Postings& b);
Postings Merge(std::vector<const Postings*> lists);

}  // namespace zw::tsdb
