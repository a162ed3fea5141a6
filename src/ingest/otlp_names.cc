#include "ingest/otlp_names.h"

#include <utility>
#include <vector>

namespace zw::ingest::otlp {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// UCUM units Prometheus spells out (its otlptranslator's table).
std::string_view MainUnit(std::string_view u) {
  static constexpr std::pair<std::string_view, std::string_view> kUnits[] = {
      // time
      {"d", "days"},
      {"h", "hours"},
      {"min", "minutes"},
      {"s", "seconds"},
      {"ms", "milliseconds"},
      {"us", "microseconds"},
      {"ns", "nanoseconds"},
      // bytes
      {"By", "bytes"},
      {"KiBy", "kibibytes"},
      {"MiBy", "mebibytes"},
      {"GiBy", "gibibytes"},
      {"TiBy", "tibibytes"},
      {"KBy", "kilobytes"},
      {"MBy", "megabytes"},
      {"GBy", "gigabytes"},
      {"TBy", "terabytes"},
      // SI
      {"m", "meters"},
      {"V", "volts"},
      {"A", "amperes"},
      {"J", "joules"},
      {"W", "watts"},
      {"g", "grams"},
      // misc
      {"Cel", "celsius"},
      {"Hz", "hertz"},
      {"1", ""},
      {"%", "percent"},
  };
  for (const auto& [k, v] : kUnits) {
    if (k == u) return v;
  }
  return {};
}

std::string_view PerUnit(std::string_view u) {
  static constexpr std::pair<std::string_view, std::string_view> kPer[] = {
      {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
      {"w", "week"},   {"mo", "month"}, {"y", "year"},
  };
  for (const auto& [k, v] : kPer) {
    if (k == u) return v;
  }
  return {};
}

// Splits into runs of characters `keep` accepts.
template <typename Keep>
std::vector<std::string_view> Words(std::string_view s, Keep keep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && !keep(s[i])) ++i;
    size_t b = i;
    while (i < s.size() && keep(s[i])) ++i;
    if (i > b) out.push_back(s.substr(b, i - b));
  }
  return out;
}

// A unit that is not in the tables: its alphanumeric runs joined by "_".
std::string CleanUnit(std::string_view u) {
  std::string out;
  for (std::string_view w : Words(u, IsAlnum)) {
    if (!out.empty()) out.push_back('_');
    out.append(w);
  }
  return out;
}

std::string UnitPart(std::string_view u, bool per) {
  while (!u.empty() && u.front() == ' ') u.remove_prefix(1);
  while (!u.empty() && u.back() == ' ') u.remove_suffix(1);
  if (u.empty() || u.find('{') != std::string_view::npos) return {};
  std::string_view known = per ? PerUnit(u) : MainUnit(u);
  if (!known.empty() || u == "1") return std::string(known);
  return CleanUnit(u);
}

}  // namespace

std::string UnitWords(std::string_view unit) {
  size_t slash = unit.find('/');
  std::string main = UnitPart(unit.substr(0, slash), false);
  std::string per =
      slash == std::string_view::npos ? std::string() : UnitPart(unit.substr(slash + 1), true);
  if (per.empty()) return main;
  return main.empty() ? "per_" + per : main + "_per_" + per;
}

std::string MetricName(std::string_view name, std::string_view unit, NameKind kind) {
  auto keep = [](char c) { return IsAlnum(c) || c == ':'; };
  std::vector<std::string_view> words = Words(name, keep);
  if (kind == NameKind::kCounter) {
    while (!words.empty() && words.back() == "total") words.pop_back();
  }
  std::vector<std::string_view> suffix;
  std::string unit_words = UnitWords(unit);
  if (kind == NameKind::kGauge && unit == "1") unit_words = "ratio";
  std::vector<std::string_view> uw = Words(unit_words, IsAlnum);
  // Appended unless the name already ends with the unit's words.
  bool has = uw.size() <= words.size() && !uw.empty();
  for (size_t i = 0; has && i < uw.size(); ++i) {
    if (words[words.size() - uw.size() + i] != uw[i]) has = false;
  }
  if (!has) suffix = uw;
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) out.push_back('_');
    out.append(w);
  }
  if (out.empty()) return out;
  for (std::string_view w : suffix) {
    out.push_back('_');
    out.append(w);
  }
  if (kind == NameKind::kCounter) out.append("_total");
  if (out[0] >= '0' && out[0] <= '9') out.insert(0, "_");
  return out;
}

std::string LabelName(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (IsAlnum(c) || c == '_') {
      out.push_back(c);
      continue;
    }
    out.push_back('_');
    // One "_" per UTF-8 character: skip its continuation bytes.
    auto u = static_cast<unsigned char>(c);
    if (u >= 0xc0) {
      while (i + 1 < key.size() && (static_cast<unsigned char>(key[i + 1]) & 0xc0) == 0x80) ++i;
    }
  }
  if (out.empty()) return out;
  if (out[0] >= '0' && out[0] <= '9') return "key_" + out;
  if (out[0] == '_') return "key" + out;
  return out;
}

}  // namespace zw::ingest::otlp
