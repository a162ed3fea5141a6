// The zenwatch command: `serve` runs the server; `version` prints the build.
// This is the one place that wires the modules together (see server.cc).
#include <cstdlib>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/server.h"

int main(int argc, char** argv) {
  CLI::App app{"zenwatch: metrics, events, PromQL, dashboards, alerts and SLOs in one binary"};
  app.require_subcommand(1);

  zw::cli::ServeOptions opts;
  std::string log_level = "info";
  CLI::App* serve = app.add_subcommand("serve", "Run the server");
  serve->add_option("--listen", opts.listen, "Address and port to serve HTTP on")
      ->capture_default_str();
  serve->add_option("--data-dir", opts.data_dir, "Directory for the WAL and blocks")
      ->capture_default_str();
  serve->add_option("--config", opts.config_file, "YAML configuration file (optional)");
  serve
      ->add_option("--wal.sync", opts.wal_sync,
                   "When to fsync the WAL: 'interval' (every --wal.sync-interval) or 'always' "
                   "(every commit)")
      ->check(CLI::IsMember({"interval", "always"}))
      ->capture_default_str();
  serve
      ->add_option("--wal.sync-interval", opts.wal_sync_interval,
                   "fsync period in interval mode (e.g. 1s, 500ms)")
      ->capture_default_str();
  serve
      ->add_option("--query.max-samples", opts.query_max_samples,
                   "Most samples a single query may hold in memory")
      ->capture_default_str();
  serve
      ->add_option("--query.lookback-delta", opts.query_lookback_delta,
                   "How far back an instant selector looks for a sample (e.g. 5m)")
      ->capture_default_str();
  serve
      ->add_option("--query.timeout", opts.query_timeout,
                   "Longest a query may run, queue time included (e.g. 2m); then it fails "
                   "with errorType timeout")
      ->capture_default_str();
  serve
      ->add_option("--query.max-concurrency", opts.query_max_concurrency,
                   "Queries evaluated at once; the rest wait in a queue")
      ->capture_default_str();
  serve
      ->add_option("--retention.time,--retention.raw", opts.retention_time,
                   "How long raw samples are kept, counted back from the newest sample (e.g. 15d)")
      ->capture_default_str();
  serve
      ->add_option("--retention.size", opts.retention_size,
                   "Most bytes the blocks may take (e.g. 512MB, 20GB); the oldest go first; 0: no "
                   "limit")
      ->capture_default_str();
  serve
      ->add_option("--retention.5m", opts.retention_5m,
                   "How long 5-minute downsampled data is kept")
      ->capture_default_str();
  serve->add_option("--retention.1h", opts.retention_1h, "How long 1-hour downsampled data is kept")
      ->capture_default_str();
  serve
      ->add_option("--downsample.after", opts.downsample_after,
                   "Age at which blocks get 5-minute and 1-hour copies; 0 turns downsampling off")
      ->capture_default_str();
  serve
      ->add_option("--ooo.window", opts.ooo_window,
                   "How far behind the newest sample out-of-order samples are still accepted; 0 "
                   "rejects them")
      ->capture_default_str();
  serve
      ->add_option("--tsdb.block-ranges", opts.block_ranges,
                   "Block range and the ranges compaction merges blocks into, each a multiple of "
                   "the one before")
      ->capture_default_str();
  serve->add_flag("--web.enable-admin-api", opts.enable_admin_api,
                  "Enable the snapshot, delete_series and clean_tombstones endpoints");
  serve
      ->add_option("--statsd.listen", opts.statsd_listen,
                   "UDP host:port to receive StatsD/DogStatsD lines on (e.g. 127.0.0.1:8125); "
                   "empty: off")
      ->capture_default_str();
  serve
      ->add_option("--statsd.flush-interval", opts.statsd_flush_interval,
                   "How often aggregated StatsD metrics are written to storage")
      ->capture_default_str();
  serve
      ->add_option("--statsd.max-series", opts.statsd_max_series,
                   "Most distinct StatsD series kept; lines for more are dropped and counted")
      ->capture_default_str();
  serve
      ->add_option("--statsd.expire-after", opts.statsd_expire_after,
                   "A StatsD series without lines for this long ends (staleness marker); 0: "
                   "never")
      ->capture_default_str();
  serve->add_option("--log.level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();

  CLI::App* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (version->parsed()) {
    std::cout << "zenwatch " << ZW_VERSION << "\n";
    return 0;
  }
  if (serve->parsed()) {
    zw::Status st = zw::cli::Serve(opts);
    if (!st.ok()) {
      spdlog::error("{}", st.ToString());
      return 1;
    }
  }
  return 0;
}
