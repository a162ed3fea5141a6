// A pull parser for scrape bodies: the Prometheus text format 0.0.4 and OpenMetrics 1.0.
//
// Shaped like Prometheus's textparse: Next() advances to the next entry (a series, a
// metadata line, a comment, the OpenMetrics "# EOF") and accessors describe it until the
// following Next(). The parser holds views into the body, which must outlive it; escaped
// text is unescaped into a buffer the parser reuses, so after warm-up parsing allocates
// nothing per sample. Not thread-safe; one parser per body.
//
// Everything is validated: metric and label names by Prometheus's (pre-UTF-8) rules, label
// values and help text as UTF-8, duplicate label names, values as Go floats (no hex, no
// '_'), timestamps. The first problem ends the parse: Next() returns kError, and keeps
// returning it, and Err() says InvalidArgument "line N: <what>" (N counts from 1).
//
// Prometheus text 0.0.4 (as Prometheus's promparse accepts it):
//   - blanks are spaces or tabs, allowed between all tokens (also inside `{...}`) and at
//     the start and end of a line; blank lines are skipped; the last line may lack '\n';
//   - "# HELP name text" (escapes \\ and \n), "# TYPE name counter|gauge|histogram|
//     summary|untyped"; any other line starting with '#' is a comment (kComment);
//   - label values escape \\ \" \n; an unknown escape such as \t is kept as written;
//   - a timestamp is an integer count of milliseconds;
//   - carriage returns end a line with an error: CRLF bodies are rejected, as Prometheus does.
// OpenMetrics 1.0 (stricter, as the spec's ABNF):
//   - single spaces only, no blank lines, every line ends in '\n' and the body ends with
//     "# EOF" and at most one '\n' after it;
//   - "# HELP name text" (escapes \\ \" \n), "# TYPE name <type>" with the types counter,
//     gauge, histogram, gaugehistogram, summary, info, stateset, unknown, and "# UNIT name
//     unit" where a non-empty unit must be the suffix "_<unit>" of the family name. No other
//     comments. A family's metadata comes once each and before its samples;
//   - a sample's name must fit its family's type: counter _total/_created; histogram
//     _bucket/_count/_sum/_created; gaugehistogram _bucket/_gcount/_gsum; summary bare
//     (with quantile)/_count/_sum/_created; info _info. A name that does not extend the
//     current family starts a new family of type unknown;
//   - histogram buckets need `le`, summary quantiles need `quantile`, stateset samples need
//     a label named after the family;
//   - timestamps are seconds as floats, converted to milliseconds (rounded to nearest);
//   - an exemplar " # {labels} value [timestamp]" is parsed and validated (label names and
//     values at most 128 code points together) and then dropped; HasExemplar() tells.
// Both formats: the `le` of a histogram's _bucket sample and the `quantile` of a summary's
// quantile sample must be floats and are rewritten to Prometheus 3's canonical spelling
// ("1" -> "1.0", "+inf" -> "+Inf"), so the same bucket is one series whatever the
// exporter printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/metric_type.h"
#include "core/status.h"

namespace zw::ingest {

enum class ExpositionFormat : uint8_t { kPrometheusText, kOpenMetrics };

enum class Entry : uint8_t {
  kSeries,   // a sample line
  kType,     // # TYPE
  kHelp,     // # HELP
  kUnit,     // # UNIT (OpenMetrics)
  kComment,  // any other '#' line (Prometheus text only)
  kEof,      // "# EOF" (OpenMetrics)
  kEnd,      // no more input
  kError,    // see Err()
};

struct LabelView {
  std::string_view name;
  std::string_view value;
};

class ExpositionParser {
 public:
  // `body` must outlive the parser.
  static std::unique_ptr<ExpositionParser> New(std::string_view body, ExpositionFormat format);

  ExpositionParser(const ExpositionParser&) = delete;
  ExpositionParser& operator=(const ExpositionParser&) = delete;
  ~ExpositionParser();

  Entry Next();

  // The 1-based line of the current entry.
  size_t Line() const { return line_; }

  // --- kSeries. Views stay valid until the next Next().
  std::string_view MetricName() const { return metric_name_; }
  size_t NumLabels() const { return labels_.size(); }
  // In input order, unescaped. REQUIRES: i < NumLabels().
  LabelView Label(size_t i) const;
  template <typename F>
  void ForEachLabel(F&& f) const {
    for (size_t i = 0; i < labels_.size(); ++i) {
      LabelView l = Label(i);
      f(l.name, l.value);
    }
  }
  double Value() const { return value_; }
  // Milliseconds since the epoch, when the line carried a timestamp.
  std::optional<int64_t> Timestamp() const { return timestamp_; }
  bool HasExemplar() const { return has_exemplar_; }
  // OpenMetrics: the series is <family>_created of a counter, histogram or summary. Value()
  // is then the family's start time in seconds (SecondsToMillis in exposition_number.h);
  // the scraper may use it as a created timestamp rather than store it.
  bool IsCreatedSeries() const { return is_created_; }

  // --- kSeries, kType, kHelp, kUnit: the metric family the entry belongs to and its type
  // as declared so far (kUnknown when undeclared).
  std::string_view FamilyName() const { return family_; }
  MetricType FamilyType() const { return family_type_; }
  // kHelp: the help text, unescaped. kUnit: the unit. kComment: the text after '#'.
  std::string_view Text() const { return text_; }

  // kError: InvalidArgument "line N: <what>". Ok otherwise.
  const Status& Err() const { return err_; }

 private:
  struct LabelRef {
    std::string_view name;
    std::string_view raw;  // the value as written, between the quotes
    size_t scratch_off;    // when in_scratch: the unescaped or canonical value in scratch_
    size_t scratch_len;
    bool in_scratch;
  };
  class LineCursor;

  ExpositionParser(std::string_view body, ExpositionFormat format);

  Entry Fail(std::string what);
  bool Reject(std::string what);  // Fail, for the bool-returning helpers
  Entry ParseLine(std::string_view line);
  Entry ParseComment(std::string_view line);
  Entry ParseSeries(std::string_view line);
  bool ParseLabels(LineCursor& c, std::vector<LabelRef>* out);
  bool ParseExemplar(LineCursor& c);
  bool BindToFamily();
  bool CanonicalizeFloatLabel(size_t i);
  size_t FindLabel(std::string_view name) const;
  Entry MetadataFor(std::string_view name, Entry kind);
  std::string_view Resolve(const LabelRef& l) const;

  std::string_view body_;
  ExpositionFormat format_;
  size_t pos_ = 0;
  size_t line_ = 0;
  bool done_ = false;  // kEnd or kError reached
  bool seen_eof_ = false;
  Status err_;

  // Current series.
  std::string_view metric_name_;
  std::vector<LabelRef> labels_;
  std::vector<LabelRef> exemplar_labels_;
  std::string scratch_;
  double value_ = 0;
  std::optional<int64_t> timestamp_;
  bool has_exemplar_ = false;
  bool is_created_ = false;

  // Current family.
  std::string_view family_;
  MetricType family_type_ = MetricType::kUnknown;
  bool family_has_type_ = false;
  bool family_has_help_ = false;
  bool family_has_unit_ = false;
  bool family_has_samples_ = false;
  std::string_view text_;
  std::string text_buf_;
};

// "application/openmetrics-text[; ...]" is OpenMetrics; anything else Prometheus text.
ExpositionFormat DetectFormat(std::string_view content_type);

// Inflates a gzip body (Content-Encoding: gzip; concatenated members allowed).
// InvalidArgument when it is not gzip or is damaged; ResourceExhausted when the output
// would exceed `max_bytes`.
Result<std::string> Gunzip(std::string_view body, size_t max_bytes);

}  // namespace zw::ingest
