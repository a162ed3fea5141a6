#include "client/validate.h"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace zenwatch::internal {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void Throw(std::string message) {
  throw std::invalid_argument("zenwatch: " + message);
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(IsAlpha(c) || c == '_' || c == ':' || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(IsAlpha(c) || c == '_' || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra;
    std::uint32_t cp;
    if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      cp = lead & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    constexpr std::uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;  // overlong, beyond Unicode, or a surrogate
    }
    i += extra + 1;
  }
  return true;
}

void CheckMetricName(std::string_view metric) {
  if (!IsValidMetricName(metric)) Throw("invalid metric name \"" + std::string(metric) + "\"");
}

void CheckLabelName(std::string_view metric, std::string_view label) {
  if (!IsValidLabelName(label)) {
    Throw("invalid label name \"" + std::string(label) + "\" for metric " + std::string(metric));
  }
  if (label.starts_with("__")) {
    Throw("label name \"" + std::string(label) + "\" for metric " + std::string(metric) +
          " is reserved (starts with __)");
  }
}

void CheckLabelValue(std::string_view metric, std::string_view label, std::string_view value) {
  if (!IsValidUtf8(value)) {
    Throw("value of label \"" + std::string(label) + "\" for metric " + std::string(metric) +
          " is not valid UTF-8");
  }
}

}  // namespace zenwatch::internal
