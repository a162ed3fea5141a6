// A blocking HTTP/1.1 client for one remote_write endpoint: POSTs over a kept-alive
// connection (plain TCP, or TLS verified as tls_config says), reconnecting after any error
// or when the server closes. Each shard owns one; not thread safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "remote/config.h"

namespace zw::remote {

struct HttpResult {
  int status = 0;     // 0: no HTTP answer (connect, TLS, timeout, reset); see error
  std::string error;  // why there was no answer
  std::string body;   // the answer's body, cut to 1 KiB (for log lines)
};

class HttpClient {
 public:
  // Errors: InvalidArgument when the TLS context cannot be set up (e.g. an unreadable ca_file).
  static Result<std::unique_ptr<HttpClient>> Create(const RemoteWriteConfig& config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` (a snappy-compressed WriteRequest) with the remote_write headers, the
  // configured headers and credentials, within `timeout` for the whole exchange.
  HttpResult Post(std::string_view body, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The User-Agent the sender sends.
inline constexpr std::string_view kUserAgent = "zenwatch-remote-write/0.1";

}  // namespace zw::remote
