#include "api/router.h"

#include <algorithm>
#include <exception>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace zw::api {
namespace {

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}. REQUIRES: path starts with '/'.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  std::string_view rest = path.substr(1);
  for (;;) {
    size_t slash = rest.find('/');
    segments.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return segments;
}

std::string JoinAllowed(const std::set<std::string>& methods) {
  std::string allow;
  for (const std::string& m : methods) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  return allow;
}

}  // namespace

void Router::Add(std::string method, std::string_view pattern, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  if (method.empty()) throw std::invalid_argument("route method is empty");
  if (!handler) throw std::invalid_argument("route handler is empty: " + std::string(pattern));

  Route route{std::move(method), std::string(pattern), {}, std::move(handler)};
  std::vector<std::string_view> parts = SplitPath(pattern);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (part == "*") {
      if (i + 1 != parts.size()) {
        throw std::invalid_argument("'*' must be the last segment: " + route.pattern);
      }
      route.segments.push_back({SegmentKind::kWildcard, ""});
    } else if (part.starts_with('{') && part.ends_with('}')) {
      std::string_view name = part.substr(1, part.size() - 2);
      if (name.empty()) throw std::invalid_argument("empty parameter name: " + route.pattern);
      route.segments.push_back({SegmentKind::kParam, std::string(name)});
    } else if (part.find_first_of("{}*") != std::string_view::npos) {
      throw std::invalid_argument("'{', '}' and '*' must span a whole segment: " + route.pattern);
    } else {
      route.segments.push_back({SegmentKind::kLiteral, std::string(part)});
    }
  }

  for (const Route& other : routes_) {
    bool same_shape = other.method == route.method &&
                      other.segments.size() == route.segments.size() &&
                      std::equal(other.segments.begin(), other.segments.end(),
                                 route.segments.begin(), [](const Segment& a, const Segment& b) {
                                   return a.kind == b.kind &&
                                          (a.kind != SegmentKind::kLiteral || a.text == b.text);
                                 });
    if (same_shape) {
      throw std::invalid_argument("route " + route.method + " " + route.pattern +
                                  " conflicts with " + other.pattern);
    }
  }
  routes_.push_back(std::move(route));
}

bool Router::Matches(const Route& route, const std::vector<std::string_view>& path_segments) {
  const std::vector<Segment>& segs = route.segments;
  for (size_t i = 0; i < segs.size(); ++i) {
    if (segs[i].kind == SegmentKind::kWildcard) return true;
    if (i >= path_segments.size()) return false;
    if (segs[i].kind == SegmentKind::kParam && path_segments[i].empty()) return false;
    if (segs[i].kind == SegmentKind::kLiteral && segs[i].text != path_segments[i]) return false;
  }
  return segs.size() == path_segments.size();
}

std::map<std::string, std::string> Router::Capture(
    const Route& route, const std::vector<std::string_view>& path_segments) {
  std::map<std::string, std::string> params;
  for (size_t i = 0; i < route.segments.size(); ++i) {
    const Segment& seg = route.segments[i];
    if (seg.kind == SegmentKind::kParam) {
      params[seg.text] = std::string(path_segments[i]);
    } else if (seg.kind == SegmentKind::kWildcard) {
      std::string rest;
      for (size_t k = i; k < path_segments.size(); ++k) {
        if (k > i) rest += '/';
        rest += path_segments[k];
      }
      params["*"] = std::move(rest);
    }
  }
  return params;
}

bool Router::MoreSpecific(const Route& a, const Route& b) {
  // Where one pattern has ended and the other goes on, the other has a wildcard there (both
  // match the same path), and an exact end is the more specific.
  constexpr int kEnd = 3;
  size_t n = std::max(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    int ra = i < a.segments.size() ? static_cast<int>(a.segments[i].kind) : kEnd;
    int rb = i < b.segments.size() ? static_cast<int>(b.segments[i].kind) : kEnd;
    if (ra != rb) return ra > rb;
  }
  return false;
}

Router::Dispatched Router::Dispatch(HttpRequest& request) const {
  if (request.path.empty() || request.path.front() != '/') {
    return {ErrorResponse(404, "not_found", "unknown path " + request.path), ""};
  }
  std::vector<std::string_view> segments = SplitPath(request.path);

  const Route* best = nullptr;
  const Route* best_get = nullptr;  // serves HEAD when no HEAD route matches
  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    if (!Matches(route, segments)) continue;
    allowed.insert(route.method);
    if (route.method == request.method) {
      if (best == nullptr || MoreSpecific(route, *best)) best = &route;
    } else if (route.method == "GET") {
      if (best_get == nullptr || MoreSpecific(route, *best_get)) best_get = &route;
    }
  }
  if (best == nullptr && request.method == "HEAD") best = best_get;

  if (best == nullptr) {
    if (allowed.empty()) {
      return {ErrorResponse(404, "not_found", "unknown path " + request.path), ""};
    }
    if (allowed.contains("GET")) allowed.insert("HEAD");
    HttpResponse response = ErrorResponse(
        405, "bad_data", "method " + request.method + " not allowed for " + request.path);
    response.headers.emplace_back("Allow", JoinAllowed(allowed));
    return {std::move(response), ""};
  }

  request.path_params = Capture(*best, segments);
  try {
    return {best->handler(request), best->pattern};
  } catch (const std::exception& e) {
    spdlog::error("handler for {} {} threw: {}", request.method, best->pattern, e.what());
    return {ErrorResponse(500, "internal", e.what()), best->pattern};
  } catch (...) {
    spdlog::error("handler for {} {} threw a non-standard exception", request.method,
                  best->pattern);
    return {ErrorResponse(500, "internal", "unknown exception"), best->pattern};
  }
}

void Router::AddWebSocket(std::string_view path, WebSocketFactory factory) {
  if (path.find_first_of("{}*") != std::string_view::npos) {
    throw std::invalid_argument("a WebSocket path must be literal: " + std::string(path));
  }
  if (!factory) throw std::invalid_argument("WebSocket factory is empty: " + std::string(path));
  Add("GET", path, [p = std::string(path)](HttpRequest&) {
    HttpResponse r = ErrorResponse(426, "bad_data",
                                   p + " is a WebSocket endpoint: send a GET with "
                                       "\"Connection: Upgrade\" and \"Upgrade: websocket\"");
    r.headers.emplace_back("Upgrade", "websocket");
    return r;
  });
  websockets_.emplace(std::string(path), std::move(factory));
}

const WebSocketFactory* Router::FindWebSocket(std::string_view path) const {
  auto it = websockets_.find(path);
  return it == websockets_.end() ? nullptr : &it->second;
}

}  // namespace zw::api
