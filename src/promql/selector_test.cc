#include "promql/selector.h"

#include <gtest/gtest.h>

namespace zw::promql {
namespace {

TEST(Selector, MetricNameAndMatchers) {
  auto m = ParseSeriesSelector(
      R"(http_requests_total{job="api", code!="200", path=~"/v1/.*", x!~'a|b'})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->size(), 5u);
  EXPECT_EQ((*m)[0].ToString(), R"(__name__="http_requests_total")");
  EXPECT_EQ((*m)[2].type(), MatchType::kNotEqual);
  EXPECT_EQ((*m)[3].type(), MatchType::kRegexMatch);
  EXPECT_EQ((*m)[4].value(), "a|b");
}

TEST(Selector, BracesOnlyAndTrailingComma) {
  auto m = ParseSeriesSelector(R"({__name__=~"up|down", job="x",})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->size(), 2u);
}

TEST(Selector, Escapes) {
  auto m = ParseSeriesSelector(R"(m{a="x\"y\n\u00e9", b=`raw\n`})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)[1].value(), "x\"y\n\xc3\xa9");
  EXPECT_EQ((*m)[2].value(), "raw\\n");
}

TEST(Selector, ErrorsCarryPosition) {
  auto m = ParseSeriesSelector(R"(m{a=!"x"})");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message().substr(0, 4), "1:5:");
  for (const char* bad :
       {"", "{}", R"({a=""})", R"(m{a="x")", R"(m{a="x"} junk)", R"(m{a "x"})",
        R"(m{__name__="n"})", R"(m{a=~"("})", R"(m{a="\q"})", "9m", R"(m{a=~".*"}x)"}) {
    EXPECT_FALSE(ParseSeriesSelector(bad).ok()) << bad;
  }
}

TEST(Selector, EmptyMatchingOnlyIsRejected) {
  auto m = ParseSeriesSelector(R"({a=~".*", b!="x"})");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("non-empty matcher"), std::string::npos);
}

}  // namespace
}  // namespace zw::promql
