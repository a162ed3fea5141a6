#include "ingest/statsd_listener.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/time.h"

namespace zw::ingest {
namespace {

// The largest UDP payload is 65,507 bytes (IPv4), so a datagram is never cut.
constexpr size_t kMaxDatagram = 64 * 1024;
// Datagrams still taken from the socket once Stop() was called.
constexpr size_t kDrainOnStop = 100000;

}  // namespace

Result<std::pair<std::string, uint16_t>> ParseStatsdAddress(std::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("--statsd.listen \"{}\": expected host:port, e.g. 127.0.0.1:8125", address));
  }
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  std::string_view port_text = address.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() ||
      port > 65535) {
    return Status::InvalidArgument(
        fmt::format("--statsd.listen \"{}\": invalid port \"{}\"", address, port_text));
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<std::unique_ptr<StatsdListener>> StatsdListener::Start(const StatsdListenerOptions& options,
                                                              StatsdAggregator* aggregator) {
  if (options.flush_interval_ms <= 0) {
    return Status::InvalidArgument("--statsd.flush-interval must be positive");
  }
  auto hp = ParseStatsdAddress(options.address);
  if (!hp.ok()) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port_str = std::to_string(hp->second);
  if (int rc = getaddrinfo(hp->first.c_str(), port_str.c_str(), &hints, &res); rc != 0) {
    return Status::InvalidArgument(fmt::format("--statsd.listen \"{}\": cannot resolve \"{}\": {}",
                                               options.address, hp->first, gai_strerror(rc)));
  }
  int fd = -1;
  std::string err = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      err = std::strerror(errno);
      continue;
    }
    int size = options.receive_buffer_bytes;
    // The kernel caps this at net.core.rmem_max; a smaller buffer still works.
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    err = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    return Status::IOError(
        fmt::format("--statsd.listen \"{}\": cannot bind UDP: {}", options.address, err));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  uint16_t port = hp->second;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    if (bound.ss_family == AF_INET)
      port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    else if (bound.ss_family == AF_INET6)
      port = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  }
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    int e = errno;
    close(fd);
    return Status::IOError(fmt::format("statsd: eventfd: {}", std::strerror(e)));
  }
  std::unique_ptr<StatsdListener> l(
      new StatsdListener(fd, wake, hp->first, port, options.flush_interval_ms, aggregator));
  l->receiver_ = std::thread([p = l.get()] { p->ReceiveLoop(); });
  l->flusher_ = std::thread([p = l.get()] { p->FlushLoop(); });
  return l;
}

StatsdListener::StatsdListener(int fd, int wake_fd, std::string host, uint16_t port,
                               int64_t interval_ms, StatsdAggregator* aggregator)
    : fd_(fd),
      wake_fd_(wake_fd),
      host_(std::move(host)),
      port_(port),
      interval_ms_(interval_ms),
      aggregator_(aggregator) {}

StatsdListener::~StatsdListener() {
  Stop();
  close(fd_);
  close(wake_fd_);
}

void StatsdListener::Stop() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  if (receiver_.joinable()) receiver_.join();
  if (flusher_.joinable()) flusher_.join();
  FlushOnce();  // what arrived since the last flush
}

void StatsdListener::ReceiveLoop() {
  std::vector<char> buf(kMaxDatagram);
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("statsd: poll: {}; no longer receiving", std::strerror(errno));
      return;
    }
    // On stop, take what is already queued (bounded, should senders keep sending), then end.
    const bool stopping = fds[1].revents != 0;
    const size_t budget = stopping ? kDrainOnStop : SIZE_MAX;
    for (size_t i = 0; i < budget; ++i) {
      ssize_t got = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          spdlog::warn("statsd: recv: {}", std::strerror(errno));
        }
        break;
      }
      aggregator_->Ingest(std::string_view(buf.data(), static_cast<size_t>(got)));
      // Under a flood the socket never runs dry: look at the stop request now and then.
      if (!stopping && i % 64 == 63 && stopped_.load(std::memory_order_relaxed)) break;
    }
    if (stopping) return;
  }
}

void StatsdListener::FlushLoop() {
  using Clock = std::chrono::steady_clock;
  auto next = Clock::now() + std::chrono::milliseconds(interval_ms_);
  std::unique_lock lock(mu_);
  while (true) {
    if (cv_.wait_until(lock, next, [this] { return stopping_; })) return;
    lock.unlock();
    FlushOnce();
    lock.lock();
    next += std::chrono::milliseconds(interval_ms_);
    // After a stall (e.g. a slow disk) start counting again from now instead of catching up.
    if (next < Clock::now()) next = Clock::now() + std::chrono::milliseconds(interval_ms_);
  }
}

void StatsdListener::FlushOnce() {
  auto r = aggregator_->Flush(NowMs());
  if (!r.ok()) {
    spdlog::error("statsd: flush failed, this interval's samples are not stored: {}",
                  r.status().message());
    return;
  }
  if (r->bad_lines > 0 || r->dropped_lines > 0 || r->append_errors > 0) {
    spdlog::warn(
        "statsd: in the last interval {} bad lines, {} lines dropped over the limits, {} samples "
        "refused by storage; first: {}",
        r->bad_lines, r->dropped_lines, r->append_errors, r->first_error);
  }
  if (r->expired > 0) spdlog::debug("statsd: {} series expired", r->expired);
}

}  // namespace zw::ingest
