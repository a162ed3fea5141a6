#include "webui/webui.h"

#include <string>

#include <gtest/gtest.h>

#include "webui/assets.h"

namespace zw::webui {
namespace {

std::string HeaderOf(const api::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

api::HttpResponse Get(const api::Router& router, std::string path,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  api::HttpRequest req;
  req.method = "GET";
  req.target = path;
  req.path = std::move(path);
  req.headers = std::move(headers);
  return router.Dispatch(req).response;
}

class WebUiTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterWebUi(router_); }
  api::Router router_;
};

// The index names the bundle's files; each is served from /assets/ with its own type.
TEST_F(WebUiTest, IndexReferencesServedAssets) {
  auto index = Get(router_, "/");
  ASSERT_EQ(index.status, 200u);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(index, "Cache-Control"), "no-cache");
  int found = 0;
  for (std::string_view ext : {".js\"", ".css\""}) {
    size_t end = index.body.find(ext);
    ASSERT_NE(end, std::string::npos) << index.body;
    size_t start = index.body.rfind("/assets/", end);
    ASSERT_NE(start, std::string::npos);
    std::string path = index.body.substr(start, end + ext.size() - 1 - start);
    auto asset = Get(router_, path);
    EXPECT_EQ(asset.status, 200u) << path;
    EXPECT_FALSE(asset.body.empty());
    EXPECT_EQ(HeaderOf(asset, "Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(asset.content_type,
              ext == ".js\"" ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
    ++found;
  }
  EXPECT_EQ(found, 2);
}

TEST_F(WebUiTest, UnknownAssetIs404) {
  auto r = Get(router_, "/assets/app-NOSUCHHASH.js");
  EXPECT_EQ(r.status, 404u);
  EXPECT_NE(r.body.find("/assets/app-NOSUCHHASH.js"), std::string::npos);
}

TEST_F(WebUiTest, IfNoneMatchGives304) {
  auto first = Get(router_, "/");
  std::string etag = HeaderOf(first, "ETag");
  ASSERT_FALSE(etag.empty());
  auto again = Get(router_, "/", {{"if-none-match", "\"other\", " + etag}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_EQ(HeaderOf(again, "ETag"), etag);
  auto changed = Get(router_, "/", {{"if-none-match", "\"other\""}});
  EXPECT_EQ(changed.status, 200u);
}

TEST_F(WebUiTest, GzipWhenAccepted) {
  auto plain = Get(router_, "/");
  auto gz = Get(router_, "/", {{"accept-encoding", "br, gzip;q=0.8"}});
  EXPECT_EQ(HeaderOf(gz, "Content-Encoding"), "gzip");
  ASSERT_GE(gz.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz.body[1]), 0x8b);
  EXPECT_NE(HeaderOf(gz, "ETag"), HeaderOf(plain, "ETag"));
  EXPECT_EQ(HeaderOf(gz, "Vary"), "Accept-Encoding");
  auto refused = Get(router_, "/", {{"accept-encoding", "gzip;q=0, identity"}});
  EXPECT_EQ(HeaderOf(refused, "Content-Encoding"), "");
  EXPECT_EQ(refused.body, plain.body);
}

TEST_F(WebUiTest, EveryAssetHasTypeAndHashName) {
  ASSERT_GE(kAssetCount, 3u);
  for (size_t i = 0; i < kAssetCount; ++i) {
    const Asset& a = kAssets[i];
    EXPECT_FALSE(a.content_type.empty()) << a.path;
    EXPECT_GT(a.size, 0u) << a.path;
    if (a.path == "/index.html") {
      EXPECT_FALSE(a.immutable);
    } else {
      EXPECT_TRUE(a.path.starts_with("/assets/")) << a.path;
      EXPECT_TRUE(a.immutable) << a.path;
    }
  }
}

}  // namespace
}  // namespace zw::webui
