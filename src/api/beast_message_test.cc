#include "api/beast_message.h"

#include <gtest/gtest.h>

namespace zw::api {
namespace {

namespace http = boost::beast::http;
using Pairs = std::vector<std::pair<std::string, std::string>>;

WireRequest Wire(http::verb method, std::string target, std::string body = "",
                 std::string content_type = "") {
  WireRequest wire(method, target, 11);
  if (!content_type.empty()) wire.set(http::field::content_type, content_type);
  wire.body() = std::move(body);
  wire.prepare_payload();
  return wire;
}

HttpRequest Convert(WireRequest wire) {
  Result<HttpRequest> request =
      ToHttpRequest(std::move(wire), "127.0.0.1:5555", std::chrono::steady_clock::time_point());
  EXPECT_TRUE(request.ok()) << request.status().ToString();
  return request.ok() ? std::move(*request) : HttpRequest{};
}

// "Sun, 06 Nov 1994 08:49:37 GMT": letters, digits and separators where they belong.
bool IsImfFixdate(std::string_view date) {
  std::string_view shape = "Aaa, 00 Aaa 0000 00:00:00 GMT";
  if (date.size() != shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    char want = shape[i];
    char got = date[i];
    bool ok = want == '0'   ? (got >= '0' && got <= '9')
              : want == 'A' ? (got >= 'A' && got <= 'Z')
              : want == 'a' ? (got >= 'a' && got <= 'z')
                            : got == want;
    if (!ok) return false;
  }
  return true;
}

std::string Field(const WireResponse& wire, http::field field) { return std::string(wire[field]); }

TEST(ToHttpRequestTest, SplitsAndDecodesTarget) {
  WireRequest wire = Wire(http::verb::get, "/api/v1/label/a%20b/values?match%5B%5D=up&x=1+2");
  wire.set("X-Scope-OrgID", "tenant");
  HttpRequest request = Convert(std::move(wire));
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/api/v1/label/a%20b/values?match%5B%5D=up&x=1+2");
  EXPECT_EQ(request.path, "/api/v1/label/a b/values");
  EXPECT_EQ(request.params, (Pairs{{"match[]", "up"}, {"x", "1 2"}}));
  EXPECT_EQ(request.Header("x-scope-orgid"), "tenant");
  EXPECT_EQ(request.remote, "127.0.0.1:5555");
}

TEST(ToHttpRequestTest, PlusInPathIsLiteral) {
  HttpRequest request = Convert(Wire(http::verb::get, "/a+b"));
  EXPECT_EQ(request.path, "/a+b");
}

TEST(ToHttpRequestTest, FormBodyParamsComeBeforeQueryParams) {
  HttpRequest request =
      Convert(Wire(http::verb::post, "/api/v1/series?match[]=q1&start=1", "match[]=f1&match[]=f2+x",
                   "application/x-www-form-urlencoded"));
  EXPECT_EQ(request.params,
            (Pairs{{"match[]", "f1"}, {"match[]", "f2 x"}, {"match[]", "q1"}, {"start", "1"}}));
  EXPECT_EQ(request.Param("match[]"), "f1");
  EXPECT_EQ(request.body, "match[]=f1&match[]=f2+x");  // the raw body stays available
}

TEST(ToHttpRequestTest, FormContentTypeMayCarryParametersAndAnyCase) {
  HttpRequest request = Convert(Wire(http::verb::post, "/q", "query=up",
                                     "Application/X-WWW-Form-Urlencoded ; charset=UTF-8"));
  EXPECT_EQ(request.Param("query"), "up");
}

TEST(ToHttpRequestTest, OtherBodiesAreNotParsed) {
  HttpRequest json = Convert(Wire(http::verb::post, "/q", "query=up", "application/json"));
  EXPECT_TRUE(json.params.empty());
  HttpRequest get =
      Convert(Wire(http::verb::get, "/q", "query=up", "application/x-www-form-urlencoded"));
  EXPECT_TRUE(get.params.empty());
}

TEST(ToHttpRequestTest, AbsoluteFormTargetIsReducedToPath) {
  EXPECT_EQ(Convert(Wire(http::verb::get, "http://host:9090/api/v1/query?query=up")).path,
            "/api/v1/query");
  HttpRequest bare = Convert(Wire(http::verb::get, "http://host:9090?query=up"));
  EXPECT_EQ(bare.path, "/");
  EXPECT_EQ(bare.Param("query"), "up");
  EXPECT_EQ(Convert(Wire(http::verb::get, "http://host:9090")).path, "/");
}

TEST(ToHttpRequestTest, MalformedEscapesAreRejected) {
  for (const char* target : {"/a%zz", "/a?x=%4", "/a?%=1"}) {
    auto request = ToHttpRequest(Wire(http::verb::get, target), "", {});
    ASSERT_FALSE(request.ok()) << target;
    EXPECT_EQ(request.status().code(), StatusCode::kInvalidArgument);
  }
  auto form = ToHttpRequest(
      Wire(http::verb::post, "/a", "x=%g0", "application/x-www-form-urlencoded"), "", {});
  EXPECT_FALSE(form.ok());
}

TEST(ToWireResponseTest, FramesBodyAndHeaders) {
  HttpResponse response = JsonResponse(R"({"status":"success"})", 201);
  response.headers.emplace_back("Cache-Control", "no-store");
  WireResponse wire = ToWireResponse(std::move(response), 11, true, false);
  EXPECT_EQ(wire.result_int(), 201u);
  EXPECT_EQ(wire.version(), 11u);
  EXPECT_EQ(Field(wire, http::field::content_type), "application/json");
  EXPECT_EQ(Field(wire, http::field::content_length), "20");
  EXPECT_EQ(Field(wire, http::field::cache_control), "no-store");
  EXPECT_EQ(Field(wire, http::field::server), "zenwatch");
  EXPECT_TRUE(IsImfFixdate(Field(wire, http::field::date))) << Field(wire, http::field::date);
  EXPECT_EQ(wire.count(http::field::connection), 0u);  // HTTP/1.1 keeps alive by default
  EXPECT_EQ(wire.body(), R"({"status":"success"})");
}

TEST(ToWireResponseTest, ConnectionHeaderFollowsKeepAliveAndVersion) {
  EXPECT_EQ(Field(ToWireResponse(JsonResponse("{}"), 11, false, false), http::field::connection),
            "close");
  EXPECT_EQ(Field(ToWireResponse(JsonResponse("{}"), 10, true, false), http::field::connection),
            "keep-alive");
  EXPECT_EQ(ToWireResponse(JsonResponse("{}"), 10, false, false).count(http::field::connection),
            0u);  // HTTP/1.0 closes by default
}

TEST(ToWireResponseTest, HeadKeepsContentLengthButDropsBody) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.body = "hello";
  WireResponse wire = ToWireResponse(std::move(response), 11, true, true);
  EXPECT_EQ(Field(wire, http::field::content_length), "5");
  EXPECT_TRUE(wire.body().empty());
}

// A query result's body can be tens of megabytes: the wire message takes the handler's string
// itself, never a copy of it.
TEST(ToWireResponseTest, LargeBodyIsMovedNotCopied) {
  std::string body(32 << 20, 'x');
  body.front() = '[';
  body.back() = ']';
  const char* bytes = body.data();
  HttpResponse response = JsonResponse(std::move(body));
  EXPECT_EQ(response.body.data(), bytes);
  WireResponse wire = ToWireResponse(std::move(response), 11, true, false);
  EXPECT_EQ(wire.body().data(), bytes);
  EXPECT_EQ(wire.body().size(), size_t{32} << 20);
  EXPECT_EQ(Field(wire, http::field::content_length), std::to_string(32 << 20));
}

TEST(ToWireResponseTest, NoContentStatusDropsBody) {
  HttpResponse response;
  response.status = 204;
  response.content_type = "";
  response.body = "ignored";
  WireResponse wire = ToWireResponse(std::move(response), 11, true, false);
  EXPECT_TRUE(wire.body().empty());
  EXPECT_EQ(wire.count(http::field::content_type), 0u);
  EXPECT_EQ(wire.count(http::field::content_length), 0u);
}

}  // namespace
}  // namespace zw::api
