#include "scrape/scrape_manager.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

// GCC 12 reports false null dereferences inside Asio's scheduler at -O2.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "core/time.h"
#include "ingest/exposition_parser.h"
#include "scrape/scrape_append.h"

namespace zw::scrape {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr uint64_t kMaxBodyBytes = 256ULL << 20;
constexpr const char* kAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

struct Loop {
  ScrapeConfig job;
  std::string host, port, target;  // target: path and query
  TargetInfo info;                 // guarded by the manager's mutex
  std::unique_ptr<ScrapeAppender> appender;
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<net::steady_timer> timer;
};

std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const auto& [k, v] : params) {
    out += out.empty() ? '?' : '&';
    for (const std::string* s : {&k, &v}) {
      for (unsigned char c : *s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          out += static_cast<char>(c);
        } else {
          out += '%';
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
      }
      if (s == &k) out += '=';
    }
  }
  return out;
}

}  // namespace

struct ScrapeManager::Impl {
  explicit Impl(storage::Appendable* s) : storage(s), work(net::make_work_guard(io)) {
    thread = std::thread([this] { io.run(); });
  }

  // One scrape: fetch, then hand the body to the appender. Exceptions carry the reason.
  net::awaitable<std::string> Fetch(Loop& l, std::string* content_type) {
    auto exec = co_await net::this_coro::executor;
    beast::tcp_stream stream(exec);
    stream.expires_after(std::chrono::milliseconds(l.job.timeout_ms));
    tcp::resolver resolver(exec);
    auto endpoints = co_await resolver.async_resolve(l.host, l.port, net::use_awaitable);
    co_await stream.async_connect(endpoints, net::use_awaitable);
    http::request<http::empty_body> req{http::verb::get, l.target, 11};
    req.set(http::field::host, l.host + ":" + l.port);
    req.set(http::field::user_agent, "zenwatch");
    req.set(http::field::accept, kAccept);
    req.set(http::field::accept_encoding, "gzip");
    req.set("X-Prometheus-Scrape-Timeout-Seconds",
            std::to_string(static_cast<double>(l.job.timeout_ms) / 1000));
    co_await http::async_write(stream, req, net::use_awaitable);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    co_await http::async_read(stream, buf, parser, net::use_awaitable);
    auto res = parser.release();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (res.result_int() != 200)
      throw std::runtime_error("server returned HTTP status " + std::to_string(res.result_int()));
    *content_type = std::string(res[http::field::content_type]);
    if (res[http::field::content_encoding] == "gzip") {
      auto plain = ingest::Gunzip(res.body(), kMaxBodyBytes);
      if (!plain.ok()) throw std::runtime_error(plain.status().message());
      co_return std::move(plain).value();
    }
    co_return std::move(res.body());
  }

  net::awaitable<void> Run(std::shared_ptr<Loop> l) {
    auto stop = l->stop;
    // Spread targets over the interval by a hash of their URL, as Prometheus does.
    int64_t interval = l->job.interval_ms;
    uint64_t h = XXH3_64bits(l->info.url.data(), l->info.url.size());
    int64_t now = NowMs();
    int64_t next = now - now % interval + static_cast<int64_t>(h % static_cast<uint64_t>(interval));
    if (next < now) next += interval;
    while (!stop->load()) {
      l->timer->expires_after(std::chrono::milliseconds(std::max<int64_t>(0, next - NowMs())));
      try {
        co_await l->timer->async_wait(net::use_awaitable);
      } catch (const boost::system::system_error&) {
      }
      if (stop->load()) break;
      int64_t t = NowMs();
      next += interval;
      if (next <= t)
        next = t + interval - (t - next) % interval;  // skipped ticks: stay on the grid
      auto start = std::chrono::steady_clock::now();
      std::string error;
      std::string body, content_type;
      try {
        body = co_await Fetch(*l, &content_type);
      } catch (const std::exception& e) {
        error = e.what();
      }
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (error.empty()) {
        auto r =
            l->appender->Succeeded(*storage, body, ingest::DetectFormat(content_type), t, secs);
        if (!r.ok()) error = r.status().message();
      }
      if (!error.empty()) {
        Status st = l->appender->Failed(*storage, t, secs);
        if (!st.ok())
          spdlog::warn("scrape {}: could not store the failed scrape: {}", l->info.url,
                       st.ToString());
      }
      std::lock_guard lock(mu);
      l->info.health = error.empty() ? "up" : "down";
      l->info.last_error = error;
      l->info.last_scrape_ms = t;
      l->info.last_duration_seconds = secs;
    }
    Status st = l->appender->Stopped(*storage, NowMs());
    if (!st.ok())
      spdlog::warn("scrape {}: could not write staleness markers: {}", l->info.url, st.ToString());
    std::lock_guard lock(mu);
    if (--running == 0) done.notify_all();
  }

  void StopLoops(std::vector<std::shared_ptr<Loop>>& stopping) {
    for (auto& l : stopping) {
      l->stop->store(true);
      net::post(io, [l] { l->timer->cancel(); });
    }
    std::unique_lock lock(mu);
    done.wait(lock, [this] { return running == 0; });
    stopping.clear();
  }

  storage::Appendable* storage;
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;
  mutable std::mutex mu;
  std::condition_variable done;
  int running = 0;  // guarded by mu
  std::vector<std::shared_ptr<Loop>> loops;
  std::mutex apply_mu;
  bool stopped = false;
};

ScrapeManager::ScrapeManager(storage::Appendable* storage)
    : impl_(std::make_unique<Impl>(storage)) {}

ScrapeManager::~ScrapeManager() { Stop(); }

void ScrapeManager::ApplyConfig(const Config& config) {
  std::lock_guard apply(impl_->apply_mu);
  if (impl_->stopped) return;
  impl_->StopLoops(impl_->loops);
  for (const ScrapeConfig& job : config.scrape_configs) {
    for (const StaticConfig& sc : job.static_configs) {
      for (const std::string& addr : sc.targets) {
        auto l = std::make_shared<Loop>();
        l->job = job;
        size_t colon = addr.rfind(':');
        l->host = addr.substr(0, colon);
        if (l->host.size() > 2 && l->host.front() == '[')
          l->host = l->host.substr(1, l->host.size() - 2);
        l->port = addr.substr(colon + 1);
        l->target = job.metrics_path + QueryString(job.params);
        LabelsBuilder tb;
        LabelsBuilder db;
        for (const auto& [k, v] : sc.labels) {
          tb.Set(k, v);
          db.Set(k, v);
        }
        tb.Set("job", job.job_name).Set("instance", addr);
        db.Set("job", job.job_name)
            .Set("__address__", addr)
            .Set("__scheme__", job.scheme)
            .Set("__metrics_path__", job.metrics_path);
        l->info.job = job.job_name;
        l->info.url = job.scheme + "://" + addr + l->target;
        l->info.labels = tb.Build();
        l->info.discovered_labels = db.Build();
        l->info.interval_ms = job.interval_ms;
        l->info.timeout_ms = job.timeout_ms;
        l->appender = std::make_unique<ScrapeAppender>(
            l->info.labels,
            ScrapeOptions{job.honor_labels, job.honor_timestamps, job.sample_limit});
        l->timer = std::make_unique<net::steady_timer>(impl_->io);
        impl_->loops.push_back(l);
      }
    }
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->running = static_cast<int>(impl_->loops.size());
  }
  for (auto& l : impl_->loops) net::co_spawn(impl_->io, impl_->Run(l), net::detached);
  spdlog::info("scrape: {} targets in {} jobs", impl_->loops.size(), config.scrape_configs.size());
}

std::vector<TargetInfo> ScrapeManager::Targets() const {
  std::lock_guard lock(impl_->mu);
  std::vector<TargetInfo> out;
  for (const auto& l : impl_->loops) out.push_back(l->info);
  return out;
}

void ScrapeManager::Stop() {
  std::lock_guard apply(impl_->apply_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->StopLoops(impl_->loops);
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace zw::scrape
