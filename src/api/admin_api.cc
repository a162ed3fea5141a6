// TSDB administration in the Prometheus HTTP API's shapes: snapshots, series deletion and
// the cardinality report. The two that change data answer only with --web.enable-admin-api,
// as in Prometheus.
#include <ctime>
#include <random>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/api.h"
#include "api/params.h"
#include "core/sample.h"
#include "tsdb/db.h"

namespace zw::api {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

HttpResponse AdminDisabled() {
  return ErrorResponse(503, "unavailable",
                       "admin APIs disabled (start with --web.enable-admin-api)");
}

// 20060102T150405Z-<16 hex digits>, as Prometheus names snapshots.
std::string SnapshotName(int64_t now_ms) {
  time_t secs = static_cast<time_t>(now_ms / 1000);
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &utc);
  std::random_device rd;
  uint64_t r = (static_cast<uint64_t>(rd()) << 32) | rd();
  return fmt::format("{}-{:016x}", std::string_view(buf, n), r);
}

HttpResponse Snapshot(const ApiContext& ctx, HttpRequest& req) {
  if (!ctx.admin_enabled) return AdminDisabled();
  bool skip_head = false;
  if (auto v = req.Param("skip_head"); v && !v->empty()) {
    if (*v == "true" || *v == "1") {
      skip_head = true;
    } else if (*v != "false" && *v != "0") {
      return ErrorResponse(
          400, "bad_data",
          fmt::format("invalid parameter \"skip_head\": \"{}\" is not a boolean", *v));
    }
  }
  std::string name = SnapshotName(ctx.now_ms ? ctx.now_ms() : 0);
  Status st = ctx.db->Snapshot(fs::JoinPath(ctx.snapshot_dir, name), !skip_head);
  if (!st.ok()) {
    return ErrorResponse(500, "internal", "create snapshot: " + st.ToString());
  }
  return SuccessResponse(fmt::format("{{\"name\":\"{}\"}}", name));
}

HttpResponse DeleteSeries(const ApiContext& ctx, HttpRequest& req) {
  if (!ctx.admin_enabled) return AdminDisabled();
  auto sets = MatchParams(req);
  if (!sets.ok()) return ErrorResponse(400, "bad_data", sets.status().message());
  if (sets->empty()) return ErrorResponse(400, "bad_data", "no match[] parameter provided");
  auto start = TimeParam(req, "start", kMinTime);
  if (!start.ok()) return ErrorResponse(400, "bad_data", start.status().message());
  auto end = TimeParam(req, "end", kMaxTime);
  if (!end.ok()) return ErrorResponse(400, "bad_data", end.status().message());
  if (*end < *start) {
    return ErrorResponse(400, "bad_data", "invalid time range: end is before start");
  }
  for (const Matchers& ms : *sets) {
    Status st = ctx.db->Delete(*start, *end, ms);
    if (!st.ok()) return ErrorResponse(500, "internal", "delete series: " + st.ToString());
  }
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

HttpResponse CleanTombstones(const ApiContext& ctx, HttpRequest&) {
  if (!ctx.admin_enabled) return AdminDisabled();
  Status st = ctx.db->Compact();
  if (!st.ok()) return ErrorResponse(500, "internal", "clean tombstones: " + st.ToString());
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

void Counts(JsonWriter& w, const char* key,
            const std::vector<std::pair<std::string, uint64_t>>& counts) {
  w.Key(key);
  w.StartArray();
  for (const auto& [name, n] : counts) {
    w.StartObject();
    w.Key("name");
    w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.Key("value");
    w.Uint64(n);
    w.EndObject();
  }
  w.EndArray();
}

HttpResponse TsdbStatusHandler(const ApiContext& ctx, HttpRequest& req) {
  size_t limit = 10;
  if (auto v = req.Param("limit"); v && !v->empty()) {
    char* end = nullptr;
    std::string s(*v);
    long n = std::strtol(s.c_str(), &end, 10);
    if (end != s.c_str() + s.size() || n <= 0) {
      return ErrorResponse(
          400, "bad_data",
          fmt::format("invalid parameter \"limit\": \"{}\" is not a positive integer", *v));
    }
    limit = static_cast<size_t>(n);
  }
  tsdb::TsdbStatus s = ctx.db->Describe(limit);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("headStats");
  w.StartObject();
  w.Key("numSeries");
  w.Uint64(s.head_series);
  w.Key("numLabelPairs");
  w.Uint64(s.head_label_pairs);
  w.Key("minTime");
  w.Int64(s.head_series ? s.head_min_time : 0);
  w.Key("maxTime");
  w.Int64(s.head_series ? s.head_max_time : 0);
  w.EndObject();
  w.Key("blockStats");
  w.StartObject();
  w.Key("numBlocks");
  w.Uint64(s.num_blocks);
  w.Key("bytes");
  w.Uint64(s.blocks_bytes);
  w.EndObject();
  Counts(w, "seriesCountByMetricName", s.series_count_by_metric_name);
  Counts(w, "labelValueCountByLabelName", s.label_value_count_by_label_name);
  Counts(w, "memoryInBytesByLabelName", s.memory_in_bytes_by_label_name);
  Counts(w, "seriesCountByLabelValuePair", s.series_count_by_label_value_pair);
  w.EndObject();
  return SuccessResponse(std::string_view(buf.GetString(), buf.GetSize()));
}

}  // namespace

void RegisterAdminApi(Router& router, const ApiContext& ctx) {
  if (ctx.db == nullptr) return;
  for (const char* method : {"POST", "PUT"}) {
    router.Add(method, "/api/v1/admin/tsdb/snapshot",
               [ctx](HttpRequest& req) { return Snapshot(ctx, req); });
    router.Add(method, "/api/v1/admin/tsdb/delete_series",
               [ctx](HttpRequest& req) { return DeleteSeries(ctx, req); });
    router.Add(method, "/api/v1/admin/tsdb/clean_tombstones",
               [ctx](HttpRequest& req) { return CleanTombstones(ctx, req); });
  }
  router.Add("GET", "/api/v1/status/tsdb",
             [ctx](HttpRequest& req) { return TsdbStatusHandler(ctx, req); });
}

}  // namespace zw::api
