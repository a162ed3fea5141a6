// A real HttpServer on an ephemeral 127.0.0.1 port with a WebSocket endpoint, and a Beast
// WebSocket client. Client operations have their own timeouts, so a misbehaving server fails
// a test instead of hanging it.
#include <atomic>
#include <condition_variable>
#include <mutex>

// GCC 12 reports a false -Wnull-dereference inside Asio's scheduler (see listener.cc).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include "api/http_server.h"
#include "api/websocket_session.h"
#pragma GCC diagnostic pop
#include <gtest/gtest.h>

namespace zw::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Echoes every message; remembers its peer so a test can push messages itself.
class Echo final : public WebSocketHandler {
 public:
  explicit Echo(std::shared_ptr<WebSocketPeer> peer) : peer_(std::move(peer)) {}
  void OnMessage(std::string text) override {
    (void)peer_->Send(std::make_shared<const std::string>("echo:" + text));
  }
  void OnClose() override {
    closed = true;
    peer_.reset();
  }
  std::shared_ptr<WebSocketPeer> peer_;
  std::atomic<bool> closed{false};
};

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto router = std::make_shared<Router>();
    router->AddWebSocket("/ws", [this](const HttpRequest& req, std::shared_ptr<WebSocketPeer> p) {
      auto h = std::make_shared<Echo>(std::move(p));
      std::lock_guard lock(mu_);
      path_ = req.path;
      handler_ = h;
      cv_.notify_all();
      return h;
    });
    HttpServerOptions o;
    o.port = 0;
    o.worker_threads = 2;
    server_ = std::make_unique<HttpServer>(o, router);
    port_ = *server_->Start();
  }
  void TearDown() override { server_->Stop(2s); }

  websocket::stream<beast::tcp_stream> Connect() {
    websocket::stream<beast::tcp_stream> ws(ioc_);
    beast::get_lowest_layer(ws).expires_after(10s);
    beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    ws.handshake("127.0.0.1", "/ws");
    return ws;
  }
  std::shared_ptr<Echo> Handler() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [this] { return handler_ != nullptr; });
    return handler_;
  }

  net::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Echo> handler_;
  std::string path_;
};

TEST_F(WebSocketTest, EchoTextMessages) {
  auto ws = Connect();
  ws.write(net::buffer(std::string("hello")));
  beast::flat_buffer buf;
  ws.read(buf);
  EXPECT_TRUE(ws.got_text());
  EXPECT_EQ(beast::buffers_to_string(buf.data()), "echo:hello");
  EXPECT_EQ(path_, "/ws");
  ws.close(websocket::close_code::normal);
  auto h = Handler();
  for (int i = 0; i < 100 && !h->closed; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(h->closed);  // OnClose after the client's close handshake
}

TEST_F(WebSocketTest, QueueIsBoundedWhenTheClientDoesNotRead) {
  auto ws = Connect();
  auto h = Handler();
  auto peer = h->peer_;
  ASSERT_TRUE(peer);
  auto big = std::make_shared<const std::string>(64 << 10, 'x');
  size_t queued = 0;
  WebSocketPeer::SendResult r = WebSocketPeer::SendResult::kQueued;
  for (int i = 0; i < 10000 && r == WebSocketPeer::SendResult::kQueued; ++i) {
    r = peer->Send(big);
    queued = std::max(queued, peer->QueuedBytes());
  }
  ASSERT_EQ(r, WebSocketPeer::SendResult::kFull);  // the client never read: the bound held
  EXPECT_LE(peer->QueuedBytes(), WebSocketSession::kDefaultMaxQueueBytes);
  peer->DropPending();
  EXPECT_LE(peer->QueuedBytes(), big->size());  // at most the message being written
  // The client reads again: what was in flight, then new messages.
  EXPECT_EQ(peer->Send(std::make_shared<const std::string>("after")),
            WebSocketPeer::SendResult::kQueued);
  beast::flat_buffer buf;
  std::string got;
  while (got != "after") {
    buf.clear();
    ws.read(buf);
    got = beast::buffers_to_string(buf.data());
  }
  (void)queued;
}

TEST_F(WebSocketTest, StopClosesWithGoingAway) {
  auto ws = Connect();
  auto h = Handler();
  std::thread stopper([this] { server_->Stop(5s); });
  beast::flat_buffer buf;
  beast::error_code ec;
  ws.read(buf, ec);
  stopper.join();
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws.reason().code, websocket::close_code::going_away);
  EXPECT_TRUE(h->closed);
}

TEST_F(WebSocketTest, PlainGetAndUnknownPathAreRefused) {
  Router r;
  r.AddWebSocket("/s", [](const HttpRequest&, std::shared_ptr<WebSocketPeer>) {
    return std::shared_ptr<WebSocketHandler>();
  });
  HttpRequest req;
  req.method = "GET";
  req.path = "/s";
  auto d = r.Dispatch(req);
  EXPECT_EQ(d.response.status, 426u);
  EXPECT_NE(r.FindWebSocket("/s"), nullptr);
  EXPECT_EQ(r.FindWebSocket("/t"), nullptr);
  EXPECT_THROW(r.AddWebSocket("/x/{p}",
                              [](const HttpRequest&, std::shared_ptr<WebSocketPeer>) {
                                return std::shared_ptr<WebSocketHandler>();
                              }),
               std::invalid_argument);

  websocket::stream<beast::tcp_stream> ws(ioc_);
  beast::get_lowest_layer(ws).expires_after(10s);
  beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "127.0.0.1", "/nowhere", ec);
  EXPECT_EQ(ec, websocket::error::upgrade_declined);  // the 404 itself: test_stream.py
}

}  // namespace
}  // namespace zw::api
