// A block's index file (docs/format/blocks.md, "Index"): symbols, series with their chunk
// references, the label index and postings, located by a table of contents.
//
// BuildIndex turns sorted series into the file's bytes. IndexReader reads a mapped index:
// Open checks the header, the TOC and every section's CRC32C and decodes the symbol table
// and label index; everything after that reads the mapping and checks each length it reads,
// so no bytes make it read outside the file. Immutable after Open; thread safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/matcher.h"
#include "core/status.h"

namespace zw::tsdb {

inline constexpr uint32_t kIndexMagic = 0x5A574958;  // "ZWIX"; on-disk, do not change
inline constexpr uint8_t kIndexVersion = 1;

// A chunk as the index records it: its time range (both inclusive) and where it lives.
struct ChunkRef {
  int64_t min_t = 0;
  int64_t max_t = 0;
  uint64_t ref = 0;
  friend bool operator==(const ChunkRef&, const ChunkRef&) = default;
};

struct IndexSeries {
  Labels labels;
  std::vector<ChunkRef> chunks;  // in time order, not overlapping
};

// REQUIRES: `series` sorted by labels without duplicates; each series' chunks in time order
// and not overlapping.
std::string BuildIndex(const std::vector<IndexSeries>& series);

// For tests and fuzzing: recomputes the CRC32Cs of every section and of the TOC of an index
// whose header and TOC are intact enough to locate them (others are left alone), so that
// damage inside sections reaches the decoders instead of the checksums.
void RechecksumIndex(std::string& index);

// Reads everything an index holds through `r` (label names and values, postings for each
// pair and for matchers, every series); returns the first error. For tests and fuzzing.
Status ExerciseIndex(const class IndexReader& r);

// A series id is the series' offset in the series section, so ids sort like the series'
// labels. A postings list is sorted ascending without duplicates.
using BlockPostings = std::vector<uint64_t>;

class IndexReader {
 public:
  // `data` must stay mapped while the reader lives. `file` names it in errors.
  static Result<std::unique_ptr<IndexReader>> Open(std::string_view data, std::string file);

  // Label names / values present in the index, sorted.
  std::vector<std::string> LabelNames() const;
  std::vector<std::string> LabelValues(std::string_view name) const;

  Result<BlockPostings> Postings(std::string_view name, std::string_view value) const;
  Result<BlockPostings> AllPostings() const;
  // The series matching every matcher, resolved like the head's MemPostings::ForMatchers:
  // a matcher that does not match "" selects series whose value matches; one that does
  // match "" removes the series whose value does not. No matchers select every series.
  Result<BlockPostings> ForMatchers(const Matchers& matchers) const;

  // Decodes one series. `labels` holds interned strings. Errors: Corruption.
  Status Series(uint64_t id, Labels* labels, std::vector<ChunkRef>* chunks) const;

  size_t NumSymbols() const { return symbols_.size(); }
  const std::string& file() const { return file_; }
  // For cardinality statistics: every label name with its values' postings sizes.
  Result<std::vector<std::pair<std::string, uint64_t>>> PostingsSizes(std::string_view name) const;

 private:
  struct ValueEntry {
    std::string_view value;  // interned
    uint64_t offset;         // of its postings list in the postings section
  };
  struct NameEntry {
    std::string_view name;           // interned
    std::vector<ValueEntry> values;  // sorted by value
  };

  IndexReader(std::string_view data, std::string file) : data_(data), file_(std::move(file)) {}
  Status Corrupt(uint64_t offset, std::string_view what) const;
  Status ReadSymbols(std::string_view body, uint64_t base);
  Status ReadLabelIndex(std::string_view body, uint64_t base);
  Result<BlockPostings> ReadPostings(uint64_t offset) const;
  const NameEntry* FindName(std::string_view name) const;
  // Union of the postings of `name`'s values whose match by `m` equals `want_match`.
  Result<BlockPostings> UnionOfValues(std::string_view name, const Matcher& m,
                                      bool want_match) const;

  std::string_view data_;
  std::string file_;
  std::vector<std::string_view> symbols_;  // interned copies, sorted
  std::string_view series_;                // section bodies
  uint64_t series_base_ = 0;               // file offset of the series body
  std::string_view postings_;
  uint64_t postings_base_ = 0;
  std::vector<NameEntry> names_;  // sorted by name
};

}  // namespace zw::tsdb
