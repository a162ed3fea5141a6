#include "api/http_server.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/listener.h"
#include "api/server_state.h"

namespace zw::api {
namespace net = boost::asio;

struct HttpServer::Impl {
  Impl(HttpServerOptions o, std::shared_ptr<const Router> r, RequestObserver obs)
      : options(std::move(o)),
        router(std::move(r)),
        observer(std::move(obs)),
        ioc(static_cast<int>(std::max<size_t>(options.io_threads, 1))) {}

  void RunIo() {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {  // nothing should throw here; keep serving if it does
        spdlog::error("http: I/O thread caught: {}", e.what());
      }
    }
  }

  enum class Phase { kNew, kRunning, kStopped };

  const HttpServerOptions options;
  const std::shared_ptr<const Router> router;
  RequestObserver observer;  // moved into the ServerState by Start

  std::mutex mu;  // serialises Start and Stop
  Phase phase = Phase::kNew;
  std::atomic<uint16_t> port{0};  // read by port() without the lock

  // Declaration order is destruction order reversed: the worker pool and everything holding
  // sockets go before the io_context they are registered with.
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<net::thread_pool> workers;
  std::shared_ptr<ServerState> state;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> io_threads;
};

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<const Router> router,
                       RequestObserver observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(observer))) {}

HttpServer::~HttpServer() { Stop(); }

Result<uint16_t> HttpServer::Start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  if (s.phase != Impl::Phase::kNew)
    return Status::InvalidArgument("an HttpServer can be started only once");
  if (!s.router) return Status::InvalidArgument("HttpServer has no router");

  Result<std::shared_ptr<Listener>> listener =
      Listener::Open(s.ioc, s.options.address, s.options.port);
  if (!listener.ok()) return listener.status();
  s.listener = std::move(*listener);
  s.port = s.listener->port();

  s.workers.emplace(std::max<size_t>(s.options.worker_threads, 1));
  s.state = std::make_shared<ServerState>(s.options, s.router, std::move(s.observer),
                                          s.workers->get_executor());
  // The I/O threads run until Stop, even while every connection waits on a handler.
  s.work.emplace(s.ioc.get_executor());
  s.listener->Run(s.state);
  for (size_t i = 0; i < std::max<size_t>(s.options.io_threads, 1); ++i) {
    s.io_threads.emplace_back([&s] { s.RunIo(); });
  }
  s.phase = Impl::Phase::kRunning;
  spdlog::info("http: listening on {}:{}", s.options.address, s.port.load());
  return s.port.load();
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  if (s.phase != Impl::Phase::kRunning) {
    s.phase = Impl::Phase::kStopped;
    return;
  }
  s.phase = Impl::Phase::kStopped;
  auto deadline = std::chrono::steady_clock::now() + grace;

  s.listener->Close();
  s.state->BeginStop();
  if (!s.state->WaitUntilNoConnections(deadline)) {
    size_t left = s.state->CloseAll();
    spdlog::warn("http: {} connection(s) still busy after the {} ms grace period; closed", left,
                 grace.count());
  }
  // A handler still running cannot be interrupted; its response goes to a closed socket.
  s.workers->join();
  s.work.reset();
  s.ioc.stop();
  for (std::thread& t : s.io_threads) t.join();
  s.io_threads.clear();
  spdlog::info("http: stopped listening on {}:{}", s.options.address, s.port.load());
}

uint16_t HttpServer::port() const { return impl_->port.load(); }

}  // namespace zw::api
