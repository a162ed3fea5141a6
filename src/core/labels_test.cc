#include "core/labels.h"

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
