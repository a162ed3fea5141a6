#include "ingest/exposition_parser.h"

#include <zlib.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/exposition_number.h"

// Counts heap allocations, so a test can show that parsing allocates nothing per sample.
namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// GCC pairs the malloc in operator new with the free here and, once both are inlined into
// gtest's code, wrongly reports a new/free mismatch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace zw::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kText = ExpositionFormat::kPrometheusText;
constexpr auto kOm = ExpositionFormat::kOpenMetrics;

// One line per entry: "name{a=\"b\"} 1 @5 #ex created", "TYPE n counter", "HELP n text",
// "UNIT n u", "COMMENT text", "EOF", "ERROR <message>".
std::vector<std::string> Parse(std::string_view body, ExpositionFormat format) {
  auto p = ExpositionParser::New(body, format);
  std::vector<std::string> out;
  for (;;) {
    Entry e = p->Next();
    switch (e) {
      case Entry::kSeries: {
        std::string s(p->MetricName());
        if (p->NumLabels() > 0) {
          s += '{';
          p->ForEachLabel([&](std::string_view n, std::string_view v) {
            if (s.back() != '{') s += ',';
            s += fmt::format("{}=\"{}\"", n, v);
          });
          s += '}';
        }
        s += fmt::format(" {}", p->Value());
        if (p->Timestamp()) s += fmt::format(" @{}", *p->Timestamp());
        if (p->HasExemplar()) s += " #ex";
        if (p->IsCreatedSeries()) s += " created";
        out.push_back(s);
        break;
      }
      case Entry::kType:
        out.push_back(fmt::format("TYPE {} {}", p->FamilyName(), MetricTypeName(p->FamilyType())));
        break;
      case Entry::kHelp:
        out.push_back(fmt::format("HELP {} {}", p->FamilyName(), p->Text()));
        break;
      case Entry::kUnit:
        out.push_back(fmt::format("UNIT {} {}", p->FamilyName(), p->Text()));
        break;
      case Entry::kComment:
        out.push_back(fmt::format("COMMENT {}", p->Text()));
        break;
      case Entry::kEof:
        out.push_back("EOF");
        break;
      case Entry::kEnd:
        return out;
      case Entry::kError:
        EXPECT_EQ(p->Err().code(), StatusCode::kInvalidArgument);
        out.push_back("ERROR " + p->Err().message());
        EXPECT_EQ(p->Next(), Entry::kError);  // sticky
        return out;
    }
  }
}

// The error message of parsing `body`, or "" when it parses.
std::string Err(std::string_view body, ExpositionFormat format) {
  auto entries = Parse(body, format);
  if (entries.empty() || !entries.back().starts_with("ERROR ")) return "";
  return entries.back().substr(6);
}

// ---------------------------------------------------------------- Prometheus text 0.0.4

TEST(ExpositionTextTest, SimpleSeries) {
  EXPECT_THAT(Parse("a 1\nb{x=\"y\"} 2.5\n", kText), ElementsAre("a 1", "b{x=\"y\"} 2.5"));
}

TEST(ExpositionTextTest, HelpAndType) {
  EXPECT_THAT(Parse("# HELP foo The foo.\n# TYPE foo counter\nfoo 3\n", kText),
              ElementsAre("HELP foo The foo.", "TYPE foo counter", "foo 3"));
}

TEST(ExpositionTextTest, UntypedIsUnknown) {
  EXPECT_THAT(Parse("# TYPE foo untyped\n", kText), ElementsAre("TYPE foo unknown"));
}

TEST(ExpositionTextTest, InvalidType) {
  EXPECT_EQ(Err("# TYPE foo info\n", kText), "line 1: invalid metric type \"info\"");
  EXPECT_EQ(Err("# TYPE foo\n", kText), "line 1: invalid metric type \"\"");
}

TEST(ExpositionTextTest, HelpEscapes) {
  EXPECT_THAT(Parse("# HELP m a\\\\b\\nc \\\" \\t\n", kText),
              ElementsAre("HELP m a\\b\nc \\\" \\t"));
}

TEST(ExpositionTextTest, EmptyHelp) {
  EXPECT_THAT(Parse("# HELP m\n", kText), ElementsAre("HELP m "));
}

TEST(ExpositionTextTest, MetadataNeedsName) {
  EXPECT_EQ(Err("# HELP \n", kText), "line 1: expected metric name after HELP");
  EXPECT_EQ(Err("# TYPE 9x counter\n", kText), "line 1: invalid metric name \"9x\"");
}

TEST(ExpositionTextTest, Comments) {
  EXPECT_THAT(Parse("# hello\n#HELPER x\n#\na 1\n", kText),
              ElementsAre("COMMENT  hello", "COMMENT HELPER x", "COMMENT ", "a 1"));
}

TEST(ExpositionTextTest, BlankLinesAndBlanks) {
  EXPECT_THAT(Parse("\n  \n\ta \t 1  \t 5 \n\n", kText), ElementsAre("a 1 @5"));
}

TEST(ExpositionTextTest, BlanksInsideLabels) {
  EXPECT_THAT(Parse("a { x = \"1\" , y=\"2\" , } 3\n", kText), ElementsAre("a{x=\"1\",y=\"2\"} 3"));
}

TEST(ExpositionTextTest, NoBlankNeededAfterBrace) {
  EXPECT_THAT(Parse("a{x=\"1\"}3\n", kText), ElementsAre("a{x=\"1\"} 3"));
}

TEST(ExpositionTextTest, LastLineWithoutNewline) {
  EXPECT_THAT(Parse("a 1\nb 2", kText), ElementsAre("a 1", "b 2"));
}

TEST(ExpositionTextTest, EmptyBody) { EXPECT_TRUE(Parse("", kText).empty()); }

TEST(ExpositionTextTest, CrlfRejected) {
  EXPECT_THAT(Err("a 1\r\n", kText), HasSubstr("line 1: carriage return"));
}

TEST(ExpositionTextTest, Timestamps) {
  EXPECT_THAT(Parse("a 1 1700000000123\nb 1 -5\nc 1 +7\n", kText),
              ElementsAre("a 1 @1700000000123", "b 1 @-5", "c 1 @7"));
}

TEST(ExpositionTextTest, BadTimestamps) {
  EXPECT_EQ(Err("a 1 1.5\n", kText), "line 1: invalid timestamp \"1.5\"");
  EXPECT_EQ(Err("a 1 99999999999999999999\n", kText),
            "line 1: invalid timestamp \"99999999999999999999\"");
  EXPECT_EQ(Err("a 1 2 3\n", kText), "line 1: unexpected \"3\" after timestamp");
}

TEST(ExpositionTextTest, SpecialFloats) {
  EXPECT_THAT(Parse("a +Inf\nb -Inf\nc NaN\nd inf\ne -infinity\nf nan\n", kText),
              ElementsAre("a inf", "b -inf", "c nan", "d inf", "e -inf", "f nan"));
}

TEST(ExpositionTextTest, FloatSyntax) {
  EXPECT_THAT(Parse("a 1e3\nb -2.5E-1\nc .5\nd 5.\ne +3\nf 1e-400\n", kText),
              ElementsAre("a 1000", "b -0.25", "c 0.5", "d 5", "e 3", "f 0"));
}

TEST(ExpositionTextTest, BadFloats) {
  EXPECT_EQ(Err("a 0x1p-3\n", kText), "line 1: invalid value \"0x1p-3\"");
  EXPECT_EQ(Err("a 1_000\n", kText), "line 1: invalid value \"1_000\"");
  EXPECT_EQ(Err("a true\n", kText), "line 1: invalid value \"true\"");
  EXPECT_EQ(Err("a 1e400\n", kText), "line 1: invalid value \"1e400\"");
  EXPECT_EQ(Err("a -nan\n", kText), "line 1: invalid value \"-nan\"");
  EXPECT_EQ(Err("a nan(1)\n", kText), "line 1: invalid value \"nan(1)\"");
  EXPECT_EQ(Err("a 1e\n", kText), "line 1: invalid value \"1e\"");
}

TEST(ExpositionTextTest, MissingValue) {
  EXPECT_EQ(Err("a\n", kText), "line 1: expected value after metric");
  EXPECT_EQ(Err("a{b=\"c\"}  \n", kText), "line 1: expected value after metric");
}

TEST(ExpositionTextTest, InvalidMetricName) {
  EXPECT_EQ(Err("a 1\n\n9x 1\n", kText), "line 3: invalid metric name \"9x\"");
  EXPECT_EQ(Err("a-b 1\n", kText), "line 1: invalid metric name \"a-b\"");
}

TEST(ExpositionTextTest, ColonsInMetricName) {
  EXPECT_THAT(Parse("job:rate:5m 1\n", kText), ElementsAre("job:rate:5m 1"));
}

TEST(ExpositionTextTest, MetricNameNotSet) {
  EXPECT_EQ(Err("{a=\"b\"} 1\n", kText), "line 1: metric name not set");
}

TEST(ExpositionTextTest, InvalidLabelName) {
  EXPECT_EQ(Err("a{9=\"b\"} 1\n", kText), "line 1: expected label name, got \"9\"");
  EXPECT_EQ(Err("a{a:b=\"c\"} 1\n", kText), "line 1: expected '=' after label name \"a\"");
  EXPECT_EQ(Err("a{=\"b\"} 1\n", kText), "line 1: expected label name, got \"=\"");
}

TEST(ExpositionTextTest, LabelValueMustBeQuoted) {
  EXPECT_EQ(Err("a{b='c'} 1\n", kText), "line 1: expected quoted label value for \"b\"");
}

TEST(ExpositionTextTest, UnterminatedLabelValue) {
  EXPECT_EQ(Err("a{b=\"c} 1\n", kText), "line 1: unterminated value of label \"b\"");
  EXPECT_EQ(Err("a{b=\"c\\\"} 1\n", kText), "line 1: unterminated value of label \"b\"");
  EXPECT_EQ(Err("a{b=\"c\"", kText), "line 1: unexpected end of line in label set");
}

TEST(ExpositionTextTest, LabelValueEscapes) {
  EXPECT_THAT(Parse(R"(a{b="x\\y\"z\nw\t"} 1)", kText), ElementsAre("a{b=\"x\\y\"z\nw\\t\"} 1"));
}

TEST(ExpositionTextTest, LabelValueUtf8) {
  EXPECT_THAT(Parse("a{b=\"h\xc3\xa9\"} 1\n", kText), ElementsAre("a{b=\"h\xc3\xa9\"} 1"));
  EXPECT_EQ(Err("a{b=\"\xff\"} 1\n", kText), "line 1: invalid UTF-8 in value of label \"b\"");
  EXPECT_EQ(Err("a{b=\"x\\\x9c\"} 1\n", kText), "line 1: invalid UTF-8 in value of label \"b\"");
}

TEST(ExpositionTextTest, DuplicateLabel) {
  EXPECT_EQ(Err("a{b=\"1\",c=\"2\",b=\"3\"} 1\n", kText), "line 1: duplicate label name \"b\"");
}

TEST(ExpositionTextTest, NameLabelRejected) {
  EXPECT_THAT(Err("a{__name__=\"b\"} 1\n", kText), HasSubstr("__name__"));
}

TEST(ExpositionTextTest, EmptyLabelSet) {
  EXPECT_THAT(Parse("a{} 1\n", kText), ElementsAre("a 1"));
}

TEST(ExpositionTextTest, TrailingComma) {
  EXPECT_THAT(Parse("a{b=\"c\",} 1\n", kText), ElementsAre("a{b=\"c\"} 1"));
  EXPECT_EQ(Err("a{,} 1\n", kText), "line 1: expected label name, got \",\"");
  EXPECT_EQ(Err("a{b=\"c\",,} 1\n", kText), "line 1: expected label name, got \",\"");
}

TEST(ExpositionTextTest, MissingComma) {
  EXPECT_EQ(Err("a{b=\"c\" d=\"e\"} 1\n", kText),
            "line 1: expected ',' or '}' after value of label \"b\"");
}

TEST(ExpositionTextTest, LabelsInInputOrder) {
  EXPECT_THAT(Parse("a{z=\"1\",a=\"2\"} 1\n", kText), ElementsAre("a{z=\"1\",a=\"2\"} 1"));
}

TEST(ExpositionTextTest, HistogramLeCanonical) {
  EXPECT_THAT(Parse("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"0.50\"} 1\n"
                    "h_bucket{le=\"+inf\"} 2\nh_sum 3\nh_count 2\n",
                    kText),
              ElementsAre("TYPE h histogram", "h_bucket{le=\"1.0\"} 1", "h_bucket{le=\"0.5\"} 1",
                          "h_bucket{le=\"+Inf\"} 2", "h_sum 3", "h_count 2"));
}

TEST(ExpositionTextTest, SummaryQuantileCanonical) {
  EXPECT_THAT(Parse("# TYPE s summary\ns{quantile=\"0\"} 1\ns{quantile=\"1e-1\"} 1\n", kText),
              ElementsAre("TYPE s summary", "s{quantile=\"0.0\"} 1", "s{quantile=\"0.1\"} 1"));
}

TEST(ExpositionTextTest, LeNotFloat) {
  EXPECT_EQ(Err("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", kText),
            "line 2: invalid le label value \"x\"");
}

TEST(ExpositionTextTest, LeOnGaugeUntouched) {
  EXPECT_THAT(Parse("g{le=\"1\"} 1\n", kText), ElementsAre("g{le=\"1\"} 1"));
}

TEST(ExpositionTextTest, ExemplarNotAllowed) {
  EXPECT_EQ(Err("a_total 1 # {x=\"y\"} 1\n", kText), "line 1: invalid timestamp \"#\"");
}

TEST(ExpositionTextTest, FamilyOfSeries) {
  auto p = ExpositionParser::New("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nother 1\n", kText);
  ASSERT_EQ(p->Next(), Entry::kType);
  ASSERT_EQ(p->Next(), Entry::kSeries);
  EXPECT_EQ(p->FamilyName(), "h");
  EXPECT_EQ(p->FamilyType(), MetricType::kHistogram);
  EXPECT_EQ(p->Line(), 2u);
  ASSERT_EQ(p->Next(), Entry::kSeries);
  EXPECT_EQ(p->FamilyName(), "other");
  EXPECT_EQ(p->FamilyType(), MetricType::kUnknown);
  EXPECT_EQ(p->Next(), Entry::kEnd);
  EXPECT_EQ(p->Next(), Entry::kEnd);
}

TEST(ExpositionTextTest, HugeLine) {
  std::string value(1 << 20, 'v');
  std::string body = "a{b=\"" + value + "\"} 1\n";
  auto p = ExpositionParser::New(body, kText);
  ASSERT_EQ(p->Next(), Entry::kSeries);
  EXPECT_EQ(p->Label(0).value.size(), value.size());
}

TEST(ExpositionTextTest, ManyLabels) {
  std::string body = "a{";
  for (int i = 0; i < 200; ++i) body += fmt::format("l{}=\"{}\",", i, i);
  body += "} 1\n";
  auto p = ExpositionParser::New(body, kText);
  ASSERT_EQ(p->Next(), Entry::kSeries);
  EXPECT_EQ(p->NumLabels(), 200u);
}

TEST(ExpositionTextTest, NulByteInLabelValue) {
  std::string body("a{b=\"x\0y\"} 1\n", 14);
  auto p = ExpositionParser::New(body, kText);
  ASSERT_EQ(p->Next(), Entry::kSeries);
  EXPECT_EQ(p->Label(0).value, std::string_view("x\0y", 3));
}

// ------------------------------------------------------------------------ OpenMetrics 1.0

TEST(ExpositionOmTest, Minimal) {
  EXPECT_THAT(Parse("# EOF\n", kOm), ElementsAre("EOF"));
  EXPECT_THAT(Parse("# EOF", kOm), ElementsAre("EOF"));
}

TEST(ExpositionOmTest, FullFamily) {
  EXPECT_THAT(
      Parse("# TYPE foo_seconds counter\n# UNIT foo_seconds seconds\n# HELP foo_seconds Time.\n"
            "foo_seconds_total{a=\"b\"} 3 1700000000.5\nfoo_seconds_created 1700000000\n# EOF\n",
            kOm),
      ElementsAre("TYPE foo_seconds counter", "UNIT foo_seconds seconds", "HELP foo_seconds Time.",
                  "foo_seconds_total{a=\"b\"} 3 @1700000000500",
                  "foo_seconds_created 1700000000 created", "EOF"));
}

TEST(ExpositionOmTest, EofMissing) {
  EXPECT_EQ(Err("a 1\n", kOm), "line 2: data does not end with # EOF");
  EXPECT_EQ(Err("", kOm), "line 1: data does not end with # EOF");
  EXPECT_EQ(Err("a 1", kOm), "line 1: data does not end with # EOF");
}

TEST(ExpositionOmTest, DataAfterEof) {
  EXPECT_EQ(Err("# EOF\na 1\n", kOm), "line 2: unexpected data after # EOF");
  EXPECT_EQ(Err("# EOF\n\n", kOm), "line 2: unexpected data after # EOF");
  EXPECT_EQ(Err("# EOFa 1\n# EOF\n", kOm), "line 1: unexpected data after # EOF");
}

TEST(ExpositionOmTest, NoBlankLines) {
  EXPECT_EQ(Err("a 1\n\n# EOF\n", kOm), "line 2: unexpected empty line");
}

TEST(ExpositionOmTest, NoTabsOrExtraSpaces) {
  EXPECT_EQ(Err("a\t1\n# EOF\n", kOm), "line 1: expected value after metric");
  EXPECT_EQ(Err("a  1\n# EOF\n", kOm), "line 1: expected value after metric");
  EXPECT_EQ(Err("a 1 \n# EOF\n", kOm), "line 1: invalid timestamp \"\"");
  EXPECT_EQ(Err(" a 1\n# EOF\n", kOm), "line 1: invalid metric name \"\"");
  EXPECT_EQ(Err("a{b=\"c\"}1\n# EOF\n", kOm), "line 1: expected value after metric");
  EXPECT_EQ(Err("a{ b=\"c\"} 1\n# EOF\n", kOm), "line 1: expected label name, got \" b\"");
}

TEST(ExpositionOmTest, OnlyMetadataComments) {
  EXPECT_THAT(Err("# hello\n# EOF\n", kOm), HasSubstr("line 1: invalid comment"));
  EXPECT_THAT(Err("#  TYPE c counter\n# EOF\n", kOm), HasSubstr("line 1: invalid comment"));
}

TEST(ExpositionOmTest, MetadataNeedsText) {
  EXPECT_EQ(Err("# HELP m\n# EOF\n", kOm), "line 1: expected text in HELP");
  EXPECT_EQ(Err("# TYPE m\n# EOF\n", kOm), "line 1: expected text in TYPE");
  EXPECT_EQ(Err("# UNIT m\n# EOF\n", kOm), "line 1: expected text in UNIT");
  EXPECT_THAT(Parse("# HELP m \n# UNIT m \n# EOF\n", kOm),
              ElementsAre("HELP m ", "UNIT m ", "EOF"));
}

TEST(ExpositionOmTest, Types) {
  EXPECT_THAT(Parse("# TYPE a gaugehistogram\n# TYPE b info\n# TYPE c stateset\n# TYPE d unknown\n"
                    "# EOF\n",
                    kOm),
              ElementsAre("TYPE a gaugehistogram", "TYPE b info", "TYPE c stateset",
                          "TYPE d unknown", "EOF"));
  EXPECT_EQ(Err("# TYPE u untyped\n# EOF\n", kOm), "line 1: invalid metric type \"untyped\"");
  EXPECT_EQ(Err("# TYPE c counter \n# EOF\n", kOm), "line 1: invalid metric type \"counter \"");
}

TEST(ExpositionOmTest, UnitMustBeSuffix) {
  EXPECT_EQ(Err("# UNIT metric suffix\n# EOF\n", kOm),
            "line 1: unit \"suffix\" not a suffix of metric \"metric\"");
  EXPECT_EQ(Err("# UNIT metricsuffix suffix\n# EOF\n", kOm),
            "line 1: unit \"suffix\" not a suffix of metric \"metricsuffix\"");
  EXPECT_EQ(Err("# UNIT a_b b-c\n# EOF\n", kOm), "line 1: invalid unit \"b-c\"");
}

TEST(ExpositionOmTest, HelpEscapes) {
  EXPECT_THAT(Parse("# HELP m a\\\\b\\nc\\\"d\\x\n# EOF\n", kOm),
              ElementsAre("HELP m a\\b\nc\"d\\x", "EOF"));
}

TEST(ExpositionOmTest, DuplicateMetadata) {
  EXPECT_EQ(Err("# TYPE a gauge\n# TYPE a gauge\n# EOF\n", kOm),
            "line 2: second TYPE for metric family \"a\"");
}

TEST(ExpositionOmTest, MetadataAfterSamples) {
  EXPECT_EQ(Err("# TYPE a gauge\na 1\n# HELP a x\n# EOF\n", kOm),
            "line 3: HELP for metric family \"a\" after its samples");
}

TEST(ExpositionOmTest, CounterSuffix) {
  EXPECT_EQ(Err("# TYPE foo counter\nfoo 1\n# EOF\n", kOm),
            "line 2: counter sample \"foo\" must have _total or _created after the family name "
            "\"foo\"");
  EXPECT_THAT(Err("# TYPE foo counter\nfoo_sum 1\n# EOF\n", kOm), HasSubstr("_total or _created"));
}

TEST(ExpositionOmTest, HistogramSuffixes) {
  EXPECT_THAT(Parse("# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1\n"
                    "h_count 1\nh_sum 2\nh_created 3\n# EOF\n",
                    kOm),
              ElementsAre("TYPE h histogram", "h_bucket{le=\"1.0\"} 0", "h_bucket{le=\"+Inf\"} 1",
                          "h_count 1", "h_sum 2", "h_created 3 created", "EOF"));
  EXPECT_THAT(Err("# TYPE h histogram\nh_total 1\n# EOF\n", kOm), HasSubstr("histogram sample"));
}

TEST(ExpositionOmTest, BucketNeedsLe) {
  EXPECT_EQ(Err("# TYPE h histogram\nh_bucket 1\n# EOF\n", kOm),
            "line 2: histogram sample \"h_bucket\" has no \"le\" label");
}

TEST(ExpositionOmTest, SummaryNeedsQuantile) {
  EXPECT_EQ(Err("# TYPE s summary\ns 1\n# EOF\n", kOm),
            "line 2: summary sample \"s\" has no \"quantile\" label");
  EXPECT_THAT(Parse("# TYPE s summary\ns{quantile=\"0.99\"} 1\ns_count 1\n# EOF\n", kOm),
              ElementsAre("TYPE s summary", "s{quantile=\"0.99\"} 1", "s_count 1", "EOF"));
}

TEST(ExpositionOmTest, GaugeHistogram) {
  EXPECT_THAT(
      Parse("# TYPE g gaugehistogram\ng_bucket{le=\"2\"} 1\ng_gcount 1\ng_gsum 1\n# EOF\n", kOm),
      ElementsAre("TYPE g gaugehistogram", "g_bucket{le=\"2.0\"} 1", "g_gcount 1", "g_gsum 1",
                  "EOF"));
  EXPECT_THAT(Err("# TYPE g gaugehistogram\ng_created 1\n# EOF\n", kOm),
              HasSubstr("gaugehistogram sample"));
}

TEST(ExpositionOmTest, InfoAndStateset) {
  EXPECT_THAT(
      Parse("# TYPE b info\nb_info{v=\"1\"} 1\n# TYPE s stateset\ns{s=\"a\"} 1\n# EOF\n", kOm),
      ElementsAre("TYPE b info", "b_info{v=\"1\"} 1", "TYPE s stateset", "s{s=\"a\"} 1", "EOF"));
  EXPECT_THAT(Err("# TYPE b info\nb 1\n# EOF\n", kOm), HasSubstr("must have _info"));
  EXPECT_THAT(Err("# TYPE s stateset\ns{x=\"a\"} 1\n# EOF\n", kOm),
              HasSubstr("has no label named after the family"));
}

TEST(ExpositionOmTest, CreatedOnlyForCountersHistogramsSummaries) {
  EXPECT_THAT(Parse("# TYPE fizz_created gauge\nfizz_created 17\n# EOF\n", kOm),
              ElementsAre("TYPE fizz_created gauge", "fizz_created 17", "EOF"));
}

TEST(ExpositionOmTest, UntypedSampleStartsFamily) {
  auto p = ExpositionParser::New("# TYPE a gauge\na 1\nb_total 2\n# EOF\n", kOm);
  ASSERT_EQ(p->Next(), Entry::kType);
  ASSERT_EQ(p->Next(), Entry::kSeries);
  ASSERT_EQ(p->Next(), Entry::kSeries);
  EXPECT_EQ(p->FamilyName(), "b_total");
  EXPECT_EQ(p->FamilyType(), MetricType::kUnknown);
  EXPECT_EQ(p->Next(), Entry::kEof);
  EXPECT_EQ(p->Next(), Entry::kEnd);
}

TEST(ExpositionOmTest, FloatTimestamps) {
  EXPECT_THAT(Parse("a 1 1.001\nb 1 -1.5\nc 1 1e3\n# EOF\n", kOm),
              ElementsAre("a 1 @1001", "b 1 @-1500", "c 1 @1000000", "EOF"));
  EXPECT_EQ(Err("a 1 NaN\n# EOF\n", kOm), "line 1: invalid timestamp \"NaN\"");
  EXPECT_EQ(Err("a 1 1e300\n# EOF\n", kOm), "line 1: invalid timestamp \"1e300\"");
  EXPECT_EQ(Err("a 1 2 3\n# EOF\n", kOm), "line 1: unexpected \"3\" after timestamp");
}

TEST(ExpositionOmTest, Exemplars) {
  EXPECT_THAT(
      Parse("# TYPE c counter\nc_total 1 # {id=\"x\"} 4\nc_total{a=\"b\"} 1 2 # {} 4 "
            "1.5\n# EOF\n",
            kOm),
      ElementsAre("TYPE c counter", "c_total 1 #ex", "c_total{a=\"b\"} 1 @2000 #ex", "EOF"));
}

TEST(ExpositionOmTest, BadExemplars) {
  EXPECT_EQ(Err("c_total 1 # {aa=bb}\n# EOF\n", kOm),
            "line 1: expected quoted label value for \"aa\"");
  EXPECT_EQ(Err("c_total 1 # {aa=\"bb\"}\n# EOF\n", kOm),
            "line 1: expected value after exemplar labels");
  EXPECT_EQ(Err("c_total 1 # {aa=\"bb\"} 0x1p-3\n# EOF\n", kOm),
            "line 1: invalid exemplar value \"0x1p-3\"");
  EXPECT_EQ(Err("c_total 1 # {aa=\"bb\"} 1 x\n# EOF\n", kOm),
            "line 1: invalid exemplar timestamp \"x\"");
  EXPECT_EQ(Err("c_total 1 # {a=\"1\",a=\"2\"} 1\n# EOF\n", kOm),
            "line 1: duplicate label name \"a\"");
  EXPECT_THAT(Err("c_total 1 #{a=\"1\"} 1\n# EOF\n", kOm), HasSubstr("invalid exemplar"));
  EXPECT_EQ(Err("c_total 1 # {a=\"1\"} 1 1 1\n# EOF\n", kOm),
            "line 1: unexpected \" 1\" after exemplar");
}

TEST(ExpositionOmTest, ExemplarTooLong) {
  std::string long_value(125, 'x');
  EXPECT_THAT(Parse("c_total 1 # {id=\"" + long_value + "\"} 1\n# EOF\n", kOm),
              ElementsAre("c_total 1 #ex", "EOF"));
  EXPECT_EQ(Err("c_total 1 # {id=\"xx" + long_value + "\"} 1\n# EOF\n", kOm),
            "line 1: exemplar labels have 129 characters, more than 128");
}

TEST(ExpositionOmTest, HexAndUnderscoreRejected) {
  EXPECT_EQ(Err("foo 0x1p-3\n# EOF\n", kOm), "line 1: invalid value \"0x1p-3\"");
  EXPECT_EQ(Err("foo 0 1_2\n# EOF\n", kOm), "line 1: invalid timestamp \"1_2\"");
}

TEST(ExpositionOmTest, CrlfRejected) {
  EXPECT_THAT(Err("a 1\r\n# EOF\n", kOm), HasSubstr("carriage return"));
}

// ------------------------------------------------------------------------ both formats

const char kValidText[] =
    "# HELP http_requests_total Requests.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{method=\"get\",code=\"200\"} 1027 1395066363000\n"
    "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
    "\n"
    "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find "
    "file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
    "# A comment\n"
    "metric_without_timestamp_and_labels 12.47\n"
    "# TYPE h histogram\n"
    "h_bucket{le=\"0.05\"} 24054\n"
    "h_bucket{le=\"+Inf\"} 144320\n"
    "h_sum 53423\n"
    "h_count 144320\n";

const char kValidOm[] =
    "# TYPE acme_http_router_request_seconds summary\n"
    "# UNIT acme_http_router_request_seconds seconds\n"
    "# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.\n"
    "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n"
    "acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n"
    "acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325.0\n"
    "# TYPE c counter\n"
    "c_total{a=\"\\\"q\\\"\"} 1 1.5 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1.4\n"
    "# TYPE h histogram\n"
    "h_bucket{le=\"0.5\"} 1\n"
    "h_bucket{le=\"+Inf\"} 2\n"
    "# EOF\n";

TEST(ExpositionBothTest, ValidBodiesParse) {
  EXPECT_EQ(Err(kValidText, kText), "");
  EXPECT_EQ(Parse(kValidText, kText).size(), 12u);
  EXPECT_EQ(Err(kValidOm, kOm), "");
  EXPECT_EQ(Parse(kValidOm, kOm).size(), 12u);
}

TEST(ExpositionBothTest, EscapedWindowsPath) {
  auto entries = Parse(kValidText, kText);
  EXPECT_EQ(entries[4],
            "msdos_file_access_time_seconds{path=\"C:\\DIR\\FILE.TXT\",error=\"Cannot find "
            "file:\n\"FILE.TXT\"\"} 1458255915");
}

// Every prefix of a valid body either parses as far as it goes or reports an error; none
// crashes (the ASan build makes "crash" include out-of-bounds reads).
TEST(ExpositionBothTest, TruncatedAtEveryOffset) {
  for (auto [body, format] :
       {std::pair<std::string_view, ExpositionFormat>{kValidText, kText}, {kValidOm, kOm}}) {
    for (size_t n = 0; n <= body.size(); ++n) {
      std::string copy(body.substr(0, n));  // exact-size heap buffer: overreads trip ASan
      auto p = ExpositionParser::New(copy, format);
      size_t entries = 0;
      Entry e;
      while ((e = p->Next()) != Entry::kEnd && e != Entry::kError) {
        ASSERT_LT(++entries, 100u);
        if (e == Entry::kSeries) p->ForEachLabel([](std::string_view, std::string_view) {});
      }
      if (e == Entry::kError) {
        EXPECT_THAT(p->Err().message(), HasSubstr("line "));
      }
      if (format == kOm && n < body.size() - 1) {
        EXPECT_EQ(e, Entry::kError) << n;
      }
    }
  }
}

TEST(ExpositionBothTest, DetectFormat) {
  EXPECT_EQ(DetectFormat("application/openmetrics-text; version=1.0.0; charset=utf-8"), kOm);
  EXPECT_EQ(DetectFormat(" Application/OpenMetrics-Text"), kOm);
  EXPECT_EQ(DetectFormat("text/plain; version=0.0.4"), kText);
  EXPECT_EQ(DetectFormat(""), kText);
}

TEST(ExpositionBothTest, NoAllocationPerSample) {
  for (auto format : {kText, kOm}) {
    std::string body = "# TYPE h histogram\n";
    for (int i = 0; i < 1000; ++i) {
      body +=
          fmt::format("h_bucket{{path=\"/a\\\\b\",code=\"{}\",le=\"{}\"}} {} 17\n", i, i % 10, i);
    }
    if (format == kOm) body += "# EOF\n";
    auto p = ExpositionParser::New(body, format);
    for (int i = 0; i < 3; ++i) ASSERT_NE(p->Next(), Entry::kError);  // warm-up
    size_t before = g_allocations.load();
    size_t series = 0;
    Entry e;
    while ((e = p->Next()) == Entry::kSeries) ++series;
    ASSERT_NE(e, Entry::kError) << p->Err().ToString();
    EXPECT_EQ(series, 998u);
    EXPECT_EQ(g_allocations.load(), before);
  }
}

// ------------------------------------------------------------------------ numbers

TEST(ExpositionNumberTest, CanonicalFloat) {
  auto canon = [](double v) {
    std::string s;
    AppendCanonicalFloat(v, &s);
    return s;
  };
  EXPECT_EQ(canon(1), "1.0");
  EXPECT_EQ(canon(0.25), "0.25");
  EXPECT_EQ(canon(1e21), "1e+21");
  EXPECT_EQ(canon(1e20), "100000000000000000000.0");
  EXPECT_EQ(canon(0.0001), "0.0001");
  EXPECT_EQ(canon(0.00001), "1e-05");
  EXPECT_EQ(canon(-0.0), "-0.0");
  EXPECT_EQ(canon(std::nan("")), "NaN");
  EXPECT_EQ(canon(-HUGE_VAL), "-Inf");
}

TEST(ExpositionNumberTest, SecondsToMillis) {
  EXPECT_EQ(SecondsToMillis(1.001), 1001);
  EXPECT_EQ(SecondsToMillis(-1.5), -1500);
  EXPECT_EQ(SecondsToMillis(0.0004), 0);
  EXPECT_EQ(SecondsToMillis(HUGE_VAL), std::nullopt);
  EXPECT_EQ(SecondsToMillis(1e17), std::nullopt);
}

// ------------------------------------------------------------------------ gzip

std::string Gzip(std::string_view data) {
  z_stream z{};
  EXPECT_EQ(
      deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(ExpositionGzipTest, RoundTrip) {
  std::string body;
  for (int i = 0; i < 5000; ++i) body += fmt::format("m{{i=\"{}\"}} {}\n", i, i);
  auto r = Gunzip(Gzip(body), 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, body);
}

TEST(ExpositionGzipTest, ConcatenatedMembers) {
  auto r = Gunzip(Gzip("a 1\n") + Gzip("b 2\n"), 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "a 1\nb 2\n");
}

TEST(ExpositionGzipTest, Empty) {
  auto r = Gunzip(Gzip(""), 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
}

TEST(ExpositionGzipTest, Oversize) {
  std::string body(100000, 'a');
  auto r = Gunzip(Gzip(body), 99999);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Gunzip(Gzip(body), 100000).ok());
}

TEST(ExpositionGzipTest, NotGzip) {
  EXPECT_EQ(Gunzip("a 1\n", 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Gunzip("", 100).status().code(), StatusCode::kInvalidArgument);
}

TEST(ExpositionGzipTest, Truncated) {
  std::string z = Gzip("hello world hello world\n");
  for (size_t n = 0; n < z.size(); ++n) {
    EXPECT_FALSE(Gunzip(z.substr(0, n), 100).ok()) << n;
  }
}

}  // namespace
}  // namespace zw::ingest
