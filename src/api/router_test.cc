#include "api/router.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace zw::api {
namespace {

Router::Handler Text(std::string text) {
  return [text](HttpRequest&) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = text;
    return response;
  };
}

HttpRequest Request(std::string method, std::string path) {
  HttpRequest request;
  request.method = std::move(method);
  request.target = path;
  request.path = std::move(path);
  return request;
}

std::optional<std::string> HeaderOf(const HttpResponse& response, std::string_view name) {
  for (const auto& [k, v] : response.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

TEST(RouterTest, ExactPathRunsHandlerAndReportsPattern) {
  Router router;
  router.Add("GET", "/api/v1/query", Text("query"));
  HttpRequest request = Request("GET", "/api/v1/query");
  Router::Dispatched result = router.Dispatch(request);
  EXPECT_EQ(result.response.status, 200u);
  EXPECT_EQ(result.response.body, "query");
  EXPECT_EQ(result.route, "/api/v1/query");
}

TEST(RouterTest, ParamCapturesOneSegment) {
  Router router;
  router.Add("GET", "/api/v1/label/{name}/values", [](HttpRequest& request) {
    return JsonResponse("\"" + request.path_params.at("name") + "\"");
  });
  HttpRequest request = Request("GET", "/api/v1/label/job/values");
  Router::Dispatched result = router.Dispatch(request);
  EXPECT_EQ(result.response.body, "\"job\"");
  EXPECT_EQ(result.route, "/api/v1/label/{name}/values");
  EXPECT_EQ(request.path_params, (std::map<std::string, std::string>{{"name", "job"}}));
}

TEST(RouterTest, ParamDoesNotMatchEmptySegmentOrSeveral) {
  Router router;
  router.Add("GET", "/api/metrics/{domain}", Text("domain"));
  HttpRequest empty = Request("GET", "/api/metrics/");
  EXPECT_EQ(router.Dispatch(empty).response.status, 404u);
  HttpRequest two = Request("GET", "/api/metrics/a/b");
  EXPECT_EQ(router.Dispatch(two).response.status, 404u);
}

TEST(RouterTest, WildcardMatchesTheRestIncludingNothing) {
  Router router;
  router.Add("GET", "/static/*", [](HttpRequest& request) {
    return JsonResponse("\"" + request.path_params.at("*") + "\"");
  });
  for (auto [path, rest] :
       std::vector<std::pair<std::string, std::string>>{{"/static", ""},
                                                        {"/static/", ""},
                                                        {"/static/app.js", "app.js"},
                                                        {"/static/a/b/c.css", "a/b/c.css"}}) {
    HttpRequest request = Request("GET", path);
    Router::Dispatched result = router.Dispatch(request);
    EXPECT_EQ(result.response.body, "\"" + rest + "\"") << path;
    EXPECT_EQ(result.route, "/static/*");
  }
  HttpRequest other = Request("GET", "/staticx");
  EXPECT_EQ(router.Dispatch(other).response.status, 404u);
}

TEST(RouterTest, MostSpecificPatternWins) {
  Router router;
  router.Add("GET", "/*", Text("catch-all"));
  router.Add("GET", "/api/v1/{thing}", Text("param"));
  router.Add("GET", "/api/v1/query", Text("literal"));
  router.Add("GET", "/api/*", Text("api-wildcard"));
  router.Add("GET", "/api", Text("api-exact"));

  auto body = [&](std::string path) {
    HttpRequest request = Request("GET", std::move(path));
    return router.Dispatch(request).response.body;
  };
  EXPECT_EQ(body("/api/v1/query"), "literal");
  EXPECT_EQ(body("/api/v1/series"), "param");
  EXPECT_EQ(body("/api/v2/x"), "api-wildcard");
  EXPECT_EQ(body("/api"), "api-exact");
  EXPECT_EQ(body("/"), "catch-all");
  EXPECT_EQ(body("/graph"), "catch-all");
}

TEST(RouterTest, RegistrationOrderDoesNotMatter) {
  Router router;
  router.Add("GET", "/api/v1/query", Text("literal"));
  router.Add("GET", "/api/v1/{thing}", Text("param"));
  HttpRequest request = Request("GET", "/api/v1/query");
  EXPECT_EQ(router.Dispatch(request).response.body, "literal");
}

TEST(RouterTest, TrailingSlashIsADifferentPath) {
  Router router;
  router.Add("GET", "/api/v1/query", Text("query"));
  HttpRequest request = Request("GET", "/api/v1/query/");
  EXPECT_EQ(router.Dispatch(request).response.status, 404u);
}

TEST(RouterTest, UnknownPathIs404NotFound) {
  Router router;
  router.Add("GET", "/api/v1/query", Text("query"));
  HttpRequest request = Request("GET", "/api/v1/nope");
  Router::Dispatched result = router.Dispatch(request);
  EXPECT_EQ(result.response.status, 404u);
  EXPECT_EQ(result.response.content_type, "application/json");
  EXPECT_EQ(result.response.body,
            R"({"status":"error","errorType":"not_found","error":"unknown path /api/v1/nope"})");
  EXPECT_EQ(result.route, "");
}

TEST(RouterTest, PathWithoutLeadingSlashIs404) {
  Router router;
  router.Add("GET", "/*", Text("all"));
  HttpRequest request = Request("OPTIONS", "*");
  EXPECT_EQ(router.Dispatch(request).response.status, 404u);
}

TEST(RouterTest, OtherMethodIs405WithAllow) {
  Router router;
  router.Add("GET", "/api/v1/query", Text("get"));
  router.Add("POST", "/api/v1/query", Text("post"));
  router.Add("DELETE", "/api/v1/{thing}", Text("delete"));
  HttpRequest request = Request("PUT", "/api/v1/query");
  Router::Dispatched result = router.Dispatch(request);
  EXPECT_EQ(result.response.status, 405u);
  EXPECT_EQ(HeaderOf(result.response, "Allow"), "DELETE, GET, HEAD, POST");
  EXPECT_NE(result.response.body.find(R"("errorType":"bad_data")"), std::string::npos);
  EXPECT_EQ(result.route, "");
}

TEST(RouterTest, HeadIsServedByGet) {
  Router router;
  router.Add("GET", "/hello", Text("hello"));
  HttpRequest request = Request("HEAD", "/hello");
  Router::Dispatched result = router.Dispatch(request);
  EXPECT_EQ(result.response.status, 200u);
  EXPECT_EQ(result.response.body, "hello");  // the server drops it on the wire
  EXPECT_EQ(result.route, "/hello");
}

TEST(RouterTest, ExplicitHeadRouteIsPreferred) {
  Router router;
  router.Add("GET", "/hello", Text("get"));
  router.Add("HEAD", "/hello", Text("head"));
  HttpRequest request = Request("HEAD", "/hello");
  EXPECT_EQ(router.Dispatch(request).response.body, "head");
}

TEST(RouterTest, HeadWithoutGetIs405) {
  Router router;
  router.Add("POST", "/api/v1/write", Text("write"));
  HttpRequest request = Request("HEAD", "/api/v1/write");
  Router::Dispatched result = router.Dispatch(request);
  EXPECT_EQ(result.response.status, 405u);
  EXPECT_EQ(HeaderOf(result.response, "Allow"), "POST");
}

TEST(RouterTest, ThrowingHandlerIs500Internal) {
  Router router;
  router.Add("GET", "/boom",
             [](HttpRequest&) -> HttpResponse { throw std::runtime_error("storage on fire"); });
  HttpRequest request = Request("GET", "/boom");
  Router::Dispatched result = router.Dispatch(request);
  EXPECT_EQ(result.response.status, 500u);
  EXPECT_EQ(result.response.body,
            R"({"status":"error","errorType":"internal","error":"storage on fire"})");
  EXPECT_EQ(result.route, "/boom");
}

TEST(RouterTest, NonStandardExceptionIs500Internal) {
  Router router;
  router.Add("GET", "/boom", [](HttpRequest&) -> HttpResponse { throw 42; });
  HttpRequest request = Request("GET", "/boom");
  Router::Dispatched result = router.Dispatch(request);
  EXPECT_EQ(result.response.status, 500u);
  EXPECT_NE(result.response.body.find(R"("errorType":"internal")"), std::string::npos);
}

TEST(RouterTest, AddRejectsMalformedPatterns) {
  Router router;
  EXPECT_THROW(router.Add("GET", "api/v1/query", Text("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "", Text("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/a/*/b", Text("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/a/{}/b", Text("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/a/x{y}", Text("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/a/b*", Text("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("", "/a", Text("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/a", nullptr), std::invalid_argument);
}

TEST(RouterTest, AddRejectsSameShapeTwice) {
  Router router;
  router.Add("GET", "/api/v1/label/{name}/values", Text("x"));
  EXPECT_THROW(router.Add("GET", "/api/v1/label/{label}/values", Text("y")), std::invalid_argument);
  router.Add("POST", "/api/v1/label/{name}/values", Text("z"));  // another method is fine
}

}  // namespace
}  // namespace zw::api
