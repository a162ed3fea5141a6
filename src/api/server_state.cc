#include "api/server_state.h"

#include <exception>

#include <spdlog/spdlog.h>

namespace zw::api {

ServerState::ServerState(const HttpServerOptions& options, std::shared_ptr<const Router> router,
                         RequestObserver observer, WorkerExecutor workers)
    : options_(options),
      router_(std::move(router)),
      observer_(std::move(observer)),
      workers_(std::move(workers)) {}

void ServerState::Observe(std::string_view route, unsigned status, double seconds) const {
  if (!observer_) return;
  try {
    observer_(route, status, seconds);
  } catch (const std::exception& e) {
    spdlog::error("http request observer threw: {}", e.what());
  } catch (...) {
    spdlog::error("http request observer threw a non-standard exception");
  }
}

bool ServerState::Join(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  connections_.emplace(connection.get(), connection);
  return true;
}

void ServerState::Leave(const Connection* connection) {
  std::lock_guard lock(mu_);
  connections_.erase(connection);
  if (connections_.empty()) no_connections_.notify_all();
}

bool ServerState::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

std::vector<std::shared_ptr<Connection>> ServerState::LiveConnections() {
  std::vector<std::shared_ptr<Connection>> live;
  std::lock_guard lock(mu_);
  live.reserve(connections_.size());
  for (const auto& [ptr, weak] : connections_) {
    if (auto connection = weak.lock()) live.push_back(std::move(connection));
  }
  return live;
}

void ServerState::BeginStop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  // Outside the lock: a connection released here may be destroyed, and its destructor Leaves.
  for (const auto& connection : LiveConnections()) connection->CloseWhenIdle();
}

bool ServerState::WaitUntilNoConnections(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return no_connections_.wait_until(lock, deadline, [this] { return connections_.empty(); });
}

size_t ServerState::CloseAll() {
  std::vector<std::shared_ptr<Connection>> live = LiveConnections();
  for (const auto& connection : live) connection->CloseNow();
  return live.size();
}

}  // namespace zw::api
