// Metadata and status endpoints in the Prometheus HTTP API's shapes.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <thread>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/api.h"
#include "core/metric_type.h"
#include "core/time.h"

namespace zw::api {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(JsonWriter& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string Rfc3339(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  return std::string(buf, n) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z";
}

HttpResponse Metadata(const ApiContext& ctx, HttpRequest& req) {
  long limit = -1;
  if (auto l = req.Param("limit"); l && !l->empty()) {
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || p != l->data() + l->size()) {
      return ErrorResponse(400, "bad_data", "invalid parameter \"limit\": must be an integer");
    }
  }
  auto metric = req.Param("metric");
  auto all = ctx.storage->Metadata();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  long n = 0;
  for (const auto& [name, meta] : all) {
    if (metric && !metric->empty() && name != *metric) continue;
    if (limit >= 0 && n >= limit) break;
    ++n;
    w.Key(name.c_str());
    w.StartArray();
    w.StartObject();
    Str(w, "type", MetricTypeName(meta.type));
    Str(w, "help", meta.help);
    Str(w, "unit", meta.unit);
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();
  return SuccessResponse({buf.GetString(), buf.GetSize()});
}

void LabelObject(JsonWriter& w, const char* key, const Labels& ls) {
  w.Key(key);
  w.StartObject();
  for (const Label& l : ls) Str(w, l.name, l.value);
  w.EndObject();
}

HttpResponse Targets(const ApiContext& ctx, HttpRequest& req) {
  std::string_view state = req.Param("state").value_or("any");
  if (state != "any" && state != "active" && state != "dropped") {
    return ErrorResponse(400, "bad_data",
                         "invalid parameter \"state\": must be active, dropped or any");
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("activeTargets");
  w.StartArray();
  if (state != "dropped" && ctx.targets) {
    for (const scrape::TargetInfo& t : ctx.targets()) {
      w.StartObject();
      LabelObject(w, "discoveredLabels", t.discovered_labels);
      LabelObject(w, "labels", t.labels);
      Str(w, "scrapePool", t.job);
      Str(w, "scrapeUrl", t.url);
      Str(w, "globalUrl", t.url);
      Str(w, "lastError", t.last_error);
      Str(w, "lastScrape", t.last_scrape_ms ? Rfc3339(t.last_scrape_ms) : "0001-01-01T00:00:00Z");
      w.Key("lastScrapeDuration");
      w.Double(t.last_duration_seconds);
      Str(w, "health", t.health);
      Str(w, "scrapeInterval", FormatDurationMs(t.interval_ms));
      Str(w, "scrapeTimeout", FormatDurationMs(t.timeout_ms));
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("droppedTargets");
  w.StartArray();
  if (state != "active" && ctx.dropped_targets) {
    for (const scrape::TargetInfo& t : ctx.dropped_targets()) {
      w.StartObject();
      LabelObject(w, "discoveredLabels", t.discovered_labels);
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
  return SuccessResponse({buf.GetString(), buf.GetSize()});
}

}  // namespace

void RegisterStatusApi(Router& router, const ApiContext& ctx) {
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, "/api/v1/metadata", [ctx](HttpRequest& req) { return Metadata(ctx, req); });
    // zenwatch keeps no exemplars: the answer is the empty list Prometheus gives when it has none.
    router.Add(method, "/api/v1/query_exemplars",
               [](HttpRequest&) { return SuccessResponse("[]"); });
  }
  router.Add("GET", "/api/v1/targets", [ctx](HttpRequest& req) { return Targets(ctx, req); });
  router.Add("GET", "/api/v1/status/buildinfo", [ctx](HttpRequest&) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    Str(w, "version", ctx.version);
    Str(w, "revision", ctx.revision);
    Str(w, "branch", "");
    Str(w, "buildUser", "");
    Str(w, "buildDate", "");
    Str(w, "goVersion", "");  // not a Go program; the key is kept for clients that expect it
    Str(w, "application", "zenwatch");
    w.EndObject();
    return SuccessResponse({buf.GetString(), buf.GetSize()});
  });
  router.Add("GET", "/api/v1/status/runtimeinfo", [ctx](HttpRequest&) {
    std::error_code ec;
    std::string cwd = std::filesystem::current_path(ec).string();
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    Str(w, "startTime", Rfc3339(ctx.start_time_ms));
    Str(w, "CWD", cwd);
    w.Key("reloadConfigSuccess");
    w.Bool(true);
    Str(w, "lastConfigTime", Rfc3339(ctx.start_time_ms));
    w.Key("corruptionCount");
    w.Uint64(ctx.corruption_count ? ctx.corruption_count() : 0);
    w.Key("cpuCount");
    w.Uint(std::thread::hardware_concurrency());
    Str(w, "storageRetention", "unlimited (head and WAL only)");
    w.EndObject();
    return SuccessResponse({buf.GetString(), buf.GetSize()});
  });
  router.Add("GET", "/api/v1/status/flags", [ctx](HttpRequest&) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    for (const auto& [k, v] : ctx.flags) Str(w, k, v);
    w.EndObject();
    return SuccessResponse({buf.GetString(), buf.GetSize()});
  });
  router.Add("GET", "/api/v1/status/config", [ctx](HttpRequest&) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    Str(w, "yaml", ctx.config_yaml);
    w.EndObject();
    return SuccessResponse({buf.GetString(), buf.GetSize()});
  });
}

}  // namespace zw::api
