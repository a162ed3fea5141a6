// Querier: the one way data leaves storage.
//
// A Querier is scoped to a time range [mint, maxt] (inclusive, ms) and selects series by
// label matchers, returning a lazy SeriesSet; it also lists label names and values. The
// head, each on-disk block and remote storage implement it; a merging querier combines
// them. PromQL, rules, analytics and the API read only through it.
//
// One iterator shape everywhere: Next / Seek / At / Err.
// Lifetimes: a SeriesSet, its Series and their iterators must not outlive the Querier.
// A Querier is used by one thread at a time; Queryable::NewQuerier is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/matcher.h"
#include "core/metric_type.h"
#include "core/sample.h"
#include "core/status.h"

namespace zw::storage {

class SampleIterator {
 public:
  virtual ~SampleIterator() = default;
  // Advances to the next sample; false at the end or on error (see Err).
  virtual bool Next() = 0;
  // Advances to the first sample with timestamp >= t; never moves backwards. False if none.
  virtual bool Seek(int64_t t) = 0;
  // REQUIRES: the last Next/Seek returned true.
  virtual Sample At() const = 0;
  virtual Status Err() const = 0;
  // Batch access, for readers that walk many samples: the samples this iterator already
  // holds decoded from the current one on — a span starting with At(), exactly the samples
  // Next would return in turn — or an empty span when it holds none that way (then use Next).
  // A caller that reads past the first moves on with Seek(t), t after the last one it used.
  // Valid until the next Next or Seek. REQUIRES: the last Next/Seek returned true.
  virtual std::span<const Sample> Buffered() const { return {}; }
};

class Series {
 public:
  virtual ~Series() = default;
  virtual const Labels& labels() const = 0;
  // A fresh iterator over the series' samples within the querier's range.
  virtual std::unique_ptr<SampleIterator> Iterator() const = 0;
};

class SeriesSet {
 public:
  virtual ~SeriesSet() = default;
  virtual bool Next() = 0;
  // REQUIRES: the last Next returned true. Valid until the next call to Next.
  virtual const Series& At() const = 0;
  virtual Status Err() const = 0;
  // Problems that did not stop the selection (e.g. one remote endpoint down).
  virtual std::vector<std::string> Warnings() const { return {}; }
};

// What the caller will do with the data, so an implementation may pick a cheaper source
// (e.g. downsampled blocks for a coarse step). All optional.
struct SelectHints {
  int64_t start = 0;  // ms
  int64_t end = 0;    // ms
  int64_t step = 0;   // ms; 0 for instant queries
  int64_t range = 0;  // ms of the enclosing range selector, if any
  std::string func;   // enclosing function, e.g. "rate"
};

class Querier {
 public:
  virtual ~Querier() = default;
  // Series matching every matcher (at least one matcher must select a non-empty value).
  // With `sorted`, series come in Labels order.
  virtual std::unique_ptr<SeriesSet> Select(bool sorted, const SelectHints* hints,
                                            const Matchers& matchers) = 0;
  // Sorted distinct values of label `name` among series matching `matchers` (all series
  // when empty) that have samples in range.
  virtual Result<std::vector<std::string>> LabelValues(std::string_view name,
                                                       const Matchers& matchers) = 0;
  // Sorted distinct label names among those series.
  virtual Result<std::vector<std::string>> LabelNames(const Matchers& matchers) = 0;
};

class Queryable {
 public:
  virtual ~Queryable() = default;
  virtual std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) = 0;
};

}  // namespace zw::storage
