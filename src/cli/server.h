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
};

Status Serve(const ServeOptions& options);

}  // namespace zw::cli
