#include "zenwatch/pusher.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "zenwatch/text_format.h"

namespace zenwatch {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AppendJsonString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

struct Event {
  std::string_view type;  // "counter" or "gauge"
  std::string name;
  const Labels* labels;
  const double* le;  // histogram bucket bound, or nullptr
  double value;
};

// Identifies a series across calls: name, labels and le.
std::string SeriesKey(const Event& e) {
  std::string key = e.name;
  for (const auto& [n, v] : *e.labels) {
    key += '\xff';
    key += n;
    key += '\xfe';
    key += v;
  }
  if (e.le) {
    key += "\xffle\xfe";
    AppendSampleValue(*e.le, key);
  }
  return key;
}

// An HTTP/1.1 POST with Connection: close. Returns the status code, or 0 with `error` set.
int HttpPost(const std::string& host, const std::string& port, const std::string& request,
             std::chrono::milliseconds timeout, std::string& error) {
  auto deadline = Clock::now() + timeout;
  auto remaining_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error = "resolve " + host + ": " + gai_strerror(rc);
    return 0;
  }
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      error = std::string("connect: ") + std::strerror(errno);
      close(fd);
      fd = -1;
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (poll(&p, 1, remaining_ms()) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
      error = std::string("connect: ") + (soerr ? std::strerror(soerr) : "timed out");
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return 0;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      error = std::string("send: ") + std::strerror(errno);
      close(fd);
      return 0;
    }
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, remaining_ms()) != 1) {
      error = "send: timed out";
      close(fd);
      return 0;
    }
  }
  std::string response;
  char buf[4096];
  while (response.find("\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, remaining_ms()) != 1) {
      error = "response: timed out";
      close(fd);
      return 0;
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      error = std::string("recv: ") + std::strerror(errno);
      close(fd);
      return 0;
    }
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  // "HTTP/1.1 204 No Content"
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) {
    error = "response: not HTTP";
    return 0;
  }
  size_t sp = response.find(' ');
  int status = std::atoi(response.c_str() + sp + 1);
  if (status < 100 || status > 599) {
    error = "response: bad status line";
    return 0;
  }
  return status;
}

}  // namespace

std::optional<std::string> JsonPushEncoder::Encode(std::span<const MetricFamilySnapshot> families,
                                                   int64_t now_ms) {
  std::vector<Event> events;
  std::vector<std::pair<std::string, double>> next;
  std::vector<std::string> names;  // storage for histogram series names
  names.reserve(families.size() * 3);
  const double inf = INFINITY;
  for (const MetricFamilySnapshot& f : families) {
    std::string_view type = f.type == MetricType::kCounter ? "counter" : "gauge";
    for (const Sample& s : f.samples) events.push_back({type, f.name, &s.labels, nullptr, s.value});
    for (const HistogramSample& s : f.histograms) {
      const HistogramSnapshot& h = s.histogram;
      for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
        events.push_back({"gauge", f.name + "_bucket", &s.labels, &h.upper_bounds[i],
                          static_cast<double>(h.cumulative_counts[i])});
      }
      events.push_back(
          {"gauge", f.name + "_bucket", &s.labels, &inf, static_cast<double>(h.count)});
      events.push_back({"gauge", f.name + "_sum", &s.labels, nullptr, h.sum});
      events.push_back(
          {"gauge", f.name + "_count", &s.labels, nullptr, static_cast<double>(h.count)});
    }
  }
  // Batches carry increasing timestamps: the server refuses a second, different value for a
  // series at a timestamp it already has.
  if (now_ms <= last_ms_) now_ms = last_ms_ + 1;
  std::string body;
  for (const Event& e : events) {
    if (!std::isfinite(e.value)) continue;  // JSON push takes finite numbers only
    std::string key = SeriesKey(e);
    auto it = std::lower_bound(last_.begin(), last_.end(), key,
                               [](const auto& a, const std::string& k) { return a.first < k; });
    bool known = it != last_.end() && it->first == key;
    double send = e.value;
    if (known && e.value == it->second) {
      next.emplace_back(std::move(key), e.value);
      continue;  // unchanged
    }
    if (e.type == "counter" && known && e.value > it->second) send = e.value - it->second;
    next.emplace_back(std::move(key), e.value);
    body += "{\"source\":";
    AppendJsonString(source_, body);
    body += ",\"domain\":";
    AppendJsonString(domain_, body);
    body += ",\"type\":\"";
    body += e.type;
    body += "\",\"name\":";
    AppendJsonString(e.name, body);
    body += ",\"value\":";
    AppendSampleValue(send, body);
    body += ",\"timestamp\":";
    body += std::to_string(now_ms);
    body += ",\"labels\":{";
    bool first = true;
    for (const auto& [n, v] : *e.labels) {
      if (!first) body += ',';
      first = false;
      // domain and source are the event's own; a series label of that name is kept apart.
      AppendJsonString(n == "domain" || n == "source" ? "exported_" + n : n, body);
      body += ':';
      AppendJsonString(v, body);
    }
    if (e.le) {
      if (!first) body += ',';
      body += "\"le\":\"";
      AppendSampleValue(*e.le, body);
      body += '"';
    }
    body += "}}\n";
  }
  std::sort(next.begin(), next.end());
  last_ = std::move(next);
  if (body.empty()) return std::nullopt;
  last_ms_ = now_ms;
  return body;
}

struct Pusher::Impl {
  Registry& registry;
  PusherOptions o;
  std::string host, port, path_prefix;
  Family<Counter>* sent_metric = nullptr;
  Family<Counter>* dropped_metric = nullptr;

  std::mutex encode_mu;  // one Collect+Encode at a time

  mutable std::mutex mu;  // guards what follows
  std::condition_variable cv;
  std::deque<std::string> queue;
  bool stopping = false;
  bool finished = false;
  Clock::time_point deadline;
  PusherStats stats;

  std::thread thread;

  Impl(Registry& r, PusherOptions opts) : registry(r), o(std::move(opts)) {
    std::string_view url = o.url;
    if (!url.starts_with("http://"))
      throw std::invalid_argument("zenwatch: Pusher url \"" + o.url + "\" must start with http://");
    url.remove_prefix(7);
    size_t slash = url.find('/');
    std::string_view hostport = url.substr(0, slash);
    if (slash != std::string_view::npos) path_prefix = std::string(url.substr(slash));
    while (!path_prefix.empty() && path_prefix.back() == '/') path_prefix.pop_back();
    size_t colon = hostport.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == hostport.size() || colon == 0)
      throw std::invalid_argument("zenwatch: Pusher url \"" + o.url + "\" needs host:port");
    host = std::string(hostport.substr(0, colon));
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    port = std::string(hostport.substr(colon + 1));
    if (!o.encoder) {
      if (o.format == PushFormat::kJson) {
        o.encoder = std::make_unique<JsonPushEncoder>(o.domain, o.source);
      } else {
        o.encoder =
            std::make_unique<RemoteWriteEncoder>(std::vector<std::pair<std::string, std::string>>{
                {"job", o.domain}, {"instance", o.source}});
      }
    }
    if (o.queue_capacity == 0) o.queue_capacity = 1;
    if (o.max_attempts < 1) o.max_attempts = 1;
    sent_metric =
        &registry.AddCounter("zenwatch_pusher_batches_sent_total", "Batches the pusher delivered.");
    dropped_metric = &registry.AddCounter("zenwatch_pusher_batches_dropped_total",
                                          "Batches the pusher gave up: queue_full, rejected "
                                          "(4xx) or failed (out of attempts or shut down).",
                                          {"reason"});
    thread = std::thread([this] { Run(); });
  }

  void Drop(const char* reason, uint64_t PusherStats::*field, uint64_t n = 1) {
    stats.*field += n;
    dropped_metric->With({{"reason", reason}}).Inc(static_cast<double>(n));
  }

  bool Push() {
    std::optional<std::string> body;
    {
      std::lock_guard enc(encode_mu);
      {
        std::lock_guard lock(mu);
        if (finished) return true;
      }
      auto families = registry.Collect();
      body = o.encoder->Encode(families, NowMs());
    }
    if (!body) return true;
    bool ok = true;
    {
      std::lock_guard lock(mu);
      if (queue.size() >= o.queue_capacity) {
        queue.pop_front();
        Drop("queue_full", &PusherStats::dropped_queue_full);
        ok = false;
      }
      queue.push_back(std::move(*body));
    }
    cv.notify_all();
    return ok;
  }

  std::string Request(const std::string& body) const {
    std::string req = "POST " + path_prefix + std::string(o.encoder->Path()) + " HTTP/1.1\r\n";
    req += "Host: " + host + ":" + port + "\r\n";
    req += "User-Agent: zenwatch-client\r\nConnection: close\r\n";
    req += "Content-Type: " + std::string(o.encoder->ContentType()) + "\r\n";
    for (const auto& [k, v] : o.encoder->Headers()) req += k + ": " + v + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    req += body;
    return req;
  }

  void Run() {
    auto next_push = Clock::now() + o.interval;
    std::unique_lock lock(mu);
    while (true) {
      bool periodic = o.interval.count() > 0;
      auto ready = [&] {
        return stopping || !queue.empty() || (periodic && Clock::now() >= next_push);
      };
      if (periodic) {
        cv.wait_until(lock, next_push, ready);
      } else {
        cv.wait(lock, ready);
      }
      if (stopping && (queue.empty() || Clock::now() >= deadline)) break;
      if (!stopping && periodic && Clock::now() >= next_push) {
        next_push += o.interval;
        if (next_push < Clock::now()) next_push = Clock::now() + o.interval;
        lock.unlock();
        Push();
        lock.lock();
        continue;
      }
      if (queue.empty()) continue;
      std::string body = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      std::string request = Request(body);
      auto backoff = o.initial_backoff;
      int status = 0;
      for (int attempt = 1;; ++attempt) {
        std::string error;
        status = HttpPost(host, port, request, o.timeout, error);
        if (status >= 200 && status < 300) break;
        lock.lock();
        ++stats.send_errors;
        bool retryable = status == 0 || status == 429 || status >= 500;
        bool out_of_time = stopping && Clock::now() >= deadline;
        if (!retryable || attempt >= o.max_attempts || out_of_time) {
          lock.unlock();
          break;
        }
        cv.wait_for(lock, backoff, [&] { return stopping && Clock::now() >= deadline; });
        lock.unlock();
        backoff = std::min(backoff * 2, o.max_backoff);
      }
      lock.lock();
      if (status >= 200 && status < 300) {
        ++stats.batches_sent;
        sent_metric->With({}).Inc();
      } else if (status >= 400 && status < 500 && status != 429) {
        Drop("rejected", &PusherStats::dropped_rejected);
      } else {
        Drop("failed", &PusherStats::dropped_failed);
      }
    }
    if (!queue.empty()) {
      Drop("failed", &PusherStats::dropped_failed, queue.size());
      queue.clear();
    }
  }

  void Shutdown(std::chrono::milliseconds grace) {
    {
      std::lock_guard lock(mu);
      if (finished) return;
    }
    Push();
    {
      std::lock_guard enc(encode_mu);
      std::lock_guard lock(mu);
      finished = true;
      stopping = true;
      deadline = Clock::now() + grace;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
  }
};

Pusher::Pusher(Registry& registry, PusherOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))) {}

Pusher::~Pusher() { Shutdown(); }

bool Pusher::Push() { return impl_->Push(); }

void Pusher::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }

PusherStats Pusher::Stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace zenwatch
