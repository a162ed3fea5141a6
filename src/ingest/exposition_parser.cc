#include "ingest/exposition_parser.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "core/names.h"
#include "ingest/exposition_number.h"

namespace zw::ingest {

namespace {

// Character classes of names, one table lookup per byte on the hot path.
constexpr uint8_t kMetricStart = 1;  // [a-zA-Z_:]
constexpr uint8_t kMetricChar = 2;   // [a-zA-Z0-9_:]
constexpr uint8_t kLabelStart = 4;   // [a-zA-Z_]
constexpr uint8_t kLabelChar = 8;    // [a-zA-Z0-9_]

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    uint8_t v = 0;
    if (alpha || c == ':') v |= kMetricStart | kMetricChar;
    if (digit) v |= kMetricChar | kLabelChar;
    if (alpha) v |= kLabelStart | kLabelChar;
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClasses = MakeClasses();

inline bool Is(char c, uint8_t cls) { return (kClasses[static_cast<uint8_t>(c)] & cls) != 0; }

// A token for an error message: escaped, and cut short when long.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

bool HasNonAscii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t acc = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc |= w;
  }
  for (; n > 0; ++p, --n) acc |= static_cast<unsigned char>(*p);
  return (acc & 0x8080808080808080ULL) != 0;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

// Appends `raw` with the format's escapes resolved. An unknown escape is kept as written,
// as Prometheus does. `quote_escape`: whether \" is an escape (label values, OpenMetrics
// help) or literal (0.0.4 help).
void Unescape(std::string_view raw, bool quote_escape, std::string* out) {
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\' || i + 1 == raw.size()) {
      out->push_back(c);
      continue;
    }
    char n = raw[i + 1];
    if (n == '\\') {
      out->push_back('\\');
    } else if (n == 'n') {
      out->push_back('\n');
    } else if (n == '"' && quote_escape) {
      out->push_back('"');
    } else {
      out->push_back('\\');
      out->push_back(n);
    }
    ++i;
  }
}

constexpr std::string_view kSuffixes[] = {"_total", "_created", "_bucket", "_count",
                                          "_sum",   "_gcount",  "_gsum",   "_info"};

// Which sample-name suffixes a family of `t` owns in OpenMetrics ("" is the bare name).
bool SuffixAllowed(MetricType t, std::string_view suffix) {
  switch (t) {
    case MetricType::kCounter:
      return suffix == "_total" || suffix == "_created";
    case MetricType::kHistogram:
      return suffix == "_bucket" || suffix == "_count" || suffix == "_sum" || suffix == "_created";
    case MetricType::kGaugeHistogram:
      return suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum";
    case MetricType::kSummary:
      return suffix.empty() || suffix == "_count" || suffix == "_sum" || suffix == "_created";
    case MetricType::kInfo:
      return suffix == "_info";
    case MetricType::kGauge:
    case MetricType::kStateSet:
    case MetricType::kUnknown:
      return suffix.empty();
  }
  return false;
}

std::string_view ExpectedSuffixes(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "_total or _created";
    case MetricType::kHistogram:
      return "_bucket, _count, _sum or _created";
    case MetricType::kGaugeHistogram:
      return "_bucket, _gcount or _gsum";
    case MetricType::kSummary:
      return "no suffix, _count, _sum or _created";
    case MetricType::kInfo:
      return "_info";
    default:
      return "no suffix";
  }
}

}  // namespace

// A position within one line. In Prometheus text, blanks are spaces and tabs and may
// repeat; OpenMetrics separates tokens by exactly one space, so SkipBlanks does nothing.
class ExpositionParser::LineCursor {
 public:
  LineCursor(std::string_view line, bool lenient) : line_(line), lenient_(lenient) {}
  bool AtEnd() const { return i_ >= line_.size(); }
  char Peek() const { return AtEnd() ? '\0' : line_[i_]; }
  bool Consume(char c) {
    if (AtEnd() || line_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool IsBlank() const { return !AtEnd() && (line_[i_] == ' ' || (lenient_ && line_[i_] == '\t')); }
  void SkipBlanks() {
    if (!lenient_) return;
    while (IsBlank()) ++i_;
  }
  // The run of bytes up to the next blank (or the end of the line).
  std::string_view Token() {
    size_t start = i_;
    while (!AtEnd() && !IsBlank()) ++i_;
    return line_.substr(start, i_ - start);
  }
  std::string_view Rest() const { return line_.substr(std::min(i_, line_.size())); }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }
  std::string_view line() const { return line_; }

 private:
  std::string_view line_;
  bool lenient_;
  size_t i_ = 0;
};

std::unique_ptr<ExpositionParser> ExpositionParser::New(std::string_view body,
                                                        ExpositionFormat format) {
  return std::unique_ptr<ExpositionParser>(new ExpositionParser(body, format));
}

ExpositionParser::ExpositionParser(std::string_view body, ExpositionFormat format)
    : body_(body), format_(format) {
  labels_.reserve(16);
  exemplar_labels_.reserve(4);
  scratch_.reserve(256);
}

ExpositionParser::~ExpositionParser() = default;

Entry ExpositionParser::Fail(std::string what) {
  err_ = Status::InvalidArgument(fmt::format("line {}: {}", line_, what));
  done_ = true;
  return Entry::kError;
}

bool ExpositionParser::Reject(std::string what) {
  Fail(std::move(what));
  return false;
}

LabelView ExpositionParser::Label(size_t i) const {
  return LabelView{labels_[i].name, Resolve(labels_[i])};
}

std::string_view ExpositionParser::Resolve(const LabelRef& l) const {
  if (!l.in_scratch) return l.raw;
  return std::string_view(scratch_).substr(l.scratch_off, l.scratch_len);
}

Entry ExpositionParser::Next() {
  if (done_) return err_.ok() ? Entry::kEnd : Entry::kError;
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  for (;;) {
    if (pos_ >= body_.size()) {
      if (om) {
        ++line_;
        return Fail("data does not end with # EOF");
      }
      done_ = true;
      return Entry::kEnd;
    }
    ++line_;
    const char* start = body_.data() + pos_;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', body_.size() - pos_));
    size_t len = nl != nullptr ? static_cast<size_t>(nl - start) : body_.size() - pos_;
    std::string_view line(start, len);
    pos_ += len + (nl != nullptr ? 1 : 0);

    if (!line.empty() && line.back() == '\r') {
      return Fail("carriage return at end of line (CRLF line endings are not supported)");
    }
    if (!om) {
      size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos) continue;  // blank line
      line.remove_prefix(first);
    } else if (line.empty()) {
      return Fail("unexpected empty line");
    }
    Entry e = ParseLine(line);
    if (om && nl == nullptr && e != Entry::kError && e != Entry::kEof) {
      return Fail("data does not end with # EOF");
    }
    return e;
  }
}

Entry ExpositionParser::ParseLine(std::string_view line) {
  if (line[0] == '#') return ParseComment(line);
  return ParseSeries(line);
}

Entry ExpositionParser::ParseComment(std::string_view line) {
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  Entry kind;
  std::string_view keyword;
  LineCursor c(line, !om);
  c.Consume('#');
  if (om) {
    if (line == "# EOF") {
      seen_eof_ = true;
      done_ = true;
      if (pos_ < body_.size()) {
        ++line_;
        return Fail("unexpected data after # EOF");
      }
      return Entry::kEof;
    }
    if (!c.Consume(' ')) return Fail("expected a space after '#'");
    keyword = c.Rest().substr(0, 4);
    if (keyword != "HELP" && keyword != "TYPE" && keyword != "UNIT") {
      if (line.starts_with("# EOF")) return Fail("unexpected data after # EOF");
      return Fail(
          fmt::format("invalid comment {}: OpenMetrics allows only # HELP, # TYPE, "
                      "# UNIT and # EOF",
                      Quote(line)));
    }
    c.set_pos(c.pos() + 4);
    if (!c.AtEnd() && !c.Consume(' ')) {
      return Fail(fmt::format("invalid comment {}", Quote(line)));
    }
  } else {
    c.SkipBlanks();
    keyword = c.Rest().substr(0, 4);
    std::string_view after = c.Rest().substr(keyword.size());
    bool is_meta = (keyword == "HELP" || keyword == "TYPE") &&
                   (after.empty() || after[0] == ' ' || after[0] == '\t');
    if (!is_meta) {
      text_ = line.substr(1);
      return Entry::kComment;
    }
    c.set_pos(c.pos() + 4);
    c.SkipBlanks();
  }
  kind = keyword == "HELP" ? Entry::kHelp : keyword == "TYPE" ? Entry::kType : Entry::kUnit;

  std::string_view name = c.Token();
  if (name.empty()) return Fail(fmt::format("expected metric name after {}", keyword));
  if (!IsValidMetricName(name)) return Fail(fmt::format("invalid metric name {}", Quote(name)));
  if (om) {
    // "# HELP name" without the space before the (possibly empty) text is malformed.
    if (!c.Consume(' ')) return Fail(fmt::format("expected text in {}", keyword));
  } else {
    c.SkipBlanks();
  }
  std::string_view text = c.Rest();

  switch (kind) {
    case Entry::kHelp: {
      if (!IsValidUtf8(text)) return Fail("invalid UTF-8 in help text");
      if (text.find('\\') == std::string_view::npos) {
        text_ = text;
      } else {
        text_buf_.clear();
        Unescape(text, om, &text_buf_);
        text_ = text_buf_;
      }
      break;
    }
    case Entry::kType: {
      std::optional<MetricType> t;
      if (om) {
        if (text != "untyped") t = ParseMetricType(text);
      } else {
        LineCursor tc(text, true);
        std::string_view word = tc.Token();
        tc.SkipBlanks();
        if (tc.AtEnd()) {
          if (word == "counter") t = MetricType::kCounter;
          if (word == "gauge") t = MetricType::kGauge;
          if (word == "histogram") t = MetricType::kHistogram;
          if (word == "summary") t = MetricType::kSummary;
          if (word == "untyped") t = MetricType::kUnknown;
        }
      }
      if (!t) return Fail(fmt::format("invalid metric type {}", Quote(text)));
      text_ = text;
      Entry e = MetadataFor(name, kind);
      if (e == Entry::kError) return e;
      family_type_ = *t;
      return e;
    }
    case Entry::kUnit: {
      for (char ch : text) {
        if (!Is(ch, kMetricChar)) return Fail(fmt::format("invalid unit {}", Quote(text)));
      }
      if (!text.empty() && !(name.size() > text.size() + 1 && name.ends_with(text) &&
                             name[name.size() - text.size() - 1] == '_')) {
        return Fail(fmt::format("unit {} not a suffix of metric {}", Quote(text), Quote(name)));
      }
      text_ = text;
      break;
    }
    default:
      break;
  }
  return MetadataFor(name, kind);
}

Entry ExpositionParser::MetadataFor(std::string_view name, Entry kind) {
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  if (name != family_) {
    family_ = name;
    family_type_ = MetricType::kUnknown;
    family_has_type_ = family_has_help_ = family_has_unit_ = family_has_samples_ = false;
  }
  bool* seen = kind == Entry::kType   ? &family_has_type_
               : kind == Entry::kHelp ? &family_has_help_
                                      : &family_has_unit_;
  std::string_view what = kind == Entry::kType ? "TYPE" : kind == Entry::kHelp ? "HELP" : "UNIT";
  if (om && *seen) return Fail(fmt::format("second {} for metric family {}", what, Quote(name)));
  if (om && family_has_samples_) {
    return Fail(fmt::format("{} for metric family {} after its samples", what, Quote(name)));
  }
  *seen = true;
  return kind;
}

Entry ExpositionParser::ParseSeries(std::string_view line) {
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  labels_.clear();
  exemplar_labels_.clear();
  scratch_.clear();
  timestamp_.reset();
  has_exemplar_ = false;
  is_created_ = false;

  LineCursor c(line, !om);
  if (c.Peek() == '{') return Fail("metric name not set");
  size_t i = 0;
  if (Is(line[0], kMetricStart)) {
    i = 1;
    while (i < line.size() && Is(line[i], kMetricChar)) ++i;
  }
  c.set_pos(i);
  if (i == 0 || !(c.AtEnd() || c.IsBlank() || c.Peek() == '{' || c.Peek() == '\t')) {
    size_t end = line.find_first_of(" \t{");
    return Fail(fmt::format("invalid metric name {}", Quote(line.substr(0, end))));
  }
  metric_name_ = line.substr(0, i);

  if (om) {
    if (c.Peek() == '{' && !ParseLabels(c, &labels_)) return Entry::kError;
    if (!c.Consume(' ')) return Fail("expected value after metric");
  } else {
    c.SkipBlanks();
    if (c.Peek() == '{') {
      if (!ParseLabels(c, &labels_)) return Entry::kError;
      c.SkipBlanks();
    }
  }

  std::string_view value = c.Token();
  if (value.empty()) return Fail("expected value after metric");
  std::optional<double> v = ParseExpositionFloat(value);
  if (!v) return Fail(fmt::format("invalid value {}", Quote(value)));
  value_ = *v;

  if (!om) {
    c.SkipBlanks();
    if (!c.AtEnd()) {
      std::string_view ts = c.Token();
      std::optional<int64_t> t = ParseExpositionInt(ts);
      if (!t) return Fail(fmt::format("invalid timestamp {}", Quote(ts)));
      timestamp_ = t;
      c.SkipBlanks();
      if (!c.AtEnd()) {
        return Fail(fmt::format("unexpected {} after timestamp", Quote(c.Rest())));
      }
    }
  } else if (!c.AtEnd()) {
    if (!c.Consume(' ')) return Fail(fmt::format("unexpected {} after value", Quote(c.Rest())));
    if (c.Peek() != '#') {
      std::string_view ts = c.Token();
      std::optional<double> secs = ParseExpositionFloat(ts);
      std::optional<int64_t> ms = secs ? SecondsToMillis(*secs) : std::nullopt;
      if (!ms) return Fail(fmt::format("invalid timestamp {}", Quote(ts)));
      timestamp_ = ms;
      if (!c.AtEnd() && !(c.Consume(' ') && c.Peek() == '#')) {
        return Fail(fmt::format("unexpected {} after timestamp", Quote(c.Rest())));
      }
    }
    if (!c.AtEnd() && !ParseExemplar(c)) return Entry::kError;
  }

  if (!BindToFamily()) return Entry::kError;
  family_has_samples_ = true;
  return Entry::kSeries;
}

bool ExpositionParser::ParseLabels(LineCursor& c, std::vector<LabelRef>* out) {
  std::string_view line = c.line();
  c.Consume('{');
  for (;;) {
    c.SkipBlanks();
    if (c.Consume('}')) return true;
    if (c.AtEnd()) return Reject("unexpected end of line in label set");
    size_t start = c.pos();
    if (!Is(c.Peek(), kLabelStart)) {
      size_t end = line.find_first_of("=,} \t\"", start + 1);
      return Reject(fmt::format(
          "expected label name, got {}",
          Quote(line.substr(
              start, end == std::string_view::npos ? std::string_view::npos : end - start))));
    }
    size_t i = start + 1;
    while (i < line.size() && Is(line[i], kLabelChar)) ++i;
    c.set_pos(i);
    std::string_view name = line.substr(start, i - start);
    c.SkipBlanks();
    if (!c.Consume('=')) {
      return Reject(fmt::format("expected '=' after label name {}", Quote(name)));
    }
    c.SkipBlanks();
    if (!c.Consume('"')) {
      return Reject(fmt::format("expected quoted label value for {}", Quote(name)));
    }
    // Find the closing quote. The common value has no backslash: two memchr calls and a
    // word-at-a-time ASCII check. With a backslash, walk byte by byte so \" is skipped.
    size_t vstart = c.pos();
    const char* base = line.data();
    const auto* quote =
        static_cast<const char*>(std::memchr(base + vstart, '"', line.size() - vstart));
    bool escaped =
        quote == nullptr ||
        std::memchr(base + vstart, '\\', static_cast<size_t>(quote - base) - vstart) != nullptr;
    size_t j;
    bool non_ascii;
    if (!escaped) {
      j = static_cast<size_t>(quote - base);
      non_ascii = HasNonAscii(line.substr(vstart, j - vstart));
    } else {
      unsigned char high = 0;
      for (j = vstart; j < line.size(); ++j) {
        auto ch = static_cast<unsigned char>(line[j]);
        high |= ch;
        if (ch == '"') break;
        if (ch == '\\') {
          // The escaped byte is skipped, but it must still count toward UTF-8 validation.
          if (++j < line.size()) high |= static_cast<unsigned char>(line[j]);
        }
      }
      non_ascii = (high & 0x80) != 0;
    }
    if (j >= line.size()) return Reject(fmt::format("unterminated value of label {}", Quote(name)));
    std::string_view raw = line.substr(vstart, j - vstart);
    c.set_pos(j + 1);
    if (non_ascii && !IsValidUtf8(raw)) {
      return Reject(fmt::format("invalid UTF-8 in value of label {}", Quote(name)));
    }
    if (name == "__name__") {
      return Reject("label name \"__name__\" not allowed in a label set");
    }
    for (const LabelRef& prev : *out) {
      if (prev.name == name) {
        return Reject(fmt::format("duplicate label name {}", Quote(name)));
      }
    }
    LabelRef ref{name, raw, 0, 0, false};
    if (escaped) {
      ref.scratch_off = scratch_.size();
      Unescape(raw, true, &scratch_);
      ref.scratch_len = scratch_.size() - ref.scratch_off;
      ref.in_scratch = true;
    }
    out->push_back(ref);
    c.SkipBlanks();
    if (c.AtEnd()) return Reject("unexpected end of line in label set");
    if (c.Consume(',')) continue;
    if (c.Consume('}')) return true;
    return Reject(fmt::format("expected ',' or '}}' after value of label {}", Quote(name)));
  }
}

bool ExpositionParser::ParseExemplar(LineCursor& c) {
  // At "# {labels} value [timestamp]".
  if (!(c.Consume('#') && c.Consume(' ') && c.Peek() == '{')) {
    return Reject(fmt::format("invalid exemplar {}", Quote(c.Rest())));
  }
  if (!ParseLabels(c, &exemplar_labels_)) return false;
  size_t length = 0;
  for (const LabelRef& l : exemplar_labels_) length += CodePoints(l.name) + CodePoints(Resolve(l));
  if (length > 128) {
    return Reject(fmt::format("exemplar labels have {} characters, more than 128", length));
  }
  if (!c.Consume(' ')) return Reject("expected value after exemplar labels");
  std::string_view value = c.Token();
  if (!ParseExpositionFloat(value)) {
    return Reject(fmt::format("invalid exemplar value {}", Quote(value)));
  }
  if (c.Consume(' ')) {
    std::string_view ts = c.Token();
    std::optional<double> secs = ParseExpositionFloat(ts);
    if (!secs || !SecondsToMillis(*secs)) {
      return Reject(fmt::format("invalid exemplar timestamp {}", Quote(ts)));
    }
  }
  if (!c.AtEnd()) {
    return Reject(fmt::format("unexpected {} after exemplar", Quote(c.Rest())));
  }
  has_exemplar_ = true;
  return true;
}

size_t ExpositionParser::FindLabel(std::string_view name) const {
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i].name == name) return i;
  }
  return labels_.size();
}

bool ExpositionParser::CanonicalizeFloatLabel(size_t i) {
  LabelRef& l = labels_[i];
  std::string_view v = Resolve(l);
  std::optional<double> f = ParseExpositionFloat(v);
  if (!f) {
    return Reject(fmt::format("invalid {} label value {}", l.name, Quote(v)));
  }
  size_t off = scratch_.size();
  AppendCanonicalFloat(*f, &scratch_);
  // Reading v again: the append may have moved scratch_, so re-resolve.
  if (std::string_view(scratch_).substr(off) == Resolve(l)) {
    scratch_.resize(off);
    return true;
  }
  l.scratch_off = off;
  l.scratch_len = scratch_.size() - off;
  l.in_scratch = true;
  return true;
}

bool ExpositionParser::BindToFamily() {
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  std::string_view name = metric_name_;
  std::string_view suffix;
  bool member = false;
  if (!family_.empty() && name.starts_with(family_)) {
    std::string_view rest = name.substr(family_.size());
    for (std::string_view s : kSuffixes) {
      if (rest.empty() || rest == s) {
        member = true;
        suffix = rest;
        break;
      }
    }
  }
  if (member) {
    if (om) {
      if (!SuffixAllowed(family_type_, suffix)) {
        bool strict = family_type_ != MetricType::kGauge && family_type_ != MetricType::kUnknown &&
                      family_type_ != MetricType::kStateSet;
        if (strict) {
          return Reject(fmt::format("{} sample {} must have {} after the family name {}",
                                    MetricTypeName(family_type_), Quote(name),
                                    ExpectedSuffixes(family_type_), Quote(family_)));
        }
        member = false;
      }
    } else {
      // 0.0.4 has no suffix rules; only histograms and summaries own suffixed samples.
      bool owns =
          (family_type_ == MetricType::kHistogram &&
           (suffix == "_bucket" || suffix == "_count" || suffix == "_sum")) ||
          (family_type_ == MetricType::kSummary && (suffix == "_count" || suffix == "_sum"));
      member = suffix.empty() || owns;
    }
  }
  if (!member) {
    family_ = name;
    family_type_ = MetricType::kUnknown;
    family_has_type_ = family_has_help_ = family_has_unit_ = family_has_samples_ = false;
    suffix = {};
  }

  const MetricType t = family_type_;
  is_created_ =
      om && suffix == "_created" &&
      (t == MetricType::kCounter || t == MetricType::kHistogram || t == MetricType::kSummary);
  std::string_view special;
  if ((t == MetricType::kHistogram || t == MetricType::kGaugeHistogram) && suffix == "_bucket") {
    special = "le";
  } else if (t == MetricType::kSummary && suffix.empty()) {
    special = "quantile";
  }
  if (!special.empty()) {
    size_t i = FindLabel(special);
    if (i < labels_.size()) return CanonicalizeFloatLabel(i);
    if (om) {
      return Reject(
          fmt::format("{} sample {} has no \"{}\" label", MetricTypeName(t), Quote(name), special));
    }
  }
  if (om && t == MetricType::kStateSet && FindLabel(family_) == labels_.size()) {
    return Reject(
        fmt::format("stateset sample {} has no label named after the family", Quote(name)));
  }
  return true;
}

ExpositionFormat DetectFormat(std::string_view content_type) {
  constexpr std::string_view kOm = "application/openmetrics-text";
  size_t start = content_type.find_first_not_of(" \t");
  if (start == std::string_view::npos) return ExpositionFormat::kPrometheusText;
  std::string_view media = content_type.substr(start);
  media = media.substr(0, media.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  if (media.size() != kOm.size()) return ExpositionFormat::kPrometheusText;
  for (size_t i = 0; i < kOm.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kOm[i]) return ExpositionFormat::kPrometheusText;
  }
  return ExpositionFormat::kOpenMetrics;
}

}  // namespace zw::ingest
