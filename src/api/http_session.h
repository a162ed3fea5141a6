// HttpSession: one HTTP/1.1 connection, from accept to close.
//
// A session is a loop on its own strand: wait for a request (read_timeout on a new
// connection, idle_timeout between keep-alive requests), read it (read_timeout from its first
// byte), hand it to the worker pool, write the response the router returns, and loop while
// keep-alive. Nothing is read while a request is handled or answered, so there is at most one
// response in flight and responses go out in order; a pipelining client's next request waits
// in the buffer and the socket (backpressure).
//
// Framing errors are answered before closing: 431 for a header over the limit, 413 for a body
// over the limit (at once from Content-Length, before the body is sent if the client asked
// for 100-continue), 400 for a malformed request. The rest of such a request is unread, so the
// session then shuts down its sending side and drains input for a moment: the client reads
// the response instead of a connection reset. A request that does not arrive within
// read_timeout is dropped without a response.
//
// While a request is handled, the session watches the socket: if the client closes the
// connection (end of stream or a reset), the request's `cancelled` flag is raised so a long
// handler can stop (the answer would go nowhere). Bytes that arrive meanwhile are the next
// pipelined request; they are kept, and watching stops for this request.
//
// WebSocket: in Handle(), an upgrade request for a path the router has a WebSocket endpoint
// for hands stream_ and the request to a WebSocketSession (websocket_session.h), which
// registers itself with ServerState as a Connection the same way; this session then ends.
// An upgrade request for any other path is answered 404 and the connection closed.
//
// Thread safety: everything runs on the session's strand; CloseWhenIdle and CloseNow post to it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/beast_message.h"
#include "api/server_state.h"

namespace zw::api {

class HttpSession : public Connection, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ServerState> state);
  ~HttpSession() override;

  void Run();
  void CloseWhenIdle() override;
  void CloseNow() override;

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosing };
  enum class AfterWrite { kKeepAlive, kClose, kDrainAndClose };

  void WaitForRequest();
  void OnFirstBytes(boost::beast::error_code ec, size_t bytes);
  void ReadHeader();
  void OnHeader(boost::beast::error_code ec, size_t bytes);
  void ReadBody();
  void OnBody(boost::beast::error_code ec, size_t bytes);
  void OnReadError(boost::beast::error_code ec);
  void Handle();
  void Watch();
  void OnWatch(boost::beast::error_code ec, size_t bytes);
  void Respond(HttpResponse response, std::string route, AfterWrite after);
  void OnWrite(boost::beast::error_code ec, size_t bytes);
  void Close();
  void DrainAndClose();
  void Drain();
  void CloseSocket();

  const boost::asio::any_io_executor executor_;  // the strand; a copy, safe to read anywhere
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  const std::shared_ptr<ServerState> state_;
  std::string remote_;
  bool registered_ = false;

  Phase phase_ = Phase::kIdle;
  bool first_request_ = true;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  // The request in hand.
  std::chrono::steady_clock::time_point request_start_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_request_ = false;
  // Raised when the client goes away while the request in hand is handled.
  std::shared_ptr<std::atomic<bool>> cancelled_;
  bool watching_ = false;            // a read that watches for the client closing is pending
  bool resume_after_watch_ = false;  // the response is out; go on once the watch read ends
  // The response being written.
  std::optional<WireResponse> response_;
  std::string route_;
  unsigned status_ = 0;
  AfterWrite after_write_ = AfterWrite::kClose;
};

}  // namespace zw::api
