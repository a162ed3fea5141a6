#include "core/status.h"

namespace zw {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kOutOfOrder:
      return "out of order";
    case StatusCode::kDuplicate:
      return "duplicate sample";
    case StatusCode::kOutOfBounds:
      return "out of bounds";
    case StatusCode::kCorruption:
      return "corruption";
    case StatusCode::kIOError:
      return "I/O error";
    case StatusCode::kResourceExhausted:
      return "resource exhausted";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kInternal:
      return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  if (code_ == StatusCode::kCorruption && !file_.empty()) {
    return fmt::format("{}: {} (file {}, offset {})", StatusCodeName(code_), message_, file_,
                       offset_);
  }
  return fmt::format("{}: {}", StatusCodeName(code_), message_);
}

}  // namespace zw
