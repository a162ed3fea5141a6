#include "api/http_types.h"

#include <cstdint>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace zw::api {
namespace {

// Length of the well-formed UTF-8 sequence that starts at s[i], or 0 if it is not one
// (stray continuation byte, truncated, overlong, surrogate, past U+10FFFF).
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

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, one per bad byte
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string_view> HttpRequest::Param(std::string_view key) const {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string_view> HttpRequest::Params(std::string_view key) const {
  std::vector<std::string_view> values;
  for (const auto& [k, v] : params) {
    if (k == key) values.emplace_back(v);
  }
  return values;
}

std::optional<std::string_view> HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

HttpResponse ErrorResponse(unsigned status, std::string_view error_type, std::string_view message) {
  std::string clean_type = ToValidUtf8(error_type);
  std::string clean_message = ToValidUtf8(message);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("status");
  writer.String("error");
  writer.Key("errorType");
  writer.String(clean_type.data(), static_cast<rapidjson::SizeType>(clean_type.size()));
  writer.Key("error");
  writer.String(clean_message.data(), static_cast<rapidjson::SizeType>(clean_message.size()));
  writer.EndObject();
  return JsonResponse(std::string(buffer.GetString(), buffer.GetSize()), status);
}

HttpResponse JsonResponse(std::string body, unsigned status) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

}  // namespace zw::api
