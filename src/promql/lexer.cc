#include "promql/lexer.h"

#include <array>
#include <cctype>

#include <fmt/format.h>

namespace zw::promql {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlphaNumeric(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

struct Keyword {
  std::string_view word;
  TokenKind kind;
};

constexpr std::array<Keyword, 26> kKeywords{{
    {"and", TokenKind::kAnd},
    {"or", TokenKind::kOr},
    {"unless", TokenKind::kUnless},
    {"atan2", TokenKind::kAtan2},
    {"offset", TokenKind::kOffset},
    {"by", TokenKind::kBy},
    {"without", TokenKind::kWithout},
    {"on", TokenKind::kOn},
    {"ignoring", TokenKind::kIgnoring},
    {"group_left", TokenKind::kGroupLeft},
    {"group_right", TokenKind::kGroupRight},
    {"bool", TokenKind::kBool},
    {"inf", TokenKind::kNumber},
    {"nan", TokenKind::kNumber},
    {"sum", TokenKind::kAggregator},
    {"avg", TokenKind::kAggregator},
    {"count", TokenKind::kAggregator},
    {"min", TokenKind::kAggregator},
    {"max", TokenKind::kAggregator},
    {"group", TokenKind::kAggregator},
    {"stddev", TokenKind::kAggregator},
    {"stdvar", TokenKind::kAggregator},
    {"topk", TokenKind::kAggregator},
    {"bottomk", TokenKind::kAggregator},
    {"quantile", TokenKind::kAggregator},
    {"count_values", TokenKind::kAggregator},
}};

// Go's %q of a single character, as in Prometheus's lexer messages: 'x' or '\x00'.
std::string QuoteChar(char c) {
  if (c == '\'') return R"('\'')";
  if (c == '\\') return R"('\\')";
  if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("'\\x{:02x}'", static_cast<unsigned char>(c));
}

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  std::vector<Token> Run() {
    while (true) {
      if (!(brace_open_ ? LexInsideBraces() : LexStatement())) break;
    }
    return std::move(out_);
  }

 private:
  char Peek(size_t ahead = 0) const { return pos_ + ahead < in_.size() ? in_[pos_ + ahead] : '\0'; }
  bool AtEnd() const { return pos_ >= in_.size(); }
  bool Accept(std::string_view set) {
    if (AtEnd() || set.find(in_[pos_]) == std::string_view::npos) return false;
    ++pos_;
    return true;
  }
  void AcceptRun(std::string_view set) {
    while (Accept(set)) {
    }
  }

  void Emit(TokenKind kind) {
    Token t;
    t.kind = kind;
    t.pos = static_cast<uint32_t>(start_);
    t.text = in_.substr(start_, pos_ - start_);
    out_.push_back(std::move(t));
    start_ = pos_;
  }
  // Emits the terminal error token; always returns false so callers can `return Error(...)`.
  bool Error(std::string msg) {
    Token t;
    t.kind = TokenKind::kError;
    t.pos = static_cast<uint32_t>(start_);
    t.text = in_.substr(start_, pos_ - start_);
    t.value = std::move(msg);
    out_.push_back(std::move(t));
    return false;
  }

  // One token (or a run of ignored characters) outside braces. False when done.
  bool LexStatement() {
    start_ = pos_;
    if (AtEnd()) {
      if (paren_depth_ != 0) return Error("unclosed left parenthesis");
      if (bracket_open_) return Error("unclosed left bracket");
      Emit(TokenKind::kEof);
      return false;
    }
    char c = in_[pos_++];
    switch (c) {
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        return true;
      case '#':
        while (!AtEnd() && in_[pos_] != '\n') ++pos_;
        return true;
      case ',':
        Emit(TokenKind::kComma);
        return true;
      case '*':
        Emit(TokenKind::kMul);
        return true;
      case '/':
        Emit(TokenKind::kDiv);
        return true;
      case '%':
        Emit(TokenKind::kMod);
        return true;
      case '+':
        Emit(TokenKind::kAdd);
        return true;
      case '-':
        Emit(TokenKind::kSub);
        return true;
      case '^':
        Emit(TokenKind::kPow);
        return true;
      case '@':
        Emit(TokenKind::kAt);
        return true;
      case '=':
        if (Peek() == '=') {
          ++pos_;
          Emit(TokenKind::kEqlc);
        } else if (Peek() == '~') {
          return Error("unexpected character after '=': " + QuoteChar(Peek()));
        } else {
          Emit(TokenKind::kAssign);
        }
        return true;
      case '!':
        if (Peek() != '=') return Error("unexpected character after '!': " + QuoteChar(Peek()));
        ++pos_;
        Emit(TokenKind::kNeq);
        return true;
      case '<':
        Emit(Accept("=") ? TokenKind::kLte : TokenKind::kLss);
        return true;
      case '>':
        Emit(Accept("=") ? TokenKind::kGte : TokenKind::kGtr);
        return true;
      case '"':
      case '\'':
        return LexString(c);
      case '`':
        return LexRawString();
      case '(':
        ++paren_depth_;
        Emit(TokenKind::kLeftParen);
        return true;
      case ')':
        if (paren_depth_ == 0) return Error("unexpected right parenthesis " + QuoteChar(c));
        --paren_depth_;
        Emit(TokenKind::kRightParen);
        return true;
      case '{':
        brace_open_ = true;
        Emit(TokenKind::kLeftBrace);
        return true;
      case '}':
        return Error("unexpected right brace " + QuoteChar(c));
      case '[':
        if (bracket_open_) return Error("unexpected left bracket " + QuoteChar(c));
        bracket_open_ = true;
        got_colon_ = false;
        Emit(TokenKind::kLeftBracket);
        return true;
      case ']':
        if (!bracket_open_) return Error("unexpected right bracket " + QuoteChar(c));
        bracket_open_ = false;
        Emit(TokenKind::kRightBracket);
        return true;
      default:
        break;
    }
    if (IsDigit(c) || (c == '.' && IsDigit(Peek()))) {
      --pos_;
      return LexNumberOrDuration();
    }
    if (c == ':' && bracket_open_) {
      if (got_colon_) return Error("unexpected colon " + QuoteChar(c));
      got_colon_ = true;
      Emit(TokenKind::kColon);
      return true;
    }
    if (IsAlpha(c) || c == ':') {
      --pos_;
      LexKeywordOrIdentifier();
      return true;
    }
    return Error("unexpected character: " + QuoteChar(c));
  }

  bool LexInsideBraces() {
    start_ = pos_;
    if (AtEnd()) return Error("unexpected end of input inside braces");
    char c = in_[pos_++];
    if (IsSpace(c)) return true;
    if (IsAlpha(c)) {
      AcceptRun("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
      Emit(TokenKind::kIdentifier);
      return true;
    }
    switch (c) {
      case ',':
        Emit(TokenKind::kComma);
        return true;
      case '"':
      case '\'':
        return LexString(c);
      case '`':
        return LexRawString();
      case '=':
        Emit(Accept("~") ? TokenKind::kEqlRegex : TokenKind::kAssign);
        return true;
      case '!':
        if (Accept("~")) {
          Emit(TokenKind::kNeqRegex);
        } else if (Accept("=")) {
          Emit(TokenKind::kNeq);
        } else {
          return Error("unexpected character after '!' inside braces: " + QuoteChar(Peek()));
        }
        return true;
      case '{':
        return Error("unexpected left brace " + QuoteChar(c));
      case '}':
        brace_open_ = false;
        Emit(TokenKind::kRightBrace);
        return true;
      default:
        return Error("unexpected character inside braces: " + QuoteChar(c));
    }
  }

  bool LexString(char quote) {
    while (true) {
      if (AtEnd() || in_[pos_] == '\n') return Error("unterminated quoted string");
      char c = in_[pos_++];
      if (c == quote) break;
      if (c == '\\') {
        if (AtEnd() || in_[pos_] == '\n') return Error("unterminated quoted string");
        ++pos_;
      }
    }
    return FinishString();
  }

  bool LexRawString() {
    while (true) {
      if (AtEnd()) return Error("unterminated raw string");
      if (in_[pos_++] == '`') break;
    }
    return FinishString();
  }

  bool FinishString() {
    auto value = UnquoteString(in_.substr(start_, pos_ - start_));
    if (!value.ok()) return Error(value.status().message());
    Emit(TokenKind::kString);
    out_.back().value = std::move(value).value();
    return true;
  }

  // As Prometheus's scanNumber: true if a complete number was consumed (one not directly
  // followed by a letter or digit).
  bool ScanNumber() {
    std::string_view digits = "0123456789";
    if (Accept("0") && Accept("xX")) digits = "0123456789abcdefABCDEF";
    AcceptRun(digits);
    if (Accept(".")) AcceptRun(digits);
    if (Accept("eE")) {
      Accept("+-");
      AcceptRun("0123456789");
    }
    return !IsAlphaNumeric(Peek());
  }

  // After the leading digits of a duration: unit, then optionally more number+unit pairs.
  bool AcceptRemainingDuration() {
    if (!Accept("smhdwy")) return false;
    Accept("s");  // ms; bad units such as "hs" are caught when parsing the duration
    while (Accept("0123456789")) {
      AcceptRun("0123456789");
      if (!Accept("smhdw")) return false;
      Accept("s");
    }
    return !IsAlphaNumeric(Peek());
  }

  bool LexNumberOrDuration() {
    if (ScanNumber()) {
      Emit(TokenKind::kNumber);
      return true;
    }
    if (AcceptRemainingDuration()) {
      Emit(TokenKind::kDuration);
      return true;
    }
    if (!AtEnd()) ++pos_;
    std::string text(in_.substr(start_, pos_ - start_));
    return Error(fmt::format("bad number or duration syntax: {}", QuoteString(text)));
  }

  void LexKeywordOrIdentifier() {
    while (!AtEnd() && (IsAlphaNumeric(in_[pos_]) || in_[pos_] == ':')) ++pos_;
    std::string_view word = in_.substr(start_, pos_ - start_);
    std::string lower(word);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const Keyword& k : kKeywords) {
      if (k.word == lower) {
        Emit(k.kind);
        return;
      }
    }
    Emit(word.find(':') == std::string_view::npos ? TokenKind::kIdentifier
                                                  : TokenKind::kMetricIdentifier);
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t start_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  std::vector<Token> out_;
};

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;
    if (c == 0xF4 && b(1) >= 0x90) return 0;
    return 4;
  }
  return 0;
}

}  // namespace

std::vector<Token> Lex(std::string_view input) { return Lexer(input).Run(); }

bool IsLabelName(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return false;
  for (char c : s) {
    if (!IsAlphaNumeric(c)) return false;
  }
  return true;
}

std::string DescribeToken(const Token& t) {
  auto quoted = [&] {
    if (t.text.size() > 10) return QuoteString(t.text.substr(0, 10)) + "...";
    return QuoteString(t.text);
  };
  switch (t.kind) {
    case TokenKind::kEof:
      return "end of input";
    case TokenKind::kError:
      return t.value;
    case TokenKind::kIdentifier:
      return "identifier " + QuoteString(t.text);
    case TokenKind::kMetricIdentifier:
      return "metric identifier " + QuoteString(t.text);
    case TokenKind::kNumber:
      return "number " + quoted();
    case TokenKind::kDuration:
      return "duration " + quoted();
    case TokenKind::kString:
      return "string " + quoted();
    case TokenKind::kLeftParen:
    case TokenKind::kRightParen:
    case TokenKind::kLeftBrace:
    case TokenKind::kRightBrace:
    case TokenKind::kLeftBracket:
    case TokenKind::kRightBracket:
    case TokenKind::kComma:
    case TokenKind::kColon:
    case TokenKind::kAssign:
      return QuoteString(t.text);
    case TokenKind::kAggregator:
      return fmt::format("<aggr:{}>", t.text);
    case TokenKind::kOffset:
    case TokenKind::kBy:
    case TokenKind::kWithout:
    case TokenKind::kOn:
    case TokenKind::kIgnoring:
    case TokenKind::kGroupLeft:
    case TokenKind::kGroupRight:
    case TokenKind::kBool:
      return fmt::format("<{}>", t.text);
    default:
      return fmt::format("<op:{}>", t.text);
  }
}

Result<std::string> UnquoteString(std::string_view lit) {
  if (lit.size() < 2 || lit.front() != lit.back()) {
    return Status::InvalidArgument("invalid quoted string");
  }
  char q = lit.front();
  std::string_view body = lit.substr(1, lit.size() - 2);
  if (q == '`') {
    if (body.find('`') != std::string_view::npos)
      return Status::InvalidArgument("invalid raw string");
    return std::string(body);
  }
  if (q != '"' && q != '\'') return Status::InvalidArgument("invalid quoted string");
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      if (c == q) return Status::InvalidArgument("unescaped quote in string");
      if (c == '\n') return Status::InvalidArgument("unterminated quoted string");
      out.push_back(c);
      continue;
    }
    if (++i >= body.size()) return Status::InvalidArgument("escape sequence not terminated");
    c = body[i];
    switch (c) {
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '"':
      case '\'':
        // Go allows only the enclosing quote to be escaped.
        if (c != q) return Status::InvalidArgument(fmt::format("unknown escape sequence \\{}", c));
        out.push_back(c);
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        if (i + n >= body.size()) {
          return Status::InvalidArgument("escape sequence not terminated");
        }
        uint32_t cp = 0;
        for (size_t k = 1; k <= n; ++k) {
          int h = HexVal(body[i + k]);
          if (h < 0) return Status::InvalidArgument("illegal character in escape sequence");
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        i += n;
        if (c == 'x') {
          out.push_back(static_cast<char>(cp));
        } else if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Status::InvalidArgument("escape sequence is an invalid Unicode code point");
        } else {
          AppendUtf8(out, cp);
        }
        break;
      }
      default: {
        if (c < '0' || c > '7') {
          return Status::InvalidArgument(fmt::format("unknown escape sequence {}", QuoteChar(c)));
        }
        if (i + 2 >= body.size()) return Status::InvalidArgument("escape sequence not terminated");
        uint32_t v = 0;
        for (size_t k = 0; k < 3; ++k) {
          char d = body[i + k];
          if (d < '0' || d > '7') {
            return Status::InvalidArgument("illegal character in escape sequence");
          }
          v = v * 8 + static_cast<uint32_t>(d - '0');
        }
        if (v > 255) return Status::InvalidArgument("octal escape value > 255");
        out.push_back(static_cast<char>(v));
        i += 2;
        break;
      }
    }
  }
  return out;
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    size_t n = Utf8Length(s, i);
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      default:
        break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace zw::promql
