#include "dashboard/verdict_table.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace zw::dashboard {
namespace {

using Verdict = VerdictTable::Verdict;

TEST(VerdictTable, UnknownUntilSet) {
  VerdictTable t;
  EXPECT_EQ(t.Get(1, 1), Verdict::kUnknown);
  EXPECT_EQ(t.pages(), 0u);  // reading allocates nothing
  t.Set(1, 1, true);
  t.Set(2, 1, false);
  EXPECT_EQ(t.Get(1, 1), Verdict::kYes);
  EXPECT_EQ(t.Get(2, 1), Verdict::kNo);
  EXPECT_EQ(t.Get(3, 1), Verdict::kUnknown);  // same page, never set
  EXPECT_EQ(t.pages(), 1u);
}

TEST(VerdictTable, AnotherEpochFindsNothing) {
  VerdictTable t;
  t.Set(7, 3, true);
  EXPECT_EQ(t.Get(7, 3), Verdict::kYes);
  EXPECT_EQ(t.Get(7, 4), Verdict::kUnknown);  // the epoch moved: decide again
  EXPECT_EQ(t.Get(7, 2), Verdict::kUnknown);
  t.Set(7, 4, false);
  EXPECT_EQ(t.Get(7, 4), Verdict::kNo);
  EXPECT_EQ(t.Get(7, 3), Verdict::kUnknown);  // one answer per reference, the last one
}

TEST(VerdictTable, ReferencesOutsideTheDenseRangeWork) {
  VerdictTable t;
  const uint64_t refs[] = {0, VerdictTable::kDenseLimit, VerdictTable::kDenseLimit + 1,
                           uint64_t{1} << 40, ~uint64_t{0}};
  for (uint64_t ref : refs) {
    EXPECT_EQ(t.Get(ref, 5), Verdict::kUnknown) << ref;
    t.Set(ref, 5, ref % 2 == 0);
  }
  for (uint64_t ref : refs) {
    EXPECT_EQ(t.Get(ref, 5), ref % 2 == 0 ? Verdict::kYes : Verdict::kNo) << ref;
    EXPECT_EQ(t.Get(ref, 6), Verdict::kUnknown) << ref;
  }
  EXPECT_EQ(t.pages(), 0u);  // none of them took a dense page
  // The last dense reference and its neighbour across the page boundary.
  t.Set(VerdictTable::kDenseLimit - 1, 5, true);
  t.Set(VerdictTable::kPageSize, 5, true);
  EXPECT_EQ(t.Get(VerdictTable::kDenseLimit - 1, 5), Verdict::kYes);
  EXPECT_EQ(t.Get(VerdictTable::kPageSize - 1, 5), Verdict::kUnknown);
  EXPECT_EQ(t.Get(VerdictTable::kPageSize, 5), Verdict::kYes);
  EXPECT_EQ(t.pages(), 2u);
}

TEST(VerdictTable, LargeEpochsKeepTheirAnswer) {
  VerdictTable t;
  const uint64_t epoch = (uint64_t{1} << 62) + 3;
  t.Set(9, epoch, true);
  EXPECT_EQ(t.Get(9, epoch), Verdict::kYes);
  EXPECT_EQ(t.Get(9, epoch - 1), Verdict::kUnknown);
  t.Set(uint64_t{1} << 40, epoch, true);
  EXPECT_EQ(t.Get(uint64_t{1} << 40, epoch), Verdict::kYes);
}

TEST(VerdictTable, AFullSparseShardIsEmptiedNotGrown) {
  VerdictTable t;
  // References that all land in one sparse shard.
  const uint64_t base = VerdictTable::kDenseLimit;
  const uint64_t n = VerdictTable::kMaxSparsePerShard;
  for (uint64_t i = 0; i < n; ++i) t.Set(base + i * VerdictTable::kSparseShards, 1, true);
  EXPECT_EQ(t.Get(base, 1), Verdict::kYes);
  t.Set(base + n * VerdictTable::kSparseShards, 1, false);  // one more: the shard starts over
  EXPECT_EQ(t.Get(base, 1), Verdict::kUnknown);
  EXPECT_EQ(t.Get(base + n * VerdictTable::kSparseShards, 1), Verdict::kNo);
}

TEST(VerdictTable, ConcurrentWritersAndReadersSeeOnlyWrittenAnswers) {
  VerdictTable t;
  constexpr uint64_t kRefs = 3 * VerdictTable::kPageSize;  // pages installed concurrently
  std::atomic<bool> bad{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&t, w] {
      // Every writer gives the same answer for a reference: odd references are wanted.
      for (uint64_t ref = 1 + w; ref < kRefs; ref += 2) t.Set(ref, 1, ref % 2 == 1);
      for (uint64_t ref = 1; ref < kRefs; ++ref) t.Set(ref, 1, ref % 2 == 1);
    });
  }
  threads.emplace_back([&t, &bad] {
    for (int round = 0; round < 20; ++round) {
      for (uint64_t ref = 1; ref < kRefs; ++ref) {
        Verdict v = t.Get(ref, 1);
        if (v != Verdict::kUnknown && v != (ref % 2 == 1 ? Verdict::kYes : Verdict::kNo)) {
          bad = true;
        }
      }
    }
  });
  for (auto& th : threads) th.join();
  EXPECT_FALSE(bad.load());
  for (uint64_t ref = 1; ref < kRefs; ++ref) {
    ASSERT_EQ(t.Get(ref, 1), ref % 2 == 1 ? Verdict::kYes : Verdict::kNo) << ref;
  }
  EXPECT_EQ(t.pages(), 3u);  // one page per slot, whoever lost the race freed theirs
}

}  // namespace
}  // namespace zw::dashboard
