#include "api/websocket_session.h"

#include <spdlog/spdlog.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "api/fail.h"

namespace zw::api {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

WebSocketSession::WebSocketSession(beast::tcp_stream&& stream, std::shared_ptr<ServerState> state,
                                   std::string remote, size_t max_queue_bytes)
    : executor_(stream.get_executor()),
      ws_(std::move(stream)),
      close_timer_(executor_),
      state_(std::move(state)),
      remote_(std::move(remote)),
      max_queue_bytes_(max_queue_bytes) {}

WebSocketSession::~WebSocketSession() {
  if (registered_) state_->Leave(this);
}

void WebSocketSession::Run(WireRequest upgrade, HttpRequest request, WebSocketFactory factory) {
  registered_ = state_->Join(shared_from_this());
  request_ = std::move(request);
  factory_ = std::move(factory);
  upgrade_ = std::move(upgrade);
  net::dispatch(executor_, [self = shared_from_this()] {
    if (!self->registered_) {  // the server is stopping
      beast::get_lowest_layer(self->ws_).close();
      return;
    }
    beast::get_lowest_layer(self->ws_).expires_never();  // the websocket's own timeouts rule
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = std::chrono::seconds(60);  // pinged at half of it
    timeouts.keep_alive_pings = true;
    self->ws_.set_option(timeouts);
    self->ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "zenwatch"); }));
    self->ws_.read_message_max(kMaxMessageBytes);
    self->ws_.text(true);
    auto& ws = self->ws_;
    ws.async_accept(self->upgrade_, beast::bind_front_handler(&WebSocketSession::OnAccept, self));
  });
}

void WebSocketSession::OnAccept(beast::error_code ec) {
  if (ec) {
    Fail(ec, "websocket handshake");
    return Finish();
  }
  spdlog::debug("websocket: {} connected to {}", remote_, request_.path);
  try {
    handler_ = factory_(request_, shared_from_this());
  } catch (const std::exception& e) {
    spdlog::error("websocket: endpoint {} failed to start: {}", request_.path, e.what());
  }
  factory_ = nullptr;
  if (!handler_) return StartClose(websocket::close_code::internal_error);
  if (state_->stopping()) return StartClose(websocket::close_code::going_away);
  Read();
}

void WebSocketSession::Read() {
  ws_.async_read(read_buffer_,
                 beast::bind_front_handler(&WebSocketSession::OnRead, shared_from_this()));
}

void WebSocketSession::OnRead(beast::error_code ec, size_t /*bytes*/) {
  if (ec) {
    if (ec != websocket::error::closed) Fail(ec, "websocket read");
    return Finish();
  }
  if (!ws_.got_text()) {
    read_buffer_.consume(read_buffer_.size());
    return StartClose(websocket::close_code::unknown_data);  // text only
  }
  std::string text = beast::buffers_to_string(read_buffer_.data());
  read_buffer_.consume(read_buffer_.size());
  if (handler_ && !closing_) {
    try {
      handler_->OnMessage(std::move(text));
    } catch (const std::exception& e) {
      spdlog::error("websocket: handler for {} threw: {}", request_.path, e.what());
      return StartClose(websocket::close_code::internal_error);
    }
  }
  Read();
}

WebSocketPeer::SendResult WebSocketSession::Send(std::shared_ptr<const std::string> text) {
  std::lock_guard lock(mu_);
  if (closed_) return SendResult::kClosed;
  if (!queue_.empty() && queued_bytes_ + text->size() > max_queue_bytes_) return SendResult::kFull;
  queued_bytes_ += text->size();
  queue_.push_back(std::move(text));
  if (!writing_) {
    writing_ = true;
    net::post(executor_, [self = shared_from_this()] { self->Write(); });
  }
  return SendResult::kQueued;
}

void WebSocketSession::DropPending() {
  std::lock_guard lock(mu_);
  while (queue_.size() > (writing_ ? 1u : 0u)) {
    queued_bytes_ -= queue_.back()->size();
    queue_.pop_back();
  }
}

size_t WebSocketSession::QueuedBytes() const {
  std::lock_guard lock(mu_);
  return queued_bytes_;
}

void WebSocketSession::Write() {
  std::shared_ptr<const std::string> next;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty() || closed_) {
      writing_ = false;
      return;
    }
    next = queue_.front();
  }
  ws_.async_write(net::buffer(*next),
                  [self = shared_from_this(), next](beast::error_code ec, size_t bytes) {
                    self->OnWrite(ec, bytes);
                  });
}

void WebSocketSession::OnWrite(beast::error_code ec, size_t /*bytes*/) {
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) {
      queued_bytes_ -= queue_.front()->size();
      queue_.pop_front();
    }
    if (ec) {
      writing_ = false;
      closed_ = true;
    }
  }
  if (ec) {
    if (ec != websocket::error::closed) Fail(ec, "websocket write");
    return Finish();
  }
  Write();
}

void WebSocketSession::Close() {
  net::post(executor_,
            [self = shared_from_this()] { self->StartClose(websocket::close_code::normal); });
}

void WebSocketSession::CloseWhenIdle() {
  net::post(executor_,
            [self = shared_from_this()] { self->StartClose(websocket::close_code::going_away); });
}

void WebSocketSession::CloseNow() {
  net::post(executor_, [self = shared_from_this()] {
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).socket().close(ignored);
    self->Finish();
  });
}

void WebSocketSession::StartClose(websocket::close_code code) {
  if (closing_ || finished_) return;
  closing_ = true;
  {
    std::lock_guard lock(mu_);
    closed_ = true;  // nothing new after the close frame
  }
  // A client that neither reads nor answers the close frame is cut off.
  close_timer_.expires_after(kCloseTimeout);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;  // cancelled: the session ended first
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).socket().close(ignored);
  });
  if (!ws_.is_open()) {  // the handshake never completed
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    return Finish();
  }
  ws_.async_close(code, [self = shared_from_this()](beast::error_code ec) {
    if (ec && ec != net::error::operation_aborted) Fail(ec, "websocket close");
    // The pending read completes with `closed` once the client's close frame arrives.
  });
}

void WebSocketSession::Finish() {
  if (finished_) return;
  finished_ = true;
  close_timer_.cancel();
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  if (handler_) {
    try {
      handler_->OnClose();
    } catch (const std::exception& e) {
      spdlog::error("websocket: handler for {} threw on close: {}", request_.path, e.what());
    }
    handler_.reset();  // it holds this session as its peer
  }
  spdlog::debug("websocket: {} disconnected", remote_);
}

}  // namespace zw::api
