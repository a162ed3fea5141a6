#include "api/http_types.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace zw::api {
namespace {

TEST(HttpRequestTest, ParamReturnsFirstValueAndParamsAll) {
  HttpRequest request;
  request.params = {{"match[]", "a"}, {"x", "1"}, {"match[]", "b"}};
  EXPECT_EQ(request.Param("match[]"), "a");
  EXPECT_EQ(request.Params("match[]"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(request.Param("missing"), std::nullopt);
  EXPECT_TRUE(request.Params("missing").empty());
}

TEST(HttpRequestTest, EmptyValueIsPresent) {
  HttpRequest request;
  request.params = {{"time", ""}};
  EXPECT_EQ(request.Param("time"), "");
}

TEST(HttpRequestTest, HeaderLooksUpLowerCasedName) {
  HttpRequest request;
  request.headers = {{"content-type", "text/plain"}, {"x-a", "1"}, {"x-a", "2"}};
  EXPECT_EQ(request.Header("content-type"), "text/plain");
  EXPECT_EQ(request.Header("x-a"), "1");
  EXPECT_EQ(request.Header("accept"), std::nullopt);
}

TEST(ErrorResponseTest, HasPrometheusShape) {
  HttpResponse response = ErrorResponse(400, "bad_data", "invalid parameter \"query\"");
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\""})");
}

TEST(ErrorResponseTest, EscapesControlCharactersAndBackslashes) {
  HttpResponse response = ErrorResponse(422, "execution", std::string("a\\b\nc\t\x01", 7));
  EXPECT_EQ(response.body,
            R"({"status":"error","errorType":"execution","error":"a\\b\nc\t\u0001"})");
}

TEST(ErrorResponseTest, ReplacesInvalidUtf8SoTheBodyParses) {
  // A stray continuation byte, a truncated 3-byte sequence, and an overlong '/'.
  std::string message = "x\x80y\xE2\x82z\xC0\xAF";
  HttpResponse response = ErrorResponse(400, "bad_data", message);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(response.body.c_str());
  ASSERT_FALSE(doc.HasParseError()) << response.body;
  EXPECT_EQ(std::string(doc["error"].GetString()),
            "x\xEF\xBF\xBDy\xEF\xBF\xBD\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ErrorResponseTest, KeepsValidMultiByteUtf8) {
  HttpResponse response = ErrorResponse(400, "bad_data", "température €5 𝄞");
  rapidjson::Document doc;
  doc.Parse(response.body.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["error"].GetString(), "température €5 𝄞");
}

TEST(JsonResponseTest, ServesBodyAsJson) {
  HttpResponse response = JsonResponse(R"({"status":"success"})", 202);
  EXPECT_EQ(response.status, 202u);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"status":"success"})");
  EXPECT_EQ(JsonResponse("{}").status, 200u);
}

}  // namespace
}  // namespace zw::api
