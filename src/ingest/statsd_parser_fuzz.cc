// libFuzzer target: the StatsD line parser and the aggregator over arbitrary packets never
// crash, every line is counted exactly once (accepted, bad, ignored or dropped), accepted
// values are finite and sample rates in (0, 1], and a flush stores every series
// without a storage error (names that would collide are caught as conflicts first).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/statsd.h"
#include "ingest/statsd_parser.h"
#include "tsdb/head.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zw::ingest;
  static auto* head = zw::tsdb::Head::Open({}).value().release();
  static auto* agg = [] {
    StatsdOptions o;
    o.max_series = 1000;
    o.expire_after_ms = 10;
    return new StatsdAggregator(head, o);
  }();
  static int64_t now = 1700000000000;
  std::string_view packet(reinterpret_cast<const char*>(data), size);

  size_t lines = 0;
  StatsdLine line;
  for (std::string_view rest = packet; !rest.empty();) {
    size_t nl = rest.find('\n');
    std::string_view text = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (text.empty() || text == "\r") continue;
    ++lines;
    if (!ParseStatsdLine(text, line).ok() || line.kind != StatsdLineKind::kMetric) continue;
    if (line.name.empty() || !(line.sample_rate > 0) || line.sample_rate > 1) __builtin_trap();
    if (line.type == StatsdType::kSet ? line.set_value.empty() : line.values.empty())
      __builtin_trap();
    for (const StatsdValue& v : line.values) {
      if (!std::isfinite(v.v)) __builtin_trap();
    }
  }
  StatsdPacketResult r = agg->Ingest(packet);
  if (r.lines + r.bad + r.ignored + r.dropped != lines) __builtin_trap();
  if ((r.bad > 0) == r.first_error.empty()) __builtin_trap();
  now += 5;
  auto f = agg->Flush(now);
  if (!f.ok() || f->append_errors != 0) __builtin_trap();
  return 0;
}
