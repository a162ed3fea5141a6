#include "promql/parser.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "promql/lexer.h"

namespace zw::promql {
namespace {

// Fully parenthesised rendering that exposes the tree's shape.
std::string Tree(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      return "(" + Tree(*b.lhs) + " " + std::string(BinaryOpString(b.op)) + " " + Tree(*b.rhs) +
             ")";
    }
    case ExprKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      return std::string("(") + (u.negate ? "-" : "+") + Tree(*u.expr) + ")";
    }
    case ExprKind::kParen:
      return "[" + Tree(*e.As<ParenExpr>().expr) + "]";
    default:
      return ToString(e);
  }
}

std::string MustPrint(std::string_view in) {
  auto e = ParseExpr(in);
  if (!e.ok()) return "ERROR: " + e.status().message();
  return ToString(**e);
}

// --- Canonical printing: input -> ToString, which must also re-parse to itself. ---

struct PrintCase {
  const char* input;
  const char* canonical;
};

class Print : public testing::TestWithParam<PrintCase> {};

TEST_P(Print, Canonical) {
  const PrintCase& c = GetParam();
  EXPECT_EQ(MustPrint(c.input), c.canonical) << c.input;
  EXPECT_EQ(MustPrint(c.canonical), c.canonical) << "re-parse of " << c.canonical;
}

INSTANTIATE_TEST_SUITE_P(
    Selectors, Print,
    testing::Values(
        PrintCase{"foo", "foo"}, PrintCase{"foo{}", "foo"}, PrintCase{"foo:bar:baz", "foo:bar:baz"},
        PrintCase{"foo{bar=\"baz\"}", "foo{bar=\"baz\"}"},
        PrintCase{"foo { c = 'd' , a=\"b\", }", "foo{a=\"b\",c=\"d\"}"},
        PrintCase{"foo{a!=\"b\", c=~\"d.*\", e!~`f|g`}", "foo{a!=\"b\",c=~\"d.*\",e!~\"f|g\"}"},
        PrintCase{"{__name__=\"foo\"}", "{__name__=\"foo\"}"},
        PrintCase{"{__name__=~\"foo|bar\", job=\"x\"}", "{__name__=~\"foo|bar\",job=\"x\"}"},
        PrintCase{"foo{on=\"x\", sum=\"y\", by=\"z\"}", "foo{by=\"z\",on=\"x\",sum=\"y\"}"},
        PrintCase{"foo{a=\"new\\nline\\ttab\"}", "foo{a=\"new\\nline\\ttab\"}"},
        PrintCase{"foo offset 5m", "foo offset 5m"}, PrintCase{"foo offset -5m", "foo offset -5m"},
        PrintCase{"foo OFFSET 90m", "foo offset 1h30m"},
        PrintCase{"foo offset 1h30m", "foo offset 1h30m"},
        PrintCase{"foo offset 7d", "foo offset 1w"},
        PrintCase{"foo offset 10ms", "foo offset 10ms"}, PrintCase{"foo @ 100", "foo @ 100.000"},
        PrintCase{"foo @ 100.5", "foo @ 100.500"}, PrintCase{"foo @ -100.25", "foo @ -100.250"},
        PrintCase{"foo @ +5", "foo @ 5.000"}, PrintCase{"foo @ 1e3", "foo @ 1000.000"},
        PrintCase{"foo @ start()", "foo @ start()"}, PrintCase{"foo @ end()", "foo @ end()"},
        PrintCase{"foo @ 10 offset 5m", "foo @ 10.000 offset 5m"},
        PrintCase{"foo offset 5m @ 10", "foo @ 10.000 offset 5m"},
        PrintCase{"foo offset -1h @ start()", "foo @ start() offset -1h"},
        PrintCase{"foo[5m]", "foo[5m]"}, PrintCase{"foo[90s]", "foo[1m30s]"},
        PrintCase{"foo[1y]", "foo[1y]"}, PrintCase{"foo[2w]", "foo[2w]"},
        PrintCase{"foo[10ms]", "foo[10ms]"}, PrintCase{"foo[1h30m]", "foo[1h30m]"},
        PrintCase{"foo{a=\"b\"}[5m] offset 1m", "foo{a=\"b\"}[5m] offset 1m"},
        PrintCase{"foo[5m] offset 1m @ 10", "foo[5m] @ 10.000 offset 1m"},
        PrintCase{"foo[5m] @ end()", "foo[5m] @ end()"},
        PrintCase{"foo @ start() [5m]", "foo[5m] @ start()"}, PrintCase{"foo[5m:1m]", "foo[5m:1m]"},
        PrintCase{"foo[5m:]", "foo[5m:]"},
        PrintCase{"rate(foo[5m])[30m:1m]", "rate(foo[5m])[30m:1m]"},
        PrintCase{"rate(foo[5m])[30m:]", "rate(foo[5m])[30m:]"},
        PrintCase{"(foo + bar)[5m:]", "(foo + bar)[5m:]"},
        PrintCase{"foo[5m:1m] offset 1m @ 5", "foo[5m:1m] @ 5.000 offset 1m"},
        PrintCase{"rate(foo[5m:])[10m:1m]", "rate(foo[5m:])[10m:1m]"},
        PrintCase{"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:] @ 1603775091)[4m:3s]",
                  "min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:] @ 1603775091.000)[4m:3s]"},
        // Keywords that Prometheus's metric_identifier rule accepts as metric names.
        PrintCase{"sum", "sum"}, PrintCase{"SUM{a=\"b\"}", "SUM{a=\"b\"}"},
        PrintCase{"sum + count", "sum + count"}, PrintCase{"rate(sum[5m])", "rate(sum[5m])"},
        PrintCase{"by{a=\"b\"} offset 5m", "by{a=\"b\"} offset 5m"},
        PrintCase{"offset offset 5m", "offset offset 5m"}, PrintCase{"and or or", "and or or"},
        PrintCase{"sum(without)", "sum(without)"}, PrintCase{"start + end", "start + end"},
        PrintCase{"foo * on(a) group_left sum", "foo * on (a) group_left () sum"},
        PrintCase{"foo # comment", "foo"}, PrintCase{"# leading comment\nfoo", "foo"},
        PrintCase{"sum(\n  foo # why\n)", "sum(foo)"}));

INSTANTIATE_TEST_SUITE_P(
    Literals, Print,
    testing::Values(
        PrintCase{"1", "1"}, PrintCase{"1.5", "1.5"}, PrintCase{".5", "0.5"}, PrintCase{"5.", "5"},
        PrintCase{"1e3", "1000"}, PrintCase{"1E-3", "0.001"}, PrintCase{"1.5e+2", "150"},
        PrintCase{"0x1f", "31"}, PrintCase{"0X1F", "31"}, PrintCase{"010", "8"},
        PrintCase{"08", "8"}, PrintCase{"Inf", "+Inf"}, PrintCase{"+Inf", "+Inf"},
        PrintCase{"(-2) ^ x", "(-2) ^ x"}, PrintCase{"+(+Inf ^ x)", "+(+(+Inf) ^ x)"},
        PrintCase{"+ +inf ^ x", "++(+Inf) ^ x"}, PrintCase{"-inf", "-Inf"}, PrintCase{"NaN", "NaN"},
        PrintCase{"nan", "NaN"}, PrintCase{"-1", "-1"}, PrintCase{"+1", "1"},
        PrintCase{"- -1", "1"}, PrintCase{"-0", "-0"}, PrintCase{"1e20", "100000000000000000000"},
        PrintCase{"0.1", "0.1"}, PrintCase{"\"foo\"", "\"foo\""}, PrintCase{"'foo'", "\"foo\""},
        PrintCase{"`foo\\n`", "\"foo\\\\n\""}, PrintCase{"\"a\\\"b\"", "\"a\\\"b\""},
        PrintCase{"'a\\'b'", "\"a'b\""}, PrintCase{"\"\\u00e9\"", "\"\xc3\xa9\""},
        PrintCase{"\"\\x41\\101\"", "\"AA\""}, PrintCase{"\"\\a\\b\\f\\v\"", "\"\\a\\b\\f\\v\""}));

INSTANTIATE_TEST_SUITE_P(
    Expressions, Print,
    testing::Values(
        PrintCase{"sum by (job) (rate(http_requests_total{job=\"api\"}[5m] offset 1m))",
                  "sum by (job) (rate(http_requests_total{job=\"api\"}[5m] offset 1m))"},
        PrintCase{"sum(foo) by (job)", "sum by (job) (foo)"},
        PrintCase{"sum by(job)(foo)", "sum by (job) (foo)"},
        PrintCase{"SUM BY (group) (foo)", "sum by (group) (foo)"},
        PrintCase{"sum without (a, b) (foo)", "sum without (a, b) (foo)"},
        PrintCase{"sum(foo) without (a)", "sum without (a) (foo)"},
        PrintCase{"sum by () (foo)", "sum(foo)"},
        PrintCase{"sum without () (foo)", "sum without () (foo)"},
        PrintCase{"sum by (a,) (foo)", "sum by (a) (foo)"},
        PrintCase{"sum by (on, by, sum, bool, offset) (foo)",
                  "sum by (on, by, sum, bool, offset) (foo)"},
        PrintCase{"avg(foo)", "avg(foo)"}, PrintCase{"count(foo)", "count(foo)"},
        PrintCase{"min(foo)", "min(foo)"}, PrintCase{"max(foo)", "max(foo)"},
        PrintCase{"group(foo)", "group(foo)"}, PrintCase{"stddev(foo)", "stddev(foo)"},
        PrintCase{"stdvar(foo)", "stdvar(foo)"}, PrintCase{"topk(5, foo)", "topk(5, foo)"},
        PrintCase{"bottomk by (a) (5, foo)", "bottomk by (a) (5, foo)"},
        PrintCase{"quantile(0.9, foo)", "quantile(0.9, foo)"},
        PrintCase{"count_values(\"v\", foo)", "count_values(\"v\", foo)"},
        PrintCase{"topk(scalar(bar), foo)", "topk(scalar(bar), foo)"},
        PrintCase{"rate(foo[5m])", "rate(foo[5m])"}, PrintCase{"time()", "time()"},
        PrintCase{"round(foo)", "round(foo)"}, PrintCase{"round(foo, 0.5)", "round(foo, 0.5)"},
        PrintCase{"label_join(foo, \"d\", \",\", \"a\", \"b\", \"c\")",
                  "label_join(foo, \"d\", \",\", \"a\", \"b\", \"c\")"},
        PrintCase{"histogram_quantile(0.9, sum by (le) (rate(b[5m])))",
                  "histogram_quantile(0.9, sum by (le) (rate(b[5m])))"},
        PrintCase{"foo + bar", "foo + bar"}, PrintCase{"foo+bar*baz", "foo + bar * baz"},
        PrintCase{"(foo + bar) * baz", "(foo + bar) * baz"},
        PrintCase{"foo == bool bar", "foo == bool bar"}, PrintCase{"1 == bool 2", "1 == bool 2"},
        PrintCase{"foo + on(a, b) bar", "foo + on (a, b) bar"},
        PrintCase{"foo + ignoring(a) bar", "foo + ignoring (a) bar"},
        PrintCase{"foo + on() bar", "foo + on () bar"},
        PrintCase{"foo + ignoring() bar", "foo + bar"},
        PrintCase{"foo * on(a) group_left(c) bar", "foo * on (a) group_left (c) bar"},
        PrintCase{"foo * on(a) group_left bar", "foo * on (a) group_left () bar"},
        PrintCase{"foo * ignoring(a) group_right(c, d) bar",
                  "foo * ignoring (a) group_right (c, d) bar"},
        PrintCase{"foo * ignoring() group_left bar", "foo * ignoring () group_left () bar"},
        PrintCase{"foo > bool on(a) group_left bar", "foo > bool on (a) group_left () bar"},
        PrintCase{"foo and on(a) bar", "foo and on (a) bar"},
        PrintCase{"foo or ignoring(a) bar", "foo or ignoring (a) bar"},
        PrintCase{"foo unless bar", "foo unless bar"}, PrintCase{"foo atan2 bar", "foo atan2 bar"},
        PrintCase{"1 + on() 2", "1 + 2"}, PrintCase{"-foo", "-foo"}, PrintCase{"+foo", "+foo"},
        PrintCase{"--foo", "--foo"}, PrintCase{"-(1)", "-(1)"}, PrintCase{"foo - -1", "foo - -1"},
        PrintCase{"foo offset 5m + bar @ 1 offset 1m > bool 3",
                  "foo offset 5m + bar @ 1.000 offset 1m > bool 3"}));

// --- Tree shape: precedence and associativity. ---

struct TreeCase {
  const char* input;
  const char* tree;
};

class Shape : public testing::TestWithParam<TreeCase> {};

TEST_P(Shape, Tree) {
  auto e = ParseExpr(GetParam().input);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(Tree(**e), GetParam().tree) << GetParam().input;
}

INSTANTIATE_TEST_SUITE_P(
    Precedence, Shape,
    testing::Values(
        TreeCase{"1 + 2 * 3", "(1 + (2 * 3))"}, TreeCase{"1 * 2 + 3", "((1 * 2) + 3)"},
        TreeCase{"2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"}, TreeCase{"-2 ^ 2", "(-(2 ^ 2))"},
        TreeCase{"-2 * 3", "(-2 * 3)"}, TreeCase{"a or b and c", "(a or (b and c))"},
        TreeCase{"a and b or c", "((a and b) or c)"},
        TreeCase{"a unless b and c", "((a unless b) and c)"},
        TreeCase{"a or b unless c", "(a or (b unless c))"},
        TreeCase{"a == b + c", "(a == (b + c))"}, TreeCase{"a + b == c", "((a + b) == c)"},
        TreeCase{"a and b == c", "(a and (b == c))"}, TreeCase{"a - b - c", "((a - b) - c)"},
        TreeCase{"a / b * c", "((a / b) * c)"}, TreeCase{"a atan2 b * c", "((a atan2 b) * c)"},
        TreeCase{"a + b atan2 c", "(a + (b atan2 c))"}, TreeCase{"a % b ^ c", "(a % (b ^ c))"},
        TreeCase{"a ^ b * c", "((a ^ b) * c)"}, TreeCase{"-a + b", "((-a) + b)"},
        TreeCase{"-a * b", "((-a) * b)"}, TreeCase{"-a ^ b", "(-(a ^ b))"},
        TreeCase{"a ^ -b", "(a ^ (-b))"}, TreeCase{"a ^ -b ^ c", "(a ^ (-(b ^ c)))"},
        TreeCase{"a + -b * c", "(a + ((-b) * c))"}, TreeCase{"a > b < c", "((a > b) < c)"},
        TreeCase{"a >= b <= c != d", "(((a >= b) <= c) != d)"},
        TreeCase{"a or b or c", "((a or b) or c)"}, TreeCase{"1 + -2", "(1 + -2)"},
        TreeCase{"--a", "(-(-a))"}, TreeCase{"a + b offset 5m", "(a + b offset 5m)"},
        TreeCase{"-foo offset 5m", "(-foo offset 5m)"}, TreeCase{"(a + b) * c", "([(a + b)] * c)"},
        TreeCase{"a * (b + c)", "(a * [(b + c)])"},
        TreeCase{"1 - 2 - 3 * 4 ^ 5 ^ 6 / 7", "((1 - 2) - ((3 * (4 ^ (5 ^ 6))) / 7))"}));

TEST(Parser, NodeFields) {
  auto e = ParseExpr("sum without (a) (rate(foo{x=~\"y\"}[5m] offset -1m @ start()))");
  ASSERT_TRUE(e.ok()) << e.status().message();
  const auto& agg = (*e)->As<AggregateExpr>();
  ASSERT_EQ((*e)->kind, ExprKind::kAggregate);
  EXPECT_EQ(agg.op, AggregateOp::kSum);
  EXPECT_TRUE(agg.without);
  EXPECT_EQ(agg.grouping, std::vector<std::string>{"a"});
  EXPECT_EQ(agg.param, nullptr);
  ASSERT_EQ(agg.expr->kind, ExprKind::kCall);
  const auto& call = agg.expr->As<Call>();
  EXPECT_EQ(call.func->name, "rate");
  ASSERT_EQ(call.args.size(), 1u);
  ASSERT_EQ(call.args[0]->kind, ExprKind::kMatrixSelector);
  const auto& m = call.args[0]->As<MatrixSelector>();
  EXPECT_EQ(m.range_ms, 300000);
  const VectorSelector& vs = m.vector();
  EXPECT_EQ(vs.name, "foo");
  EXPECT_EQ(vs.original_offset_ms, -60000);
  EXPECT_EQ(vs.at.kind, AtKind::kStart);
  ASSERT_EQ(vs.matchers.size(), 2u);
  EXPECT_EQ(vs.matchers[0].name(), "__name__");
  EXPECT_EQ(vs.matchers[1].type(), MatchType::kRegexMatch);
  EXPECT_EQ((*e)->Type(), ValueType::kVector);
  EXPECT_EQ((*e)->pos.start, 0u);
  EXPECT_EQ((*e)->pos.end, 60u);
}

TEST(Parser, BinaryMatchingNormalised) {
  auto e = ParseExpr("foo and bar");
  ASSERT_TRUE(e.ok());
  const auto& b = (*e)->As<BinaryExpr>();
  ASSERT_TRUE(b.matching.has_value());
  EXPECT_EQ(b.matching->card, Cardinality::kManyToMany);

  e = ParseExpr("foo * on(a) group_right(b) bar");
  ASSERT_TRUE(e.ok());
  const auto& g = (*e)->As<BinaryExpr>();
  EXPECT_EQ(g.matching->card, Cardinality::kOneToMany);
  EXPECT_TRUE(g.matching->on);
  EXPECT_EQ(g.matching->include, std::vector<std::string>{"b"});

  e = ParseExpr("foo * 2");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE((*e)->As<BinaryExpr>().matching.has_value());
  EXPECT_EQ((*e)->Type(), ValueType::kVector);

  e = ParseExpr("1 > bool 2");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE((*e)->As<BinaryExpr>().return_bool);
  EXPECT_EQ((*e)->Type(), ValueType::kScalar);
}

TEST(Parser, SubqueryAndTypes) {
  auto e = ParseExpr("max_over_time(deriv(rate(foo[1m])[5m:30s])[10m:] offset 2m)");
  ASSERT_TRUE(e.ok()) << e.status().message();
  const auto& outer = (*e)->As<Call>();
  const auto& sq = outer.args[0]->As<SubqueryExpr>();
  EXPECT_EQ(sq.range_ms, 600000);
  EXPECT_EQ(sq.step_ms, 0);
  EXPECT_EQ(sq.original_offset_ms, 120000);
  EXPECT_EQ(sq.Type(), ValueType::kMatrix);
  const auto& inner = sq.expr->As<Call>().args[0]->As<SubqueryExpr>();
  EXPECT_EQ(inner.step_ms, 30000);

  auto s = ParseExpr("\"x\"");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Type(), ValueType::kString);
  auto n = ParseExpr("time()");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->Type(), ValueType::kScalar);
}

TEST(Parser, AtTimestampMilliseconds) {
  auto e = ParseExpr("foo @ 1603775091.4567");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->As<VectorSelector>().at.timestamp_ms, 1603775091457);
}

// --- Errors: exact Prometheus messages with positions. ---

struct ErrorCase {
  const char* input;
  const char* error;
};

class Errors : public testing::TestWithParam<ErrorCase> {};

TEST_P(Errors, Message) {
  auto e = ParseExpr(GetParam().input);
  ASSERT_FALSE(e.ok()) << GetParam().input << " parsed as " << ToString(**e);
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), GetParam().error) << GetParam().input;
}

INSTANTIATE_TEST_SUITE_P(
    TypeChecks, Errors,
    testing::Values(
        ErrorCase{"1 and 1",
                  "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
        ErrorCase{"foo or 1",
                  "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
        ErrorCase{
            "1 unless foo",
            "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"},
        ErrorCase{"1 + foo[5m]",
                  "1:5: parse error: binary expression must contain only scalar and instant vector "
                  "types"},
        ErrorCase{"foo[5m] + 1",
                  "1:1: parse error: binary expression must contain only scalar and instant vector "
                  "types"},
        ErrorCase{"\"a\" + 1",
                  "1:1: parse error: binary expression must contain only scalar and instant vector "
                  "types"},
        ErrorCase{"foo + bool bar",
                  "1:5: parse error: bool modifier can only be used on comparison operators"},
        ErrorCase{"1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
        ErrorCase{"{}",
                  "1:1: parse error: vector selector must contain at least one non-empty matcher"},
        ErrorCase{"{a=\"\"}",
                  "1:1: parse error: vector selector must contain at least one non-empty matcher"},
        ErrorCase{"1 + {a=~\".*\"}",
                  "1:5: parse error: vector selector must contain at least one non-empty matcher"},
        ErrorCase{"rate(foo)",
                  "1:6: parse error: expected type range vector in call to function \"rate\", got "
                  "instant vector"},
        ErrorCase{"abs(foo[5m])",
                  "1:5: parse error: expected type instant vector in call to function \"abs\", got "
                  "range vector"},
        ErrorCase{"vector(foo)",
                  "1:8: parse error: expected type scalar in call to function \"vector\", got "
                  "instant vector"},
        ErrorCase{"label_join(foo, \"a\", \"b\", \"c\", 1)",
                  "1:32: parse error: expected type string in call to function \"label_join\", got "
                  "scalar"},
        ErrorCase{"sum()", "1:1: parse error: no arguments for aggregate expression provided"},
        ErrorCase{"topk(foo)",
                  "1:1: parse error: wrong number of arguments for aggregate expression provided, "
                  "expected 2, got 1"},
        ErrorCase{"sum(foo, bar)",
                  "1:1: parse error: wrong number of arguments for aggregate expression provided, "
                  "expected 1, got 2"},
        ErrorCase{"sum(foo[5m])",
                  "1:5: parse error: expected type instant vector in aggregation expression, got "
                  "range vector"},
        ErrorCase{"topk(\"a\", foo)",
                  "1:6: parse error: expected type scalar in aggregation parameter, got string"},
        ErrorCase{"count_values(1, foo)",
                  "1:14: parse error: expected type string in aggregation parameter, got scalar"},
        ErrorCase{"foo(bar)", "1:1: parse error: unknown function with name \"foo\""},
        ErrorCase{"1 + Rate(foo[5m])", "1:5: parse error: unknown function with name \"Rate\""},
        ErrorCase{"foo{__name__=\"bar\"}",
                  "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
        ErrorCase{"(foo)[5m]", "1:6: parse error: ranges only allowed for vector selectors"},
        ErrorCase{"foo[5m][5m]", "1:8: parse error: ranges only allowed for vector selectors"},
        ErrorCase{"sum(foo) @ 5",
                  "1:1: parse error: @ modifier must be preceded by an instant vector selector or "
                  "range vector selector or a subquery"},
        ErrorCase{"1 offset 5m",
                  "1:1: parse error: offset modifier must be preceded by an instant vector "
                  "selector or range vector selector or a subquery"},
        ErrorCase{"(foo) offset 5m",
                  "1:1: parse error: offset modifier must be preceded by an instant vector "
                  "selector or range vector selector or a subquery"},
        ErrorCase{"foo offset 5m offset 1m",
                  "1:1: parse error: offset may not be set multiple times"},
        ErrorCase{"foo[5m:] offset 5m offset 1m",
                  "1:1: parse error: offset may not be set multiple times"},
        ErrorCase{"foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"},
        ErrorCase{"foo @ start() @ end()",
                  "1:1: parse error: @ <timestamp> may not be set multiple times"},
        ErrorCase{"foo offset 5m [5m]",
                  "1:15: parse error: no offset modifiers allowed before range"},
        ErrorCase{"foo @ 1 [5m]", "1:9: parse error: no @ modifiers allowed before range"},
        ErrorCase{"foo @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
        // Beyond 2^51 ms: our bound (README), stricter than Prometheus's int64 overflow.
        ErrorCase{
            "foo @ 1e13",
            "1:1: parse error: timestamp out of bounds for @ modifier: 10000000000000.000000"},
        ErrorCase{"foo + on(a) group_left(a) bar",
                  "1:5: parse error: label \"a\" must not occur in ON and GROUP clause at once"},
        ErrorCase{"foo and on(a) group_left(b) bar",
                  "1:1: parse error: no grouping allowed for \"and\" operation"},
        ErrorCase{"1 + on(a) foo",
                  "1:1: parse error: vector matching only allowed between instant vectors"},
        ErrorCase{
            "foo[5m][5m:]",
            "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
        ErrorCase{
            "\"a\"[5m:]",
            "1:1: parse error: subquery is only allowed on instant vector, got string instead"},
        ErrorCase{"-foo[5m]",
                  "1:1: parse error: unary expression only allowed on expressions of type scalar "
                  "or instant vector, got \"range vector\""},
        ErrorCase{"-\"a\"",
                  "1:1: parse error: unary expression only allowed on expressions of type scalar "
                  "or instant vector, got \"string\""},
        ErrorCase{"foo +\n  bar[5m]",
                  "2:3: parse error: binary expression must contain only scalar and instant vector "
                  "types"},
        ErrorCase{"sum(\n  rate(\n    foo))",
                  "3:5: parse error: expected type range vector in call to function \"rate\", got "
                  "instant vector"},
        // RE2's wording, not Go's regexp package's.
        ErrorCase{
            "foo{a=~\"(\"}",
            "1:5: parse error: invalid regular expression \"(\" for label a: missing ): ^(?:()$"}));

INSTANTIATE_TEST_SUITE_P(
    Syntax, Errors,
    testing::Values(
        ErrorCase{"", "1:1: parse error: no expression found in input"},
        ErrorCase{"  # just a comment", "1:1: parse error: no expression found in input"},
        ErrorCase{"1 +", "1:4: parse error: unexpected end of input"},
        ErrorCase{"foo bar", "1:5: parse error: unexpected identifier \"bar\""},
        ErrorCase{"rate(foo[5m],)",
                  "1:13: parse error: trailing commas not allowed in function call args"},
        ErrorCase{"foo{", "1:5: parse error: unexpected end of input inside braces"},
        ErrorCase{"(foo", "1:5: parse error: unclosed left parenthesis"},
        ErrorCase{"sum(foo", "1:8: parse error: unclosed left parenthesis"},
        ErrorCase{"foo)", "1:4: parse error: unexpected right parenthesis ')'"},
        ErrorCase{"\"foo", "1:1: parse error: unterminated quoted string"},
        ErrorCase{"`foo", "1:1: parse error: unterminated raw string"},
        ErrorCase{"foo[5m", "1:7: parse error: unclosed left bracket"},
        ErrorCase{"foo]", "1:4: parse error: unexpected right bracket ']'"},
        ErrorCase{"foo !~ bar", "1:5: parse error: unexpected character after '!': '~'"},
        ErrorCase{"foo $ bar", "1:5: parse error: unexpected character: '$'"},
        ErrorCase{
            "sum(foo) by test",
            "1:13: parse error: unexpected identifier \"test\" in grouping opts, expected \"(\""},
        ErrorCase{"sum by (foo:bar) (x)",
                  "1:9: parse error: unexpected metric identifier \"foo:bar\" in grouping opts, "
                  "expected label"},
        ErrorCase{"sum by (a b) (x)",
                  "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" "
                  "or \")\""},
        ErrorCase{"sum by (a) foo",
                  "1:12: parse error: unexpected identifier \"foo\" in aggregation"},
        ErrorCase{"sum foo", "1:5: parse error: unexpected identifier \"foo\""},
        ErrorCase{"foo[5mm]", "1:5: parse error: bad number or duration syntax: \"5mm\""},
        ErrorCase{"foo[1m1h]", "1:5: parse error: not a valid duration string: \"1m1h\""},
        ErrorCase{"foo offset 1.5m", "1:12: parse error: not a valid duration string: \"1.5m\""},
        ErrorCase{"foo offset",
                  "1:11: parse error: unexpected end of input in offset, expected duration"},
        ErrorCase{"foo offset 5",
                  "1:12: parse error: unexpected number \"5\" in offset, expected duration"},
        ErrorCase{"foo @", "1:6: parse error: unexpected end of input in @, expected timestamp"},
        ErrorCase{"foo @ bar",
                  "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp"},
        ErrorCase{"foo[]",
                  "1:5: parse error: unexpected \"]\" in subquery selector, expected duration"},
        ErrorCase{
            "foo[5]",
            "1:5: parse error: unexpected number \"5\" in subquery selector, expected duration"},
        ErrorCase{"foo[5m x]",
                  "1:8: parse error: unexpected identifier \"x\" in subquery or range, expected "
                  "\":\" or \"]\""},
        ErrorCase{
            "foo[5m:1m x]",
            "1:11: parse error: unexpected identifier \"x\" in subquery selector, expected \"]\""},
        ErrorCase{"foo[5m:1m:]", "1:10: parse error: unexpected colon ':'"},
        ErrorCase{"foo + group_left(a) bar", "1:7: parse error: unexpected <group_left>"},
        ErrorCase{"foo + bool bar",
                  "1:5: parse error: bool modifier can only be used on comparison operators"},
        ErrorCase{"foo + by bar", "1:10: parse error: unexpected identifier \"bar\""},
        ErrorCase{"foo + on",
                  "1:9: parse error: unexpected end of input in grouping opts, expected \"(\""},
        ErrorCase{"bool", "1:1: parse error: unexpected <bool>"},
        ErrorCase{"foo{a b}",
                  "1:7: parse error: unexpected identifier \"b\" in label matching, expected label "
                  "matching operator"},
        ErrorCase{"foo{a=\"b\" c=\"d\"}",
                  "1:11: parse error: unexpected identifier \"c\" in label matching, expected "
                  "\",\" or \"}\""},
        ErrorCase{
            "foo{a=b}",
            "1:7: parse error: unexpected identifier \"b\" in label matching, expected string"},
        ErrorCase{
            "foo{,}",
            "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""},
        ErrorCase{"foo{a=\"\\q\"}", "1:7: parse error: unknown escape sequence 'q'"},
        ErrorCase{"@ 5", "1:1: parse error: unexpected <op:@>"},
        ErrorCase{"0x",
                  "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x\": "
                  "invalid syntax"},
        ErrorCase{"1e400",
                  "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": "
                  "value out of range"},
        ErrorCase{"5m", "1:1: parse error: unexpected duration \"5m\""},
        ErrorCase{"foo = bar", "1:5: parse error: unexpected \"=\""},
        ErrorCase{"()", "1:2: parse error: unexpected \")\""},
        ErrorCase{"foo:bar(x)", "1:8: parse error: unexpected \"(\""}));

// --- Every function: minimum/maximum arity accepted, one fewer/more rejected. ---

std::string ArgFor(ValueType t) {
  switch (t) {
    case ValueType::kScalar:
      return "1";
    case ValueType::kVector:
      return "foo";
    case ValueType::kMatrix:
      return "foo[5m]";
    case ValueType::kString:
      return "\"s\"";
    case ValueType::kNone:
      break;
  }
  return "";
}

std::string CallWith(const FunctionSignature& f, size_t n) {
  std::string out = std::string(f.name) + "(";
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += f.arg_types.empty() ? "1" : ArgFor(f.arg_types[std::min(i, f.arg_types.size() - 1)]);
  }
  return out + ")";
}

class Functions : public testing::TestWithParam<FunctionSignature> {};

TEST_P(Functions, Arity) {
  const FunctionSignature& f = GetParam();
  size_t declared = f.arg_types.size();
  std::string name = "\"" + std::string(f.name) + "\"";
  if (f.variadic == 0) {
    std::string ok = CallWith(f, declared);
    auto e = ParseExpr(ok);
    ASSERT_TRUE(e.ok()) << ok << ": " << e.status().message();
    EXPECT_EQ(ToString(**e), ok);
    EXPECT_EQ((*e)->Type(), f.return_type);
    auto more = ParseExpr(CallWith(f, declared + 1));
    ASSERT_FALSE(more.ok());
    EXPECT_EQ(more.status().message(),
              fmt::format("1:1: parse error: expected {} argument(s) in call to {}, got {}",
                          declared, name, declared + 1));
    if (declared > 0) {
      auto fewer = ParseExpr(CallWith(f, declared - 1));
      ASSERT_FALSE(fewer.ok());
      EXPECT_EQ(fewer.status().message(),
                fmt::format("1:1: parse error: expected {} argument(s) in call to {}, got {}",
                            declared, name, declared - 1));
    }
    return;
  }
  size_t min = declared - 1;
  size_t max = f.variadic > 0 ? min + static_cast<size_t>(f.variadic) : min + 4;
  for (size_t n = min; n <= max; ++n) {
    std::string ok = CallWith(f, n);
    auto e = ParseExpr(ok);
    ASSERT_TRUE(e.ok()) << ok << ": " << e.status().message();
    EXPECT_EQ(ToString(**e), ok);
  }
  if (min > 0) {
    auto fewer = ParseExpr(CallWith(f, min - 1));
    ASSERT_FALSE(fewer.ok());
    EXPECT_EQ(
        fewer.status().message(),
        fmt::format("1:1: parse error: expected at least {} argument(s) in call to {}, got {}", min,
                    name, min - 1));
  }
  if (f.variadic > 0) {
    auto more = ParseExpr(CallWith(f, max + 1));
    ASSERT_FALSE(more.ok());
    EXPECT_EQ(more.status().message(),
              fmt::format("1:1: parse error: expected at most {} argument(s) in call to {}, got {}",
                          max, name, max + 1));
  }
}

INSTANTIATE_TEST_SUITE_P(All, Functions, testing::ValuesIn(AllFunctions()),
                         [](const testing::TestParamInfo<FunctionSignature>& p) {
                           return std::string(p.param.name);
                         });

TEST(Functions, TableIsComplete) {
  EXPECT_EQ(AllFunctions().size(), 70u);
  for (const char* name : {"abs", "absent_over_time", "clamp", "day_of_year", "histogram_fraction",
                           "holt_winters", "label_join", "present_over_time", "round", "scalar",
                           "sort_desc", "timestamp", "vector", "year", "pi", "sgn"}) {
    EXPECT_NE(FindFunction(name), nullptr) << name;
  }
  EXPECT_EQ(FindFunction("Abs"), nullptr);
  EXPECT_EQ(FindFunction("sum"), nullptr);
  EXPECT_EQ(AllAggregators().size(), 12u);
  EXPECT_EQ(FindAggregator("COUNT_values")->op, AggregateOp::kCountValues);
  EXPECT_EQ(GetAggregator(AggregateOp::kTopk).param_type, ValueType::kScalar);
  EXPECT_EQ(GetAggregator(AggregateOp::kSum).param_type, ValueType::kNone);
}

TEST(Parser, DeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '(');
  EXPECT_FALSE(ParseExpr(deep + "1" + std::string(100000, ')')).ok());
  std::string minus(100000, '-');
  EXPECT_FALSE(ParseExpr(minus + "1").ok());
  std::string chain = "1";
  for (int i = 0; i < 100000; ++i) chain += "+1";
  EXPECT_FALSE(ParseExpr(chain).ok());
  std::string ok = "1";
  for (int i = 0; i < 1000; ++i) ok += "+1";
  EXPECT_TRUE(ParseExpr(ok).ok());
}

// --- Prometheus 2.42's own test scripts: every eval expression parses and round-trips. ---

TEST(Parser, PrometheusScripts) {
  const char* root = std::getenv("ZW_SOURCE_DIR");
  std::filesystem::path dir =
      std::filesystem::path(root ? root : ".") / ".." / "shared" / "data" / "promqltest-v2.42";
  if (root == nullptr || !std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "Prometheus 2.42 test scripts not found at " << dir
                 << " (set ZW_SOURCE_DIR to the repository root)";
  }
  static const std::regex kEval(
      R"(^(eval|eval_ordered|eval_fail)\s+instant\s+(?:at\s+\S+\s+)?(.*)$)");
  int total = 0, parsed = 0, fail_total = 0, fail_parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".test") continue;
    std::ifstream in(entry.path());
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      std::smatch m;
      if (!std::regex_match(line, m, kEval)) continue;
      std::string expr = m[2];
      std::string where = entry.path().filename().string() + ":" + std::to_string(lineno);
      auto e = ParseExpr(expr);
      if (m[1] == "eval_fail") {
        ++fail_total;
        if (e.ok()) {
          ++fail_parsed;
          (void)ParseExpr(ToString(**e));
        }
        continue;
      }
      ++total;
      if (!e.ok()) {
        ADD_FAILURE() << where << ": " << expr << "\n  " << e.status().message();
        continue;
      }
      std::string printed = ToString(**e);
      auto again = ParseExpr(printed);
      if (!again.ok()) {
        ADD_FAILURE() << where << ": " << printed
                      << " does not re-parse: " << again.status().message();
        continue;
      }
      EXPECT_EQ(ToString(**again), printed) << where;
      ++parsed;
    }
  }
  std::printf(
      "Prometheus 2.42 scripts: %d of %d eval/eval_ordered expressions parse and "
      "round-trip; %d of %d eval_fail expressions parse (they fail when evaluated)\n",
      parsed, total, fail_parsed, fail_total);
  EXPECT_GT(total, 500);
  EXPECT_EQ(parsed, total);
}

}  // namespace
}  // namespace zw::promql
