// Scrape cost.
//
// 1. BM_ScrapeRound: 1,000 targets x 1,000 series (ZW_SCRAPE_TARGETS / ZW_SCRAPE_SERIES
//    change the shape). A forked child process serves every target from one 127.0.0.1 port
//    (targets differ by a __param_t that relabelling sets, the blackbox-exporter pattern),
//    so this process's CPU time (getrusage: all threads) is only scrape + parse + relabel +
//    append + WAL. The scrape manager runs a short interval (ZW_SCRAPE_INTERVAL_MS, default
//    3000) for one cold round (series created) and three steady rounds (appends by
//    cached reference); the figure is CPU-seconds per steady round and its share of one
//    core at a 15 s interval.
// 2. BM_ScrapeAppend: one 1,000-series body into the head, with and without the per-target
//    series cache (label set -> series reference): the cost the cache saves.
//
//   ./build/bench/scrape_bench
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#pragma GCC diagnostic pop
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "core/time.h"
#include "scrape/config.h"
#include "scrape/scrape_append.h"
#include "scrape/scrape_manager.h"
#include "tsdb/head.h"

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : def;
}

// `series` samples in 10 counter families of series/10 label combinations; values move with
// `round` so chunks hold realistic (changing) values.
std::string Body(int series, uint64_t round) {
  std::string b;
  int per = std::max(1, series / 10);
  for (int f = 0; f < 10; ++f) {
    b += fmt::format("# HELP app_metric_{}_total Requests of kind {}.\n", f, f);
    b += fmt::format("# TYPE app_metric_{}_total counter\n", f);
    for (int i = 0; i < per; ++i) {
      b += fmt::format(
          "app_metric_{}_total{{handler=\"/api/v1/h{}\",code=\"{}\",method=\"GET\"}} {}\n", f,
          i / 5, 200 + i % 5, round * 3 + static_cast<uint64_t>(i));
    }
  }
  return b;
}

// The child: answers every GET with the body of the current round (Connection: close).
[[noreturn]] void ServeForever(int listen_fd, int series) {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::v4(), listen_fd);
  uint64_t requests = 0;
  std::string body = Body(series, 0);
  uint64_t body_round = 0;
  for (;;) {
    tcp::socket s(io);
    boost::system::error_code ec;
    acceptor.accept(s, ec);
    if (ec) continue;
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      size_t n = s.read_some(net::buffer(buf), ec);
      if (ec) break;
      req.append(buf, n);
    }
    if (ec) continue;
    uint64_t round = ++requests / 1000;
    if (round != body_round) {
      body = Body(series, round);
      body_round = round;
    }
    std::string head = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n"
        "Connection: close\r\n\r\n",
        body.size());
    net::write(s, std::array<net::const_buffer, 2>{net::buffer(head), net::buffer(body)}, ec);
    s.shutdown(tcp::socket::shutdown_both, ec);
  }
}

int g_port = 0;
pid_t g_child = 0;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void BM_ScrapeRound(benchmark::State& state) {
  const int targets = EnvInt("ZW_SCRAPE_TARGETS", 1000);
  const int interval_ms = EnvInt("ZW_SCRAPE_INTERVAL_MS", 3000);
  std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("zw_scrape_bench_{}", getpid()))
          .string();
  for (auto _ : state) {
    zw::tsdb::HeadOptions ho;
    ho.dir = dir;
    auto head = std::move(zw::tsdb::Head::Open(ho)).value();
    std::string yaml = fmt::format(
        "scrape_configs:\n  - job_name: bench\n    scrape_interval: {}ms\n    scrape_timeout: "
        "{}ms\n"
        "    static_configs: [{{targets: [",
        interval_ms, interval_ms);
    for (int i = 0; i < targets; ++i) yaml += fmt::format("{}'t{}:80'", i ? "," : "", i);
    yaml += fmt::format(
        "]}}]\n    relabel_configs:\n"
        "      - {{source_labels: [__address__], target_label: __param_t}}\n"
        "      - {{source_labels: [__address__], target_label: instance}}\n"
        "      - {{target_label: __address__, replacement: '127.0.0.1:{}'}}\n",
        g_port);
    auto config = zw::scrape::ParseConfig(yaml);
    if (!config.ok()) {
      state.SkipWithError(config.status().ToString().c_str());
      return;
    }
    zw::scrape::ScrapeManager manager(head.get());
    double c0 = CpuSeconds();
    auto t0 = std::chrono::steady_clock::now();
    manager.ApplyConfig(*config);
    // Cold round: every target's first scrape creates its series.
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms + interval_ms / 2));
    double c1 = CpuSeconds();
    auto t1 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(3 * interval_ms));
    double c2 = CpuSeconds();
    auto t2 = std::chrono::steady_clock::now();
    size_t up = 0;
    std::string error;
    for (const auto& t : manager.Targets()) {
      up += t.health == "up";
      if (t.health != "up" && error.empty()) error = t.last_error;
    }
    if (!error.empty()) state.SetLabel("a down target: " + error);
    manager.Stop();
    double wall_cold = std::chrono::duration<double>(t1 - t0).count();
    double wall_steady = std::chrono::duration<double>(t2 - t1).count();
    double rounds_steady = wall_steady * 1000 / interval_ms;
    double cpu_per_round = (c2 - c1) / rounds_steady;
    state.counters["targets_up"] = static_cast<double>(up);
    state.counters["series"] = static_cast<double>(head->NumSeries());
    state.counters["cold_cpu_s"] = (c1 - c0) * interval_ms / 1000 / wall_cold;
    state.counters["cpu_s_per_round"] = cpu_per_round;
    state.counters["core_share_at_15s_pct"] = cpu_per_round / 15 * 100;
    (void)head->Close();
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ScrapeRound)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

void BM_ScrapeAppend(benchmark::State& state) {
  const bool cache = state.range(0) != 0;
  auto head = std::move(zw::tsdb::Head::Open({})).value();
  zw::scrape::ScrapeOptions o;
  o.cache_series = cache;
  zw::scrape::ScrapeAppender a(zw::Labels{{"job", "bench"}, {"instance", "h:1"}}, o);
  std::vector<std::string> bodies;
  for (int r = 0; r < 16; ++r) bodies.push_back(Body(1000, static_cast<uint64_t>(r)));
  int64_t t = 1000;
  uint64_t n = 0;
  for (auto _ : state) {
    auto r = a.Succeeded(*head, bodies[n++ % bodies.size()],
                         zw::ingest::ExpositionFormat::kPrometheusText, t += 15000, 0.01);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
  state.counters["bytes_per_body"] = static_cast<double>(bodies[0].size());
}
BENCHMARK(BM_ScrapeAppend)->Arg(0)->Arg(1)->ArgName("cache")->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  // The server is forked before any thread exists; it inherits the listening socket.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    perror("scrape_bench: listen");
    return 1;
  }
  g_port = ntohs(a.sin_port);
  g_child = fork();
  if (g_child == 0) ServeForever(fd, EnvInt("ZW_SCRAPE_SERIES", 1000));
  close(fd);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  kill(g_child, SIGTERM);
  waitpid(g_child, nullptr, 0);
  return 0;
}
