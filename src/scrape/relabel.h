// Relabelling: Prometheus's relabel_config, the rule language that rewrites, filters and
// shards label sets (scrape relabel_configs, metric_relabel_configs, remote_write
// write_relabel_configs).
//
// A RelabelConfig is plain data in Prometheus's field names plus a compiled regex. Build
// one by filling the fields (defaults as in Prometheus) and passing it to
// MakeRelabelConfig, which validates it like Prometheus 2.42 and compiles the regex fully
// anchored as ^(?:regex)$; or parse a YAML sequence with ParseRelabelConfigs. Relabel
// applies a list of validated configs in order.
//
// Semantics (Prometheus 2.42, model/relabel/relabel.go):
//   - The source value is the values of source_labels (absent labels give "") joined by
//     separator.
//   - replace: if regex matches the source value, target_label and replacement are expanded
//     with Go's regexp Expand rules ($1, ${1}, $name, ${name}, $$ for a literal $; a name is
//     the longest run of [A-Za-z0-9_], so "$1x" names group "1x"; unknown or unmatched
//     groups expand to ""). An expanded target that is not a valid label name skips the
//     step; an empty expanded replacement deletes the target label.
//   - keep / drop: keep or drop the set when regex matches (does not match) the source value.
//   - keepequal / dropequal: keep / drop the set when the source value equals (differs from)
//     the value of target_label.
//   - hashmod: target_label = (big-endian uint64 of the LAST 8 bytes of md5(source value))
//     mod modulus, in decimal.
//   - labelmap: for every label (of the set as it was before this step) whose NAME matches
//     regex, set the expanded replacement as a label name with the same value.
//   - labeldrop / labelkeep: drop labels whose NAME matches (does not match) regex.
//   - lowercase / uppercase: target_label = the source value lower/upper-cased.
//   Setting a label to "" deletes it.
//
// Known differences from Prometheus, all at the edges:
//   - lowercase/uppercase map ASCII letters only (Go maps all of Unicode).
//   - In $-templates a group name is ASCII [A-Za-z0-9_]+ (Go also accepts Unicode
//     letters and digits).
//   - keepequal/dropequal reject any regex other than "(.*)"; Prometheus also rejects an
//     explicit "regex: (.*)" (it compares regex identity, not text).
//   - labelmap skips a mapped name that expands to "" (Prometheus would set an empty name).
//   - Relabel returns nullopt when the result is empty; Prometheus keeps an empty set.
//
// Thread safety: a validated RelabelConfig is immutable and may be shared across threads;
// the compiled regex is shared between copies.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/status.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace re2 {
class RE2;
}  // namespace re2

namespace zw::scrape {

enum class RelabelAction {
  kReplace,
  kKeep,
  kDrop,
  kKeepEqual,
  kDropEqual,
  kHashMod,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kLowercase,
  kUppercase,
};

// Prometheus's spelling of an action ("replace", "keepequal", "hashmod", ...).
std::string_view RelabelActionName(RelabelAction action);
// Case-insensitive, like Prometheus. nullopt for an unknown action.
std::optional<RelabelAction> ParseRelabelAction(std::string_view name);

inline constexpr std::string_view kDefaultRelabelSeparator = ";";
inline constexpr std::string_view kDefaultRelabelRegex = "(.*)";
inline constexpr std::string_view kDefaultRelabelReplacement = "$1";

struct RelabelConfig {
  std::vector<std::string> source_labels;
  std::string separator{kDefaultRelabelSeparator};
  std::string regex{kDefaultRelabelRegex};  // as written, without the anchors
  uint64_t modulus = 0;
  std::string target_label;
  std::string replacement{kDefaultRelabelReplacement};
  RelabelAction action = RelabelAction::kReplace;

  // ^(?:regex)$, set by MakeRelabelConfig / ParseRelabelConfigs; shared by copies.
  std::shared_ptr<const re2::RE2> compiled_regex;
};

// Validates `spec` like Prometheus 2.42 and compiles its regex. Any compiled_regex already
// in `spec` is replaced. Errors are InvalidArgument and name the offending field.
Result<RelabelConfig> MakeRelabelConfig(RelabelConfig spec);

// Parses a YAML sequence of relabel configs with Prometheus's field names (source_labels,
// separator, regex, modulus, target_label, replacement, action), each validated as by
// MakeRelabelConfig. A null or undefined node is an empty list. Unknown fields are errors
// (Prometheus parses its config strictly). Errors say which entry (0-based) is at fault.
Result<std::vector<RelabelConfig>> ParseRelabelConfigs(const YAML::Node& node);

// Applies `configs` in order to `in`. Returns nullopt when keep/drop/keepequal/dropequal
// drops the set or when no labels remain.
// REQUIRES: every config came from MakeRelabelConfig or ParseRelabelConfigs.
std::optional<Labels> Relabel(const Labels& in, std::span<const RelabelConfig> configs);

// Exposed for tests: the 16-byte MD5 digest (RFC 1321) of `data`, and Go's
// regexp.Expand of `tmpl` given the match groups of `re` (groups[i] is the text of group i,
// or a null view when the group did not take part).
std::string Md5Digest(std::string_view data);
std::string ExpandTemplate(const re2::RE2& re, std::string_view tmpl,
                           std::span<const std::string_view> groups);

}  // namespace zw::scrape
