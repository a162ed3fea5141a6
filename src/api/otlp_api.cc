// POST /v1/metrics (and Prometheus's path for it, /api/v1/otlp/v1/metrics): the OTLP/HTTP
// metrics receiver (docs/otlp.md). Answers in the request's encoding, as OTLP/HTTP says:
// 200 with an ExportMetricsServiceResponse (partial_success when points were rejected),
// 400 with a google.rpc.Status for malformed data (never retried), 415 for an unsupported
// Content-Type or Content-Encoding, 503/429 with a Status for retryable failures.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "api/api.h"
#include "core/names.h"
#include "ingest/exposition_parser.h"
#include "ingest/otlp.h"
#include "ingest/otlp_values.h"

namespace zw::api {
namespace {

// Largest inflated gzip body accepted.
constexpr size_t kMaxInflatedBytes = 256u << 20;

// google.rpc.Code values.
constexpr int kCodeInvalidArgument = 3;
constexpr int kCodeResourceExhausted = 8;
constexpr int kCodeInternal = 13;
constexpr int kCodeUnavailable = 14;

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

// Messages echo what the client sent; protobuf strings and JSON must be UTF-8.
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void AppendLenField(uint32_t field, std::string_view payload, std::string* out) {
  AppendVarint(field << 3 | 2, out);
  AppendVarint(payload.size(), out);
  out->append(payload);
}

HttpResponse Reply(unsigned status, bool json, std::string body) {
  HttpResponse resp;
  resp.status = status;
  resp.content_type = json ? "application/json" : "application/x-protobuf";
  resp.body = std::move(body);
  return resp;
}

// A google.rpc.Status { int32 code = 1; string message = 2; }.
HttpResponse StatusReply(unsigned http_status, int code, std::string_view message, bool json) {
  std::string msg = ValidUtf8(message);
  std::string body;
  if (json) {
    body = fmt::format("{{\"code\":{},\"message\":", code);
    ingest::otlp::AppendJsonString(msg, &body);
    body.append(",\"details\":[]}");
  } else {
    AppendVarint(1 << 3 | 0, &body);
    AppendVarint(static_cast<uint64_t>(code), &body);
    AppendLenField(2, msg, &body);
  }
  return Reply(http_status, json, std::move(body));
}

HttpResponse ErrorReply(const Status& st, bool json) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfOrder:
    case StatusCode::kDuplicate:
    case StatusCode::kOutOfBounds:
      return StatusReply(400, kCodeInvalidArgument, st.message(), json);
    case StatusCode::kResourceExhausted:
      return StatusReply(429, kCodeResourceExhausted, st.message(), json);
    case StatusCode::kUnavailable:
    case StatusCode::kIOError:
      // Retryable for OTLP senders (they retry 429, 502, 503 and 504 only).
      return StatusReply(503, kCodeUnavailable, st.ToString(), json);
    default:
      return StatusReply(500, kCodeInternal, st.ToString(), json);
  }
}

// ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; } with
// ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }.
HttpResponse SuccessReply(const ingest::OtlpResult& r, bool json) {
  std::string body;
  if (r.rejected_points == 0) {
    if (json) body = "{}";
    return Reply(200, json, std::move(body));
  }
  std::string msg = ValidUtf8(r.message);
  if (json) {
    body = fmt::format("{{\"partialSuccess\":{{\"rejectedDataPoints\":\"{}\",\"errorMessage\":",
                       r.rejected_points);
    ingest::otlp::AppendJsonString(msg, &body);
    body.append("}}");
  } else {
    std::string inner;
    AppendVarint(1 << 3 | 0, &inner);
    AppendVarint(r.rejected_points, &inner);
    AppendLenField(2, msg, &inner);
    AppendLenField(1, inner, &body);
  }
  return Reply(200, json, std::move(body));
}

enum class Encoding { kProtobuf, kJson, kUnsupported };

Encoding ContentType(const HttpRequest& req) {
  auto ct = req.Header("content-type");
  if (!ct) return Encoding::kUnsupported;
  std::string_view media = Trim(ct->substr(0, ct->find(';')));
  if (EqualsIgnoreCase(media, "application/x-protobuf") ||
      EqualsIgnoreCase(media, "application/protobuf"))
    return Encoding::kProtobuf;
  if (EqualsIgnoreCase(media, "application/json")) return Encoding::kJson;
  return Encoding::kUnsupported;
}

}  // namespace

void RegisterOtlpApi(Router& router, const ApiContext& ctx) {
  auto ingester = std::make_shared<ingest::OtlpIngester>(ctx.storage);
  auto handler = [ingester](HttpRequest& req) {
    Encoding enc = ContentType(req);
    if (enc == Encoding::kUnsupported) {
      auto ct = req.Header("content-type");
      return StatusReply(415, kCodeInvalidArgument,
                         fmt::format("unsupported Content-Type \"{}\": OTLP/HTTP metrics are "
                                     "application/x-protobuf or application/json",
                                     ct ? *ct : ""),
                         false);
    }
    bool json = enc == Encoding::kJson;
    std::string inflated;
    std::string_view body = req.body;
    if (auto ce = req.Header("content-encoding");
        ce && !Trim(*ce).empty() && !EqualsIgnoreCase(Trim(*ce), "identity")) {
      if (!EqualsIgnoreCase(Trim(*ce), "gzip")) {
        return StatusReply(
            415, kCodeInvalidArgument,
            fmt::format("unsupported Content-Encoding \"{}\": send gzip or none", *ce), json);
      }
      auto r = ingest::Gunzip(req.body, kMaxInflatedBytes);
      if (!r.ok()) {
        bool too_big = r.status().code() == StatusCode::kResourceExhausted;
        return StatusReply(too_big ? 413 : 400, kCodeInvalidArgument,
                           "invalid gzip body: " + r.status().message(), json);
      }
      inflated = std::move(*r);
      body = inflated;
    }
    auto r = ingester->Export(body, json);
    if (!r.ok()) return ErrorReply(r.status(), json);
    return SuccessReply(*r, json);
  };
  router.Add("POST", "/v1/metrics", handler);
  router.Add("POST", "/api/v1/otlp/v1/metrics", handler);
}

}  // namespace zw::api
