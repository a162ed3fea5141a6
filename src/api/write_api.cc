// POST /api/v1/write: the Prometheus remote_write 1.0 receiver (docs/remote_write.md).
#include <memory>

#include "api/api.h"
#include "ingest/remote_write.h"

namespace zw::api {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// remote_write 1.0 is application/x-protobuf, optionally ;proto=prometheus.WriteRequest.
// Anything else (notably 2.0's proto=io.prometheus.write.v2.Request) is refused with 415
// so that a 2.0 sender falls back to 1.0. An absent Content-Type is accepted, as
// Prometheus 2.x's receiver does.
std::optional<std::string> CheckContentType(const HttpRequest& req) {
  auto ct = req.Header("content-type");
  if (!ct) return std::nullopt;
  std::string_view v = *ct;
  size_t semi = v.find(';');
  std::string_view media = Trim(v.substr(0, semi));
  if (!EqualsIgnoreCase(media, "application/x-protobuf")) {
    return "unsupported Content-Type \"" + std::string(v) +
           "\": remote_write 1.0 needs application/x-protobuf";
  }
  while (semi != std::string_view::npos) {
    v.remove_prefix(semi + 1);
    semi = v.find(';');
    std::string_view param = Trim(v.substr(0, semi));
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (EqualsIgnoreCase(Trim(param.substr(0, eq)), "proto") &&
        Trim(param.substr(eq + 1)) != "prometheus.WriteRequest") {
      return "unsupported protobuf message \"" + std::string(Trim(param.substr(eq + 1))) +
             "\": this receiver speaks remote_write 1.0 (prometheus.WriteRequest)";
    }
  }
  return std::nullopt;
}

}  // namespace

void RegisterWriteApi(Router& router, const ApiContext& ctx) {
  auto ingester = std::make_shared<ingest::RemoteWriteIngester>(ctx.storage);
  router.Add("POST", "/api/v1/write", [ingester](HttpRequest& req) {
    if (auto why = CheckContentType(req)) return ErrorResponse(415, "bad_data", *why);
    if (auto enc = req.Header("content-encoding");
        enc && !Trim(*enc).empty() && !EqualsIgnoreCase(Trim(*enc), "snappy")) {
      return ErrorResponse(415, "bad_data",
                           "unsupported Content-Encoding \"" + std::string(*enc) +
                               "\": remote_write bodies are snappy block-compressed");
    }
    auto r = ingester->Write(req.body);
    if (!r.ok()) return StatusResponse(r.status());
    HttpResponse resp;
    resp.status = 204;
    resp.content_type.clear();
    return resp;
  });
}

}  // namespace zw::api
