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
