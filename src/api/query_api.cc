// PromQL over HTTP in the Prometheus API's shapes: /api/v1/query, /api/v1/query_range,
// /api/v1/format_query. Parse errors are 400 bad_data; evaluation errors 422 execution; a
// query that timed out 503 timeout; one whose client went away 499 canceled (as Prometheus,
// though nobody reads it). `stats` (any value, e.g. stats=all) adds data.stats.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/params.h"
#include "api/query_api_json.h"
#include "core/time.h"
#include "dashboard/reduce.h"
#include "promql/ast.h"
#include "promql/parser.h"
#include "promql/value_json.h"

namespace zw::api {
namespace {

using promql::JsonWriter;

// Prometheus allows at most this many steps in one range query.
constexpr int64_t kMaxPoints = 11000;

// `columns`: a range result in query_range's layout=columns (dashboard::WriteColumns).
HttpResponse QueryResponse(promql::QueryResult&& r, bool with_stats, bool columns = false) {
  return JsonResponse(QueryBodyJson(std::move(r), with_stats, columns));
}

HttpResponse EvalError(const HttpRequest& req, const std::string& query, const Status& st) {
  if (promql::IsTimeout(st)) {
    spdlog::warn("query timed out: {} (from {})", query, req.remote);
    return ErrorResponse(503, "timeout", st.message());
  }
  if (promql::IsCancelled(st)) {
    spdlog::warn("query cancelled, the client closed the connection: {} (from {})", query,
                 req.remote);
    return ErrorResponse(499, "canceled", st.message());
  }
  if (st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kResourceExhausted) {
    return ErrorResponse(422, "execution", st.message());
  }
  return StatusResponse(st);
}

// Parses `query` first so that syntax errors are told apart from evaluation errors.
std::optional<HttpResponse> CheckQuery(const HttpRequest& req, std::string* query) {
  *query = std::string(req.Param("query").value_or(""));
  auto parsed = promql::ParseExpr(*query);
  if (!parsed.ok())
    return ErrorResponse(400, "bad_data",
                         "invalid parameter \"query\": " + parsed.status().message());
  return std::nullopt;
}

// A duration ("15s") or a number of seconds ("15", "0.5"), in milliseconds.
Result<int64_t> DurationParam(std::string_view s) {
  double secs;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
  if (ec == std::errc() && p == s.data() + s.size() && std::isfinite(secs)) {
    return static_cast<int64_t>(std::llround(secs * 1000));
  }
  return ParseDurationMs(s);
}

Result<int64_t> StepParam(std::string_view s) {
  auto d = DurationParam(s);
  if (!d.ok())
    return Status::InvalidArgument(
        fmt::format("invalid parameter \"step\": cannot parse \"{}\" to a valid duration", s));
  return d;
}

// The request's deadline, the optional `timeout` parameter (capped by --query.timeout in
// the engine) and the client-gone flag bound the query.
Result<promql::QueryControl> Control(const HttpRequest& req) {
  promql::QueryControl control{.cancelled = req.cancelled, .deadline = req.deadline};
  auto timeout = req.Param("timeout");
  if (!timeout || timeout->empty()) return control;
  auto ms = DurationParam(*timeout);
  if (!ms.ok() || *ms <= 0) {
    return Status::InvalidArgument(fmt::format(
        "invalid parameter \"timeout\": cannot parse \"{}\" to a valid duration", *timeout));
  }
  control.deadline =
      std::min(control.deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(*ms));
  return control;
}

// query_range's `layout`: absent or empty for Prometheus's shape, "columns" for the dashboard's
// (docs/dashboard_api.md).
Result<bool> ColumnsParam(const HttpRequest& req) {
  auto layout = req.Param("layout").value_or("");
  if (layout.empty()) return false;
  if (layout == "columns") return true;
  return Status::InvalidArgument(
      fmt::format("invalid parameter \"layout\": \"{}\" is not \"columns\"", layout));
}

// As Prometheus: any non-empty stats parameter asks for the statistics.
bool WantStats(const HttpRequest& req) { return !req.Param("stats").value_or("").empty(); }

HttpResponse Instant(const ApiContext& ctx, HttpRequest& req, int64_t now) {
  std::string query;
  if (auto err = CheckQuery(req, &query)) return *err;
  auto t = TimeParam(req, "time", now);
  if (!t.ok()) return StatusResponse(t.status());
  auto control = Control(req);
  if (!control.ok()) return StatusResponse(control.status());
  auto r = ctx.engine->Instant(*ctx.storage, query, *t, *control);
  if (!r.ok()) return EvalError(req, query, r.status());
  return QueryResponse(std::move(*r), WantStats(req));
}

HttpResponse Range(const ApiContext& ctx, HttpRequest& req) {
  std::string query;
  if (auto err = CheckQuery(req, &query)) return *err;
  for (const char* p : {"start", "end", "step"}) {
    if (!req.Param(p) || req.Param(p)->empty()) {
      return ErrorResponse(400, "bad_data", fmt::format("invalid parameter \"{}\": missing", p));
    }
  }
  auto start = TimeParam(req, "start", 0);
  if (!start.ok()) return StatusResponse(start.status());
  auto end = TimeParam(req, "end", 0);
  if (!end.ok()) return StatusResponse(end.status());
  if (*end < *start)
    return ErrorResponse(400, "bad_data",
                         "invalid parameter \"end\": end timestamp must not be before start time");
  auto step = StepParam(*req.Param("step"));
  if (!step.ok()) return StatusResponse(step.status());
  if (*step <= 0) {
    return ErrorResponse(400, "bad_data",
                         "invalid parameter \"step\": zero or negative query resolution step "
                         "widths are not accepted. "
                         "Try a positive integer");
  }
  if ((*end - *start) / *step >= kMaxPoints) {
    return ErrorResponse(
        400, "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
        "resolution (?step=XX)");
  }
  auto control = Control(req);
  if (!control.ok()) return StatusResponse(control.status());
  auto max_points = MaxPointsParam(req);
  if (!max_points.ok()) return StatusResponse(max_points.status());
  auto columns = ColumnsParam(req);
  if (!columns.ok()) return StatusResponse(columns.status());
  auto r = ctx.engine->Range(*ctx.storage, query, *start, *end, *step, *control);
  if (!r.ok()) return EvalError(req, query, r.status());
  dashboard::ReduceMatrix(std::get<promql::Matrix>(r->value), *max_points);  // 0: unchanged
  return QueryResponse(std::move(*r), WantStats(req), *columns);
}

}  // namespace

void RegisterQueryApi(Router& router, const ApiContext& ctx) {
  auto now = ctx.now_ms ? ctx.now_ms : [] { return NowMs(); };
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, "/api/v1/query",
               [ctx, now](HttpRequest& req) { return Instant(ctx, req, now()); });
    router.Add(method, "/api/v1/query_range", [ctx](HttpRequest& req) { return Range(ctx, req); });
    router.Add(method, "/api/v1/format_query", [](HttpRequest& req) {
      auto e = promql::ParseExpr(req.Param("query").value_or(""));
      if (!e.ok())
        return ErrorResponse(400, "bad_data",
                             "invalid parameter \"query\": " + e.status().message());
      rapidjson::StringBuffer buf;
      JsonWriter w(buf);
      std::string s = promql::ToString(**e);
      w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
      return SuccessResponse({buf.GetString(), buf.GetSize()});
    });
  }
}

}  // namespace zw::api
