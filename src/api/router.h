// Router: maps (method, path) to a handler, knowing nothing of sockets.
//
// Patterns are absolute paths made of segments:
//   /api/v1/query                 literal segments match themselves
//   /api/v1/label/{name}/values   {name} matches one non-empty segment -> path_params["name"]
//   /static/*                     a final /* matches the rest of the path, "" included
//                                 (/static, /static/, /static/a/b) -> path_params["*"]
// Matching is on the percent-decoded path, so %2F separates segments like '/'. When several
// patterns match a path, the most specific wins: compared segment by segment from the left,
// a literal beats {param}, which beats /*.
//
// Dispatch answers unknown paths with 404 (errorType "not_found") and known paths asked with
// another method with 405 (errorType "bad_data", the Prometheus type for a client mistake)
// and an Allow header. HEAD is served by the GET handler when no HEAD route exists (the
// server drops the body). A handler that throws becomes 500 with errorType "internal" and the
// exception's message, and is logged.
//
// Thread safety: Add is not thread-safe and happens before serving; Dispatch is const and
// may run concurrently from any number of threads (handlers must be thread-safe themselves).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "api/websocket.h"

namespace zw::api {

class Router {
 public:
  using Handler = std::function<HttpResponse(HttpRequest&)>;

  struct Dispatched {
    HttpResponse response;
    std::string route;  // the matched pattern, e.g. "/api/v1/label/{name}/values"; "" if none
  };

  // REQUIRES: pattern starts with '/', each {param} is a whole segment with a non-empty name,
  // '*' appears only as the whole last segment, and (method, pattern shape) is not yet added.
  // Violations are programming errors and throw std::invalid_argument.
  void Add(std::string method, std::string_view pattern, Handler handler);

  // Fills request.path_params from the matched pattern and runs the handler.
  Dispatched Dispatch(HttpRequest& request) const;

  // A WebSocket endpoint at a literal path. An upgrade request for it (GET with Upgrade:
  // websocket) becomes a WebSocket connection served by `factory`; any other GET there is
  // answered 426 Upgrade Required. REQUIRES: path is literal and not yet added.
  void AddWebSocket(std::string_view path, WebSocketFactory factory);
  // The endpoint at this (decoded) path, or nullptr.
  const WebSocketFactory* FindWebSocket(std::string_view path) const;

 private:
  enum class SegmentKind { kWildcard = 0, kParam = 1, kLiteral = 2 };  // order = specificity
  struct Segment {
    SegmentKind kind;
    std::string text;  // literal text or parameter name
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };

  static bool Matches(const Route& route, const std::vector<std::string_view>& path_segments);
  static std::map<std::string, std::string> Capture(
      const Route& route, const std::vector<std::string_view>& path_segments);
  // True if a is strictly more specific than b.
  static bool MoreSpecific(const Route& a, const Route& b);

  std::vector<Route> routes_;
  std::map<std::string, WebSocketFactory, std::less<>> websockets_;
};

}  // namespace zw::api
