// PromQL lexical analysis: turns a query into tokens carrying byte positions, following
// Prometheus 2.42's promql/parser/lex.go. Context matters as in Prometheus: inside `{...}`
// words are plain label names (no keywords) and only matchers, strings and commas are
// allowed; inside `[...]` only durations, numbers and one `:` are.
//
// The lexer never fails outright: on bad input it emits a kError token whose value is the
// message (e.g. "unterminated quoted string") and stops; the parser reports it at the
// token's position.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zw::promql {

enum class TokenKind : uint8_t {
  kEof,
  kError,             // value = message
  kIdentifier,        // foo, a label name, a function name (no ':')
  kMetricIdentifier,  // a name containing ':'
  kNumber,            // 1, 1.5e3, 0x1f, .5, Inf, NaN
  kDuration,          // 5m, 1h30m, 10ms
  kString,            // text = raw quoted literal, value = unquoted
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kColon,
  kAssign,    // = (a matcher; outside braces only an error)
  kEqlRegex,  // =~
  kNeqRegex,  // !~
  kAt,        // @
  // Binary operators.
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEqlc,  // ==
  kNeq,   // !=
  kLss,
  kLte,
  kGtr,
  kGte,
  kAnd,
  kOr,
  kUnless,
  kAtan2,
  // Keywords (case-insensitive).
  kAggregator,  // sum, avg, ..., count_values; text keeps the original spelling
  kOffset,
  kBy,
  kWithout,
  kOn,
  kIgnoring,
  kGroupLeft,
  kGroupRight,
  kBool,
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  uint32_t pos = 0;       // byte offset of the first character
  std::string_view text;  // the source text, pointing into the lexed input
  std::string value;      // kString: the unquoted value; kError: the message

  uint32_t end() const { return pos + static_cast<uint32_t>(text.size()); }
};

// Lexes the whole input. The result always ends with one kEof or kError token. Comments
// (`# ...` to end of line) and white space are dropped. Tokens' text points into `input`.
std::vector<Token> Lex(std::string_view input);

// Prometheus's description of a token in "unexpected ..." messages: `"foo"` for a name,
// `<op:+>`, `<by>`, `<aggr:sum>`, `number "1"`, `end of input`, `"("`.
std::string DescribeToken(const Token& t);

// True for words usable as label names in by/without/on/ignoring/group_x lists:
// [a-zA-Z_][a-zA-Z0-9_]*.
bool IsLabelName(std::string_view s);

// Unquotes a PromQL string literal (with its quotes: "...", '...' or `...`) using Go's
// escape rules. Errors: InvalidArgument naming the problem.
Result<std::string> UnquoteString(std::string_view quoted);

// The inverse: a double-quoted literal that UnquoteString turns back into `s`, escaping
// like Go's strconv.Quote (control characters and invalid UTF-8 as \x.., \n, \t, ...).
std::string QuoteString(std::string_view s);

}  // namespace zw::promql
