#include "core/labels.h"

#include <thread>

#include <gtest/gtest.h>

#include "core/symbols.h"

namespace zw {
namespace {

TEST(Labels, SortedDedupedAndEmptyValuesDropped) {
  Labels l{{"b", "2"}, {"a", "1"}, {"c", ""}, {"a", "3"}};
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name, "a");
  EXPECT_EQ(l[0].value, "3");  // last duplicate wins
  EXPECT_EQ(l[1].name, "b");
  EXPECT_FALSE(l.Has("c"));
}

TEST(Labels, EqualContentGivesEqualHashAndInternedStorage) {
  Labels a{{"__name__", "up"}, {"job", "x"}};
  Labels b{{"job", "x"}, {"__name__", "up"}};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Hash(), b.Hash());
  EXPECT_EQ(a[1].value.data(), b[1].value.data());
  EXPECT_NE(a.Hash(), (Labels{{"__name__", "up"}, {"job", "y"}}).Hash());
}

TEST(Labels, HashSeparatesNameValueBoundaries) {
  EXPECT_NE((Labels{{"a", "bc"}}).Hash(), (Labels{{"ab", "c"}}).Hash());
}

TEST(Labels, ToStringEscapes) {
  Labels l{{"__name__", "m"}, {"a", "x\"y\\z\n"}};
  EXPECT_EQ(l.ToString(), "m{a=\"x\\\"y\\\\z\\n\"}");
  EXPECT_EQ(Labels{}.ToString(), "{}");
}

TEST(Labels, Ordering) {
  Labels a{{"a", "1"}};
  Labels b{{"a", "2"}};
  Labels c{{"a", "1"}, {"b", "1"}};
  EXPECT_LT(a, b);
  EXPECT_LT(a, c);
  EXPECT_LT(c, b);
}

TEST(Labels, HashForAndWithout) {
  Labels l{{"__name__", "m"}, {"a", "1"}, {"b", "2"}};
  Labels other{{"__name__", "n"}, {"a", "1"}, {"b", "3"}};
  EXPECT_EQ(l.HashFor({"a"}), other.HashFor({"a"}));
  EXPECT_NE(l.HashFor({"a", "b"}), other.HashFor({"a", "b"}));
  EXPECT_EQ(l.HashWithout({"b"}), other.HashWithout({"b"}));  // __name__ always dropped
}

TEST(Labels, CopiesShareOneBlock) {
  Labels a{{"__name__", "up"}, {"job", "x"}};
  Labels b = a;
  EXPECT_EQ(&a[0], &b[0]);
  EXPECT_EQ(a.BlockBytes(), b.BlockBytes());
  Labels c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(&a[0], &c[0]);
  a = Labels{};
  EXPECT_EQ(c.MetricName(), "up");
  EXPECT_EQ(c.size(), 2u);
}

TEST(Labels, EmptyIsConsistent) {
  Labels e;
  EXPECT_EQ(e.Hash(), Labels::FromPairs({}).Hash());
  EXPECT_EQ(e.Hash(), (Labels{{"a", ""}}).Hash());
  EXPECT_EQ(e, Labels::FromSortedInterned({}));
  EXPECT_EQ(e.BlockBytes(), 0u);
  EXPECT_EQ(e.begin(), e.end());
  EXPECT_NE(e, (Labels{{"a", "1"}}));
  EXPECT_EQ(e.Get("a"), "");
}

TEST(Labels, EqualContentInSeparateBlocksIsEqual) {
  Labels a = Labels::FromPairs({{"a", "1"}, {"b", "2"}});
  Labels b = Labels::FromPairs({{"b", "2"}, {"a", "1"}});
  EXPECT_NE(&a[0], &b[0]);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, (Labels{{"a", "1"}}));
}

TEST(Labels, CopiesAcrossThreads) {
  Labels base{{"__name__", "m"}, {"k", "v"}};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([base] {
      for (int i = 0; i < 10000; ++i) {
        Labels copy = base;
        Labels moved = std::move(copy);
        ASSERT_EQ(moved.Get("k"), "v");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(base.Get("k"), "v");
}

TEST(LabelsBuilder, SetDelBuild) {
  Labels base{{"a", "1"}, {"b", "2"}};
  Labels l = LabelsBuilder(base).Set("c", "3").Del("a").Set("b", "x").Build();
  EXPECT_EQ(l, (Labels{{"b", "x"}, {"c", "3"}}));
}

TEST(Symbols, InternReturnsStableSharedStorage) {
  std::string s = "some-unique-interned-value";
  std::string_view a = Intern(s);
  s[0] = 'X';
  EXPECT_EQ(a, "some-unique-interned-value");
  EXPECT_EQ(Intern("some-unique-interned-value").data(), a.data());
  EXPECT_EQ(Intern(std::string(100000, 'q')).size(), 100000u);
}

}  // namespace
}  // namespace zw
