#include "zenwatch/pusher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace zenwatch {
namespace {

// A one-thread HTTP server on 127.0.0.1 that answers each request with the next status of
// `statuses` (the last one repeats) and records the bodies.
class FakeServer {
 public:
  explicit FakeServer(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> Bodies() {
    std::lock_guard l(mu_);
    return bodies_;
  }
  std::vector<std::string> Requests() {
    std::lock_guard l(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      size_t want = std::string::npos;
      while (true) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        size_t end = req.find("\r\n\r\n");
        if (end != std::string::npos && want == std::string::npos) {
          size_t cl = req.find("Content-Length: ");
          want = end + 4 + std::stoul(req.substr(cl + 16));
        }
        if (req.size() >= want) break;
      }
      int status;
      {
        std::lock_guard l(mu_);
        status = statuses_[std::min(requests_.size(), statuses_.size() - 1)];
        requests_.push_back(req);
        if (status < 300) bodies_.push_back(req.substr(req.find("\r\n\r\n") + 4));
      }
      std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
      send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      close(c);
    }
  }

  std::vector<int> statuses_;
  int fd_;
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> requests_, bodies_;
  std::thread thread_;
};

PusherOptions Opts(const std::string& url) {
  PusherOptions o;
  o.url = url;
  o.domain = "batch";
  o.source = "w1";
  o.interval = std::chrono::milliseconds(0);
  o.initial_backoff = std::chrono::milliseconds(5);
  o.timeout = std::chrono::milliseconds(2000);
  return o;
}

TEST(JsonPushEncoder, SendsCounterIncreasesGaugesAndOnlyChanges) {
  Registry r;
  auto& c = r.AddCounter("jobs_total", "", {"domain"}).With({{"domain", "x"}});
  auto& g = r.AddGauge("queue", "").With({});
  JsonPushEncoder e("batch", "w1");
  c.Inc(5);
  g.Set(2);
  auto first = e.Encode(r.Collect(), 1000);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first,
            "{\"source\":\"w1\",\"domain\":\"batch\",\"type\":\"counter\",\"name\":\"jobs_total\","
            "\"value\":5,\"timestamp\":1000,\"labels\":{\"exported_domain\":\"x\"}}\n"
            "{\"source\":\"w1\",\"domain\":\"batch\",\"type\":\"gauge\",\"name\":\"queue\","
            "\"value\":2,\"timestamp\":1000,\"labels\":{}}\n");
  EXPECT_FALSE(e.Encode(r.Collect(), 2000).has_value());  // nothing changed
  c.Inc(2);
  auto third = e.Encode(r.Collect(), 3000);
  ASSERT_TRUE(third.has_value());
  EXPECT_NE(third->find("\"value\":2,"), std::string::npos) << *third;  // the increase
  EXPECT_EQ(third->find("queue"), std::string::npos);
  c.Inc();
  auto fourth = e.Encode(r.Collect(), 3000);  // same clock reading: the timestamp moves on
  ASSERT_TRUE(fourth.has_value());
  EXPECT_NE(fourth->find("\"timestamp\":3001"), std::string::npos) << *fourth;
}

TEST(JsonPushEncoder, HistogramsAsCumulativeGauges) {
  Registry r;
  r.AddHistogram("lat_seconds", "", {1}).With({}).Observe(0.5);
  JsonPushEncoder e("d", "s");
  auto body = e.Encode(r.Collect(), 1);
  ASSERT_TRUE(body.has_value());
  EXPECT_NE(
      body->find(
          "\"name\":\"lat_seconds_bucket\",\"value\":1,\"timestamp\":1,\"labels\":{\"le\":\"1\"}"),
      std::string::npos)
      << *body;
  EXPECT_NE(body->find("\"le\":\"+Inf\""), std::string::npos);
  EXPECT_NE(body->find("\"name\":\"lat_seconds_count\""), std::string::npos);
}

TEST(Pusher, DeliversAndFlushesOnShutdown) {
  FakeServer server({204});
  Registry r;
  auto& c = r.AddCounter("jobs_total", "").With({});
  Pusher p(r, Opts(server.Url()));
  c.Inc();
  EXPECT_TRUE(p.Push());
  c.Inc();
  p.Shutdown();
  auto bodies = server.Bodies();
  ASSERT_GE(bodies.size(), 2u);
  EXPECT_NE(bodies[0].find("\"name\":\"jobs_total\",\"value\":1"), std::string::npos) << bodies[0];
  EXPECT_NE(server.Requests()[0].find("POST /api/v1/push HTTP/1.1"), std::string::npos);
  EXPECT_EQ(p.Stats().batches_sent, bodies.size());
  EXPECT_EQ(p.Stats().dropped_failed + p.Stats().dropped_queue_full, 0u);
}

TEST(Pusher, RetriesServerErrorsAndDropsRejections) {
  FakeServer server({503, 503, 204, 400});
  Registry r;
  auto& g = r.AddGauge("g", "").With({});
  Pusher p(r, Opts(server.Url()));
  g.Set(1);
  p.Push();  // 503, 503, then 204
  g.Set(2);
  p.Push();  // 400: dropped as rejected
  p.Shutdown();
  PusherStats s = p.Stats();
  EXPECT_EQ(s.send_errors, 3u);  // 503, 503, 400
  EXPECT_EQ(s.batches_sent, 1u);
  EXPECT_EQ(s.dropped_rejected, 1u);
  EXPECT_EQ(server.Requests().size(), 4u);
  // The drop is visible as a metric of the registry.
  EXPECT_NE(r.ExpositionText().find("zenwatch_pusher_batches_dropped_total{reason=\"rejected\"}"),
            std::string::npos);
}

TEST(Pusher, FullQueueDropsOldestWithoutBlocking) {
  Registry r;
  auto& g = r.AddGauge("g", "").With({});
  PusherOptions o = Opts("http://127.0.0.1:1");  // nothing listens: every send fails
  o.queue_capacity = 2;
  o.max_attempts = 1000;
  o.initial_backoff = std::chrono::milliseconds(1000);
  Pusher p(r, std::move(o));
  int dropped = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    g.Set(i);
    if (!p.Push()) ++dropped;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_GE(dropped, 16);
  EXPECT_EQ(p.Stats().dropped_queue_full, static_cast<uint64_t>(dropped));
  p.Shutdown(std::chrono::milliseconds(50));
  EXPECT_GE(p.Stats().dropped_failed, 2u);
}

TEST(Pusher, RejectsBadUrls) {
  Registry r;
  EXPECT_THROW(Pusher(r, Opts("https://h:1")), std::invalid_argument);
  EXPECT_THROW(Pusher(r, Opts("http://nohost")), std::invalid_argument);
}

}  // namespace
}  // namespace zenwatch
