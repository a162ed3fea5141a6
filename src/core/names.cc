#include "core/names.h"

#include <cstdint>

namespace zw {
namespace {
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool IsValidMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!(IsAlpha(c) || c == ':' || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!(IsAlpha(c) || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto lead = static_cast<uint8_t>(s[i]);
  size_t extra;
  uint32_t cp;
  if (lead < 0x80) return 1;
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
    return 0;
  }
  if (i + extra >= s.size()) return 0;
  for (size_t k = 1; k <= extra; ++k) {
    auto c = static_cast<uint8_t>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[extra] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return extra + 1;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Status ValidateSeriesLabels(const Labels& labels) {
  if (labels.empty()) return Status::InvalidArgument("series has no labels");
  std::string_view name = labels.MetricName();
  if (name.empty())
    return Status::InvalidArgument("series " + labels.ToString() +
                                   " has no metric name (__name__)");
  if (!IsValidMetricName(name)) {
    return Status::InvalidArgument("invalid metric name \"" + std::string(name) + "\"");
  }
  for (const Label& l : labels) {
    if (l.name != kMetricNameLabel && !IsValidLabelName(l.name)) {
      return Status::InvalidArgument("invalid label name \"" + std::string(l.name) + "\" in " +
                                     labels.ToString());
    }
    if (!IsValidUtf8(l.value)) {
      return Status::InvalidArgument("label " + std::string(l.name) + " of metric " +
                                     std::string(name) + " has a value that is not valid UTF-8");
    }
  }
  return Status::Ok();
}

}  // namespace zw
