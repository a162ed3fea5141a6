// The StatsD / DogStatsD line format (docs/statsd.md): one line of a UDP packet, parsed
// into views of the line, without allocating once the output's vectors have grown.
//
//   <name>:<value>[:<value>...]|<type>[|@<rate>][|#<tag>[:<value>],...][|c:<id>][|T<ts>]
//
// type: c (counter), g (gauge; a leading + or - makes it relative), ms (timer, in
// milliseconds), h (histogram), d (distribution), s (set; the value is any string).
// DogStatsD events (`_e{...`) and service checks (`_sc|...`) are recognised and reported
// as such so the caller can count and skip them. The container id (`|c:`), the client
// timestamp (`|T`) and other lowercase `|x:` extension fields are skipped.
//
// A line is accepted or rejected as a whole; the error says what was wrong. Everything the
// aggregator later relies on is checked here: finite values, counters and timers not
// negative, sample rate in (0, 1], tag names that sanitise to a usable label name, tag
// values that are UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zw::ingest {

enum class StatsdType : uint8_t { kCounter, kGauge, kTimer, kHistogram, kDistribution, kSet };

enum class StatsdLineKind : uint8_t { kMetric, kEvent, kServiceCheck };

struct StatsdValue {
  double v = 0;
  bool relative = false;  // gauges only: "+3" / "-3" adjust the current value
};

struct StatsdTag {
  std::string_view name;   // as sent (not yet sanitised); never empty
  std::string_view value;  // "true" for a tag sent without a value
};

struct StatsdLine {
  StatsdLineKind kind = StatsdLineKind::kMetric;
  std::string_view name;  // as sent (not yet sanitised); never empty
  StatsdType type = StatsdType::kCounter;
  std::vector<StatsdValue> values;  // every type but sets; at least one
  std::string_view set_value;       // sets only
  double sample_rate = 1;
  std::vector<StatsdTag> tags;  // in the order sent
};

// Parses one line (without its newline; a trailing '\r' is tolerated). `out`'s vectors
// are cleared and reused. Errors: InvalidArgument saying what is wrong with the line.
Status ParseStatsdLine(std::string_view line, StatsdLine& out);

// Splits a tag list ("a:1,b,c:x:y") into tags, appending to `out`; empty items are
// skipped. Errors name the tag. `histogram` forbids the tag name "le".
Status ParseStatsdTags(std::string_view text, bool histogram, std::vector<StatsdTag>& out);

// Prometheus names from StatsD names: every byte outside [a-zA-Z0-9_:] (label names:
// [a-zA-Z0-9_]) becomes '_', and a leading digit gets a '_' prefix.
std::string SanitizeStatsdMetricName(std::string_view name);
std::string SanitizeStatsdLabelName(std::string_view name);

std::string_view StatsdTypeName(StatsdType t);

}  // namespace zw::ingest
