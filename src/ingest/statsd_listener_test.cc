#include "ingest/statsd_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "storage/series_set.h"
#include "tsdb/head.h"

namespace zw::ingest {
namespace {

// Sends datagrams to 127.0.0.1:port.
class UdpClient {
 public:
  explicit UdpClient(uint16_t port) : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(port);
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~UdpClient() { close(fd_); }
  bool Send(std::string_view payload) {
    return sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&addr_),
                  sizeof addr_) == static_cast<ssize_t>(payload.size());
  }

 private:
  int fd_;
  sockaddr_in addr_{};
};

Labels Job(std::string_view name) { return Labels{{"__name__", name}, {"job", "statsd"}}; }

TEST(StatsdAddress, Parse) {
  auto a = ParseStatsdAddress("127.0.0.1:8125");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 8125);
  auto b = ParseStatsdAddress("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(ParseStatsdAddress(":9125")->first, "0.0.0.0");
  EXPECT_FALSE(ParseStatsdAddress("8125").ok());
  EXPECT_FALSE(ParseStatsdAddress("host:").ok());
  EXPECT_FALSE(ParseStatsdAddress("host:70000").ok());
  EXPECT_FALSE(ParseStatsdAddress("host:12x").ok());
}

TEST(StatsdListener, RejectsABadIntervalAndAnUnbindableAddress) {
  auto head = tsdb::Head::Open({}).value();
  StatsdAggregator agg(head.get());
  StatsdListenerOptions o;
  o.address = "127.0.0.1:0";
  o.flush_interval_ms = 0;
  EXPECT_EQ(StatsdListener::Start(o, &agg).status().code(), StatusCode::kInvalidArgument);
  o.flush_interval_ms = 1000;
  o.address = "192.0.2.1:0";  // TEST-NET: not an address of this machine
  auto r = StatsdListener::Start(o, &agg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot bind UDP"), std::string::npos);
}

TEST(StatsdListener, ReceivesFlushesAndFlushesOnceMoreOnStop) {
  auto head = tsdb::Head::Open({}).value();
  StatsdAggregator agg(head.get());
  StatsdListenerOptions o;
  o.address = "127.0.0.1:0";
  o.flush_interval_ms = 50;
  auto l = StatsdListener::Start(o, &agg);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_NE((*l)->port(), 0);
  UdpClient client((*l)->port());
  ASSERT_TRUE(client.Send("hits:1|c\nhits:2|c\nbroken\n"));
  // A packet near the UDP maximum, full of lines, arrives whole.
  std::string big;
  while (big.size() < 60000) big += "big:1|c|#k:v\n";
  ASSERT_TRUE(client.Send(big));
  size_t big_lines = big.size() / std::string_view("big:1|c|#k:v\n").size();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (agg.stats().lines.load() < 2 + big_lines && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  while (agg.stats().flushes.load() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto hits = storage::ReadExact(*head, Job("hits_total"));
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits.back().v, 3);
  EXPECT_EQ(agg.stats().bad_lines.load(), 1u);
  EXPECT_EQ(agg.stats().packets.load(), 2u);

  ASSERT_TRUE(client.Send("late:5|g"));
  while (agg.stats().packets.load() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  uint64_t flushes = agg.stats().flushes.load();
  (*l)->Stop();
  EXPECT_GT(agg.stats().flushes.load(), flushes);  // the final flush
  auto late = storage::ReadExact(*head, Job("late"));
  ASSERT_FALSE(late.empty());
  EXPECT_EQ(late.back().v, 5);
  auto big_total =
      storage::ReadExact(*head, Labels{{"__name__", "big_total"}, {"job", "statsd"}, {"k", "v"}});
  ASSERT_FALSE(big_total.empty());
  EXPECT_EQ(big_total.back().v, static_cast<double>(big_lines));
}

}  // namespace
}  // namespace zw::ingest
