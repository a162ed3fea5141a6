// The StatsD UDP listener: one thread receives datagrams (up to 64 KiB, into a large
// socket receive buffer) and hands them to a StatsdAggregator; another flushes the
// aggregator every interval and logs what went wrong in the interval (bad lines with the
// first reason, dropped lines, storage errors) in one line per flush. Receiving never
// waits for storage: the flush swaps the interval's deltas out under a short lock.
//
// Stop() (also run by the destructor) ends both threads and flushes once more, so lines
// received before shutdown are stored.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "ingest/statsd.h"

namespace zw::ingest {

struct StatsdListenerOptions {
  std::string address = "127.0.0.1:8125";  // host:port; port 0 picks a free one
  int64_t flush_interval_ms = 10000;
  int receive_buffer_bytes = 8 << 20;
};

class StatsdListener {
 public:
  // Binds the UDP socket and starts the threads. `aggregator` must outlive the listener.
  // Errors: InvalidArgument (bad address or interval), IOError (cannot bind).
  static Result<std::unique_ptr<StatsdListener>> Start(const StatsdListenerOptions& options,
                                                       StatsdAggregator* aggregator);
  ~StatsdListener();

  uint16_t port() const { return port_; }
  std::string host() const { return host_; }
  void Stop();

 private:
  StatsdListener(int fd, int wake_fd, std::string host, uint16_t port, int64_t interval_ms,
                 StatsdAggregator* aggregator);
  void ReceiveLoop();
  void FlushLoop();
  void FlushOnce();

  int fd_;
  int wake_fd_;  // an eventfd that ends the receive loop's poll
  std::string host_;
  uint16_t port_;
  int64_t interval_ms_;
  StatsdAggregator* aggregator_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::atomic<bool> stopped_{false};
  std::thread receiver_;
  std::thread flusher_;
};

// Splits "host:port" ("[::1]:8125", ":8125" meaning all interfaces).
Result<std::pair<std::string, uint16_t>> ParseStatsdAddress(std::string_view address);

}  // namespace zw::ingest
