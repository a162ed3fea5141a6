#include "api/params.h"

#include <charconv>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "promql/selector.h"

namespace zw::api {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!Digits(s, 0, 4, &y) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return secs * 1000 + frac_ms;
}

}  // namespace

Result<int64_t> ParseTimestampMs(std::string_view s) {
  double v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size() && std::isfinite(v)) {
    // Prometheus's bounds: the API's min and max times.
    if (v < -9223372036854775.0 || v > 9223372036854775.0) {
      return Status::InvalidArgument(fmt::format("cannot parse \"{}\" to a valid timestamp", s));
    }
    return static_cast<int64_t>(std::llround(v * 1000.0));
  }
  if (auto t = ParseRfc3339(s)) return *t;
  return Status::InvalidArgument(fmt::format("cannot parse \"{}\" to a valid timestamp", s));
}

Result<int64_t> TimeParam(const HttpRequest& req, std::string_view name, int64_t def) {
  auto v = req.Param(name);
  if (!v || v->empty()) return def;
  auto t = ParseTimestampMs(*v);
  if (!t.ok())
    return Status::InvalidArgument(
        fmt::format("invalid parameter \"{}\": {}", name, t.status().message()));
  return t;
}

Result<std::vector<Matchers>> MatchParams(const HttpRequest& req) {
  std::vector<Matchers> out;
  for (std::string_view sel : req.Params("match[]")) {
    auto m = promql::ParseSeriesSelector(sel);
    if (!m.ok())
      return Status::InvalidArgument(
          fmt::format("invalid parameter \"match[]\": {}", m.status().message()));
    out.push_back(std::move(m).value());
  }
  return out;
}

}  // namespace zw::api
