#include "zenwatch/pusher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <snappy.h>

#include "ingest/remote_write.h"
#include "ingest/remote_write_proto.h"
#include "storage/series_set.h"
#include "tsdb/head.h"
#include "zenwatch/text_format.h"

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
  PusherOptions o = Opts(server.Url());
  o.format = PushFormat::kJson;
  Pusher p(r, std::move(o));
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
  PusherOptions o = Opts(server.Url());
  o.format = PushFormat::kJson;  // sends only changes: Shutdown's final push sends nothing
  Pusher p(r, std::move(o));
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

// ---- remote_write ----

namespace prompb = zw::ingest::prompb;

std::string Uncompress(const std::string& compressed) {
  std::string out;
  EXPECT_TRUE(snappy::IsValidCompressedBuffer(compressed.data(), compressed.size()));
  EXPECT_TRUE(snappy::Uncompress(compressed.data(), compressed.size(), &out));
  return out;
}

// One decoded series as text: name{a="1",b="2"} value@ts, labels in wire order.
std::vector<std::string> SeriesText(const prompb::WriteRequest& w) {
  std::vector<std::string> out;
  for (const prompb::TimeSeriesView& ts : w.series) {
    std::string s;
    for (uint32_t i = ts.labels_begin; i < ts.labels_end; ++i) {
      s += i == ts.labels_begin ? "{" : ",";
      s += std::string(w.labels[i].name) + "=\"" + std::string(w.labels[i].value) + "\"";
    }
    s += "}";
    for (uint32_t i = ts.samples_begin; i < ts.samples_end; ++i) {
      std::string v;
      AppendSampleValue(w.samples[i].value, v);
      s += " " + v + "@" + std::to_string(w.samples[i].timestamp);
    }
    out.push_back(s);
  }
  return out;
}

TEST(SnappyCompressBlock, RoundTripsThroughLibsnappy) {
  std::mt19937 rng(7);
  std::vector<std::string> inputs = {
      "", "a", "abcd", "abcdabcdabcdabcd", std::string(100000, 'x'), std::string(70, 'y')};
  std::string random(200000, '\0');
  for (char& c : random) c = static_cast<char>(rng() % 256);
  inputs.push_back(random);
  std::string text;  // repetitive, like label sets, longer than one 64 KiB window
  for (int i = 0; i < 20000; ++i)
    text += "{__name__=\"http_requests_total\",code=\"" + std::to_string(i % 7) + "\"}";
  inputs.push_back(text);
  std::string mixed;  // matches, literals of every header size, long offsets
  for (int i = 0; i < 3000; ++i)
    mixed += random.substr(rng() % 1000, rng() % 300) + text.substr(0, rng() % 80);
  inputs.push_back(mixed);
  for (const std::string& in : inputs) {
    std::string c = SnappyCompressBlock(in);
    EXPECT_EQ(Uncompress(c), in) << in.size();
  }
  EXPECT_LT(SnappyCompressBlock(text).size(), text.size() / 10);
  EXPECT_LT(SnappyCompressBlock(std::string(100000, 'x')).size(), 5000u);
}

TEST(RemoteWriteEncoder, EncodesSortedSeriesAndMetadata) {
  Registry r;
  r.AddCounter("jobs", "Jobs done.", {"zone", "code"})
      .With({{"zone", "eu"}, {"code", "200"}})
      .Inc(5);
  r.AddGauge("queue", "Queue length.").With({}).Set(-2.5);
  r.AddHistogram("lat_seconds", "Latency.", {0.5, 1}, {"job"}).With({{"job", "own"}}).Observe(0.7);
  RemoteWriteEncoder e({{"job", "batch"}, {"instance", "w1"}});
  std::vector<MetricFamilySnapshot> families;
  for (auto& f : r.Collect()) {
    if (!f.name.starts_with("zenwatch_")) families.push_back(std::move(f));
  }
  auto body = e.Encode(families, 1000);
  ASSERT_TRUE(body.has_value());
  std::string proto = Uncompress(*body);
  EXPECT_EQ(proto,
            EncodeRemoteWriteRequest(families, 1000, {{"instance", "w1"}, {"job", "batch"}}, true));
  prompb::WriteRequest w;
  auto st = prompb::DecodeWriteRequest(proto, &w);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<std::string> want = {
      R"({__name__="jobs_total",code="200",instance="w1",job="batch",zone="eu"} 5@1000)",
      R"({__name__="lat_seconds_bucket",instance="w1",job="own",le="0.5"} 0@1000)",
      R"({__name__="lat_seconds_bucket",instance="w1",job="own",le="1"} 1@1000)",
      R"({__name__="lat_seconds_bucket",instance="w1",job="own",le="+Inf"} 1@1000)",
      R"({__name__="lat_seconds_sum",instance="w1",job="own"} 0.7@1000)",
      R"({__name__="lat_seconds_count",instance="w1",job="own"} 1@1000)",
      R"({__name__="queue",instance="w1",job="batch"} -2.5@1000)",
  };  // families in Collect() order (by name), series in family order
  EXPECT_EQ(SeriesText(w), want);
  ASSERT_EQ(w.metadata.size(), 3u);
  EXPECT_EQ(w.metadata[0].type, static_cast<int32_t>(prompb::WireMetricType::kCounter));
  EXPECT_EQ(w.metadata[0].family, "jobs");
  EXPECT_EQ(w.metadata[0].help, "Jobs done.");
  EXPECT_EQ(w.metadata[1].type, static_cast<int32_t>(prompb::WireMetricType::kHistogram));
  EXPECT_EQ(w.metadata[1].family, "lat_seconds");
  EXPECT_EQ(w.metadata[1].help, "Latency.");
  EXPECT_EQ(w.metadata[2].type, static_cast<int32_t>(prompb::WireMetricType::kGauge));
  EXPECT_EQ(w.metadata[2].family, "queue");

  // Next batch at the same clock reading: cumulative values, a later timestamp, and no
  // metadata (unchanged, interval not over).
  auto second = e.Encode(families, 1000);
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(prompb::DecodeWriteRequest(Uncompress(*second), &w).ok());
  EXPECT_EQ(w.series.size(), 7u);
  EXPECT_EQ(w.metadata.size(), 0u);
  EXPECT_EQ(w.samples[0].timestamp, 1001);
  EXPECT_EQ(w.samples[0].value, 5);
  auto third = e.Encode(families, 1001 + 60000);  // metadata interval over
  ASSERT_TRUE(third.has_value());
  std::string third_proto = Uncompress(*third);
  ASSERT_TRUE(prompb::DecodeWriteRequest(third_proto, &w).ok());
  EXPECT_EQ(w.metadata.size(), 3u);
  EXPECT_FALSE(e.Encode({}, 70000).has_value());  // nothing to send
}

TEST(RemoteWriteEncoder, NegativeTimestampsAndSpecialValues) {
  MetricFamilySnapshot f;
  f.name = "g";
  f.type = MetricType::kGauge;
  f.samples.push_back({{{"a", ""}, {"b", "x"}}, -INFINITY});
  std::string proto = EncodeRemoteWriteRequest({&f, 1}, -5, {}, false);
  prompb::WriteRequest w;
  ASSERT_TRUE(prompb::DecodeWriteRequest(proto, &w).ok());
  EXPECT_EQ(SeriesText(w), std::vector<std::string>{R"({__name__="g",b="x"} -Inf@-5)"});
}

// End to end: what the encoder sends, the server's receiver stores, with metadata.
TEST(RemoteWriteEncoder, ServerIngestsIt) {
  auto head = zw::tsdb::Head::Open({});
  ASSERT_TRUE(head.ok());
  zw::ingest::RemoteWriteIngester rw(head->get());
  Registry r;
  auto& c = r.AddCounter("jobs", "Jobs done.", {"code"}).With({{"code", "200"}});
  r.AddHistogram("lat_seconds", "Latency.", {1}).With({}).Observe(0.5);
  RemoteWriteEncoder e(std::vector<std::pair<std::string, std::string>>{{"job", "batch"}});
  c.Inc(2);
  auto first = e.Encode(r.Collect(), 5000);
  ASSERT_TRUE(first.has_value());
  auto res = rw.Write(*first);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->series, 5u);  // jobs_total, 2 buckets, sum, count
  EXPECT_EQ(res->metadata, 2u);
  c.Inc();
  auto second = e.Encode(r.Collect(), 5000);  // same clock: timestamp 5001
  ASSERT_TRUE(second.has_value());
  res = rw.Write(*second);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  auto samples = zw::storage::ReadExact(
      **head, zw::Labels{{"__name__", "jobs_total"}, {"code", "200"}, {"job", "batch"}});
  EXPECT_EQ(samples, (std::vector<zw::Sample>{{5000, 2}, {5001, 3}}));
  EXPECT_EQ(
      zw::storage::ReadExact(
          **head, zw::Labels{{"__name__", "lat_seconds_bucket"}, {"job", "batch"}, {"le", "+Inf"}})
          .size(),
      2u);
  bool found = false;
  for (const auto& [family, meta] : (*head)->Metadata()) {
    if (family == "jobs") found = true;
  }
  EXPECT_TRUE(found);
}

TEST(Pusher, RemoteWriteIsTheDefault) {
  FakeServer server({500, 204, 400});
  Registry r;
  auto& c = r.AddCounter("jobs_total", "Jobs.").With({});
  PusherOptions o = Opts(server.Url() + "/prefix/");
  Pusher p(r, std::move(o));
  c.Inc(3);
  p.Push();      // 500, then 204
  p.Shutdown();  // its final push gets 400: not retried
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 3u);
  const std::string& req = requests[1];
  EXPECT_EQ(req.find("POST /prefix/api/v1/write HTTP/1.1\r\n"), 0u) << req;
  EXPECT_NE(req.find("\r\nContent-Type: application/x-protobuf\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nContent-Encoding: snappy\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n"), std::string::npos);
  auto bodies = server.Bodies();
  ASSERT_EQ(bodies.size(), 1u);
  std::string proto = Uncompress(bodies[0]);
  prompb::WriteRequest w;
  ASSERT_TRUE(prompb::DecodeWriteRequest(proto, &w).ok());
  auto series = SeriesText(w);
  ASSERT_FALSE(series.empty());
  EXPECT_EQ(series[0].substr(0, series[0].find(' ')),
            R"({__name__="jobs_total",instance="w1",job="batch"})");
  EXPECT_EQ(series[0].substr(series[0].find(' '), 3), " 3@");
  PusherStats s = p.Stats();
  EXPECT_EQ(s.batches_sent, 1u);
  EXPECT_EQ(s.dropped_rejected, 1u);
  EXPECT_EQ(s.send_errors, 2u);
}

TEST(Pusher, RejectsBadUrls) {
  Registry r;
  EXPECT_THROW(Pusher(r, Opts("https://h:1")), std::invalid_argument);
  EXPECT_THROW(Pusher(r, Opts("http://nohost")), std::invalid_argument);
}

}  // namespace
}  // namespace zenwatch
