#include "webui/webui.h"

#include <string>
#include <string_view>

#include "webui/assets.h"

namespace zw::webui {
namespace {

const Asset* Find(std::string_view path) {
  for (size_t i = 0; i < kAssetCount; ++i) {
    if (kAssets[i].path == path) return &kAssets[i];
  }
  return nullptr;
}

// True if the Accept-Encoding header lists gzip (or *) without q=0.
bool AcceptsGzip(std::string_view header) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? "" : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    size_t semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
      coding.remove_suffix(1);
    if (coding != "gzip" && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view params = item.substr(semi + 1);
    size_t q = params.find("q=");
    if (q == std::string_view::npos) return true;
    std::string_view value = params.substr(q + 2);
    // q=0, q=0.0, q=0.000 refuse; anything else accepts.
    bool zero = !value.empty() && value.front() == '0';
    for (size_t i = 1; zero && i < value.size() && value[i] != ' ' && value[i] != ';'; ++i) {
      zero = value[i] == '.' || value[i] == '0';
    }
    return !zero;
  }
  return false;
}

// True if If-None-Match names etag (or is "*"). Weak comparison, as RFC 9110 asks for GET.
bool EtagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? "" : header.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
  }
  return false;
}

api::HttpResponse Serve(const api::HttpRequest& req, const Asset& asset) {
  api::HttpResponse resp;
  bool gzip = AcceptsGzip(req.Header("accept-encoding").value_or(""));
  std::string etag(asset.etag);
  if (gzip) etag.insert(etag.size() - 1, "-gz");
  resp.headers.emplace_back("ETag", etag);
  resp.headers.emplace_back("Cache-Control",
                            asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  resp.headers.emplace_back("Vary", "Accept-Encoding");
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  resp.content_type = std::string(asset.content_type);
  if (auto inm = req.Header("if-none-match"); inm && EtagMatches(*inm, etag)) {
    resp.status = 304;
    return resp;
  }
  if (gzip) {
    resp.headers.emplace_back("Content-Encoding", "gzip");
    resp.body.assign(reinterpret_cast<const char*>(asset.gzip), asset.gzip_size);
  } else {
    resp.body.assign(reinterpret_cast<const char*>(asset.data), asset.size);
  }
  return resp;
}

api::HttpResponse NotFound(std::string_view path) {
  api::HttpResponse resp;
  resp.status = 404;
  resp.content_type = "text/plain; charset=utf-8";
  resp.body = "no such dashboard file: " + std::string(path) + "\n";
  return resp;
}

}  // namespace

void RegisterWebUi(api::Router& router) {
  router.Add("GET", "/", [](api::HttpRequest& req) {
    const Asset* index = Find("/index.html");
    return index ? Serve(req, *index) : NotFound("/index.html");
  });
  router.Add("GET", "/assets/*", [](api::HttpRequest& req) {
    const Asset* asset = Find(req.path);
    return asset ? Serve(req, *asset) : NotFound(req.path);
  });
}

}  // namespace zw::webui
