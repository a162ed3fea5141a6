#include "api/fail.h"

#include <spdlog/spdlog.h>
#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>

namespace zw::api {

void Fail(boost::beast::error_code ec, std::string_view what) {
  if (ec == boost::asio::error::operation_aborted || ec == boost::asio::error::eof ||
      ec == boost::beast::http::error::end_of_stream) {
    return;
  }
  spdlog::debug("http: {}: {}", what, ec.message());
}

}  // namespace zw::api
