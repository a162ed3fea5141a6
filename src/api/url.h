// Percent-decoding and query-string parsing: the URL side of an HTTP request, for the
// request target's path and query and for application/x-www-form-urlencoded bodies.
//
// Malformed escapes are rejected, not kept literally: a '%' that is not followed by two hex
// digits makes the whole input invalid, as in Go's net/url. A request that Prometheus answers
// with 400 is answered with 400 here too, and a typo never turns silently into a different
// label value or matcher.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace zw::api {

// Query strings and form bodies decode '+' as a space; paths keep it.
enum class PlusMode { kLiteral, kSpace };

// Decodes %XX escapes (either case of hex digit). Fails with InvalidArgument naming the bad
// escape, e.g. `invalid URL escape "%zz"`.
Result<std::string> PercentDecode(std::string_view in, PlusMode plus);

// Parses "a=1&b=&c&a=2" into decoded (key, value) pairs in input order; repeated keys are kept
// (match[] appears many times). A pair without '=' has an empty value; empty pairs ("a=1&&b=2")
// are skipped. Only '&' separates pairs: ';' is an ordinary character.
Result<std::vector<std::pair<std::string, std::string>>> ParseQueryString(std::string_view query);

}  // namespace zw::api
