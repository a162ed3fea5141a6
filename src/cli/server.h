// `zenwatch serve`: opens storage, starts ingestion and the HTTP API, and runs until
// SIGTERM or SIGINT, then shuts down gracefully (stop accepting, finish requests, flush
// and close the WAL) and returns.
#pragma once

#include <string>

#include "core/status.h"

namespace zw::cli {

struct ServeOptions {
  std::string listen = "127.0.0.1:3003";
  std::string data_dir = "./data";
  std::string config_file;
  std::string wal_sync = "interval";
  std::string wal_sync_interval = "1s";
  uint64_t query_max_samples = 50'000'000;
  std::string query_lookback_delta = "5m";
  std::string query_timeout = "2m";
  // Storage (docs/storage.md).
  std::string retention_time = "15d";  // raw data
  std::string retention_size = "0";    // bytes of blocks, with a unit (512MB, 10GB); 0: none
  std::string retention_5m = "90d";
  std::string retention_1h = "1y";
  std::string downsample_after = "40h";  // 0 turns downsampling off
  std::string ooo_window = "30m";
  std::string block_ranges = "2h,6h,24h";
  bool enable_admin_api = false;
  uint64_t query_max_concurrency = 20;
  // StatsD over UDP (docs/statsd.md); an empty address leaves it off.
  std::string statsd_listen;
  std::string statsd_flush_interval = "10s";
  uint64_t statsd_max_series = 100000;
  std::string statsd_expire_after = "1h";  // 0: never
};

Status Serve(const ServeOptions& options);

}  // namespace zw::cli
