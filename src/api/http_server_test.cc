// Integration tests: a real HttpServer on an ephemeral 127.0.0.1 port and a Beast client.
// Every client operation has its own 10 s timeout, so a server that misbehaves fails a test
// instead of hanging it; no test relies on how long anything takes.
#include "api/http_server.h"

#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

// GCC 12 reports a false -Wnull-dereference inside Asio's epoll reactor (see listener.cc).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#pragma GCC diagnostic pop
#include <gtest/gtest.h>

namespace zw::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kClientTimeout = 10s;

// A one-shot signal between a test and a handler running on the worker pool.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct Reply {
  beast::error_code ec;
  http::response<http::string_body> response;
};

// A blocking HTTP client whose every operation gives up after kClientTimeout.
class Client {
 public:
  explicit Client(uint16_t port) : port_(port) {}

  beast::error_code Connect() {
    return Run([&](auto done) {
      stream_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_),
                            [done](beast::error_code ec) { done(ec, 0); });
    });
  }

  beast::error_code WriteRaw(std::string bytes) {
    raw_ = std::move(bytes);
    return Run([&](auto done) { net::async_write(stream_, net::buffer(raw_), done); });
  }

  beast::error_code Write(http::request<http::string_body> request) {
    request.prepare_payload();
    return Run([&](auto done) { http::async_write(stream_, request, done); });
  }

  Reply Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(head);
    Reply reply;
    reply.ec = Run([&](auto done) { http::async_read(stream_, buffer_, parser, done); });
    if (!reply.ec) reply.response = parser.release();
    return reply;
  }

  Reply Send(http::verb method, std::string target, std::string body = "",
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::request<http::string_body> request(method, target, 11);
    request.set(http::field::host, "127.0.0.1");
    for (auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    if (auto ec = Write(std::move(request))) return {ec, {}};
    return Read(method == http::verb::head);
  }

  Reply Get(std::string target) { return Send(http::verb::get, std::move(target)); }

  // Closes the connection, as a client that gives up.
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // Reads until the server ends the connection; returns how it ended (eof if gracefully).
  beast::error_code ReadUntilClosed() {
    for (;;) {
      char scratch[4096];
      beast::error_code ec =
          Run([&](auto done) { stream_.async_read_some(net::buffer(scratch), done); });
      if (ec) return ec;
    }
  }

 private:
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code result;
    stream_.expires_after(kClientTimeout);
    start([&result](beast::error_code ec, size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  uint16_t port_;
  net::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
  std::string raw_;
};

std::string HeaderOf(const http::response<http::string_body>& response, http::field field) {
  return std::string(response[field]);
}

HttpResponse Text(std::string body) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    options_.port = 0;
    options_.worker_threads = 4;
    options_.io_threads = 2;
    options_.max_body_bytes = 1024;
    options_.max_header_bytes = 4096;
    options_.read_timeout = 1s;

    auto router = std::make_shared<Router>();
    router->Add("GET", "/hello", [](HttpRequest&) { return Text("hello"); });
    router->Add("POST", "/echo", [](HttpRequest& request) { return Text(request.body); });
    router->Add("GET", "/remote", [](HttpRequest& request) { return Text(request.remote); });
    auto params = [](HttpRequest& request) {
      std::string lines;
      for (const auto& [k, v] : request.params) lines += k + "=" + v + "\n";
      return Text(lines);
    };
    router->Add("GET", "/params", params);
    router->Add("POST", "/params", params);
    router->Add("GET", "/label/{name}/values",
                [](HttpRequest& request) { return Text(request.path_params.at("name")); });
    router->Add("GET", "/boom",
                [](HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    router->Add("GET", "/deadline", [this](HttpRequest& request) {
      auto left = request.deadline - std::chrono::steady_clock::now();
      bool sane = left > 0s && left <= options_.request_timeout;
      return Text(sane ? "ok" : "bad");
    });
    // Waits (up to 10 s) for the client to go away, and reports whether it saw that.
    router->Add("GET", "/until-cancelled", [this](HttpRequest& request) {
      entered_.Open();
      auto until = std::chrono::steady_clock::now() + 10s;
      while (!request.Cancelled() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(5ms);
      }
      saw_cancel_.set_value(request.Cancelled());
      return Text("late");
    });
    // Works a moment, then says whether it was told to stop.
    router->Add("GET", "/busy", [](HttpRequest& request) {
      std::this_thread::sleep_for(200ms);
      return Text(request.Cancelled() ? "cancelled" : "done");
    });
    router->Add("GET", "/slow", [this](HttpRequest&) {
      entered_.Open();
      release_.WaitFor(60s);
      return Text("slow");
    });
    router_ = std::move(router);
  }

  ~HttpServerTest() override {
    release_.Open();  // never leave a handler blocked, whatever failed
    if (server_) server_->Stop();
  }

  void StartServer() {
    server_ = std::make_unique<HttpServer>(
        options_, router_, [this](std::string_view route, unsigned status, double seconds) {
          std::lock_guard lock(observed_mu_);
          observed_.emplace_back(std::string(route), status);
          EXPECT_GE(seconds, 0.0);
          observed_cv_.notify_all();
        });
    Result<uint16_t> port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    ASSERT_NE(*port, 0);
    EXPECT_EQ(server_->port(), *port);
    port_ = *port;
  }

  // The observer runs after the write completes, possibly after the client has read it.
  std::vector<std::pair<std::string, unsigned>> WaitForObservations(size_t n) {
    std::unique_lock lock(observed_mu_);
    observed_cv_.wait_for(lock, kClientTimeout, [&] { return observed_.size() >= n; });
    return observed_;
  }

  HttpServerOptions options_;
  std::shared_ptr<const Router> router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  Gate entered_;
  Gate release_;
  std::promise<bool> saw_cancel_;

  std::mutex observed_mu_;
  std::condition_variable observed_cv_;
  std::vector<std::pair<std::string, unsigned>> observed_;
};

TEST_F(HttpServerTest, GetAndPostRoundTrip) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());

  Reply get = client.Get("/hello");
  ASSERT_FALSE(get.ec) << get.ec.message();
  EXPECT_EQ(get.response.result_int(), 200u);
  EXPECT_EQ(get.response.body(), "hello");
  EXPECT_EQ(HeaderOf(get.response, http::field::content_type), "text/plain");
  EXPECT_EQ(HeaderOf(get.response, http::field::content_length), "5");

  Reply post = client.Send(http::verb::post, "/echo", "payload");
  ASSERT_FALSE(post.ec) << post.ec.message();
  EXPECT_EQ(post.response.result_int(), 200u);
  EXPECT_EQ(post.response.body(), "payload");
}

TEST_F(HttpServerTest, TwoRequestsShareOneKeepAliveConnection) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply first = client.Get("/remote");
  Reply second = client.Get("/remote");
  ASSERT_FALSE(first.ec);
  ASSERT_FALSE(second.ec);
  EXPECT_TRUE(first.response.keep_alive());
  EXPECT_FALSE(first.response.body().empty());
  EXPECT_EQ(first.response.body(), second.response.body());  // same peer port: same connection
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(
      client.WriteRaw("GET /label/first/values HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /label/second/values HTTP/1.1\r\nHost: x\r\n\r\n"));
  Reply first = client.Read();
  Reply second = client.Read();
  ASSERT_FALSE(first.ec);
  ASSERT_FALSE(second.ec);
  EXPECT_EQ(first.response.body(), "first");
  EXPECT_EQ(second.response.body(), "second");
}

TEST_F(HttpServerTest, Http10ConnectionIsClosedAfterResponse) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.WriteRaw("GET /hello HTTP/1.0\r\n\r\n"));
  Reply reply = client.Read();
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.version(), 10u);
  EXPECT_EQ(reply.response.body(), "hello");
  EXPECT_EQ(client.ReadUntilClosed(), net::error::eof);
}

TEST_F(HttpServerTest, QueryAndFormParamsAreMerged) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply reply =
      client.Send(http::verb::post, "/params?match[]=q1&x=a%20b", "match[]=f1&match%5B%5D=f2+x",
                  {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.result_int(), 200u);
  EXPECT_EQ(reply.response.body(), "match[]=f1\nmatch[]=f2 x\nmatch[]=q1\nx=a b\n");
}

TEST_F(HttpServerTest, PathParamsAndRouteReachTheObserver) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply reply = client.Get("/label/job/values");
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.body(), "job");
  Reply missing = client.Get("/nope");
  ASSERT_FALSE(missing.ec);
  auto observed = WaitForObservations(2);
  ASSERT_EQ(observed.size(), 2u);
  EXPECT_EQ(observed[0], (std::pair<std::string, unsigned>{"/label/{name}/values", 200}));
  EXPECT_EQ(observed[1], (std::pair<std::string, unsigned>{"", 404}));
}

TEST_F(HttpServerTest, RequestDeadlineIsSet) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply reply = client.Get("/deadline");
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.body(), "ok");
}

TEST_F(HttpServerTest, UnknownPathIs404Json) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply reply = client.Get("/nope");
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.result_int(), 404u);
  EXPECT_EQ(HeaderOf(reply.response, http::field::content_type), "application/json");
  EXPECT_EQ(reply.response.body(),
            R"({"status":"error","errorType":"not_found","error":"unknown path /nope"})");
  EXPECT_TRUE(reply.response.keep_alive());
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply reply = client.Send(http::verb::delete_, "/hello");
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.result_int(), 405u);
  EXPECT_EQ(HeaderOf(reply.response, http::field::allow), "GET, HEAD");
}

TEST_F(HttpServerTest, MalformedEscapeIs400AndConnectionStaysUsable) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply bad = client.Get("/params?x=%zz");
  ASSERT_FALSE(bad.ec);
  EXPECT_EQ(bad.response.result_int(), 400u);
  EXPECT_EQ(bad.response.body(),
            R"({"status":"error","errorType":"bad_data","error":"invalid URL escape \"%zz\""})");
  Reply good = client.Get("/hello");
  ASSERT_FALSE(good.ec);
  EXPECT_EQ(good.response.result_int(), 200u);
}

TEST_F(HttpServerTest, GarbageIs400AndClose) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.WriteRaw("GET /hello HTTP/9.9 nonsense\r\n\r\n"));
  Reply reply = client.Read();
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.response.result_int(), 400u);
  EXPECT_FALSE(reply.response.keep_alive());
  EXPECT_EQ(client.ReadUntilClosed(), net::error::eof);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply reply = client.Send(http::verb::post, "/echo", std::string(64 << 10, 'x'));
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.response.result_int(), 413u);
  EXPECT_EQ(HeaderOf(reply.response, http::field::content_type), "application/json");
  EXPECT_NE(reply.response.body().find("exceeds the limit of 1024 bytes"), std::string::npos);
  EXPECT_FALSE(reply.response.keep_alive());
  EXPECT_EQ(client.ReadUntilClosed(), net::error::eof);
}

TEST_F(HttpServerTest, OversizedBodyIs413BeforeItIsSentWith100Continue) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
  Reply reply = client.Read();
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.result_int(), 413u);
}

TEST_F(HttpServerTest, SmallBodyIsReadAfter100Continue) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  Reply interim = client.Read();
  ASSERT_FALSE(interim.ec);
  EXPECT_EQ(interim.response.result_int(), 100u);
  ASSERT_FALSE(client.WriteRaw("ping"));
  Reply reply = client.Read();
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.result_int(), 200u);
  EXPECT_EQ(reply.response.body(), "ping");
}

TEST_F(HttpServerTest, OversizedChunkedBodyIs413) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  std::string chunk(800, 'x');
  ASSERT_FALSE(
      client.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "320\r\n" +
                      chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  Reply reply = client.Read();
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.response.result_int(), 413u);
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply reply = client.Send(http::verb::get, "/hello", "", {{"X-Big", std::string(8000, 'h')}});
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.response.result_int(), 431u);
  EXPECT_FALSE(reply.response.keep_alive());
}

TEST_F(HttpServerTest, StalledClientIsDisconnectedAfterReadTimeout) {
  StartServer();  // read_timeout is 1 s; the client would wait 10 s for itself
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.WriteRaw("GET /hello HTTP/1.1\r\nHost: x\r\n"));
  beast::error_code ec = client.ReadUntilClosed();
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();

  Client other(port_);
  ASSERT_FALSE(other.Connect());
  Reply reply = other.Get("/hello");
  ASSERT_FALSE(reply.ec);
  EXPECT_EQ(reply.response.result_int(), 200u);
}

TEST_F(HttpServerTest, SilentNewConnectionIsDisconnectedAfterReadTimeout) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  beast::error_code ec = client.ReadUntilClosed();
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  options_.idle_timeout = 1s;
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.Get("/hello").ec);
  beast::error_code ec = client.ReadUntilClosed();
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

TEST_F(HttpServerTest, ThrowingHandlerIs500AndServerKeepsServing) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply boom = client.Get("/boom");
  ASSERT_FALSE(boom.ec);
  EXPECT_EQ(boom.response.result_int(), 500u);
  EXPECT_EQ(boom.response.body(), R"({"status":"error","errorType":"internal","error":"boom"})");
  Reply after = client.Get("/hello");
  ASSERT_FALSE(after.ec);
  EXPECT_EQ(after.response.body(), "hello");
}

TEST_F(HttpServerTest, HeadIsGetWithoutBody) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  Reply head = client.Send(http::verb::head, "/hello");
  ASSERT_FALSE(head.ec) << head.ec.message();
  EXPECT_EQ(head.response.result_int(), 200u);
  EXPECT_EQ(HeaderOf(head.response, http::field::content_length), "5");
  EXPECT_TRUE(head.response.body().empty());
  // Nothing stray follows the header: the next response parses cleanly.
  Reply get = client.Get("/hello");
  ASSERT_FALSE(get.ec);
  EXPECT_EQ(get.response.body(), "hello");
}

TEST_F(HttpServerTest, SlowHandlerDoesNotBlockAnotherConnection) {
  StartServer();
  Client slow(port_);
  ASSERT_FALSE(slow.Connect());
  ASSERT_FALSE(slow.Write(http::request<http::string_body>(http::verb::get, "/slow", 11)));
  ASSERT_TRUE(entered_.WaitFor(kClientTimeout));

  Client fast(port_);
  ASSERT_FALSE(fast.Connect());
  Reply reply = fast.Get("/hello");  // answered while /slow is still blocked
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.response.body(), "hello");

  release_.Open();
  Reply slow_reply = slow.Read();
  ASSERT_FALSE(slow_reply.ec);
  EXPECT_EQ(slow_reply.response.body(), "slow");
}

TEST_F(HttpServerTest, ClientClosingTheConnectionCancelsTheRequest) {
  StartServer();
  auto saw = saw_cancel_.get_future();
  {
    Client client(port_);
    ASSERT_FALSE(client.Connect());
    ASSERT_FALSE(
        client.Write(http::request<http::string_body>(http::verb::get, "/until-cancelled", 11)));
    ASSERT_TRUE(entered_.WaitFor(kClientTimeout));
    client.Close();
  }
  ASSERT_EQ(saw.wait_for(kClientTimeout), std::future_status::ready);
  EXPECT_TRUE(saw.get());
  // The server goes on serving.
  Client next(port_);
  ASSERT_FALSE(next.Connect());
  Reply reply = next.Get("/hello");
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.response.body(), "hello");
}

TEST_F(HttpServerTest, ConnectedClientIsNotCancelledAndKeepAliveGoesOn) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  for (int i = 0; i < 3; ++i) {
    Reply reply = client.Get("/busy");
    ASSERT_FALSE(reply.ec) << reply.ec.message();
    EXPECT_EQ(reply.response.body(), "done");
  }
}

TEST_F(HttpServerTest, PipelinedRequestWhileHandlingIsKept) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  // The second request arrives while the first is being handled (and watched).
  ASSERT_FALSE(client.WriteRaw("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(50ms);
  ASSERT_FALSE(client.WriteRaw("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  Reply first = client.Read();
  ASSERT_FALSE(first.ec) << first.ec.message();
  EXPECT_EQ(first.response.body(), "done");
  Reply second = client.Read();
  ASSERT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(second.response.body(), "hello");
}

TEST_F(HttpServerTest, StopLetsRunningHandlerFinishThenRefusesConnections) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.Write(http::request<http::string_body>(http::verb::get, "/slow", 11)));
  ASSERT_TRUE(entered_.WaitFor(kClientTimeout));

  auto stopped = std::async(std::launch::async, [this] { server_->Stop(30s); });
  // Stop closes the listener first; wait until a connection is refused.
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    Client probe(port_);
    refused = probe.Connect() == net::error::connection_refused;
    if (!refused) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(stopped.wait_for(0s), std::future_status::timeout);  // still waiting for /slow

  release_.Open();
  Reply reply = client.Read();
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.response.body(), "slow");
  EXPECT_FALSE(reply.response.keep_alive());
  stopped.get();

  Client late(port_);
  EXPECT_EQ(late.Connect(), net::error::connection_refused);
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  options_.idle_timeout = 60s;
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.Get("/hello").ec);
  auto stopped = std::async(std::launch::async, [this] { server_->Stop(30s); });
  // Closed by Stop, long before the idle timeout or the client's own timeout.
  beast::error_code ec = client.ReadUntilClosed();
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  stopped.get();
}

TEST_F(HttpServerTest, StopIsIdempotentAndWorksBeforeStart) {
  HttpServer never_started(options_, router_);
  never_started.Stop();
  never_started.Stop();
  EXPECT_FALSE(never_started.Start().ok());

  StartServer();
  server_->Stop();
  server_->Stop();
}

TEST_F(HttpServerTest, StartFailsOnBusyPortNamingAddress) {
  StartServer();
  HttpServerOptions clash = options_;
  clash.port = port_;
  HttpServer second(clash, router_);
  Result<uint16_t> result = second.Start();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kIOError);
  EXPECT_NE(result.status().message().find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("in use"), std::string::npos)
      << result.status().message();
}

TEST_F(HttpServerTest, StartFailsOnInvalidAddress) {
  options_.address = "not-an-ip";
  HttpServer server(options_, router_);
  Result<uint16_t> result = server.Start();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("not-an-ip"), std::string::npos);
}

}  // namespace
}  // namespace zw::api
