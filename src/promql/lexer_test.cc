#include "promql/lexer.h"

#include <gtest/gtest.h>

namespace zw::promql {
namespace {

using K = TokenKind;

std::vector<K> Kinds(std::string_view in) {
  std::vector<K> out;
  for (const Token& t : Lex(in)) out.push_back(t.kind);
  return out;
}

struct KindsCase {
  const char* input;
  std::vector<K> kinds;
};

class LexKinds : public testing::TestWithParam<KindsCase> {};

TEST_P(LexKinds, Tokens) {
  EXPECT_EQ(Kinds(GetParam().input), GetParam().kinds) << GetParam().input;
}

INSTANTIATE_TEST_SUITE_P(
    All, LexKinds,
    testing::Values(
        KindsCase{"", {K::kEof}}, KindsCase{"   # only a comment", {K::kEof}},
        KindsCase{"foo", {K::kIdentifier, K::kEof}},
        KindsCase{"foo:bar", {K::kMetricIdentifier, K::kEof}},
        KindsCase{":foo", {K::kMetricIdentifier, K::kEof}}, KindsCase{"1", {K::kNumber, K::kEof}},
        KindsCase{".5", {K::kNumber, K::kEof}}, KindsCase{"1.5e-3", {K::kNumber, K::kEof}},
        KindsCase{"0x1fA", {K::kNumber, K::kEof}},
        KindsCase{"Inf NaN inF nan", {K::kNumber, K::kNumber, K::kNumber, K::kNumber, K::kEof}},
        KindsCase{"5m", {K::kDuration, K::kEof}}, KindsCase{"1h30m", {K::kDuration, K::kEof}},
        KindsCase{"10ms", {K::kDuration, K::kEof}}, KindsCase{"1y2w3d", {K::kDuration, K::kEof}},
        KindsCase{"\"a\" 'b' `c`", {K::kString, K::kString, K::kString, K::kEof}},
        KindsCase{"+ - * / % ^ == != < <= > >=",
                  {K::kAdd, K::kSub, K::kMul, K::kDiv, K::kMod, K::kPow, K::kEqlc, K::kNeq, K::kLss,
                   K::kLte, K::kGtr, K::kGte, K::kEof}},
        KindsCase{"and or unless atan2 AND",
                  {K::kAnd, K::kOr, K::kUnless, K::kAtan2, K::kAnd, K::kEof}},
        KindsCase{"by without on ignoring group_left group_right bool offset",
                  {K::kBy, K::kWithout, K::kOn, K::kIgnoring, K::kGroupLeft, K::kGroupRight,
                   K::kBool, K::kOffset, K::kEof}},
        KindsCase{"sum SUM count_values topk",
                  {K::kAggregator, K::kAggregator, K::kAggregator, K::kAggregator, K::kEof}},
        KindsCase{"foo @ start()",
                  {K::kIdentifier, K::kAt, K::kIdentifier, K::kLeftParen, K::kRightParen, K::kEof}},
        KindsCase{"foo{a=\"b\",c!=\"d\",e=~\"f\",g!~\"h\"}",
                  {K::kIdentifier, K::kLeftBrace, K::kIdentifier, K::kAssign, K::kString, K::kComma,
                   K::kIdentifier, K::kNeq, K::kString, K::kComma, K::kIdentifier, K::kEqlRegex,
                   K::kString, K::kComma, K::kIdentifier, K::kNeqRegex, K::kString, K::kRightBrace,
                   K::kEof}},
        // Keywords are plain label names inside braces.
        KindsCase{"{on=\"x\", sum=\"y\"}",
                  {K::kLeftBrace, K::kIdentifier, K::kAssign, K::kString, K::kComma, K::kIdentifier,
                   K::kAssign, K::kString, K::kRightBrace, K::kEof}},
        KindsCase{"foo[5m:1m]",
                  {K::kIdentifier, K::kLeftBracket, K::kDuration, K::kColon, K::kDuration,
                   K::kRightBracket, K::kEof}},
        KindsCase{"foo # comment\n+ bar", {K::kIdentifier, K::kAdd, K::kIdentifier, K::kEof}},
        KindsCase{"(", {K::kLeftParen, K::kError}}, KindsCase{")", {K::kError}},
        KindsCase{"foo{", {K::kIdentifier, K::kLeftBrace, K::kError}},
        KindsCase{"\"abc", {K::kError}}, KindsCase{"`abc", {K::kError}},
        KindsCase{"1x", {K::kError}}, KindsCase{"$", {K::kError}},
        KindsCase{"[[", {K::kLeftBracket, K::kError}}, KindsCase{"]", {K::kError}},
        KindsCase{"}", {K::kError}}, KindsCase{"!a", {K::kError}}, KindsCase{"=~", {K::kError}}));

TEST(Lexer, PositionsAndText) {
  auto toks = Lex("sum(rate(x[5m]))");
  ASSERT_EQ(toks.size(), 11u);
  EXPECT_EQ(toks[0].text, "sum");
  EXPECT_EQ(toks[2].pos, 4u);
  EXPECT_EQ(toks[2].text, "rate");
  EXPECT_EQ(toks[6].pos, 11u);
  EXPECT_EQ(toks[6].text, "5m");
  EXPECT_EQ(toks[10].kind, K::kEof);
  EXPECT_EQ(toks[10].pos, 16u);
}

TEST(Lexer, StringValuesAreUnquoted) {
  auto toks = Lex(R"("a\"b\n\u00e9\x41\101" 'it\'s' `raw\n`)");
  ASSERT_EQ(toks.size(), 4u);
  EXPECT_EQ(toks[0].value,
            "a\"b\n\xc3\xa9"
            "AA");
  EXPECT_EQ(toks[1].value, "it's");
  EXPECT_EQ(toks[2].value, "raw\\n");
}

TEST(Lexer, ErrorMessages) {
  struct Case {
    const char* in;
    const char* msg;
    uint32_t pos;
  };
  for (const Case& c : {
           Case{"(foo", "unclosed left parenthesis", 4},
           Case{"foo)", "unexpected right parenthesis ')'", 3},
           Case{"foo[5m", "unclosed left bracket", 6},
           Case{"foo]", "unexpected right bracket ']'", 3},
           Case{"foo[5m[", "unexpected left bracket '['", 6},
           Case{"foo}", "unexpected right brace '}'", 3},
           Case{"foo{a=\"b\"", "unexpected end of input inside braces", 9},
           Case{"foo{{", "unexpected left brace '{'", 4},
           Case{"foo{1}", "unexpected character inside braces: '1'", 4},
           Case{"foo{a!b}", "unexpected character after '!' inside braces: 'b'", 5},
           Case{"a !b", "unexpected character after '!': 'b'", 2},
           Case{"a =~ b", "unexpected character after '=': '~'", 2},
           Case{"\"abc", "unterminated quoted string", 0},
           Case{"\"ab\nc\"", "unterminated quoted string", 0},
           Case{"`abc", "unterminated raw string", 0},
           Case{"$", "unexpected character: '$'", 0},
           Case{"1x", "bad number or duration syntax: \"1x\"", 0},
           Case{"foo[5m:1m:]", "unexpected colon ':'", 9},
           Case{R"("\q")", "unknown escape sequence 'q'", 0},
       }) {
    auto toks = Lex(c.in);
    ASSERT_FALSE(toks.empty());
    EXPECT_EQ(toks.back().kind, K::kError) << c.in;
    EXPECT_EQ(toks.back().value, c.msg) << c.in;
    EXPECT_EQ(toks.back().pos, c.pos) << c.in;
  }
}

TEST(Lexer, DescribeToken) {
  auto toks = Lex("foo x:y 1 5m \"a\" ( + and by sum @");
  std::vector<std::string> got;
  for (const Token& t : toks) got.push_back(DescribeToken(t));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "identifier \"foo\"", "metric identifier \"x:y\"", "number \"1\"",
                     "duration \"5m\"", "string \"\\\"a\\\"\"", "\"(\"", "<op:+>", "<op:and>",
                     "<by>", "<aggr:sum>", "<op:@>", "unclosed left parenthesis"}));
}

TEST(Lexer, QuoteStringRoundTrips) {
  for (std::string s : {std::string("plain"), std::string("q\"b\\s"), std::string("\n\t\r\a\b\f\v"),
                        std::string("\x01\x7f"), std::string("\xff\xfe"), std::string("é日本"),
                        std::string("\0", 1)}) {
    auto back = UnquoteString(QuoteString(s));
    ASSERT_TRUE(back.ok()) << QuoteString(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(QuoteString("a\"b\n"), R"("a\"b\n")");
  EXPECT_EQ(QuoteString("\x01"), R"("\x01")");
}

TEST(Lexer, LabelNames) {
  EXPECT_TRUE(IsLabelName("job"));
  EXPECT_TRUE(IsLabelName("_a1"));
  EXPECT_FALSE(IsLabelName("1a"));
  EXPECT_FALSE(IsLabelName("a:b"));
  EXPECT_FALSE(IsLabelName(""));
}

}  // namespace
}  // namespace zw::promql
