// Merging: one Querier over several (the head and the blocks, later remote endpoints).
//
// Series with equal labels in several inputs become one series whose samples come in time
// order with one sample per timestamp: where inputs overlap (a block and the head right after
// a crash between writing the block and truncating the head, or two blocks awaiting vertical
// compaction), the input listed first wins. Inputs are consulted only through their sorted
// Select, so nothing is materialised: memory is one series per input at a time.
#pragma once

#include <memory>
#include <vector>

#include "storage/querier.h"

namespace zw::storage {

// Merges sets that are each sorted by labels into one sorted set. The result's Err() is the
// first error of any input; its Warnings() are the inputs' warnings together.
std::unique_ptr<SeriesSet> MergeSeriesSets(std::vector<std::unique_ptr<SeriesSet>> sets);

// A Querier over all of `queriers` (none null). With a single input it is that input.
std::unique_ptr<Querier> NewMergeQuerier(std::vector<std::unique_ptr<Querier>> queriers);

// Iterates several iterators of one series as one: time order, one sample per timestamp, the
// earliest-listed iterator winning ties.
class MergeIterator final : public SampleIterator {
 public:
  explicit MergeIterator(std::vector<std::unique_ptr<SampleIterator>> its);
  bool Next() override;
  bool Seek(int64_t t) override;
  Sample At() const override { return cur_; }
  Status Err() const override;
  // The current input's buffered samples below every other input's next one.
  std::span<const Sample> Buffered() const override;

 private:
  struct Input {
    std::unique_ptr<SampleIterator> it;
    bool live = false;  // `it` sits on a sample
    Sample s;           // that sample, when live (read once, not again when it is taken)
  };
  // Moves `in` to its next sample.
  static void Advance(Input& in);
  // Makes the live input with the smallest timestamp (the earliest listed on ties) current,
  // and notes the smallest timestamp of the others (bound_).
  bool Pick();

  std::vector<Input> in_;
  Sample cur_;
  bool started_ = false;
  int64_t last_t_ = 0;  // timestamp of cur_, once started_
  // The input cur_ came from, and the smallest timestamp any other live input sits on. Inputs
  // rarely overlap (blocks cover disjoint ranges): while the current input's next sample stays
  // below bound_, Next() moves that input alone, without looking at the others.
  size_t cur_in_ = 0;
  int64_t bound_ = 0;
};

}  // namespace zw::storage
