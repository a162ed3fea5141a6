// The one place that reports a failed network operation.
#pragma once

#include <string_view>

#include <boost/beast/core/error.hpp>

namespace zw::api {

// Logs `what: message` at debug level: a single connection's trouble (reset, timeout, bad
// request) says nothing about the server's health. Ignores operation_aborted (we cancelled
// the operation: Stop, or a timer) and end-of-stream (the peer closed a keep-alive
// connection, the normal way for one to end).
void Fail(boost::beast::error_code ec, std::string_view what);

}  // namespace zw::api
