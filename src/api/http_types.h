// The socket-free request and response that route handlers see. The server converts the wire
// message to and from these (api/beast_message.h), so a handler is a plain function from
// HttpRequest to HttpResponse and is unit-tested without ports.
//
// Thread safety: plain values. A request belongs to the one handler call that receives it.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zw::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent (HEAD is dispatched to GET routes)
  std::string target;  // raw request target, including the query
  std::string path;    // percent-decoded path without the query
  std::string body;    // raw body; Content-Encoding is not applied
  // Form values first, then query values, each in the order sent; repeated keys are kept
  // (match[] appears many times). Form values come from the body of a POST, PUT or PATCH whose
  // Content-Type is application/x-www-form-urlencoded. This is the order of Go's
  // Request.Form, so Param() sees what Prometheus's r.FormValue() sees.
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::map<std::string, std::string> path_params;  // filled by the router: {name}, and "*"
  std::string remote;                              // peer address, "ip:port"
  // Fixed when the request has been read: now + HttpServerOptions::request_timeout. A handler
  // that may run long checks it and gives up with a timeout error once it has passed.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Raised by the server when the client closes its connection while the request is being
  // handled (nobody will read the answer). A handler that may run long polls it, or hands it
  // on (e.g. to promql::QueryControl), and gives up early. Null when nothing can raise it.
  std::shared_ptr<const std::atomic<bool>> cancelled;

  bool Cancelled() const { return cancelled && cancelled->load(std::memory_order_relaxed); }
  std::optional<std::string_view> Param(std::string_view key) const;  // first value
  std::vector<std::string_view> Params(std::string_view key) const;   // all values, in order
  // REQUIRES: lower_name is lower-case.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";  // empty: no Content-Type header
  std::string body;
  // Extra headers (Allow, Content-Encoding, Cache-Control, ...). The server sets
  // Content-Type, Content-Length, Connection, Date and Server itself; handlers must not.
  std::vector<std::pair<std::string, std::string>> headers;
};

// The Prometheus API error shape:
// {"status":"error","errorType":"bad_data","error":"..."}. The message is JSON-escaped and
// invalid UTF-8 in it is replaced by U+FFFD, so the body is valid JSON whatever it echoes.
HttpResponse ErrorResponse(unsigned status, std::string_view error_type, std::string_view message);

// A body that is already JSON, served as application/json.
HttpResponse JsonResponse(std::string body, unsigned status = 200);

}  // namespace zw::api
