// Test helper shared by the iterator tests (storage, tsdb/block): reads a SampleIterator the
// way a batch reader does, so that Buffered() spans are checked against Next().
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "core/sample.h"
#include "storage/querier.h"

namespace zw::storage::testing {

// Reads `it` to the end: a random part of each span Buffered() offers (then on with Seek past
// it, or with Next sample by sample, which must agree with the span); Next, or now and then
// Seek to the next millisecond, where it offers none. *from_spans counts the samples taken
// from spans.
template <typename Rng>
std::vector<Sample> ReadBuffered(SampleIterator& it, Rng& rng, size_t* from_spans) {
  std::vector<Sample> out;
  bool live = it.Next();
  while (live) {
    std::span<const Sample> b = it.Buffered();
    if (b.empty()) {
      out.push_back(it.At());
      live = rng() % 4 == 0 ? it.Seek(it.At().t + 1) : it.Next();
      continue;
    }
    EXPECT_EQ(b.front(), it.At());
    for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1].t, b[i].t);
    const size_t use = 1 + rng() % b.size();
    std::vector<Sample> taken(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(use));
    out.insert(out.end(), taken.begin(), taken.end());
    *from_spans += use;
    if (rng() % 2 == 0) {
      live = it.Seek(taken.back().t + 1);
    } else {
      for (size_t i = 1; i < use; ++i) {
        EXPECT_TRUE(it.Next());
        EXPECT_EQ(it.At(), taken[i]);
      }
      live = it.Next();
    }
  }
  EXPECT_TRUE(it.Err().ok()) << it.Err().ToString();
  return out;
}

}  // namespace zw::storage::testing
