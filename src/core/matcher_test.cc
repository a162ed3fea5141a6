#include "core/matcher.h"

#include <gtest/gtest.h>

namespace zw {
namespace {

TEST(Matcher, EqualityAndNegation) {
  auto eq = Matcher::MustMake(MatchType::kEqual, "job", "api");
  EXPECT_TRUE(eq.Matches("api"));
  EXPECT_FALSE(eq.Matches("apix"));
  EXPECT_FALSE(eq.MatchesEmpty());
  auto ne = Matcher::MustMake(MatchType::kNotEqual, "job", "api");
  EXPECT_TRUE(ne.Matches(""));
  EXPECT_TRUE(ne.MatchesEmpty());
}

TEST(Matcher, RegexIsFullyAnchored) {
  auto re = Matcher::MustMake(MatchType::kRegexMatch, "a", "foo.*");
  EXPECT_TRUE(re.Matches("foobar"));
  EXPECT_FALSE(re.Matches("xfoo"));
  auto alt = Matcher::MustMake(MatchType::kRegexMatch, "a", "a|b");
  EXPECT_TRUE(alt.Matches("a"));
  EXPECT_FALSE(alt.Matches("ab"));  // anchoring applies to the whole alternation
  EXPECT_EQ(alt.SetMatches(), (std::vector<std::string>{"a", "b"}));
  auto nre = Matcher::MustMake(MatchType::kRegexNoMatch, "a", ".+");
  EXPECT_TRUE(nre.MatchesEmpty());
  EXPECT_FALSE(nre.Matches("x"));
}

TEST(Matcher, SetMatchesOnlyForPlainLiterals) {
  EXPECT_TRUE(Matcher::MustMake(MatchType::kRegexMatch, "a", "a.b|c").SetMatches().empty());
  EXPECT_EQ(Matcher::MustMake(MatchType::kRegexMatch, "a", "abc").SetMatches().size(), 1u);
}

TEST(Matcher, BadRegexNamesLabelAndPattern) {
  auto m = Matcher::Make(MatchType::kRegexMatch, "job", "a(b");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("a(b"), std::string::npos);
  EXPECT_NE(m.status().message().find("job"), std::string::npos);
}

TEST(Matcher, ToString) {
  EXPECT_EQ(Matcher::MustMake(MatchType::kRegexNoMatch, "a", "x\"y").ToString(), "a!~\"x\\\"y\"");
}

}  // namespace
}  // namespace zw
