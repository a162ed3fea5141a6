#include "cli/server.h"

#include <signal.h>

#include <atomic>
#include <charconv>
#include <memory>

#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/http_server.h"
#include "cli/config.h"
#include "cli/self_metrics.h"
#include "core/time.h"
#include "ingest/push.h"
#include "promql/engine.h"
#include "scrape/config.h"
#include "scrape/scrape_manager.h"
#include "tsdb/head.h"

namespace zw::cli {
namespace {

Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--listen \"" + listen +
                                   "\": expected host:port, e.g. 127.0.0.1:3003");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  auto [p, ec] = std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port);
  if (ec != std::errc() || p != listen.data() + listen.size() || port > 65535) {
    return Status::InvalidArgument("--listen \"" + listen + "\": invalid port");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

}  // namespace

Status Serve(const ServeOptions& o) {
  auto listen = ParseListen(o.listen);
  if (!listen.ok()) return listen.status();
  auto sync_interval = ParseDurationMs(o.wal_sync_interval);
  if (!sync_interval.ok() || *sync_interval <= 0) {
    return Status::InvalidArgument("--wal.sync-interval \"" + o.wal_sync_interval +
                                   "\": expected a positive duration like 1s");
  }
  auto lookback = ParseDurationMs(o.query_lookback_delta);
  if (!lookback.ok() || *lookback <= 0) {
    return Status::InvalidArgument("--query.lookback-delta \"" + o.query_lookback_delta +
                                   "\": expected a positive duration like 5m");
  }
  if (o.query_max_samples == 0)
    return Status::InvalidArgument("--query.max-samples must be positive");
  std::string config_yaml;
  if (!o.config_file.empty()) {
    auto text = LoadConfigFile(o.config_file);
    if (!text.ok()) return text.status();
    config_yaml = std::move(text).value();
  }
  auto scrape_config = scrape::ParseConfig(config_yaml);
  if (!scrape_config.ok()) {
    return Status::InvalidArgument("--config " + o.config_file + ": " +
                                   scrape_config.status().message());
  }

  // Signals are taken synchronously by this thread; every thread started from here on
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  tsdb::HeadOptions ho;
  ho.dir = o.data_dir;
  ho.wal_sync = o.wal_sync == "always" ? wal::SyncMode::kAlways : wal::SyncMode::kInterval;
  ho.wal_sync_interval = std::chrono::milliseconds(*sync_interval);
  // The WAL reports fsync latency into self-metrics, which read the head's counters; the
  // pointer is set once both exist (fsyncs before that go unobserved) and the head is
  // closed, stopping its syncer, before self-metrics go away.
  std::atomic<SelfMetrics*> self_ptr{nullptr};
  ho.wal_on_fsync = [&self_ptr](double seconds) {
    if (SelfMetrics* s = self_ptr.load(std::memory_order_acquire)) s->ObserveFsync(seconds);
  };
  auto head = tsdb::Head::Open(ho);
  if (!head.ok()) return head.status();

  ingest::PushIngester push(head->get());
  SelfMetrics self(head->get(), &push);
  self_ptr.store(&self, std::memory_order_release);
  std::atomic<bool> ready{false};

  scrape::ScrapeManager scraper(head->get());

  promql::EngineOptions eo;
  eo.lookback_ms = *lookback;
  eo.max_samples = o.query_max_samples;
  promql::Engine engine(eo);

  api::ApiContext ctx;
  ctx.engine = &engine;
  ctx.targets = [&scraper] { return scraper.Targets(); };
  ctx.storage = head->get();
  ctx.push = &push;
  ctx.self_metrics = [&self] { return self.Exposition(); };
  ctx.ready = [&ready] { return ready.load(); };
  ctx.version = ZW_VERSION;
  ctx.revision = ZW_REVISION;
  ctx.flags = {{"listen", o.listen},
               {"data-dir", o.data_dir},
               {"config", o.config_file},
               {"wal.sync", o.wal_sync},
               {"wal.sync-interval", o.wal_sync_interval},
               {"query.max-samples", std::to_string(o.query_max_samples)},
               {"query.lookback-delta", o.query_lookback_delta}};
  ctx.config_yaml = config_yaml;
  ctx.start_time_ms = NowMs();
  const tsdb::Head* h = head->get();
  ctx.corruption_count = [h] { return h->stats().wal_replay_corruptions.load(); };
  auto router = std::make_shared<api::Router>();
  api::RegisterStorageApi(*router, ctx);
  api::RegisterMetricsView(*router, ctx);
  api::RegisterStatusApi(*router, ctx);
  api::RegisterQueryApi(*router, ctx);

  api::HttpServerOptions so;
  so.address = listen->first;
  so.port = listen->second;
  api::HttpServer server(so, router,
                         [&self](std::string_view route, unsigned status, double seconds) {
                           self.ObserveRequest(route, status, seconds);
                         });
  auto port = server.Start();
  if (!port.ok()) {
    scraper.Stop();
    (void)(*head)->Close();
    return port.status();
  }
  // zenwatch scrapes itself unless the configuration has its own "zenwatch" job.
  bool has_self = false;
  for (const auto& job : scrape_config->scrape_configs)
    has_self = has_self || job.job_name == "zenwatch";
  if (!has_self) {
    std::string host = listen->first == "0.0.0.0" ? "127.0.0.1" : listen->first;
    scrape_config->scrape_configs.push_back(
        scrape::SelfScrapeConfig(host + ":" + std::to_string(*port)));
  }
  scraper.ApplyConfig(*scrape_config);
  ready = true;
  spdlog::info("zenwatch listening on http://{}:{} (data in {})", listen->first, *port, o.data_dir);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  ready = false;
  scraper.Stop();
  server.Stop(std::chrono::seconds(10));
  Status st = (*head)->Close();
  if (!st.ok()) return st;
  spdlog::info("WAL flushed; bye");
  return Status::Ok();
}

}  // namespace zw::cli
