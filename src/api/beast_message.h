// Conversion between Beast's wire messages and the socket-free HttpRequest/HttpResponse that
// handlers see. Everything HTTP-specific that is not I/O lives here (target forms, decoding,
// form bodies, framing headers), so it is tested without sockets.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http_types.h"
#include "core/status.h"

namespace zw::api {

using WireRequest = boost::beast::http::request<boost::beast::http::string_body>;
using WireResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Splits the target (origin-form "/p?q" or absolute-form "http://host/p?q") into a decoded
// path and params, lower-cases header names and, for a form-encoded POST, PUT or PATCH, puts
// the body's params before the query's. Fails with InvalidArgument on a malformed escape.
Result<HttpRequest> ToHttpRequest(WireRequest&& wire, std::string remote,
                                  std::chrono::steady_clock::time_point deadline);

// Frames a handler's response for the wire: status, Content-Type, the handler's headers,
// Content-Length, Connection (from keep_alive and version), Date and Server. For a HEAD
// request the body is dropped but Content-Length still gives its size. Statuses that cannot
// carry a body (1xx, 204, 304) lose it.
WireResponse ToWireResponse(HttpResponse&& response, unsigned version, bool keep_alive,
                            bool head_request);

}  // namespace zw::api
