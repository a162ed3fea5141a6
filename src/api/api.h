// The server's HTTP routes: what each endpoint does, given the modules it reads from.
// Handlers are plain functions of the request (see router.h); src/cli wires the context.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "api/router.h"
#include "dashboard/health.h"
#include "dashboard/stream_hub.h"
#include "ingest/push.h"
#include "promql/engine.h"
#include "scrape/scrape_manager.h"
#include "storage/storage.h"
#include "tsdb/db.h"

namespace zw::api {

struct ApiContext {
  storage::Storage* storage = nullptr;
  // The database behind `storage`, for the admin and TSDB status endpoints; may be null.
  tsdb::DB* db = nullptr;
  bool admin_enabled = false;  // --web.enable-admin-api
  std::string snapshot_dir;    // where snapshots are created
  ingest::PushIngester* push = nullptr;
  promql::Engine* engine = nullptr;
  // The server's own metrics in Prometheus text format.
  std::function<std::string()> self_metrics;
  // The server's own metrics in OpenMetrics 1.0; when set, /metrics negotiates by Accept.
  std::function<std::string()> self_metrics_openmetrics;
  // False while the server is starting or shutting down.
  std::function<bool()> ready = [] { return true; };
  std::function<int64_t()> now_ms;

  // For /api/v1/status/*.
  std::string version;
  std::string revision;
  std::vector<std::pair<std::string, std::string>> flags;  // as given on the command line
  std::string config_yaml;                                 // the config file's text, "" if none
  int64_t start_time_ms = 0;
  std::function<uint64_t()> corruption_count;  // damaged WAL places found at start
  // For /api/v1/targets.
  std::function<std::vector<scrape::TargetInfo>()> targets;
  std::function<std::vector<scrape::TargetInfo>()> dropped_targets;
};

// /api/v1/push, /api/v1/series, /api/v1/labels, /api/v1/label/{name}/values, /metrics,
// /-/healthy, /-/ready.
void RegisterStorageApi(Router& router, const ApiContext& ctx);
// /api/v1/metadata, /api/v1/query_exemplars, /api/v1/targets and
// /api/v1/status/{buildinfo,runtimeinfo,flags,config}.
void RegisterStatusApi(Router& router, const ApiContext& ctx);
// /api/v1/query, /api/v1/query_range, /api/v1/format_query.
void RegisterQueryApi(Router& router, const ApiContext& ctx);
// /api/v1/admin/tsdb/{snapshot,delete_series,clean_tombstones} (with admin_enabled) and
// /api/v1/status/tsdb.
void RegisterAdminApi(Router& router, const ApiContext& ctx);
// /api/metrics and /api/metrics/{domain}: the specification's aggregated view.
void RegisterMetricsView(Router& router, const ApiContext& ctx);
// POST /api/v1/write: Prometheus remote_write 1.0 into ctx.storage (write_api.cc).
void RegisterWriteApi(Router& router, const ApiContext& ctx);
// POST /v1/metrics and /api/v1/otlp/v1/metrics: OTLP/HTTP metrics into ctx.storage (otlp_api.cc).
void RegisterOtlpApi(Router& router, const ApiContext& ctx);

// GET /api/health, GET /api/performance and the WebSocket /api/v1/stream: the dashboard's
// API (dashboard_api.cc, docs/dashboard_api.md).
void RegisterDashboardApi(Router& router, dashboard::DashboardService* service,
                          dashboard::StreamHub* hub);
// The optional max_points parameter of query_range and /api/performance: 0 when absent;
// InvalidArgument unless a positive integer.
Result<size_t> MaxPointsParam(const HttpRequest& req);

// A JSON success envelope around already-serialised `data`: {"status":"success","data":...}.
HttpResponse SuccessResponse(std::string_view data_json);
// Maps a Status to the Prometheus error shape: InvalidArgument and ordering errors are
// 400 bad_data, resource limits 422/503, the rest 500 internal.
HttpResponse StatusResponse(const Status& st);

}  // namespace zw::api
