// What a WebSocket endpoint sees, without sockets: a peer to send text messages to and a
// handler that receives the peer's messages. Endpoints are registered on the Router with
// AddWebSocket; the HTTP session hands an upgrade request for such a path to a
// WebSocketSession (websocket_session.h), which implements WebSocketPeer.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"

namespace zw::api {

// The sending side of one WebSocket connection. Thread-safe.
class WebSocketPeer {
 public:
  enum class SendResult { kQueued, kFull, kClosed };
  virtual ~WebSocketPeer() = default;
  // Queues one text frame. kFull (nothing queued) when the bytes queued would pass the
  // connection's bound; a message is always accepted into an empty queue.
  virtual SendResult Send(std::shared_ptr<const std::string> text) = 0;
  // Drops queued messages, except one being written.
  virtual void DropPending() = 0;
  // Bytes queued and not yet written (the one being written included).
  virtual size_t QueuedBytes() const = 0;
  // Starts the close handshake (status 1000).
  virtual void Close() = 0;
};

// The receiving side, implemented by the endpoint. Calls come from the connection's strand,
// one at a time; they must be quick (hand work to another thread).
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  virtual void OnMessage(std::string text) = 0;
  // The connection has ended (close handshake, error, or server stop). Called once; no
  // OnMessage follows, and the handler should drop the peer.
  virtual void OnClose() = 0;
};

// Called once the handshake is done, with the upgrade request and the connection's peer.
using WebSocketFactory = std::function<std::shared_ptr<WebSocketHandler>(
    const HttpRequest& request, std::shared_ptr<WebSocketPeer> peer)>;

}  // namespace zw::api
