#include "cli/server.h"

#include <signal.h>

#include <atomic>
#include <charconv>
#include <functional>
#include <memory>
#include <mutex>

#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/http_server.h"
#include "cli/config.h"
#include "cli/self_metrics.h"
#include "core/time.h"
#include "dashboard/config.h"
#include "dashboard/health.h"
#include "dashboard/stream_hub.h"
#include "ingest/push.h"
#include "ingest/statsd.h"
#include "ingest/statsd_listener.h"
#include "promql/engine.h"
#include "remote/config.h"
#include "remote/remote_storage.h"
#include "scrape/config.h"
#include "scrape/scrape_manager.h"
#include "storage/observed_appendable.h"
#include "tsdb/db.h"
#include "webui/webui.h"

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

// "512MB", "10GiB", "1048576": bytes, with Prometheus's units (B, KB, MB, GB, TB, PB: powers
// of 1024; the "iB" spellings too).
Result<uint64_t> ParseByteSize(std::string_view flag, const std::string& s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + digits, n);
  std::string unit = s.substr(digits);
  static const std::pair<const char*, int> kUnits[] = {
      {"", 0},   {"B", 0},   {"KB", 1},  {"MB", 2},  {"GB", 3},  {"TB", 4},
      {"PB", 5}, {"KiB", 1}, {"MiB", 2}, {"GiB", 3}, {"TiB", 4}, {"PiB", 5}};
  if (digits == 0 || ec != std::errc()) {
    return Status::InvalidArgument(std::string(flag) + " \"" + s +
                                   "\": expected a size like 512MB or 20GB");
  }
  for (auto [name, power] : kUnits) {
    if (unit != name) continue;
    for (int i = 0; i < power; ++i) {
      if (n > (UINT64_MAX >> 10)) {
        return Status::InvalidArgument(std::string(flag) + " \"" + s + "\": too large");
      }
      n <<= 10;
    }
    return n;
  }
  return Status::InvalidArgument(std::string(flag) + " \"" + s + "\": unknown unit \"" + unit +
                                 "\" (use B, KB, MB, GB, TB or PB)");
}

Result<int64_t> NonNegativeDuration(std::string_view flag, const std::string& s) {
  if (s == "0") return 0;
  auto d = ParseDurationMs(s);
  if (!d.ok() || *d < 0) {
    return Status::InvalidArgument(std::string(flag) + " \"" + s +
                                   "\": expected a duration like 15d, 90d or 1y");
  }
  return *d;
}

Result<tsdb::DBOptions> StorageOptions(const ServeOptions& o) {
  tsdb::DBOptions d;
  d.dir = o.data_dir;
  auto raw = NonNegativeDuration("--retention.time", o.retention_time);
  if (!raw.ok()) return raw.status();
  auto r5m = NonNegativeDuration("--retention.5m", o.retention_5m);
  if (!r5m.ok()) return r5m.status();
  auto r1h = NonNegativeDuration("--retention.1h", o.retention_1h);
  if (!r1h.ok()) return r1h.status();
  auto after = NonNegativeDuration("--downsample.after", o.downsample_after);
  if (!after.ok()) return after.status();
  auto ooo = NonNegativeDuration("--ooo.window", o.ooo_window);
  if (!ooo.ok()) return ooo.status();
  auto size = ParseByteSize("--retention.size", o.retention_size);
  if (!size.ok()) return size.status();
  d.retention_ms = *raw;
  d.retention_5m_ms = *r5m;
  d.retention_1h_ms = *r1h;
  d.downsample_after_ms = *after;
  d.retention_bytes = *size;
  d.head.ooo_window_ms = *ooo;
  if (*raw > 0 && *raw < 7 * 24 * 3600 * 1000LL) {
    spdlog::warn(
        "--retention.time {} keeps less than the 7 days of raw history the "
        "specification asks for",
        o.retention_time);
  }
  d.block_ranges_ms.clear();
  std::string_view rest = o.block_ranges;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string part(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    auto r = ParseDurationMs(part);
    if (!r.ok() || *r <= 0) {
      return Status::InvalidArgument("--tsdb.block-ranges \"" + o.block_ranges +
                                     "\": expected durations like 2h,6h,24h");
    }
    d.block_ranges_ms.push_back(*r);
  }
  return d;
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
  auto query_timeout = ParseDurationMs(o.query_timeout);
  if (!query_timeout.ok() || *query_timeout <= 0) {
    return Status::InvalidArgument("--query.timeout \"" + o.query_timeout +
                                   "\": expected a positive duration like 2m");
  }
  if (o.query_max_concurrency == 0)
    return Status::InvalidArgument("--query.max-concurrency must be positive");
  auto statsd_flush = ParseDurationMs(o.statsd_flush_interval);
  if (!statsd_flush.ok() || *statsd_flush <= 0) {
    return Status::InvalidArgument("--statsd.flush-interval \"" + o.statsd_flush_interval +
                                   "\": expected a positive duration like 10s");
  }
  auto statsd_expire = NonNegativeDuration("--statsd.expire-after", o.statsd_expire_after);
  if (!statsd_expire.ok()) return statsd_expire.status();
  if (o.statsd_max_series == 0)
    return Status::InvalidArgument("--statsd.max-series must be positive");
  if (!o.statsd_listen.empty()) {
    auto a = ingest::ParseStatsdAddress(o.statsd_listen);
    if (!a.ok()) return a.status();
  }
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
  auto remote_write_config = remote::ParseRemoteWriteConfigs(config_yaml);
  if (!remote_write_config.ok()) {
    return Status::InvalidArgument("--config " + o.config_file + ": " +
                                   remote_write_config.status().message());
  }
  auto dashboard_config = dashboard::ParseDashboardConfig(config_yaml);
  if (!dashboard_config.ok()) {
    return Status::InvalidArgument("--config " + o.config_file + ": " +
                                   dashboard_config.status().message());
  }

  // Signals are taken synchronously by this thread; every thread started from here on
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // reload the configuration
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto dbo = StorageOptions(o);
  if (!dbo.ok()) return dbo.status();
  tsdb::HeadOptions& ho = dbo->head;
  ho.wal_sync = o.wal_sync == "always" ? wal::SyncMode::kAlways : wal::SyncMode::kInterval;
  ho.wal_sync_interval = std::chrono::milliseconds(*sync_interval);
  // The WAL reports fsync latency into self-metrics, which read the head's counters; the
  // pointer is set once both exist (fsyncs before that go unobserved) and the head is
  // closed, stopping its syncer, before self-metrics go away.
  std::atomic<SelfMetrics*> self_ptr{nullptr};
  ho.wal_on_fsync = [&self_ptr](double seconds) {
    if (SelfMetrics* s = self_ptr.load(std::memory_order_acquire)) s->ObserveFsync(seconds);
  };
  // A lagging remote_write remote may still need WAL segments a checkpoint covers.
  ho.wal_keep_covered_segments = !remote_write_config->empty();
  auto opened = tsdb::DB::Open(std::move(*dbo));
  if (!opened.ok()) return opened.status();
  tsdb::DB* db = opened->get();
  tsdb::Head* head_ptr = &db->head();

  promql::EngineOptions eo;
  eo.lookback_ms = *lookback;
  eo.max_samples = o.query_max_samples;
  eo.timeout = std::chrono::milliseconds(*query_timeout);
  eo.max_concurrency = o.query_max_concurrency;
  promql::Engine engine(eo);

  // The dashboard: health figures, and the live stream told of every commit by the storage
  // decorator that the ingest paths append through.
  dashboard::DashboardService dash(
      std::move(*dashboard_config),
      {.storage = db,
       .engine = &engine,
       .now_ms = [] { return NowMs(); },
       .active_series = [head_ptr] { return static_cast<uint64_t>(head_ptr->NumSeries()); },
       .samples_appended = [head_ptr] { return head_ptr->stats().samples_appended.load(); },
       .firing_alerts = nullptr});
  dashboard::StreamHub stream_hub({}, db, &engine, &dash, [] { return NowMs(); });
  storage::ObservedStorage observed(db, &stream_hub);
  stream_hub.Start();

  ingest::PushIngester push(&observed);
  SelfMetrics self(head_ptr, &push);
  self.AddStorage(db);
  self.AddStream(&stream_hub);
  self_ptr.store(&self, std::memory_order_release);
  // The remote_write sender tails the WAL. It starts before anything is ingested, so that a
  // remote without saved progress misses nothing of this run.
  remote::RemoteStorage remote_write(
      {.data_dir = o.data_dir,
       .wal_dir = head_ptr->wal() ? head_ptr->wal()->dir() : o.data_dir + "/wal",
       .wal = head_ptr->wal()});
  if (Status st = remote_write.ApplyConfig(*remote_write_config); !st.ok()) {
    remote_write.Stop();
    stream_hub.Stop();
    (void)db->Close();
    return st;
  }
  self.AddRemoteWrite(&remote_write);
  std::atomic<bool> ready{false};

  scrape::ScrapeManager scraper(&observed);

  // StatsD appends through `observed` too; its UDP socket opens once HTTP is up.
  ingest::StatsdOptions statsd_opts;
  statsd_opts.max_series = o.statsd_max_series;
  statsd_opts.expire_after_ms = *statsd_expire;
  ingest::StatsdAggregator statsd(&observed, statsd_opts);
  std::unique_ptr<ingest::StatsdListener> statsd_listener;
  if (!o.statsd_listen.empty()) self.AddStatsd(statsd.stats());

  api::ApiContext ctx;
  ctx.engine = &engine;
  ctx.targets = [&scraper] { return scraper.Targets(); };
  ctx.storage = &observed;  // queries pass through; appends (push, write, OTLP) are observed
  ctx.db = db;
  ctx.admin_enabled = o.enable_admin_api;
  ctx.snapshot_dir = o.data_dir + "/snapshots";
  ctx.push = &push;
  ctx.self_metrics = [&self] { return self.Exposition(); };
  ctx.self_metrics_openmetrics = [&self] { return self.ExpositionOpenMetrics(); };
  ctx.dropped_targets = [&scraper] { return scraper.DroppedTargets(); };
  ctx.ready = [&ready] { return ready.load(); };
  ctx.version = ZW_VERSION;
  ctx.revision = ZW_REVISION;
  ctx.flags = {{"listen", o.listen},
               {"data-dir", o.data_dir},
               {"config", o.config_file},
               {"wal.sync", o.wal_sync},
               {"wal.sync-interval", o.wal_sync_interval},
               {"query.max-samples", std::to_string(o.query_max_samples)},
               {"query.lookback-delta", o.query_lookback_delta},
               {"query.timeout", o.query_timeout},
               {"query.max-concurrency", std::to_string(o.query_max_concurrency)},
               {"retention.time", o.retention_time},
               {"retention.size", o.retention_size},
               {"retention.5m", o.retention_5m},
               {"retention.1h", o.retention_1h},
               {"downsample.after", o.downsample_after},
               {"ooo.window", o.ooo_window},
               {"tsdb.block-ranges", o.block_ranges},
               {"web.enable-admin-api", o.enable_admin_api ? "true" : "false"},
               {"statsd.listen", o.statsd_listen},
               {"statsd.flush-interval", o.statsd_flush_interval},
               {"statsd.max-series", std::to_string(o.statsd_max_series)},
               {"statsd.expire-after", o.statsd_expire_after}};
  ctx.config_yaml = config_yaml;
  ctx.start_time_ms = NowMs();
  const tsdb::Head* h = head_ptr;
  ctx.corruption_count = [h] { return h->stats().wal_replay_corruptions.load(); };
  auto router = std::make_shared<api::Router>();
  api::RegisterStorageApi(*router, ctx);
  api::RegisterMetricsView(*router, ctx);
  api::RegisterWriteApi(*router, ctx);
  api::RegisterOtlpApi(*router, ctx);
  api::RegisterStatusApi(*router, ctx);
  api::RegisterQueryApi(*router, ctx);
  api::RegisterAdminApi(*router, ctx);
  api::RegisterDashboardApi(*router, &dash, &stream_hub);
  webui::RegisterWebUi(*router);
  // Re-reads --config and applies its scrape section; set once the server listens.
  std::function<Status()> reload;
  std::mutex reload_mu;
  router->Add("POST", "/-/reload", [&reload, &reload_mu](api::HttpRequest&) {
    std::lock_guard lock(reload_mu);
    if (!reload) return api::ErrorResponse(503, "unavailable", "the server is starting");
    Status st = reload();
    if (!st.ok()) return api::ErrorResponse(400, "bad_data", st.message());
    api::HttpResponse resp;
    resp.content_type = "text/plain; charset=utf-8";
    resp.body = "configuration reloaded\n";
    return resp;
  });

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
    (void)db->Close();
    return port.status();
  }
  if (!o.statsd_listen.empty()) {
    ingest::StatsdListenerOptions lo;
    lo.address = o.statsd_listen;
    lo.flush_interval_ms = *statsd_flush;
    auto started = ingest::StatsdListener::Start(lo, &statsd);
    if (!started.ok()) {
      server.Stop(std::chrono::seconds(10));
      scraper.Stop();
      stream_hub.Stop();
      (void)db->Close();
      return started.status();
    }
    statsd_listener = std::move(started).value();
    spdlog::info("statsd listening on udp://{}:{} (flush every {})", statsd_listener->host(),
                 statsd_listener->port(), o.statsd_flush_interval);
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
  {
    std::string self_address =
        (listen->first == "0.0.0.0" ? "127.0.0.1" : listen->first) + ":" + std::to_string(*port);
    std::lock_guard lock(reload_mu);
    reload = [&o, &scraper, &remote_write, &dash, self_address]() -> Status {
      auto next = LoadScrapeConfig(o.config_file, self_address);
      if (!next.ok()) {
        spdlog::error("reload rejected, the running configuration stays: {}",
                      next.status().message());
        return next.status();
      }
      auto text = LoadConfigFile(o.config_file);
      auto rw = text.ok() ? remote::ParseRemoteWriteConfigs(*text)
                          : Result<std::vector<remote::RemoteWriteConfig>>(text.status());
      if (!rw.ok()) {
        spdlog::error("reload rejected, the running configuration stays: {}",
                      rw.status().message());
        return rw.status();
      }
      // The dashboard section too (src/dashboard/config.h); a bad one keeps the running one.
      auto dashboard_next = dashboard::ParseDashboardConfig(*text);
      if (!dashboard_next.ok()) {
        Status st =
            Status::InvalidArgument(o.config_file + ": " + dashboard_next.status().message());
        spdlog::error("reload rejected, the running configuration stays: {}", st.message());
        return st;
      }
      scraper.ApplyConfig(*next);
      dash.ApplyConfig(std::move(*dashboard_next));
      if (Status st = remote_write.ApplyConfig(*rw); !st.ok()) return st;
      spdlog::info("configuration reloaded from {}", o.config_file);
      return Status::Ok();
    };
  }
  ready = true;
  spdlog::info("zenwatch listening on http://{}:{} (data in {})", listen->first, *port, o.data_dir);

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    std::lock_guard lock(reload_mu);
    (void)reload();
  }
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  ready = false;
  scraper.Stop();
  server.Stop(std::chrono::seconds(10));
  if (statsd_listener) statsd_listener->Stop();  // flushes once more
  stream_hub.Stop();
  remote_write.Stop();  // sends what it can within its flush deadline, saves progress
  Status st = db->Close();
  if (!st.ok()) return st;
  spdlog::info("WAL flushed; bye");
  return Status::Ok();
}

}  // namespace zw::cli
