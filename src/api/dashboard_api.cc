// The dashboard's endpoints (docs/dashboard_api.md): GET /api/health, GET /api/performance
// and the live stream at /api/v1/stream (a WebSocket onto dashboard::StreamHub).
#include <charconv>
#include <mutex>

#include <fmt/format.h>

#include "api/api.h"
#include "api/params.h"
#include "core/time.h"

namespace zw::api {
namespace {

// One WebSocket connection as the hub sees it: a sink for its messages, and the handler of
// what the client sends.
class StreamConnection final : public WebSocketHandler,
                               public dashboard::StreamSink,
                               public std::enable_shared_from_this<StreamConnection> {
 public:
  StreamConnection(dashboard::StreamHub* hub, std::shared_ptr<WebSocketPeer> peer)
      : hub_(hub), peer_(std::move(peer)) {}

  void Attach() { id_ = hub_->Connect(shared_from_this()); }

  void OnMessage(std::string text) override { hub_->OnMessage(id_, text); }
  void OnClose() override {
    hub_->Disconnect(id_);
    std::lock_guard lock(mu_);
    peer_.reset();
  }

  SendResult Send(std::shared_ptr<const std::string> text) override {
    auto peer = Peer();
    if (!peer) return SendResult::kClosed;
    switch (peer->Send(std::move(text))) {
      case WebSocketPeer::SendResult::kQueued:
        return SendResult::kQueued;
      case WebSocketPeer::SendResult::kFull:
        return SendResult::kFull;
      case WebSocketPeer::SendResult::kClosed:
        break;
    }
    return SendResult::kClosed;
  }
  void DropPending() override {
    if (auto peer = Peer()) peer->DropPending();
  }
  size_t QueuedBytes() const override {
    auto peer = Peer();
    return peer ? peer->QueuedBytes() : 0;
  }

 private:
  std::shared_ptr<WebSocketPeer> Peer() const {
    std::lock_guard lock(mu_);
    return peer_;
  }

  dashboard::StreamHub* const hub_;
  dashboard::StreamHub::ClientId id_ = 0;
  mutable std::mutex mu_;
  std::shared_ptr<WebSocketPeer> peer_;  // guarded by mu_; dropped on close
};

// "1h", "90s" or a number of seconds, in ms; positive.
Result<int64_t> PositiveDuration(const HttpRequest& req, std::string_view name) {
  std::string_view s = *req.Param(name);
  double secs;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
  int64_t ms = 0;
  if (ec == std::errc() && p == s.data() + s.size() && std::isfinite(secs) && secs < 1e12) {
    ms = static_cast<int64_t>(std::llround(secs * 1000));
  } else if (auto d = ParseDurationMs(s); d.ok()) {
    ms = *d;
  }
  if (ms <= 0) {
    return Status::InvalidArgument(fmt::format(
        "invalid parameter \"{}\": cannot parse \"{}\" to a positive duration", name, s));
  }
  return ms;
}

HttpResponse Performance(dashboard::DashboardService& service, const HttpRequest& req) {
  dashboard::PerformanceRequest pr;
  auto domain = req.Param("domain");
  if (!domain || domain->empty()) {
    return ErrorResponse(400, "bad_data", "invalid parameter \"domain\": missing");
  }
  pr.domain = std::string(*domain);
  if (req.Param("range") && !req.Param("range")->empty()) {
    auto range = PositiveDuration(req, "range");
    if (!range.ok()) return StatusResponse(range.status());
    pr.range_ms = *range;
  }
  if (req.Param("step") && !req.Param("step")->empty()) {
    auto step = PositiveDuration(req, "step");
    if (!step.ok()) return StatusResponse(step.status());
    pr.step_ms = *step;
  }
  auto end = TimeParam(req, "end", service.Now());
  if (!end.ok()) return StatusResponse(end.status());
  pr.end_ms = *end;
  auto max_points = MaxPointsParam(req);
  if (!max_points.ok()) return StatusResponse(max_points.status());
  pr.max_points = *max_points;
  auto data = service.PerformanceJson(pr);
  if (!data.ok()) {
    if (data.status().code() == StatusCode::kNotFound) {
      return ErrorResponse(404, "bad_data", data.status().message());
    }
    if (data.status().code() == StatusCode::kInvalidArgument) {
      return ErrorResponse(400, "bad_data", data.status().message());
    }
    return StatusResponse(data.status());
  }
  return SuccessResponse(*data);
}

}  // namespace

Result<size_t> MaxPointsParam(const HttpRequest& req) {
  auto p = req.Param("max_points");
  if (!p || p->empty()) return size_t{0};
  size_t n = 0;
  auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), n);
  if (ec != std::errc() || end != p->data() + p->size() || n == 0) {
    return Status::InvalidArgument(
        fmt::format("invalid parameter \"max_points\": \"{}\" is not a positive integer", *p));
  }
  return n;
}

void RegisterDashboardApi(Router& router, dashboard::DashboardService* service,
                          dashboard::StreamHub* hub) {
  router.Add("GET", "/api/health", [service](HttpRequest&) {
    return SuccessResponse(dashboard::DashboardService::HealthJson(service->Health()));
  });
  router.Add("GET", "/api/performance",
             [service](HttpRequest& req) { return Performance(*service, req); });
  router.AddWebSocket("/api/v1/stream",
                      [hub](const HttpRequest&, std::shared_ptr<WebSocketPeer> peer) {
                        auto conn = std::make_shared<StreamConnection>(hub, std::move(peer));
                        conn->Attach();
                        return std::static_pointer_cast<WebSocketHandler>(conn);
                      });
}

}  // namespace zw::api
