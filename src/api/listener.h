// Listener: accepts TCP connections and starts an HttpSession for each.
//
// Thread safety: Run and Close may be called from any thread; the acceptor itself is only
// touched on the listener's strand.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/server_state.h"
#include "core/status.h"

namespace zw::api {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens on address:port (port 0: ephemeral). The error names address:port and
  // the OS reason, e.g. "cannot listen on 127.0.0.1:3003: Address already in use".
  static Result<std::shared_ptr<Listener>> Open(boost::asio::io_context& ioc,
                                                const std::string& address, uint16_t port);

  Listener(boost::asio::io_context& ioc, boost::asio::ip::tcp::acceptor acceptor);

  uint16_t port() const { return port_; }
  // Starts accepting; each connection becomes an HttpSession sharing `state`.
  void Run(std::shared_ptr<ServerState> state);
  // Stops accepting and closes the socket, so new connections are refused. Returns once done.
  // REQUIRES: the io_context is being run by a thread other than the caller.
  void Close();

 private:
  void Accept();
  void OnAccept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;  // on a strand of ioc_
  boost::asio::steady_timer retry_timer_;    // backs off after an accept error (e.g. EMFILE)
  std::shared_ptr<ServerState> state_;
  uint16_t port_ = 0;
  bool closed_ = false;  // on the strand
};

}  // namespace zw::api
