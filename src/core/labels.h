// Label sets: the identity of a series.
//
// A Labels value is an immutable, sorted (by name) list of name/value pairs with unique
// names and no empty values, whose strings are interned (see symbols.h), and whose 64-bit
// hash (XXH3 over name 0xff value 0xff ...) is computed once on construction. The metric
// name is the label "__name__". Copying is cheap (a vector of views). Thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <initializer_list>
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
  Labels();
  // Sorts, interns and drops pairs whose value is empty. For duplicate names the last wins.
  Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);
  static Labels FromPairs(std::vector<std::pair<std::string_view, std::string_view>> pairs);
  // REQUIRES: `sorted` is sorted by name, names unique, values non-empty and interned.
  static Labels FromSortedInterned(std::vector<Label> sorted);

  std::string_view Get(std::string_view name) const;  // "" when absent
  bool Has(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricNameLabel); }
  uint64_t Hash() const { return hash_; }
  // Hash over only the given (sorted) names, or all but them; used for grouping.
  uint64_t HashFor(const std::vector<std::string>& names) const;
  uint64_t HashWithout(const std::vector<std::string>& names) const;

  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  const Label& operator[](size_t i) const { return labels_[i]; }
  auto begin() const { return labels_.begin(); }
  auto end() const { return labels_.end(); }

  // Prometheus notation: name{a="b", c="d"}; values escaped.
  std::string ToString() const;
  // Bytes of label strings (for memory accounting and size limits).
  size_t ByteSize() const;

  friend bool operator==(const Labels& a, const Labels& b) {
    return a.hash_ == b.hash_ && a.labels_ == b.labels_;
  }
  friend std::strong_ordering operator<=>(const Labels& a, const Labels& b);

 private:
  void ComputeHash();

  std::vector<Label> labels_;
  uint64_t hash_ = 0;
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
