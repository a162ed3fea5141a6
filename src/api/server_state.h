// ServerState: what the listener and every connection share — options, the router, the
// request observer, the worker pool — and the registry of live connections that a graceful
// stop walks.
//
// Thread safety: all members are safe to call from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "api/http_server.h"
#include "api/router.h"

namespace zw::api {

// A live connection the server can end: an HTTP session today, a WebSocket session later.
// Both calls may come from any thread; implementations hop onto their own strand.
class Connection {
 public:
  virtual ~Connection() = default;
  // Close now if idle between requests; otherwise finish the request in hand, answer it with
  // Connection: close, and end.
  virtual void CloseWhenIdle() = 0;
  // Close at once, abandoning whatever is in hand.
  virtual void CloseNow() = 0;
};

class ServerState {
 public:
  using WorkerExecutor = boost::asio::thread_pool::executor_type;

  ServerState(const HttpServerOptions& options, std::shared_ptr<const Router> router,
              RequestObserver observer, WorkerExecutor workers);

  const HttpServerOptions& options() const { return options_; }
  const Router& router() const { return *router_; }
  WorkerExecutor workers() const { return workers_; }
  // Calls the observer, if any; logs and drops its exceptions.
  void Observe(std::string_view route, unsigned status, double seconds) const;

  // Registers a live connection. Returns false if the server is stopping: the caller closes it.
  bool Join(const std::shared_ptr<Connection>& connection);
  // Unregisters; called from the connection's destructor.
  void Leave(const Connection* connection);

  bool stopping() const;
  // Marks the server stopping and asks every live connection to CloseWhenIdle.
  void BeginStop();
  // Waits until no connection is registered or the deadline passes; true if none is left.
  bool WaitUntilNoConnections(std::chrono::steady_clock::time_point deadline);
  // CloseNow on every connection still registered; returns how many there were.
  size_t CloseAll();

 private:
  std::vector<std::shared_ptr<Connection>> LiveConnections();

  const HttpServerOptions options_;
  const std::shared_ptr<const Router> router_;
  const RequestObserver observer_;
  const WorkerExecutor workers_;

  mutable std::mutex mu_;
  std::condition_variable no_connections_;
  bool stopping_ = false;                                                         // guarded by mu_
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> connections_;  // mu_
};

}  // namespace zw::api
