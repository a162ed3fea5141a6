#include "api/beast_message.h"

#include <cctype>
#include <ctime>

#include <fmt/format.h>

#include "api/url.h"

namespace zw::api {
namespace http = boost::beast::http;
namespace {

// Beast 1.74 speaks boost::string_view.
std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "http://host:9090/api/v1/query?x" -> "/api/v1/query?x"; origin-form passes unchanged.
std::string_view OriginForm(std::string_view target) {
  size_t scheme_end = target.find("://");
  if (target.starts_with('/') || scheme_end == std::string_view::npos) return target;
  size_t path_start = target.find_first_of("/?", scheme_end + 3);
  if (path_start == std::string_view::npos) return "/";
  return target.substr(path_start);  // may start with '?': the empty path means "/"
}

bool IsFormBody(const HttpRequest& request) {
  if (request.method != "POST" && request.method != "PUT" && request.method != "PATCH") {
    return false;
  }
  std::optional<std::string_view> type = request.Header("content-type");
  if (!type) return false;
  std::string_view media = type->substr(0, type->find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return ToLower(media) == "application/x-www-form-urlencoded";
}

// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"; spelled out by hand because strftime's names
// follow the process locale.
std::string HttpDate(std::chrono::system_clock::time_point now) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace

Result<HttpRequest> ToHttpRequest(WireRequest&& wire, std::string remote,
                                  std::chrono::steady_clock::time_point deadline) {
  HttpRequest request;
  request.method = std::string(View(wire.method_string()));
  request.target = std::string(View(wire.target()));
  request.remote = std::move(remote);
  request.deadline = deadline;
  for (const auto& field : wire) {
    request.headers.emplace_back(ToLower(View(field.name_string())),
                                 std::string(View(field.value())));
  }

  std::string_view target = OriginForm(request.target);
  size_t question = target.find('?');
  std::string_view raw_path = target.substr(0, question);
  Result<std::string> path = PercentDecode(raw_path.empty() ? "/" : raw_path, PlusMode::kLiteral);
  if (!path.ok()) return path.status();
  request.path = std::move(*path);

  if (IsFormBody(request)) {
    auto form = ParseQueryString(wire.body());
    if (!form.ok()) return form.status();
    request.params = std::move(*form);
  }
  if (question != std::string_view::npos) {
    auto query = ParseQueryString(target.substr(question + 1));
    if (!query.ok()) return query.status();
    for (auto& kv : *query) request.params.push_back(std::move(kv));
  }
  request.body = std::move(wire.body());
  return request;
}

WireResponse ToWireResponse(HttpResponse&& response, unsigned version, bool keep_alive,
                            bool head_request) {
  WireResponse wire;
  wire.version(version);
  wire.result(response.status);
  wire.set(http::field::server, "zenwatch");
  wire.set(http::field::date, HttpDate(std::chrono::system_clock::now()));
  if (!response.content_type.empty()) wire.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) wire.insert(name, value);
  wire.keep_alive(keep_alive);

  unsigned status = response.status;
  bool bodyless_status = status < 200 || status == 204 || status == 304;
  if (bodyless_status) response.body.clear();
  size_t body_size = response.body.size();
  wire.body() = std::move(response.body);
  if (bodyless_status) return wire;  // and no Content-Length either (RFC 9110 8.6)
  if (head_request) {
    wire.content_length(body_size);
    wire.body().clear();
  } else {
    wire.prepare_payload();
  }
  return wire;
}

}  // namespace zw::api
