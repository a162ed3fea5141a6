#include "promql/selector.h"

#include <optional>

#include <fmt/format.h>

#include "core/names.h"

namespace zw::promql {
namespace {

class SelectorParser {
 public:
  explicit SelectorParser(std::string_view in) : in_(in) {}

  Result<Matchers> Parse() {
    Matchers out;
    bool named = false;
    SkipSpace();
    if (pos_ < in_.size() && IsNameStart(in_[pos_])) {
      named = true;
      std::string name = Ident(true);
      out.push_back(Matcher::MustMake(MatchType::kEqual, std::string(kMetricNameLabel), name));
      SkipSpace();
    }
    if (pos_ < in_.size() && in_[pos_] == '{') {
      ++pos_;
      while (true) {
        SkipSpace();
        if (pos_ < in_.size() && in_[pos_] == '}') {
          ++pos_;
          break;
        }
        if (pos_ >= in_.size() || !IsNameStart(in_[pos_]) || in_[pos_] == ':') {
          return Error("expected a label name or '}'");
        }
        std::string label = Ident(false);
        SkipSpace();
        auto op = Op();
        if (!op) return Error("expected one of =, !=, =~, !~ after label name");
        SkipSpace();
        auto value = String();
        if (!value.ok()) return value.status();
        if (label == kMetricNameLabel && named) {
          // metric{__name__="x"} names the metric twice; Prometheus rejects it.
          return Error("metric name must not be set twice");
        }
        auto m = Matcher::Make(*op, label, std::move(value).value());
        if (!m.ok()) return Error(m.status().message());
        out.push_back(std::move(m).value());
        SkipSpace();
        if (pos_ < in_.size() && in_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < in_.size() && in_[pos_] == '}') {
          ++pos_;
          break;
        }
        return Error("expected ',' or '}' in label matchers");
      }
    }
    SkipSpace();
    if (pos_ < in_.size()) return Error(fmt::format("unexpected character '{}' after selector", in_[pos_]));
    if (out.empty()) return Error("expected a metric name or '{'");
    bool any = false;
    for (const Matcher& m : out) any = any || !m.MatchesEmpty();
    if (!any) {
      return Status::InvalidArgument("vector selector must contain at least one non-empty matcher");
    }
    return out;
  }

 private:
  static bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
  static bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

  void SkipSpace() {
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < in_.size() && in_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string Ident(bool allow_colon) {
    size_t start = pos_;
    while (pos_ < in_.size() && IsNameChar(in_[pos_]) && (allow_colon || in_[pos_] != ':')) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }

  std::optional<MatchType> Op() {
    auto rest = in_.substr(pos_);
    if (rest.starts_with("=~")) { pos_ += 2; return MatchType::kRegexMatch; }
    if (rest.starts_with("!~")) { pos_ += 2; return MatchType::kRegexNoMatch; }
    if (rest.starts_with("!=")) { pos_ += 2; return MatchType::kNotEqual; }
    if (rest.starts_with("=")) { pos_ += 1; return MatchType::kEqual; }
    return std::nullopt;
  }

  Result<std::string> String() {
    if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'' && in_[pos_] != '`')) {
      return Error("expected a quoted string as label value");
    }
    char q = in_[pos_];
    size_t start = pos_;
    ++pos_;
    while (pos_ < in_.size() && in_[pos_] != q) {
      if (in_[pos_] == '\\' && q != '`') ++pos_;
      ++pos_;
    }
    if (pos_ >= in_.size()) {
      pos_ = start;
      return Error("unterminated quoted string");
    }
    ++pos_;
    std::string_view lit = in_.substr(start, pos_ - start);
    auto s = UnquoteString(lit);
    if (!s.ok()) {
      pos_ = start;
      return Error(s.status().message());
    }
    return s;
  }

  Status Error(std::string_view what) const {
    return Status::InvalidArgument(fmt::format("1:{}: parse error: {}", pos_ + 1, what));
  }

  std::string_view in_;
  size_t pos_ = 0;
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

}  // namespace

Result<Matchers> ParseSeriesSelector(std::string_view input) { return SelectorParser(input).Parse(); }

Result<std::string> UnquoteString(std::string_view lit) {
  if (lit.size() < 2 || lit.front() != lit.back()) return Status::InvalidArgument("invalid quoted string");
  char q = lit.front();
  std::string_view body = lit.substr(1, lit.size() - 2);
  if (q == '`') return std::string(body);
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      if (c == q) return Status::InvalidArgument("unescaped quote in string");
      out.push_back(c);
      continue;
    }
    if (++i >= body.size()) return Status::InvalidArgument("escape sequence at end of string");
    c = body[i];
    switch (c) {
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case '\'': out.push_back('\''); break;
      case 'x': case 'u': case 'U': {
        size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        if (i + n >= body.size()) return Status::InvalidArgument("short escape sequence");
        uint32_t cp = 0;
        for (size_t k = 1; k <= n; ++k) {
          int h = HexVal(body[i + k]);
          if (h < 0) return Status::InvalidArgument("invalid hex digit in escape sequence");
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        i += n;
        if (c == 'x') out.push_back(static_cast<char>(cp));
        else if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return Status::InvalidArgument("escape sequence is an invalid Unicode code point");
        else AppendUtf8(out, cp);
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          if (i + 2 >= body.size()) return Status::InvalidArgument("short octal escape sequence");
          uint32_t v = 0;
          for (size_t k = 0; k < 3; ++k) {
            char d = body[i + k];
            if (d < '0' || d > '7') return Status::InvalidArgument("invalid octal escape sequence");
            v = v * 8 + static_cast<uint32_t>(d - '0');
          }
          if (v > 255) return Status::InvalidArgument("octal escape sequence out of range");
          out.push_back(static_cast<char>(v));
          i += 2;
          break;
        }
        return Status::InvalidArgument(fmt::format("unknown escape sequence \\{}", c));
    }
  }
  return out;
}

}  // namespace zw::promql
