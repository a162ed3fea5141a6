// Status and Result<T>: how storage and ingest report expected failures.
//
// Exceptions are reserved for errors that end a request and are caught at a module's
// edge; everything a caller is expected to handle (bad input, out-of-order samples,
// damaged files) travels as a Status. Corruption carries the file and offset so an
// operator can find the damage.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace zw {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,  // the caller's input is malformed; retrying will not help
  kNotFound,
  kOutOfOrder,   // a sample older than what the series already holds
  kDuplicate,    // same timestamp, different value
  kOutOfBounds,  // outside the time range the storage accepts
  kCorruption,   // damaged data on disk; see file/offset
  kIOError,
  kResourceExhausted,  // a limit was hit (size, samples, queue)
  kUnavailable,        // try again later
  kCancelled,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }

  template <typename... Args>
  static Status Error(StatusCode code, fmt::format_string<Args...> f, Args&&... args) {
    return Status(code, fmt::format(f, std::forward<Args>(args)...));
  }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status IOError(std::string msg) { return Status(StatusCode::kIOError, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(StatusCode::kNotFound, std::move(msg)); }
  static Status Corruption(std::string file, uint64_t offset, std::string msg) {
    Status s(StatusCode::kCorruption, std::move(msg));
    s.file_ = std::move(file);
    s.offset_ = offset;
    return s;
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& file() const { return file_; }
  uint64_t offset() const { return offset_; }
  std::string ToString() const;

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string file_;
  uint64_t offset_ = 0;
};

// A value or the Status that says why there is none. (std::expected is C++23.)
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace zw

#define ZW_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::zw::Status zw_status_ = (expr);        \
    if (!zw_status_.ok()) return zw_status_; \
  } while (0)
