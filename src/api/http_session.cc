#include "api/http_session.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "api/fail.h"
#include "api/websocket_session.h"

namespace zw::api {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kReadChunk = 16 << 10;
// How long a connection closed after a framing error keeps swallowing the request's rest.
constexpr std::chrono::seconds kMaxDrainTime{2};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A parse error means the client sent something that is not HTTP/1.x; end-of-stream and a
// truncated message mean it went away.
bool IsMalformed(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

std::string FormatRemote(const tcp::socket& socket) {
  boost::system::error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "";
  std::string host = peer.address().to_string();
  return peer.address().is_v6() ? fmt::format("[{}]:{}", host, peer.port())
                                : fmt::format("{}:{}", host, peer.port());
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, std::shared_ptr<ServerState> state)
    : executor_(socket.get_executor()), stream_(std::move(socket)), state_(std::move(state)) {
  remote_ = FormatRemote(stream_.socket());
}

HttpSession::~HttpSession() {
  if (registered_) state_->Leave(this);
}

void HttpSession::Run() {
  registered_ = state_->Join(shared_from_this());
  net::dispatch(executor_, [self = shared_from_this()] {
    if (!self->registered_) return self->Close();  // accepted while the server stops
    self->WaitForRequest();
  });
}

void HttpSession::CloseWhenIdle() {
  net::post(executor_, [self = shared_from_this()] {
    if (self->phase_ == Phase::kIdle || self->phase_ == Phase::kClosing) self->CloseSocket();
    // Otherwise the request in hand is answered with Connection: close (state_->stopping()).
  });
}

void HttpSession::CloseNow() {
  net::post(executor_, [self = shared_from_this()] { self->CloseSocket(); });
}

void HttpSession::WaitForRequest() {
  phase_ = Phase::kIdle;
  if (state_->stopping()) return Close();
  const HttpServerOptions& options = state_->options();
  if (buffer_.size() > 0) {  // a pipelined request is already here
    stream_.expires_after(options.read_timeout);
    return ReadHeader();
  }
  // Waiting for the first byte apart from the rest tells an idle keep-alive connection (which
  // Stop closes, and which may wait idle_timeout) from one with a request under way.
  stream_.expires_after(first_request_ ? options.read_timeout : options.idle_timeout);
  stream_.async_read_some(
      buffer_.prepare(kReadChunk),
      beast::bind_front_handler(&HttpSession::OnFirstBytes, shared_from_this()));
}

void HttpSession::OnFirstBytes(beast::error_code ec, size_t bytes) {
  if (ec) {
    Fail(ec, "wait for request");
    return Close();
  }
  buffer_.commit(bytes);
  // On a new connection, read_timeout has run since accept; on a keep-alive one it starts now.
  if (!first_request_) stream_.expires_after(state_->options().read_timeout);
  ReadHeader();
}

void HttpSession::ReadHeader() {
  phase_ = Phase::kReading;
  const HttpServerOptions& options = state_->options();
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(
      std::min<size_t>(options.max_header_bytes, std::numeric_limits<uint32_t>::max())));
  parser_->body_limit(options.max_body_bytes);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&HttpSession::OnHeader, shared_from_this()));
}

void HttpSession::OnHeader(beast::error_code ec, size_t /*bytes*/) {
  request_start_ = std::chrono::steady_clock::now();
  version_ = 11;
  keep_alive_ = false;
  head_request_ = false;
  if (ec == http::error::body_limit) {
    // Declared by Content-Length: the header is complete, the body not yet read.
    version_ = parser_->get().version();
    head_request_ = parser_->get().method() == http::verb::head;
  }
  if (ec) return OnReadError(ec);

  const WireRequest& message = parser_->get();
  version_ = message.version();
  keep_alive_ = message.keep_alive();
  head_request_ = message.method() == http::verb::head;
  if (parser_->is_done()) return Handle();

  if (version_ >= 11 && beast::iequals(message[http::field::expect], "100-continue")) {
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code write_ec, size_t) {
                       if (write_ec) {
                         Fail(write_ec, "write 100 Continue");
                         return self->Close();
                       }
                       self->ReadBody();
                     });
    return;
  }
  ReadBody();
}

void HttpSession::ReadBody() {
  // The read_timeout clock set for the header keeps running: it bounds the whole request.
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::OnBody, shared_from_this()));
}

void HttpSession::OnBody(beast::error_code ec, size_t /*bytes*/) {
  if (ec) return OnReadError(ec);
  Handle();
}

void HttpSession::OnReadError(beast::error_code ec) {
  const HttpServerOptions& options = state_->options();
  if (ec == http::error::header_limit) {
    return Respond(ErrorResponse(431, "bad_data",
                                 fmt::format("request header exceeds the limit of {} bytes",
                                             options.max_header_bytes)),
                   "", AfterWrite::kDrainAndClose);
  }
  if (ec == http::error::body_limit) {
    return Respond(ErrorResponse(413, "bad_data",
                                 fmt::format("request body exceeds the limit of {} bytes",
                                             options.max_body_bytes)),
                   "", AfterWrite::kDrainAndClose);
  }
  if (IsMalformed(ec)) {
    return Respond(ErrorResponse(400, "bad_data", "malformed HTTP request: " + ec.message()), "",
                   AfterWrite::kDrainAndClose);
  }
  Fail(ec, "read request");  // timeout, reset, or the client went away mid-request
  Close();
}

void HttpSession::Handle() {
  phase_ = Phase::kHandling;
  stream_.expires_never();
  auto deadline = std::chrono::steady_clock::now() + state_->options().request_timeout;
  if (beast::websocket::is_upgrade(parser_->get())) {
    // An upgrade for a WebSocket endpoint leaves the HTTP loop: the connection becomes a
    // WebSocketSession, and this session ends with no operation pending.
    WireRequest wire = parser_->release();
    parser_.reset();
    Result<HttpRequest> request = ToHttpRequest(WireRequest(wire), remote_, deadline);
    if (!request.ok()) {
      return Respond(ErrorResponse(400, "bad_data", request.status().message()), "",
                     AfterWrite::kClose);
    }
    if (const WebSocketFactory* factory = state_->router().FindWebSocket(request->path)) {
      phase_ = Phase::kClosing;
      auto ws = std::make_shared<WebSocketSession>(std::move(stream_), state_, remote_);
      ws->Run(std::move(wire), std::move(*request), *factory);
      return;
    }
    return Respond(ErrorResponse(404, "not_found", "no WebSocket endpoint at " + request->path), "",
                   AfterWrite::kClose);
  }
  Result<HttpRequest> request = ToHttpRequest(parser_->release(), remote_, deadline);
  parser_.reset();
  if (!request.ok()) {
    return Respond(ErrorResponse(400, "bad_data", request.status().message()), "",
                   AfterWrite::kKeepAlive);
  }
  cancelled_ = std::make_shared<std::atomic<bool>>(false);
  request->cancelled = cancelled_;
  Watch();

  // The tracked executor keeps the io_context running while the handler works.
  auto home = net::prefer(executor_, net::execution::outstanding_work.tracked);
  net::post(state_->workers(), [self = shared_from_this(), req = std::move(*request),
                                home = std::move(home)]() mutable {
    Router::Dispatched result;
    try {
      result = self->state_->router().Dispatch(req);
    } catch (const std::exception& e) {  // Dispatch catches handlers' own; this is a backstop
      result = {ErrorResponse(500, "internal", e.what()), ""};
    } catch (...) {
      result = {ErrorResponse(500, "internal", "unknown exception"), ""};
    }
    net::post(home, [self = std::move(self), result = std::move(result)]() mutable {
      self->Respond(std::move(result.response), std::move(result.route), AfterWrite::kKeepAlive);
    });
  });
}

void HttpSession::Watch() {
  if (buffer_.size() > 0) return;  // a pipelined request is already here: the client is alive
  watching_ = true;
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          beast::bind_front_handler(&HttpSession::OnWatch, shared_from_this()));
}

void HttpSession::OnWatch(beast::error_code ec, size_t bytes) {
  watching_ = false;
  if (!ec) {
    buffer_.commit(bytes);  // the start of the next request
  } else if (ec != net::error::operation_aborted) {
    // End of stream or a reset: nobody waits for this answer any more.
    if (cancelled_ && !cancelled_->exchange(true)) {
      spdlog::debug("http: client {} closed the connection while its request was handled ({})",
                    remote_, ec.message());
    }
  }
  if (resume_after_watch_) {
    resume_after_watch_ = false;
    WaitForRequest();
  }
}

void HttpSession::Respond(HttpResponse response, std::string route, AfterWrite after) {
  phase_ = Phase::kWriting;
  if (watching_) {
    // Stop watching: the write goes out now, and the next read must not overlap this one.
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }
  if (after == AfterWrite::kKeepAlive && (!keep_alive_ || state_->stopping())) {
    after = AfterWrite::kClose;
  }
  after_write_ = after;
  route_ = std::move(route);
  status_ = response.status;
  bool keep_alive = after == AfterWrite::kKeepAlive;
  try {
    response_.emplace(ToWireResponse(std::move(response), version_, keep_alive, head_request_));
  } catch (const std::exception& e) {  // e.g. a status outside 100..999
    spdlog::error("http: route {} returned an unusable response: {}", route_, e.what());
    status_ = 500;
    response_.emplace(ToWireResponse(ErrorResponse(500, "internal", "invalid response"), version_,
                                     keep_alive, head_request_));
  }
  stream_.expires_after(state_->options().request_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this()));
}

void HttpSession::OnWrite(beast::error_code ec, size_t /*bytes*/) {
  state_->Observe(route_, status_, SecondsSince(request_start_));
  response_.reset();
  if (ec) {
    Fail(ec, "write response");
    return Close();
  }
  switch (after_write_) {
    case AfterWrite::kKeepAlive:
      first_request_ = false;
      if (watching_) {  // the cancelled watch read has not completed yet
        resume_after_watch_ = true;
        return;
      }
      return WaitForRequest();
    case AfterWrite::kClose:
      return Close();
    case AfterWrite::kDrainAndClose:
      return DrainAndClose();
  }
}

void HttpSession::Close() {
  phase_ = Phase::kClosing;
  stream_.expires_never();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  // No operation is pending now: the session ends and its socket closes with the last handler.
}

void HttpSession::DrainAndClose() {
  phase_ = Phase::kClosing;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  stream_.expires_after(
      std::min<std::chrono::seconds>(state_->options().read_timeout, kMaxDrainTime));
  Drain();
}

void HttpSession::Drain() {
  // Bytes are read into the buffer's spare space and never committed: they are discarded.
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (!ec) self->Drain();  // eof, timeout or close ends the session
                          });
}

void HttpSession::CloseSocket() {
  phase_ = Phase::kClosing;
  stream_.close();  // pending operations complete with operation_aborted
}

}  // namespace zw::api
