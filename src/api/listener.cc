// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Asio's epoll
// reactor (scheduler.ipp) when it is inlined here. The warning is attributed to the header's
// lines, so ignoring it while the headers are read silences it there and nowhere else.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "api/listener.h"
#pragma GCC diagnostic pop

#include <chrono>
#include <future>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "api/http_session.h"

namespace zw::api {
namespace net = boost::asio;
using tcp = net::ip::tcp;

Result<std::shared_ptr<Listener>> Listener::Open(net::io_context& ioc, const std::string& address,
                                                 uint16_t port) {
  auto error = [&](std::string_view step, const boost::system::error_code& ec) {
    bool v6 = address.find(':') != std::string::npos;
    return Status::IOError(fmt::format("cannot listen on {}{}{}:{}: {} ({})", v6 ? "[" : "",
                                       address, v6 ? "]" : "", port, ec.message(), step));
  };
  boost::system::error_code ec;
  net::ip::address ip = net::ip::make_address(address, ec);
  if (ec) return error("invalid address", ec);

  tcp::endpoint endpoint(ip, port);
  tcp::acceptor acceptor(net::make_strand(ioc));
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return error("open", ec);
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return error("set reuse_address", ec);
  acceptor.bind(endpoint, ec);
  if (ec) return error("bind", ec);
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return error("listen", ec);
  return std::make_shared<Listener>(ioc, std::move(acceptor));
}

Listener::Listener(net::io_context& ioc, tcp::acceptor acceptor)
    : ioc_(ioc), acceptor_(std::move(acceptor)), retry_timer_(acceptor_.get_executor()) {
  boost::system::error_code ec;
  port_ = acceptor_.local_endpoint(ec).port();
}

void Listener::Run(std::shared_ptr<ServerState> state) {
  state_ = std::move(state);
  net::post(acceptor_.get_executor(), [self = shared_from_this()] { self->Accept(); });
}

void Listener::Close() {
  std::promise<void> done;
  net::post(acceptor_.get_executor(), [self = shared_from_this(), &done] {
    self->closed_ = true;
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
    done.set_value();
  });
  done.get_future().wait();
}

void Listener::Accept() {
  if (closed_) return;
  // Each connection gets its own strand, so sessions run in parallel on several I/O threads.
  acceptor_.async_accept(net::make_strand(ioc_),
                         boost::beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
}

void Listener::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (closed_ || ec == net::error::operation_aborted) return;
  if (ec) {
    // Typically out of file descriptors: retrying at once would spin.
    spdlog::warn("http: accept on port {}: {}; retrying shortly", port_, ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->Accept();
    });
    return;
  }
  std::make_shared<HttpSession>(std::move(socket), state_)->Run();
  Accept();
}

}  // namespace zw::api
