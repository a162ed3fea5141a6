#include "scrape/relabel.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include "core/names.h"

namespace zw::scrape {
namespace {

// ---------------------------------------------------------------------------------------
// MD5 (RFC 1321). Processes 64-byte blocks of little-endian 32-bit words in four rounds of
// sixteen steps; the digest is the four state words written little-endian.

constexpr std::array<uint32_t, 64> kMd5Shift = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,  // round 1
    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,  // round 2
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,  // round 3
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,  // round 4
};

// K[i] = floor(|sin(i + 1)| * 2^32), as the RFC defines it.
const std::array<uint32_t, 64>& Md5Constants() {
  static const std::array<uint32_t, 64> k = [] {
    std::array<uint32_t, 64> t{};
    for (size_t i = 0; i < t.size(); ++i) {
      t[i] = static_cast<uint32_t>(
          std::floor(std::fabs(std::sin(static_cast<double>(i + 1))) * 4294967296.0));
    }
    return t;
  }();
  return k;
}

uint32_t RotateLeft(uint32_t x, uint32_t n) { return (x << n) | (x >> (32 - n)); }

void Md5Block(std::array<uint32_t, 4>& state, const unsigned char* block) {
  const auto& k = Md5Constants();
  uint32_t m[16];
  for (size_t i = 0; i < 16; ++i) {
    m[i] = static_cast<uint32_t>(block[4 * i]) | (static_cast<uint32_t>(block[4 * i + 1]) << 8) |
           (static_cast<uint32_t>(block[4 * i + 2]) << 16) |
           (static_cast<uint32_t>(block[4 * i + 3]) << 24);
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  for (uint32_t i = 0; i < 64; ++i) {
    uint32_t f;
    uint32_t g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    f = f + a + k[i] + m[g];
    a = d;
    d = c;
    c = b;
    b = b + RotateLeft(f, kMd5Shift[i]);
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

// ---------------------------------------------------------------------------------------
// Validation helpers.

// Prometheus's relabelTarget: a label name in which $name / ${name} templates may stand for
// letters. Used for replace target labels containing '$' and for labelmap replacements.
const re2::RE2& RelabelTargetRegex() {
  static const re2::RE2 re(R"(^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$)");
  return re;
}

bool IsTemplateLabelName(std::string_view s) {
  return re2::RE2::FullMatch(s, RelabelTargetRegex());
}

bool NeedsTargetLabel(RelabelAction a) {
  switch (a) {
    case RelabelAction::kReplace:
    case RelabelAction::kHashMod:
    case RelabelAction::kLowercase:
    case RelabelAction::kUppercase:
    case RelabelAction::kKeepEqual:
    case RelabelAction::kDropEqual:
      return true;
    default:
      return false;
  }
}

bool IsCaseOrEqualAction(RelabelAction a) {
  return a == RelabelAction::kLowercase || a == RelabelAction::kUppercase ||
         a == RelabelAction::kKeepEqual || a == RelabelAction::kDropEqual;
}

Status Invalid(const RelabelConfig& c, std::string_view field, std::string_view what) {
  return Status::Error(StatusCode::kInvalidArgument, "relabel config ({}): '{}' {}",
                       RelabelActionName(c.action), field, what);
}

Status Validate(const RelabelConfig& c) {
  const std::string_view action = RelabelActionName(c.action);
  for (const std::string& name : c.source_labels) {
    if (!IsValidLabelName(name)) {
      return Invalid(c, "source_labels", fmt::format("contains invalid label name \"{}\"", name));
    }
  }
  if (c.action == RelabelAction::kHashMod && c.modulus == 0) {
    return Invalid(c, "modulus", "must be non-zero for hashmod");
  }
  if (NeedsTargetLabel(c.action) && c.target_label.empty()) {
    return Invalid(c, "target_label", fmt::format("is required for {}", action));
  }
  const bool has_template = c.target_label.find('$') != std::string::npos;
  if (c.action == RelabelAction::kReplace &&
      !(has_template ? IsTemplateLabelName(c.target_label) : IsValidLabelName(c.target_label))) {
    return Invalid(c, "target_label",
                   fmt::format("\"{}\" is invalid for {}", c.target_label, action));
  }
  if (IsCaseOrEqualAction(c.action) && !IsValidLabelName(c.target_label)) {
    return Invalid(c, "target_label",
                   fmt::format("\"{}\" is invalid for {}", c.target_label, action));
  }
  if (IsCaseOrEqualAction(c.action) && c.replacement != kDefaultRelabelReplacement) {
    return Invalid(c, "replacement", fmt::format("can not be set for {}", action));
  }
  if (c.action == RelabelAction::kLabelMap && !IsTemplateLabelName(c.replacement)) {
    return Invalid(c, "replacement",
                   fmt::format("\"{}\" is invalid for {}", c.replacement, action));
  }
  if (c.action == RelabelAction::kHashMod && !IsValidLabelName(c.target_label)) {
    return Invalid(c, "target_label",
                   fmt::format("\"{}\" is invalid for {}", c.target_label, action));
  }
  if (c.action == RelabelAction::kKeepEqual || c.action == RelabelAction::kDropEqual) {
    const char* field = nullptr;
    if (c.regex != kDefaultRelabelRegex) {
      field = "regex";
    } else if (c.modulus != 0) {
      field = "modulus";
    } else if (c.separator != kDefaultRelabelSeparator) {
      field = "separator";
    }
    if (field != nullptr) {
      return Invalid(
          c, field,
          fmt::format("can not be set: {} takes only 'source_labels' and 'target_label'", action));
    }
  }
  if (c.action == RelabelAction::kLabelDrop || c.action == RelabelAction::kLabelKeep) {
    const char* field = nullptr;
    if (!c.source_labels.empty()) {
      field = "source_labels";
    } else if (!c.target_label.empty()) {
      field = "target_label";
    } else if (c.modulus != 0) {
      field = "modulus";
    } else if (c.separator != kDefaultRelabelSeparator) {
      field = "separator";
    } else if (c.replacement != kDefaultRelabelReplacement) {
      field = "replacement";
    }
    if (field != nullptr) {
      return Invalid(c, field, fmt::format("can not be set: {} takes only 'regex'", action));
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// The label set being rewritten: small, so a vector with linear lookups. Values are never
// empty; setting "" deletes.

class WorkingSet {
 public:
  explicit WorkingSet(const Labels& in) {
    pairs_.reserve(in.size() + 2);
    for (const Label& l : in) pairs_.emplace_back(std::string(l.name), std::string(l.value));
  }

  std::string_view Get(std::string_view name) const {
    for (const auto& p : pairs_) {
      if (p.first == name) return p.second;
    }
    return {};
  }

  void Set(std::string_view name, std::string_view value) {
    for (size_t i = 0; i < pairs_.size(); ++i) {
      if (pairs_[i].first != name) continue;
      if (value.empty()) {
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        pairs_[i].second.assign(value);
      }
      return;
    }
    if (!value.empty()) pairs_.emplace_back(std::string(name), std::string(value));
  }

  template <typename Pred>
  void EraseNamesIf(Pred pred) {
    std::erase_if(pairs_, [&](const auto& p) { return pred(p.first); });
  }

  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }

  Labels Build() const {
    std::vector<std::pair<std::string_view, std::string_view>> v;
    v.reserve(pairs_.size());
    for (const auto& p : pairs_) v.emplace_back(p.first, p.second);
    return Labels::FromPairs(std::move(v));
  }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// Matches `text` against the (anchored) regex, filling `groups` (views into `text`).
// False when it does not match.
bool MatchGroups(const re2::RE2& re, std::string_view text, std::vector<re2::StringPiece>& pieces,
                 std::vector<std::string_view>& groups) {
  pieces.assign(static_cast<size_t>(re.NumberOfCapturingGroups()) + 1, re2::StringPiece());
  if (!re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), re2::RE2::ANCHOR_BOTH,
                pieces.data(), static_cast<int>(pieces.size()))) {
    return false;
  }
  groups.clear();
  for (const re2::StringPiece& p : pieces) groups.emplace_back(p.data(), p.size());
  return true;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char AsciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

uint64_t HashModValue(std::string_view value, uint64_t modulus) {
  const std::string digest = Md5Digest(value);
  uint64_t v = 0;
  for (size_t i = 8; i < 16; ++i) v = (v << 8) | static_cast<unsigned char>(digest[i]);
  return v % modulus;
}

// Applies one config. False when the set is dropped.
struct MatchScratch {
  std::vector<re2::StringPiece> pieces;
  std::vector<std::string_view> groups;
};

bool ApplyOne(const RelabelConfig& cfg, WorkingSet& ws, MatchScratch& m) {
  std::string val;
  for (size_t i = 0; i < cfg.source_labels.size(); ++i) {
    if (i > 0) val += cfg.separator;
    val += ws.Get(cfg.source_labels[i]);
  }
  const re2::RE2& re = *cfg.compiled_regex;

  switch (cfg.action) {
    case RelabelAction::kDrop:
      return !re2::RE2::FullMatch(val, re);
    case RelabelAction::kKeep:
      return re2::RE2::FullMatch(val, re);
    case RelabelAction::kDropEqual:
      return ws.Get(cfg.target_label) != val;
    case RelabelAction::kKeepEqual:
      return ws.Get(cfg.target_label) == val;
    case RelabelAction::kReplace: {
      if (!MatchGroups(re, val, m.pieces, m.groups)) return true;
      const std::string target = ExpandTemplate(re, cfg.target_label, m.groups);
      if (!IsValidLabelName(target)) return true;
      const std::string res = ExpandTemplate(re, cfg.replacement, m.groups);
      ws.Set(target, res);  // empty deletes
      return true;
    }
    case RelabelAction::kLowercase:
      for (char& c : val) c = AsciiLower(c);
      ws.Set(cfg.target_label, val);
      return true;
    case RelabelAction::kUppercase:
      for (char& c : val) c = AsciiUpper(c);
      ws.Set(cfg.target_label, val);
      return true;
    case RelabelAction::kHashMod:
      ws.Set(cfg.target_label, std::to_string(HashModValue(val, cfg.modulus)));
      return true;
    case RelabelAction::kLabelMap: {
      // Map from the labels as they were before this step, like Prometheus.
      const auto snapshot = ws.pairs();
      for (const auto& [name, value] : snapshot) {
        if (!MatchGroups(re, name, m.pieces, m.groups)) continue;
        const std::string mapped = ExpandTemplate(re, cfg.replacement, m.groups);
        if (!mapped.empty()) ws.Set(mapped, value);
      }
      return true;
    }
    case RelabelAction::kLabelDrop:
      ws.EraseNamesIf([&](const std::string& name) { return re2::RE2::FullMatch(name, re); });
      return true;
    case RelabelAction::kLabelKeep:
      ws.EraseNamesIf([&](const std::string& name) { return !re2::RE2::FullMatch(name, re); });
      return true;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// YAML.

Status EntryError(size_t index, std::string_view field, std::string_view what) {
  return Status::Error(StatusCode::kInvalidArgument, "relabel_configs[{}]: '{}' {}", index, field,
                       what);
}

// A scalar field; null means the zero value (""), as with Go's yaml decoder.
Result<std::string> ScalarField(const YAML::Node& v, size_t index, std::string_view field) {
  if (v.IsNull()) return std::string();
  if (!v.IsScalar()) return EntryError(index, field, "must be a string");
  return v.Scalar();
}

Result<RelabelConfig> ParseOne(const YAML::Node& entry, size_t index) {
  if (!entry.IsMap()) {
    return Status::Error(StatusCode::kInvalidArgument, "relabel_configs[{}]: must be a mapping",
                         index);
  }
  RelabelConfig c;
  for (const auto& kv : entry) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    const YAML::Node& v = kv.second;
    if (key == "source_labels") {
      c.source_labels.clear();
      if (v.IsNull()) continue;
      if (!v.IsSequence()) return EntryError(index, key, "must be a list of label names");
      for (const auto& item : v) {
        if (!item.IsScalar()) return EntryError(index, key, "must be a list of label names");
        c.source_labels.push_back(item.Scalar());
      }
    } else if (key == "separator" || key == "regex" || key == "target_label" ||
               key == "replacement" || key == "action") {
      auto s = ScalarField(v, index, key);
      if (!s.ok()) return s.status();
      if (key == "separator") {
        c.separator = std::move(*s);
      } else if (key == "regex") {
        c.regex = std::move(*s);
      } else if (key == "target_label") {
        c.target_label = std::move(*s);
      } else if (key == "replacement") {
        c.replacement = std::move(*s);
      } else {
        if (s->empty()) return EntryError(index, key, "can not be empty");
        auto action = ParseRelabelAction(*s);
        if (!action)
          return EntryError(index, key, fmt::format("unknown relabel action \"{}\"", *s));
        c.action = *action;
      }
    } else if (key == "modulus") {
      c.modulus = 0;
      if (v.IsNull()) continue;
      if (!v.IsScalar()) return EntryError(index, key, "must be a non-negative integer");
      const std::string& s = v.Scalar();
      const char* end = s.data() + s.size();
      auto [ptr, ec] = std::from_chars(s.data(), end, c.modulus);
      if (ec != std::errc() || ptr != end || s.empty()) {
        return EntryError(index, key, fmt::format("\"{}\" is not a non-negative integer", s));
      }
    } else {
      return Status::Error(StatusCode::kInvalidArgument, "relabel_configs[{}]: unknown field '{}'",
                           index, key);
    }
  }
  auto made = MakeRelabelConfig(std::move(c));
  if (!made.ok()) {
    return Status::Error(StatusCode::kInvalidArgument, "relabel_configs[{}]: {}", index,
                         made.status().message());
  }
  return made;
}

}  // namespace

// ---------------------------------------------------------------------------------------

std::string_view RelabelActionName(RelabelAction action) {
  switch (action) {
    case RelabelAction::kReplace:
      return "replace";
    case RelabelAction::kKeep:
      return "keep";
    case RelabelAction::kDrop:
      return "drop";
    case RelabelAction::kKeepEqual:
      return "keepequal";
    case RelabelAction::kDropEqual:
      return "dropequal";
    case RelabelAction::kHashMod:
      return "hashmod";
    case RelabelAction::kLabelMap:
      return "labelmap";
    case RelabelAction::kLabelDrop:
      return "labeldrop";
    case RelabelAction::kLabelKeep:
      return "labelkeep";
    case RelabelAction::kLowercase:
      return "lowercase";
    case RelabelAction::kUppercase:
      return "uppercase";
  }
  return "unknown";
}

std::optional<RelabelAction> ParseRelabelAction(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = AsciiLower(c);
  static constexpr RelabelAction kAll[] = {
      RelabelAction::kReplace,   RelabelAction::kKeep,      RelabelAction::kDrop,
      RelabelAction::kKeepEqual, RelabelAction::kDropEqual, RelabelAction::kHashMod,
      RelabelAction::kLabelMap,  RelabelAction::kLabelDrop, RelabelAction::kLabelKeep,
      RelabelAction::kLowercase, RelabelAction::kUppercase,
  };
  for (RelabelAction a : kAll) {
    if (RelabelActionName(a) == lower) return a;
  }
  return std::nullopt;
}

std::string Md5Digest(std::string_view data) {
  std::array<uint32_t, 4> state = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  size_t full = data.size() / 64;
  for (size_t i = 0; i < full; ++i) Md5Block(state, bytes + 64 * i);

  // Tail: the remaining bytes, 0x80, zeros, and the bit length (little-endian) in the last
  // 8 bytes of one or two final blocks.
  unsigned char tail[128] = {};
  const size_t rest = data.size() % 64;
  if (rest > 0) std::memcpy(tail, bytes + 64 * full, rest);
  tail[rest] = 0x80;
  const size_t tail_len = rest < 56 ? 64 : 128;
  const uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  for (size_t i = 0; i < 8; ++i)
    tail[tail_len - 8 + i] = static_cast<unsigned char>(bits >> (8 * i));
  for (size_t off = 0; off < tail_len; off += 64) Md5Block(state, tail + off);

  std::string out(16, '\0');
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = 0; j < 4; ++j) out[4 * i + j] = static_cast<char>(state[i] >> (8 * j));
  }
  return out;
}

std::string ExpandTemplate(const re2::RE2& re, std::string_view tmpl,
                           std::span<const std::string_view> groups) {
  auto is_name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  std::string out;
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl.front() == '$') {  // "$$" is a literal '$'
      out.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    // A reference: name or {name}, name = [A-Za-z0-9_]+.
    const bool brace = !tmpl.empty() && tmpl.front() == '{';
    size_t i = brace ? 1 : 0;
    const size_t name_start = i;
    while (i < tmpl.size() && is_name_char(tmpl[i])) ++i;
    const std::string_view name = tmpl.substr(name_start, i - name_start);
    const bool malformed = name.empty() || (brace && (i >= tmpl.size() || tmpl[i] != '}'));
    if (malformed) {  // Go keeps the '$' as text and carries on after it.
      out.push_back('$');
      continue;
    }
    if (brace) ++i;
    tmpl.remove_prefix(i);

    // All digits, no leading zero, below 1e8 → a group number; otherwise a group name.
    int64_t num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name.front() == '0') num = -1;
    if (num < 0) {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      num = it == named.end() ? -1 : it->second;
    }
    if (num >= 0 && static_cast<size_t>(num) < groups.size()) {
      out.append(groups[static_cast<size_t>(num)]);
    }
  }
  out.append(tmpl);
  return out;
}

Result<RelabelConfig> MakeRelabelConfig(RelabelConfig spec) {
  ZW_RETURN_IF_ERROR(Validate(spec));
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>("^(?:" + spec.regex + ")$", opts);
  if (!re->ok()) {
    return Invalid(spec, "regex",
                   fmt::format("\"{}\" does not compile: {}", spec.regex, re->error()));
  }
  spec.compiled_regex = std::move(re);
  return spec;
}

Result<std::vector<RelabelConfig>> ParseRelabelConfigs(const YAML::Node& node) {
  std::vector<RelabelConfig> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) {
    return Status::InvalidArgument("relabel_configs: must be a list of relabel configs");
  }
  out.reserve(node.size());
  for (size_t i = 0; i < node.size(); ++i) {
    auto c = ParseOne(node[i], i);
    if (!c.ok()) return c.status();
    out.push_back(std::move(*c));
  }
  return out;
}

std::optional<Labels> Relabel(const Labels& in, std::span<const RelabelConfig> configs) {
  if (configs.empty()) {
    if (in.empty()) return std::nullopt;
    return in;
  }
  WorkingSet ws(in);
  MatchScratch scratch;
  for (const RelabelConfig& cfg : configs) {
    if (!ApplyOne(cfg, ws, scratch)) return std::nullopt;
  }
  if (ws.pairs().empty()) return std::nullopt;
  return ws.Build();
}

}  // namespace zw::scrape
