#include "ingest/exposition_number.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <system_error>

namespace zw::ingest {

namespace {

bool EqualsIgnoreCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<double> ParseExpositionFloat(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string_view rest = s;
  bool negative = false;
  bool has_sign = false;
  if (rest[0] == '+' || rest[0] == '-') {
    negative = rest[0] == '-';
    has_sign = true;
    rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;
  }
  char first = rest[0];
  if (first != '.' && (first < '0' || first > '9')) {
    if (EqualsIgnoreCase(rest, "inf") || EqualsIgnoreCase(rest, "infinity")) {
      return negative ? -std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::infinity();
    }
    if (!has_sign && EqualsIgnoreCase(rest, "nan")) return std::numeric_limits<double>::quiet_NaN();
    return std::nullopt;
  }
  double v = 0;
  auto [ptr, ec] =
      std::from_chars(rest.data(), rest.data() + rest.size(), v, std::chars_format::general);
  if (ptr != rest.data() + rest.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Overflow is an error, as in Go; underflow is not. strtod tells the two apart (the
    // token is a well-formed decimal by now, so strtod reads exactly the same number).
    std::string copy(rest);
    errno = 0;
    v = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(v)) return std::nullopt;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -v : v;
}

std::optional<int64_t> ParseExpositionInt(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits[0] == '+') {
    digits.remove_prefix(1);
    if (!digits.empty() && digits[0] == '-') return std::nullopt;
  }
  if (digits.empty()) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 10);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> SecondsToMillis(double seconds) {
  if (!std::isfinite(seconds)) return std::nullopt;
  double ms = std::nearbyint(seconds * 1000.0);
  // 2^63 is exactly representable; anything at or beyond it does not fit.
  constexpr double kLimit = 9223372036854775808.0;
  if (ms >= kLimit || ms < -kLimit) return std::nullopt;
  return static_cast<int64_t>(ms);
}

void AppendCanonicalFloat(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[64];
  // Shortest round-trip digits in scientific form tell the decimal exponent, which decides
  // between Go's %e and %f spellings for %v (exponent < -4 or >= 21 means %e).
  auto sci = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(sci.ptr - buf));
  size_t e = s.find('e');
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  if (exp < -4 || exp >= 21) {
    out->append(s);  // "1e+21", "1.5e-05": the same shape as Go's.
    return;
  }
  auto fix = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  std::string_view f(buf, static_cast<size_t>(fix.ptr - buf));
  out->append(f);
  if (f.find('.') == std::string_view::npos) out->append(".0");
}

}  // namespace zw::ingest
