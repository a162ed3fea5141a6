// Storage endpoints in the Prometheus HTTP API's shapes, plus JSON push and health.
#include <algorithm>
#include <set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/api.h"
#include "api/params.h"
#include "core/names.h"
#include "core/time.h"
#include "zenwatch/openmetrics_format.h"

namespace zw::api {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

HttpResponse SuccessResponse(std::string_view data_json) {
  std::string body;
  body.reserve(data_json.size() + 32);
  body += R"({"status":"success","data":)";
  body += data_json;
  body += '}';
  return JsonResponse(std::move(body));
}

HttpResponse StatusResponse(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfOrder:
    case StatusCode::kDuplicate:
    case StatusCode::kOutOfBounds:
      return ErrorResponse(400, "bad_data", st.message());
    case StatusCode::kResourceExhausted:
      return ErrorResponse(422, "execution", st.message());
    case StatusCode::kUnavailable:
      return ErrorResponse(503, "unavailable", st.message());
    case StatusCode::kCancelled:
      return ErrorResponse(503, "canceled", st.message());
    default:
      return ErrorResponse(500, "internal", st.ToString());
  }
}

namespace {

void WriteStringArray(const std::vector<std::string>& v, rapidjson::StringBuffer& buf) {
  JsonWriter w(buf);
  w.StartArray();
  for (const auto& s : v) w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

struct Range {
  int64_t start, end;
};

Result<Range> RangeParams(const HttpRequest& req) {
  auto start = TimeParam(req, "start", kMinTime);
  if (!start.ok()) return start.status();
  auto end = TimeParam(req, "end", kMaxTime);
  if (!end.ok()) return end.status();
  if (*end < *start)
    return Status::InvalidArgument(
        "invalid parameter \"end\": end timestamp must not be before start time");
  return Range{*start, *end};
}

HttpResponse Series(const ApiContext& ctx, HttpRequest& req) {
  auto matchers = MatchParams(req);
  if (!matchers.ok()) return StatusResponse(matchers.status());
  if (matchers->empty()) return ErrorResponse(400, "bad_data", "no match[] parameter provided");
  auto range = RangeParams(req);
  if (!range.ok()) return StatusResponse(range.status());
  auto q = ctx.storage->NewQuerier(range->start, range->end);
  std::vector<Labels> found;
  for (const Matchers& ms : *matchers) {
    auto set = q->Select(false, nullptr, ms);
    while (set->Next()) found.push_back(set->At().labels());
    if (!set->Err().ok()) return StatusResponse(set->Err());
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const Labels& ls : found) {
    w.StartObject();
    for (const Label& l : ls) {
      w.Key(l.name.data(), static_cast<rapidjson::SizeType>(l.name.size()));
      w.String(l.value.data(), static_cast<rapidjson::SizeType>(l.value.size()));
    }
    w.EndObject();
  }
  w.EndArray();
  return SuccessResponse({buf.GetString(), buf.GetSize()});
}

// Label names (name empty) or the values of one label, across every match[] (or all).
HttpResponse LabelsOrValues(const ApiContext& ctx, HttpRequest& req, const std::string* name) {
  auto matchers = MatchParams(req);
  if (!matchers.ok()) return StatusResponse(matchers.status());
  auto range = RangeParams(req);
  if (!range.ok()) return StatusResponse(range.status());
  auto q = ctx.storage->NewQuerier(range->start, range->end);
  if (matchers->empty()) matchers->emplace_back();
  std::set<std::string> all;
  for (const Matchers& ms : *matchers) {
    auto r = name ? q->LabelValues(*name, ms) : q->LabelNames(ms);
    if (!r.ok()) return StatusResponse(r.status());
    all.insert(r->begin(), r->end());
  }
  rapidjson::StringBuffer buf;
  WriteStringArray({all.begin(), all.end()}, buf);
  return SuccessResponse({buf.GetString(), buf.GetSize()});
}

}  // namespace

void RegisterStorageApi(Router& router, const ApiContext& ctx) {
  auto now = ctx.now_ms ? ctx.now_ms : [] { return NowMs(); };
  router.Add("POST", "/api/v1/push", [ctx, now](HttpRequest& req) {
    auto r = ctx.push->Push(req.body, now());
    if (!r.ok()) return StatusResponse(r.status());
    HttpResponse resp;
    resp.status = 204;
    resp.content_type.clear();
    return resp;
  });
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, "/api/v1/series", [ctx](HttpRequest& req) { return Series(ctx, req); });
    router.Add(method, "/api/v1/labels",
               [ctx](HttpRequest& req) { return LabelsOrValues(ctx, req, nullptr); });
  }
  router.Add("GET", "/api/v1/label/{name}/values", [ctx](HttpRequest& req) {
    const std::string& name = req.path_params["name"];
    if (!IsValidLabelName(name)) {
      return ErrorResponse(400, "bad_data", "invalid label name: \"" + name + "\"");
    }
    return LabelsOrValues(ctx, req, &name);
  });
  router.Add("GET", "/metrics", [ctx](HttpRequest& req) {
    HttpResponse resp;
    auto format = zenwatch::NegotiateExpositionFormat(req.Header("accept").value_or(""));
    if (req.Param("format").value_or("") == "text")
      format = zenwatch::ExpositionFormat::kPrometheusText;
    if (format == zenwatch::ExpositionFormat::kOpenMetrics && ctx.self_metrics_openmetrics) {
      resp.content_type = std::string(zenwatch::ContentType(format));
      resp.body = ctx.self_metrics_openmetrics();
      return resp;
    }
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp.body = ctx.self_metrics ? ctx.self_metrics() : std::string();
    return resp;
  });
  router.Add("GET", "/-/healthy", [](HttpRequest&) {
    HttpResponse resp;
    resp.content_type = "text/plain; charset=utf-8";
    resp.body = "zenwatch is Healthy.\n";
    return resp;
  });
  router.Add("GET", "/-/ready", [ctx](HttpRequest&) {
    HttpResponse resp;
    resp.content_type = "text/plain; charset=utf-8";
    bool ready = ctx.ready ? ctx.ready() : true;
    resp.status = ready ? 200 : 503;
    resp.body = ready ? "zenwatch is Ready.\n" : "Service Unavailable\n";
    return resp;
  });
}

}  // namespace zw::api
