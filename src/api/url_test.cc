#include "api/url.h"

#include <gtest/gtest.h>

namespace zw::api {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(PercentDecodeTest, DecodesEscapesInEitherCase) {
  auto decoded = PercentDecode("a%2Fb%2fc%20d", PlusMode::kLiteral);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "a/b/c d");
}

TEST(PercentDecodeTest, PlusIsASpaceOnlyInQueries) {
  EXPECT_EQ(*PercentDecode("a+b%2B", PlusMode::kSpace), "a b+");
  EXPECT_EQ(*PercentDecode("a+b%2B", PlusMode::kLiteral), "a+b+");
}

TEST(PercentDecodeTest, DecodesNulAndHighBytes) {
  auto decoded = PercentDecode("%00%FF", PlusMode::kLiteral);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, std::string("\0\xFF", 2));
}

TEST(PercentDecodeTest, RejectsNonHexEscape) {
  auto decoded = PercentDecode("up%zz", PlusMode::kSpace);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decoded.status().message(), "invalid URL escape \"%zz\"");
}

TEST(PercentDecodeTest, RejectsTruncatedEscapeAtEnd) {
  EXPECT_FALSE(PercentDecode("abc%", PlusMode::kSpace).ok());
  auto decoded = PercentDecode("abc%4", PlusMode::kSpace);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().message(), "invalid URL escape \"%4\"");
}

TEST(PercentDecodeTest, RejectsHalfHexEscape) {
  EXPECT_FALSE(PercentDecode("%4g", PlusMode::kLiteral).ok());
  EXPECT_FALSE(PercentDecode("%g4", PlusMode::kLiteral).ok());
}

TEST(ParseQueryStringTest, KeepsRepeatedKeysInOrder) {
  auto params = ParseQueryString("match[]=up&x=1&match[]=down");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(*params, (Pairs{{"match[]", "up"}, {"x", "1"}, {"match[]", "down"}}));
}

TEST(ParseQueryStringTest, DecodesKeysAndValues) {
  auto params = ParseQueryString("match%5B%5D=up%7Bjob%3D%22a+b%22%7D");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(*params, (Pairs{{"match[]", "up{job=\"a b\"}"}}));
}

TEST(ParseQueryStringTest, KeyWithoutEqualsHasEmptyValue) {
  auto params = ParseQueryString("a&b=&c==d");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(*params, (Pairs{{"a", ""}, {"b", ""}, {"c", "=d"}}));
}

TEST(ParseQueryStringTest, SkipsEmptyPairs) {
  auto params = ParseQueryString("&a=1&&b=2&");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(*params, (Pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(ParseQueryStringTest, EmptyQueryHasNoParams) {
  auto params = ParseQueryString("");
  ASSERT_TRUE(params.ok());
  EXPECT_TRUE(params->empty());
}

TEST(ParseQueryStringTest, SemicolonIsAnOrdinaryCharacter) {
  auto params = ParseQueryString("a=1;b=2");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(*params, (Pairs{{"a", "1;b=2"}}));
}

TEST(ParseQueryStringTest, MalformedEscapeInKeyOrValueRejectsAll) {
  EXPECT_FALSE(ParseQueryString("good=1&bad%=2").ok());
  EXPECT_FALSE(ParseQueryString("good=1&bad=%x1").ok());
}

}  // namespace
}  // namespace zw::api
