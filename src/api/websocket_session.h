// WebSocketSession: one WebSocket connection (RFC 6455, Boost.Beast), from the upgrade
// request that an HttpSession hands over to the close.
//
// Frames are text; a client message is at most kMaxMessageBytes. Pings from the client are
// answered by Beast; the server pings an idle client itself and drops one that stays silent
// (idle timeout). The origin is not checked: the server binds 127.0.0.1 by default, and a
// deployment that exposes it should put an authenticating proxy in front.
//
// Sending: Send queues a message from any thread; one write is in flight at a time, and the
// queue is bounded in bytes (kFull past the bound) so a client that does not read never grows
// the server's memory. Receiving: one read is pending at a time; each text message goes to the
// handler on the session's strand.
//
// Closing: Close and the server's CloseWhenIdle (stop) start the close handshake (1000 and
// 1001); a client that does not answer within kCloseTimeout is cut off. CloseNow closes the
// socket at once.
//
// Thread safety: Send, DropPending, QueuedBytes, Close, CloseWhenIdle and CloseNow may be
// called from any thread; the rest runs on the session's strand.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "api/beast_message.h"
#include "api/server_state.h"
#include "api/websocket.h"

namespace zw::api {

class WebSocketSession : public Connection,
                         public WebSocketPeer,
                         public std::enable_shared_from_this<WebSocketSession> {
 public:
  static constexpr size_t kMaxMessageBytes = 1 << 20;
  static constexpr size_t kDefaultMaxQueueBytes = 1 << 20;
  static constexpr std::chrono::seconds kCloseTimeout{2};

  WebSocketSession(boost::beast::tcp_stream&& stream, std::shared_ptr<ServerState> state,
                   std::string remote, size_t max_queue_bytes = kDefaultMaxQueueBytes);
  ~WebSocketSession() override;

  // Answers the upgrade request and, once the handshake is done, creates the handler.
  void Run(WireRequest upgrade, HttpRequest request, WebSocketFactory factory);

  // WebSocketPeer.
  SendResult Send(std::shared_ptr<const std::string> text) override;
  void DropPending() override;
  size_t QueuedBytes() const override;
  void Close() override;

  // Connection.
  void CloseWhenIdle() override;
  void CloseNow() override;

 private:
  void OnAccept(boost::beast::error_code ec);
  void Read();
  void OnRead(boost::beast::error_code ec, size_t bytes);
  void Write();
  void OnWrite(boost::beast::error_code ec, size_t bytes);
  void StartClose(boost::beast::websocket::close_code code);
  void Finish();

  const boost::asio::any_io_executor executor_;  // the strand
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer read_buffer_;
  boost::asio::steady_timer close_timer_;
  const std::shared_ptr<ServerState> state_;
  const std::string remote_;
  const size_t max_queue_bytes_;
  bool registered_ = false;

  // On the strand.
  WireRequest upgrade_;
  HttpRequest request_;
  WebSocketFactory factory_;
  std::shared_ptr<WebSocketHandler> handler_;
  bool closing_ = false;
  bool finished_ = false;

  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const std::string>> queue_;  // guarded by mu_; front is in flight
  size_t queued_bytes_ = 0;                               // mu_
  bool writing_ = false;                                  // mu_
  bool closed_ = false;                                   // mu_: no more sends
};

}  // namespace zw::api
