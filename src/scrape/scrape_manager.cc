#include "scrape/scrape_manager.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

// GCC 12 reports false null dereferences inside Asio's scheduler at -O2.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#pragma GCC diagnostic pop
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "core/time.h"
#include "ingest/exposition_parser.h"
#include "scrape/file_sd.h"
#include "scrape/scrape_append.h"
#include "scrape/target.h"

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
  std::shared_ptr<const ScrapeConfig> job;
  Target target;
  // https targets: the TLS context from the job's tls_config, or why it could not be made.
  std::unique_ptr<net::ssl::context> tls;
  std::string tls_error;
  TargetInfo info;  // guarded by the manager's mutex
  std::unique_ptr<ScrapeAppender> appender;
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<net::steady_timer> timer;
};

// One job: its discovery and its loops. Touched only on the I/O thread, except that
// `loops` and `dropped` are also read by Targets() under the manager's mutex.
struct Pool {
  std::shared_ptr<const ScrapeConfig> job;
  std::vector<TargetGroup> static_groups;
  std::vector<TargetGroup> file_groups;
  std::unique_ptr<FileDiscovery> file_sd;
  std::map<std::string, std::shared_ptr<Loop>> loops;  // by Target::Key()
  std::vector<TargetInfo> dropped;
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<net::steady_timer> timer;
};

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&in](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    bool two = i + 1 < in.size();
    uint32_t v = byte(i) << 16 | (two ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += two ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// A secret file's content without surrounding whitespace, as Prometheus reads it.
std::string ReadSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string s = std::move(buf).str();
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A client TLS context verifying servers as `tls` says. Throws on a bad ca_file.
std::unique_ptr<net::ssl::context> MakeTlsContext(const TlsConfig& tls) {
  auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                   net::ssl::context::no_tlsv1_1);
  if (tls.insecure_skip_verify) {
    ctx->set_verify_mode(net::ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(net::ssl::verify_peer);
  boost::system::error_code ec;
  if (tls.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(tls.ca_file, ec);
  }
  if (ec) {
    throw std::runtime_error("tls_config: cannot load " +
                             (tls.ca_file.empty() ? "the system CA store" : tls.ca_file) + ": " +
                             ec.message());
  }
  return ctx;
}

template <typename Stream>
net::awaitable<http::response<http::string_body>> Exchange(
    Stream& stream, const http::request<http::empty_body>& req) {
  co_await http::async_write(stream, req, net::use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  co_await http::async_read(stream, buf, parser, net::use_awaitable);
  co_return parser.release();
}

}  // namespace

std::string AuthorizationHeader(const ScrapeConfig& job) {
  if (job.basic_auth) {
    const BasicAuth& b = *job.basic_auth;
    std::string password = b.password_file.empty() ? b.password : ReadSecret(b.password_file);
    return "Basic " + Base64(b.username + ":" + password);
  }
  if (job.authorization) {
    const Authorization& a = *job.authorization;
    std::string cred = a.credentials_file.empty() ? a.credentials : ReadSecret(a.credentials_file);
    return a.type + " " + cred;
  }
  return "";
}

struct ScrapeManager::Impl {
  explicit Impl(storage::Appendable* s) : storage(s), work(net::make_work_guard(io)) {
    thread = std::thread([this] { io.run(); });
  }

  // One scrape: fetch, then hand the body to the appender. Exceptions carry the reason.
  net::awaitable<std::string> Fetch(Loop& l, std::string* content_type) {
    auto exec = co_await net::this_coro::executor;
    const Target& tg = l.target;
    std::string auth = AuthorizationHeader(*l.job);
    tcp::resolver resolver(exec);
    auto endpoints = co_await resolver.async_resolve(tg.host, tg.port, net::use_awaitable);
    http::request<http::empty_body> req{http::verb::get, tg.path_and_query, 11};
    req.set(http::field::host, tg.host + ":" + tg.port);
    req.set(http::field::user_agent, "zenwatch");
    req.set(http::field::accept, kAccept);
    req.set(http::field::accept_encoding, "gzip");
    if (!auth.empty()) req.set(http::field::authorization, auth);
    req.set("X-Prometheus-Scrape-Timeout-Seconds",
            std::to_string(static_cast<double>(tg.timeout_ms) / 1000));
    http::response<http::string_body> res;
    beast::error_code ignored;
    if (tg.scheme == "https") {
      if (!l.tls) throw std::runtime_error(l.tls_error);
      beast::ssl_stream<beast::tcp_stream> stream(exec, *l.tls);
      auto& tcp_layer = beast::get_lowest_layer(stream);
      tcp_layer.expires_after(std::chrono::milliseconds(tg.timeout_ms));
      const TlsConfig& tls = l.job->tls_config;
      std::string name = tls.server_name.empty() ? tg.host : tls.server_name;
      // SSL_set_tlsext_host_name, without the macro's C cast.
      if (!SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    const_cast<char*>(name.c_str())))
        throw std::runtime_error("tls: cannot set the server name " + name);
      if (!tls.insecure_skip_verify)
        stream.set_verify_callback(net::ssl::host_name_verification(name));
      co_await tcp_layer.async_connect(endpoints, net::use_awaitable);
      co_await stream.async_handshake(net::ssl::stream_base::client, net::use_awaitable);
      res = co_await Exchange(stream, req);
      tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
    } else {
      beast::tcp_stream stream(exec);
      stream.expires_after(std::chrono::milliseconds(tg.timeout_ms));
      co_await stream.async_connect(endpoints, net::use_awaitable);
      res = co_await Exchange(stream, req);
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
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
    int64_t interval = l->target.interval_ms;
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

  // Re-reads a pool's files every refresh interval and re-syncs its targets on change.
  net::awaitable<void> Watch(std::shared_ptr<Pool> p) {
    auto stop = p->stop;
    while (!stop->load()) {
      p->timer->expires_after(std::chrono::milliseconds(p->file_sd->RefreshIntervalMs()));
      try {
        co_await p->timer->async_wait(net::use_awaitable);
      } catch (const boost::system::system_error&) {
      }
      if (stop->load()) break;
      if (auto groups = p->file_sd->Poll()) {
        p->file_groups = std::move(*groups);
        Sync(*p, nullptr);
      }
    }
    std::lock_guard lock(mu);
    if (--running == 0) done.notify_all();
  }

  // I/O thread only: the loop writes its staleness markers as it ends.
  static void StopLoop(const std::shared_ptr<Loop>& l) {
    l->stop->store(true);
    l->timer->cancel();
  }

  std::shared_ptr<Loop> StartLoop(const std::shared_ptr<const ScrapeConfig>& job, Target t) {
    auto l = std::make_shared<Loop>();
    l->job = job;
    l->info.job = job->job_name;
    l->info.url = t.Url();
    l->info.labels = t.labels;
    l->info.discovered_labels = t.discovered;
    l->info.interval_ms = t.interval_ms;
    l->info.timeout_ms = t.timeout_ms;
    l->appender = std::make_unique<ScrapeAppender>(
        t.labels, ScrapeOptions{job->honor_labels, job->honor_timestamps, job->sample_limit,
                                job->metric_relabel_configs, true});
    if (t.scheme == "https") {
      try {
        l->tls = MakeTlsContext(job->tls_config);
      } catch (const std::exception& e) {
        l->tls_error = e.what();
      }
    }
    l->target = std::move(t);
    l->timer = std::make_unique<net::steady_timer>(io);
    {
      std::lock_guard lock(mu);
      ++running;
    }
    net::co_spawn(io, Run(l), net::detached);
    return l;
  }

  // Makes `p`'s loops match its groups: loops of targets still there (in `p`, or in
  // `adopt` when given) carry on, new targets start, the rest of `p`'s stop. I/O thread only.
  void Sync(Pool& p, Pool* adopt) {
    std::map<std::string, std::shared_ptr<Loop>> next;
    std::vector<TargetInfo> dropped;
    std::vector<std::shared_ptr<Loop>> keep_alive;  // moved-from entries until the swap
    for (const auto* groups : {&p.static_groups, &p.file_groups}) {
      for (const TargetGroup& g : *groups) {
        for (Result<Target>& r : PopulateTargets(*p.job, g)) {
          if (!r.ok()) {
            spdlog::warn("scrape: {}", r.status().message());
            continue;
          }
          if (r->dropped) {
            TargetInfo d;
            d.job = p.job->job_name;
            d.discovered_labels = r->discovered;
            dropped.push_back(std::move(d));
            continue;
          }
          std::string key = r->Key();
          if (next.count(key)) continue;
          std::shared_ptr<Loop> l;
          for (Pool* from : {&p, adopt}) {
            if (from == nullptr) continue;
            auto it = from->loops.find(key);
            if (it != from->loops.end()) {
              l = it->second;
              std::lock_guard lock(mu);
              from->loops.erase(it);
              break;
            }
          }
          if (!l) l = StartLoop(p.job, std::move(r).value());
          next.emplace(std::move(key), std::move(l));
        }
      }
    }
    for (auto& [key, l] : p.loops) StopLoop(l);
    std::lock_guard lock(mu);
    p.loops = std::move(next);
    p.dropped = std::move(dropped);
  }

  // I/O thread only.
  void StopPool(Pool& p) {
    p.stop->store(true);
    if (p.timer) p.timer->cancel();
    for (auto& [key, l] : p.loops) StopLoop(l);
    std::lock_guard lock(mu);
    p.loops.clear();
    p.dropped.clear();
  }

  // I/O thread only.
  void Apply(const Config& config) {
    std::map<std::string, std::shared_ptr<Pool>> next;
    size_t targets = 0;
    for (const ScrapeConfig& job : config.scrape_configs) {
      auto p = std::make_shared<Pool>();
      p->job = std::make_shared<const ScrapeConfig>(job);
      p->static_groups = StaticGroups(job);
      if (!job.file_sd_configs.empty()) {
        p->file_sd = std::make_unique<FileDiscovery>(job.file_sd_configs);
        if (auto groups = p->file_sd->Poll()) p->file_groups = std::move(*groups);
      }
      Pool* old = nullptr;
      auto it = pools.find(job.job_name);
      if (it != pools.end() && it->second->job->fingerprint == job.fingerprint)
        old = it->second.get();
      Sync(*p, old);
      targets += p->loops.size();
      if (p->file_sd) {
        p->timer = std::make_unique<net::steady_timer>(io);
        {
          std::lock_guard lock(mu);
          ++running;
        }
        net::co_spawn(io, Watch(p), net::detached);
      }
      next.emplace(job.job_name, std::move(p));
    }
    for (auto& [name, p] : pools) StopPool(*p);
    std::lock_guard lock(mu);
    pools = std::move(next);
    spdlog::info("scrape: {} targets in {} jobs", targets, config.scrape_configs.size());
  }

  // Runs `f` on the I/O thread and waits for it.
  template <typename F>
  void OnIoThread(F f) {
    std::promise<void> finished;
    auto fut = finished.get_future();
    net::post(io, [&] {
      f();
      finished.set_value();
    });
    fut.wait();
  }

  storage::Appendable* storage;
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;
  mutable std::mutex mu;
  std::condition_variable done;
  int running = 0;  // loops and watchers not yet finished; guarded by mu
  // By job name; changed on the I/O thread under mu, read by Targets() under mu.
  std::map<std::string, std::shared_ptr<Pool>> pools;
  std::mutex apply_mu;
  bool stopped = false;
};

ScrapeManager::ScrapeManager(storage::Appendable* storage)
    : impl_(std::make_unique<Impl>(storage)) {}

ScrapeManager::~ScrapeManager() { Stop(); }

void ScrapeManager::ApplyConfig(const Config& config) {
  std::lock_guard apply(impl_->apply_mu);
  if (impl_->stopped) return;
  impl_->OnIoThread([&] { impl_->Apply(config); });
}

std::vector<TargetInfo> ScrapeManager::Targets() const {
  std::lock_guard lock(impl_->mu);
  std::vector<TargetInfo> out;
  for (const auto& [name, p] : impl_->pools) {
    for (const auto& [key, l] : p->loops) out.push_back(l->info);
  }
  return out;
}

std::vector<TargetInfo> ScrapeManager::DroppedTargets() const {
  std::lock_guard lock(impl_->mu);
  std::vector<TargetInfo> out;
  for (const auto& [name, p] : impl_->pools)
    out.insert(out.end(), p->dropped.begin(), p->dropped.end());
  return out;
}

void ScrapeManager::Stop() {
  std::lock_guard apply(impl_->apply_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->OnIoThread([this] {
    for (auto& [name, p] : impl_->pools) impl_->StopPool(*p);
  });
  {
    std::unique_lock lock(impl_->mu);
    impl_->done.wait(lock, [this] { return impl_->running == 0; });
  }
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace zw::scrape
