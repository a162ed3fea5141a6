// Label matchers: =, !=, =~, !~ as in PromQL selectors. Regular expressions use RE2 and
// are fully anchored, as in Prometheus: `foo.*` matches "foobar", never "xfoo".
//
// Immutable after construction; safe to share across threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace re2 {
class RE2;
}

namespace zw {

enum class MatchType : uint8_t { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

std::string_view MatchTypeString(MatchType t);  // "=", "!=", "=~", "!~"

class Matcher {
 public:
  // Errors: InvalidArgument naming the regular expression and RE2's reason.
  static Result<Matcher> Make(MatchType type, std::string name, std::string value);
  // For internal use where the regex is known to compile; aborts otherwise.
  static Matcher MustMake(MatchType type, std::string name, std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  bool Matches(std::string_view v) const;
  // True if a series without this label (value "") is selected.
  bool MatchesEmpty() const { return matches_empty_; }
  // For =~ with a plain alternation of literals (a|b|c), the literal values; lets the
  // index look them up instead of scanning every value. Empty otherwise.
  const std::vector<std::string>& SetMatches() const { return set_matches_; }
  // name="value" notation (value escaped), as PromQL prints it.
  std::string ToString() const;

 private:
  Matcher() = default;

  MatchType type_ = MatchType::kEqual;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;
  std::vector<std::string> set_matches_;
  bool matches_empty_ = false;
};

using Matchers = std::vector<Matcher>;

}  // namespace zw
