#include "core/time.h"

#include <array>
#include <chrono>

namespace zw {

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {
struct Unit {
  std::string_view name;
  int64_t ms;
};
constexpr std::array<Unit, 7> kUnits = {{{"y", 365LL * 24 * 3600 * 1000},
                                         {"w", 7LL * 24 * 3600 * 1000},
                                         {"d", 24LL * 3600 * 1000},
                                         {"h", 3600LL * 1000},
                                         {"m", 60LL * 1000},
                                         {"s", 1000},
                                         {"ms", 1}}};
}  // namespace

Result<int64_t> ParseDurationMs(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid duration \"" + std::string(s) +
                                   "\": " + std::string(why));
  };
  if (s.empty()) return bad("empty");
  if (s == "0") return int64_t{0};
  int64_t total = 0;
  size_t next_unit = 0;  // units must appear in decreasing order, each at most once
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] < '0' || s[i] > '9') return bad("expected a number");
    int64_t n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n > (INT64_MAX - 9) / 10) return bad("too large");
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    size_t j = i;
    while (j < s.size() && s[j] >= 'a' && s[j] <= 'z') ++j;
    std::string_view unit = s.substr(i, j - i);
    size_t k = next_unit;
    while (k < kUnits.size() && kUnits[k].name != unit) ++k;
    if (k == kUnits.size()) {
      return bad(unit.empty() ? "missing unit"
                              : "unknown or out-of-order unit \"" + std::string(unit) + "\"");
    }
    if (n > INT64_MAX / kUnits[k].ms || total > INT64_MAX - n * kUnits[k].ms)
      return bad("too large");
    total += n * kUnits[k].ms;
    next_unit = k + 1;
    i = j;
  }
  return total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out.push_back('-');
    ms = -ms;
  }
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace zw
