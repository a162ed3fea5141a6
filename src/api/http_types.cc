#include "api/http_types.h"

#include <cstdint>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/names.h"

namespace zw::api {
namespace {

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
