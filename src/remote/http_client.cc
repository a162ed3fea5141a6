#include "remote/http_client.h"

#include <optional>

// GCC 12 reports false null dereferences inside Asio's scheduler at -O2.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#pragma GCC diagnostic pop

#include "scrape/scrape_manager.h"

namespace zw::remote {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kMaxErrorBody = 1024;

}  // namespace

struct HttpClient::Impl {
  RemoteWriteConfig config;
  net::io_context io;
  std::unique_ptr<net::ssl::context> tls;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& Lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  void Close() {
    beast::error_code ignored;
    if (plain) plain->socket().close(ignored);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  // Runs the operation started by `start` (which stores its error in *ec) to completion.
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code ec = net::error::would_block;
    start(ec);
    io.restart();
    io.run();
    return ec;
  }

  std::string Connect(std::chrono::milliseconds timeout) {
    tcp::resolver resolver(io);
    beast::error_code ec;
    tcp::resolver::results_type endpoints;
    ec = Run([&](beast::error_code& out) {
      resolver.async_resolve(config.host, config.port,
                             [&](beast::error_code e, tcp::resolver::results_type r) {
                               out = e;
                               endpoints = std::move(r);
                             });
    });
    if (ec) return "resolve " + config.host + ": " + ec.message();
    if (config.scheme == "https") {
      secure.emplace(io, *tls);
      const std::string name =
          config.tls_config.server_name.empty() ? config.host : config.tls_config.server_name;
      // SSL_set_tlsext_host_name, without the macro's C cast.
      if (!SSL_ctrl(secure->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                    TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str()))) {
        return "tls: cannot set the server name " + name;
      }
      if (!config.tls_config.insecure_skip_verify)
        secure->set_verify_callback(net::ssl::host_name_verification(name));
    } else {
      plain.emplace(io);
    }
    beast::tcp_stream& s = Lowest();
    s.expires_after(timeout);
    ec = Run([&](beast::error_code& out) {
      s.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { out = e; });
    });
    if (ec) return "connect " + config.host + ":" + config.port + ": " + ec.message();
    s.socket().set_option(tcp::no_delay(true), ec);
    if (secure) {
      ec = Run([&](beast::error_code& out) {
        secure->async_handshake(net::ssl::stream_base::client,
                                [&](beast::error_code e) { out = e; });
      });
      if (ec) return "tls handshake: " + ec.message();
    }
    return "";
  }

  HttpResult Post(std::string_view body, std::chrono::milliseconds timeout) {
    HttpResult res;
    http::request<http::string_body> req{http::verb::post, config.target, 11};
    req.set(http::field::host, config.host + ":" + config.port);
    req.set(http::field::user_agent, std::string(kUserAgent));
    req.set(http::field::content_type, "application/x-protobuf");
    req.set(http::field::content_encoding, "snappy");
    req.set("X-Prometheus-Remote-Write-Version", "0.1.0");
    for (const auto& [k, v] : config.headers) req.set(k, v);
    try {
      scrape::ScrapeConfig auth;
      auth.basic_auth = config.basic_auth;
      auth.authorization = config.authorization;
      std::string value = scrape::AuthorizationHeader(auth);
      if (!value.empty()) req.set(http::field::authorization, value);
    } catch (const std::exception& e) {
      res.error = std::string("credentials: ") + e.what();
      return res;
    }
    req.body().assign(body);
    req.prepare_payload();
    // A kept-alive connection the server closed meanwhile fails at once; try a fresh one.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = plain.has_value() || secure.has_value();
      if (!reused) {
        if (std::string err = Connect(timeout); !err.empty()) {
          Close();
          res.error = std::move(err);
          return res;
        }
      }
      Lowest().expires_after(timeout);
      http::response_parser<http::string_body> parser;
      parser.body_limit(1 << 20);
      beast::error_code ec = Run([&](beast::error_code& out) {
        auto done = [&](beast::error_code e, size_t) { out = e; };
        if (secure) {
          http::async_write(*secure, req, done);
        } else {
          http::async_write(*plain, req, done);
        }
      });
      if (!ec) {
        ec = Run([&](beast::error_code& out) {
          auto done = [&](beast::error_code e, size_t) { out = e; };
          if (secure) {
            http::async_read(*secure, buffer, parser, done);
          } else {
            http::async_read(*plain, buffer, parser, done);
          }
        });
      }
      if (ec) {
        Close();
        res.error = ec == beast::error::timeout ? "timed out" : ec.message();
        if (reused && ec != beast::error::timeout) continue;
        return res;
      }
      http::response<http::string_body> resp = parser.release();
      res.status = static_cast<int>(resp.result_int());
      res.body = resp.body().substr(0, kMaxErrorBody);
      res.error.clear();
      if (!resp.keep_alive()) Close();
      return res;
    }
    return res;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() {
  if (impl_) impl_->Close();
}

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const RemoteWriteConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (config.scheme == "https") {
    const scrape::TlsConfig& t = config.tls_config;
    impl->tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    impl->tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                           net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                           net::ssl::context::no_tlsv1_1);
    if (t.insecure_skip_verify) {
      impl->tls->set_verify_mode(net::ssl::verify_none);
    } else {
      impl->tls->set_verify_mode(net::ssl::verify_peer);
      boost::system::error_code ec;
      if (t.ca_file.empty()) {
        impl->tls->set_default_verify_paths(ec);
      } else {
        impl->tls->load_verify_file(t.ca_file, ec);
      }
      if (ec) {
        return Status::InvalidArgument(
            "remote_write " + config.url + ": tls_config: cannot load " +
            (t.ca_file.empty() ? std::string("the system CA store") : t.ca_file) + ": " +
            ec.message());
      }
    }
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpResult HttpClient::Post(std::string_view body, std::chrono::milliseconds timeout) {
  return impl_->Post(body, timeout);
}

}  // namespace zw::remote
