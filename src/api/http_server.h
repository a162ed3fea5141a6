// HttpServer: serves a Router over HTTP/1.1 on one listening address.
//
// The server owns the network side only — accepting, reading, framing, timeouts, the worker
// pool, graceful stop — and knows nothing of storage: what a request means is the Router's
// business. Requests are read on I/O threads and handled on a separate worker pool, so a
// slow handler never holds up reading or accepting other connections. Each connection has at
// most one request in flight and answers in order (no pipelining in parallel).
//
// Thread safety: Start, Stop and port may be called from any thread, but Stop must not be
// called from a route handler or an observer (it waits for them).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "api/router.h"
#include "core/status.h"

namespace zw::api {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 3003;  // 0: an ephemeral port, reported by Start and port()
  size_t io_threads = 1;
  size_t worker_threads = std::thread::hardware_concurrency();  // 0 means 1
  uint64_t max_body_bytes = 64 << 20;                           // larger bodies get 413
  size_t max_header_bytes = 64 << 10;  // larger request line + headers get 431
  // Time to receive a whole request, from its first byte (or, on a new connection, from
  // accept); a slowloris guard. A client that misses it is disconnected without a response.
  std::chrono::seconds read_timeout{30};
  // Sets HttpRequest::deadline, and bounds the time to write a response.
  std::chrono::seconds request_timeout{120};
  // A keep-alive connection with no new request for this long is closed.
  std::chrono::seconds idle_timeout{120};
};

// Called once per request after its response has been written (or the write failed): the
// matched route pattern ("" if none, e.g. 404 or a malformed request), the status sent, and
// the seconds from the end of the request's header to the end of the write. Runs on an I/O
// thread, so it must be quick and thread-safe; exceptions are logged and dropped.
using RequestObserver =
    std::function<void(std::string_view route, unsigned status, double seconds)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, std::shared_ptr<const Router> router,
             RequestObserver observer = {});
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens, then starts the I/O threads and the worker pool. Returns the bound
  // port. Fails (kIOError, naming address:port and the OS reason) if the address is invalid or
  // cannot be bound, and (kInvalidArgument) if called twice.
  Result<uint16_t> Start();

  // Graceful stop: stops accepting (new connections are refused), closes keep-alive
  // connections that are idle between requests, lets requests in flight finish and be
  // answered (with Connection: close), and waits up to `grace` for that. Connections still
  // open after `grace` are closed; a handler still running then cannot be interrupted (it
  // should watch HttpRequest::deadline) and is waited for. Then joins all threads.
  // Idempotent; a server that was never started just becomes stopped.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  uint16_t port() const;  // 0 before Start

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zw::api
