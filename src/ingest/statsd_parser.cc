#include "ingest/statsd_parser.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/names.h"

namespace zw::ingest {
namespace {

// Long lines are cut in error messages so that one bad packet cannot flood the log.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 80;
  if (s.size() <= kMax) return fmt::format("\"{}\"", s);
  return fmt::format("\"{}...\"", s.substr(0, kMax));
}

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether the label name `name` sanitises to starts with "__" (reserved in Prometheus).
bool SanitizesToReserved(std::string_view name) {
  if (name.size() < 2 || IsDigit(name[0])) return false;
  return !(IsLabelChar(name[0]) && name[0] != '_') && !(IsLabelChar(name[1]) && name[1] != '_');
}

Status ParseValue(std::string_view s, StatsdType type, StatsdValue& out) {
  if (s.empty()) return Status::InvalidArgument("empty value");
  const std::string_view text = s;
  bool negative = false;
  bool sign = false;
  if (s[0] == '+' || s[0] == '-') {
    sign = true;
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range && p == s.data() + s.size()) {
    return Status::InvalidArgument(fmt::format("value {} is out of range", Quote(text)));
  }
  if (s.empty() || s[0] == '+' || s[0] == '-' || ec != std::errc() || p != s.data() + s.size()) {
    return Status::InvalidArgument(fmt::format("value {} is not a number", Quote(text)));
  }
  if (!std::isfinite(v)) {
    return Status::InvalidArgument(fmt::format("value {} is not finite", Quote(text)));
  }
  if (negative) v = -v;
  out.v = v;
  out.relative = type == StatsdType::kGauge && sign;
  if (type == StatsdType::kCounter && v < 0) {
    return Status::InvalidArgument(
        fmt::format("counter increment {} is negative (Prometheus counters only go up)", v));
  }
  if (type == StatsdType::kTimer && v < 0) {
    return Status::InvalidArgument(fmt::format("timer value {} is negative", v));
  }
  return Status::Ok();
}

Result<StatsdType> ParseType(std::string_view t) {
  if (t == "c") return StatsdType::kCounter;
  if (t == "g") return StatsdType::kGauge;
  if (t == "ms") return StatsdType::kTimer;
  if (t == "h") return StatsdType::kHistogram;
  if (t == "d") return StatsdType::kDistribution;
  if (t == "s") return StatsdType::kSet;
  return Status::InvalidArgument(
      fmt::format("unknown type {} (expected c, g, ms, h, d or s)", Quote(t)));
}

// DogStatsD extension fields this server has no use for: "c:<container id>", "e:<external
// data>", any "<lowercase letters>:...", and "T<unix seconds>".
bool IsSkippedExtension(std::string_view f) {
  if (f.size() >= 2 && f[0] == 'T') {
    for (char c : f.substr(1)) {
      if (!IsDigit(c)) return false;
    }
    return true;
  }
  size_t i = 0;
  while (i < f.size() && f[i] >= 'a' && f[i] <= 'z') ++i;
  return i > 0 && i < f.size() && f[i] == ':';
}

}  // namespace

std::string_view StatsdTypeName(StatsdType t) {
  switch (t) {
    case StatsdType::kCounter:
      return "counter";
    case StatsdType::kGauge:
      return "gauge";
    case StatsdType::kTimer:
      return "timer";
    case StatsdType::kHistogram:
      return "histogram";
    case StatsdType::kDistribution:
      return "distribution";
    case StatsdType::kSet:
      return "set";
  }
  return "?";
}

std::string SanitizeStatsdMetricName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && IsDigit(name[0])) out += '_';
  for (char c : name) out += (IsLabelChar(c) || c == ':') ? c : '_';
  return out;
}

std::string SanitizeStatsdLabelName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && IsDigit(name[0])) out += '_';
  for (char c : name) out += IsLabelChar(c) ? c : '_';
  return out;
}

Status ParseStatsdTags(std::string_view text, bool histogram, std::vector<StatsdTag>& out) {
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view tag = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (tag.empty()) continue;
    size_t colon = tag.find(':');
    std::string_view name = tag.substr(0, colon);
    std::string_view value =
        colon == std::string_view::npos ? std::string_view("true") : tag.substr(colon + 1);
    if (name.empty()) {
      return Status::InvalidArgument(fmt::format("tag {} has an empty name", Quote(tag)));
    }
    if (SanitizesToReserved(name)) {
      return Status::InvalidArgument(fmt::format(
          "tag name {} would become a label starting with \"__\", which is reserved", Quote(name)));
    }
    if (histogram && SanitizeStatsdLabelName(name) == "le") {
      return Status::InvalidArgument(
          "tag name \"le\" is reserved for the buckets of timers, histograms and distributions");
    }
    if (!IsValidUtf8(value)) {
      return Status::InvalidArgument(fmt::format("tag {}: value is not valid UTF-8", Quote(name)));
    }
    out.push_back({name, value});
  }
  return Status::Ok();
}

Status ParseStatsdLine(std::string_view line, StatsdLine& out) {
  out.values.clear();
  out.tags.clear();
  out.set_value = {};
  out.sample_rate = 1;
  out.name = {};
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.starts_with("_e{")) {
    out.kind = StatsdLineKind::kEvent;
    return Status::Ok();
  }
  if (line.starts_with("_sc|")) {
    out.kind = StatsdLineKind::kServiceCheck;
    return Status::Ok();
  }
  out.kind = StatsdLineKind::kMetric;
  size_t colon = line.find(':');
  size_t bar = line.find('|');
  if (colon == std::string_view::npos || (bar != std::string_view::npos && bar < colon)) {
    return Status::InvalidArgument(fmt::format(
        "line {}: expected <name>:<value>|<type>, found no ':' after the name", Quote(line)));
  }
  if (colon == 0) return Status::InvalidArgument(fmt::format("line {}: empty name", Quote(line)));
  out.name = line.substr(0, colon);
  if (bar == std::string_view::npos) {
    return Status::InvalidArgument(fmt::format(
        "line {}: expected <name>:<value>|<type>, found no '|' before the type", Quote(line)));
  }
  std::string_view value_text = line.substr(colon + 1, bar - colon - 1);
  std::string_view rest = line.substr(bar + 1);

  size_t next = rest.find('|');
  auto type = ParseType(rest.substr(0, next));
  if (!type.ok()) {
    return Status::InvalidArgument(
        fmt::format("line {}: {}", Quote(line), type.status().message()));
  }
  out.type = *type;
  bool histogram = out.type == StatsdType::kTimer || out.type == StatsdType::kHistogram ||
                   out.type == StatsdType::kDistribution;
  bool have_rate = false;
  while (next != std::string_view::npos) {
    rest = rest.substr(next + 1);
    next = rest.find('|');
    std::string_view field = rest.substr(0, next);
    if (field.empty()) {
      return Status::InvalidArgument(fmt::format("line {}: empty field between '|'", Quote(line)));
    }
    if (field[0] == '@') {
      if (have_rate) {
        return Status::InvalidArgument(fmt::format("line {}: two sample rates", Quote(line)));
      }
      have_rate = true;
      std::string_view r = field.substr(1);
      double rate = 0;
      auto [p, ec] = std::from_chars(r.data(), r.data() + r.size(), rate);
      if (r.empty() || ec != std::errc() || p != r.data() + r.size() || !(rate > 0) || rate > 1) {
        return Status::InvalidArgument(
            fmt::format("line {}: sample rate {} must be a number greater than 0 and at most 1",
                        Quote(line), Quote(r)));
      }
      out.sample_rate = rate;
    } else if (field[0] == '#') {
      Status st = ParseStatsdTags(field.substr(1), histogram, out.tags);
      if (!st.ok()) {
        return Status::InvalidArgument(fmt::format("line {}: {}", Quote(line), st.message()));
      }
    } else if (!IsSkippedExtension(field)) {
      return Status::InvalidArgument(fmt::format(
          "line {}: unknown field {} (expected @<rate> or #<tags>)", Quote(line), Quote(field)));
    }
  }

  if (out.type == StatsdType::kSet) {
    if (value_text.empty()) {
      return Status::InvalidArgument(fmt::format("line {}: empty set value", Quote(line)));
    }
    out.set_value = value_text;
    return Status::Ok();
  }
  // DogStatsD 1.1 packs several values of one metric into a line: "name:1:2:3|h".
  while (true) {
    size_t sep = value_text.find(':');
    StatsdValue v;
    Status st = ParseValue(value_text.substr(0, sep), out.type, v);
    if (!st.ok()) {
      return Status::InvalidArgument(fmt::format("line {}: {}", Quote(line), st.message()));
    }
    out.values.push_back(v);
    if (sep == std::string_view::npos) break;
    value_text = value_text.substr(sep + 1);
  }
  return Status::Ok();
}

}  // namespace zw::ingest
