#include "ingest/statsd_parser.h"

#include <gtest/gtest.h>

namespace zw::ingest {
namespace {

StatsdLine MustParse(std::string_view text) {
  StatsdLine line;
  Status st = ParseStatsdLine(text, line);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return line;
}

// The error message for a line that must be rejected.
std::string ErrorOf(std::string_view text) {
  StatsdLine line;
  Status st = ParseStatsdLine(text, line);
  EXPECT_FALSE(st.ok()) << text << " was accepted";
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  return st.message();
}

TEST(StatsdParser, Counter) {
  StatsdLine l = MustParse("api.requests:3|c");
  EXPECT_EQ(l.kind, StatsdLineKind::kMetric);
  EXPECT_EQ(l.name, "api.requests");
  EXPECT_EQ(l.type, StatsdType::kCounter);
  ASSERT_EQ(l.values.size(), 1u);
  EXPECT_EQ(l.values[0].v, 3);
  EXPECT_FALSE(l.values[0].relative);
  EXPECT_EQ(l.sample_rate, 1);
  EXPECT_TRUE(l.tags.empty());
}

TEST(StatsdParser, SampleRate) {
  StatsdLine l = MustParse("hits:1|c|@0.25");
  EXPECT_EQ(l.sample_rate, 0.25);
  EXPECT_EQ(MustParse("t:5|ms|@1").sample_rate, 1);
}

TEST(StatsdParser, GaugeAbsoluteAndRelative) {
  StatsdLine abs = MustParse("temp:21.5|g");
  EXPECT_EQ(abs.type, StatsdType::kGauge);
  EXPECT_EQ(abs.values[0].v, 21.5);
  EXPECT_FALSE(abs.values[0].relative);
  StatsdLine plus = MustParse("temp:+4|g");
  EXPECT_EQ(plus.values[0].v, 4);
  EXPECT_TRUE(plus.values[0].relative);
  StatsdLine minus = MustParse("temp:-1.5|g");
  EXPECT_EQ(minus.values[0].v, -1.5);
  EXPECT_TRUE(minus.values[0].relative);
}

TEST(StatsdParser, TimerHistogramDistributionSet) {
  EXPECT_EQ(MustParse("lat:12.5|ms").type, StatsdType::kTimer);
  EXPECT_EQ(MustParse("size:-3|h").type, StatsdType::kHistogram);  // histograms may be negative
  EXPECT_EQ(MustParse("size:1e3|d").type, StatsdType::kDistribution);
  StatsdLine s = MustParse("users:alice:42|s");
  EXPECT_EQ(s.type, StatsdType::kSet);
  EXPECT_EQ(s.set_value, "alice:42");  // a set value is any string, colons included
  EXPECT_TRUE(s.values.empty());
}

TEST(StatsdParser, SeveralValuesInOneLine) {
  StatsdLine l = MustParse("lat:1:2.5:3|h");
  ASSERT_EQ(l.values.size(), 3u);
  EXPECT_EQ(l.values[1].v, 2.5);
}

TEST(StatsdParser, DogStatsDTags) {
  StatsdLine l = MustParse("req:1|c|@0.5|#env:prod,region:eu-west:1,canary,,path:");
  EXPECT_EQ(l.sample_rate, 0.5);
  ASSERT_EQ(l.tags.size(), 4u);
  EXPECT_EQ(l.tags[0].name, "env");
  EXPECT_EQ(l.tags[0].value, "prod");
  EXPECT_EQ(l.tags[1].name, "region");
  EXPECT_EQ(l.tags[1].value, "eu-west:1");  // split at the first colon only
  EXPECT_EQ(l.tags[2].name, "canary");
  EXPECT_EQ(l.tags[2].value, "true");  // a tag without a value
  EXPECT_EQ(l.tags[3].name, "path");
  EXPECT_EQ(l.tags[3].value, "");  // an empty value: no label
}

TEST(StatsdParser, TagsBeforeRateAndTrailingCarriageReturn) {
  StatsdLine l = MustParse("req:1|c|#a:b|@0.1\r");
  EXPECT_EQ(l.sample_rate, 0.1);
  ASSERT_EQ(l.tags.size(), 1u);
  EXPECT_EQ(l.tags[0].value, "b");
}

TEST(StatsdParser, DogStatsDExtensionsAreSkipped) {
  StatsdLine l =
      MustParse("req:1|c|#a:b|c:83c0a99c0a54c0c187f461c7980e9b57|T1700000000|e:it-false");
  EXPECT_EQ(l.values[0].v, 1);
  ASSERT_EQ(l.tags.size(), 1u);
}

TEST(StatsdParser, EventsAndServiceChecksAreRecognised) {
  StatsdLine l;
  ASSERT_TRUE(ParseStatsdLine("_e{5,4}:title|text|#a:b", l).ok());
  EXPECT_EQ(l.kind, StatsdLineKind::kEvent);
  ASSERT_TRUE(ParseStatsdLine("_sc|db.up|0|#a:b", l).ok());
  EXPECT_EQ(l.kind, StatsdLineKind::kServiceCheck);
}

TEST(StatsdParser, MissingPieces) {
  EXPECT_NE(ErrorOf("novalue").find("no ':'"), std::string::npos);
  EXPECT_NE(ErrorOf("name|c").find("no ':'"), std::string::npos);
  EXPECT_NE(ErrorOf("name:1").find("no '|'"), std::string::npos);
  EXPECT_NE(ErrorOf(":1|c").find("empty name"), std::string::npos);
  EXPECT_NE(ErrorOf("name:|c").find("empty value"), std::string::npos);
  EXPECT_NE(ErrorOf("name:|s").find("empty set value"), std::string::npos);
  EXPECT_NE(ErrorOf("name:1:|h").find("empty value"), std::string::npos);
}

TEST(StatsdParser, UnknownType) {
  std::string e = ErrorOf("name:1|x");
  EXPECT_NE(e.find("unknown type \"x\""), std::string::npos) << e;
  EXPECT_NE(ErrorOf("name:1|").find("unknown type"), std::string::npos);
}

TEST(StatsdParser, BadValues) {
  EXPECT_NE(ErrorOf("name:abc|c").find("value \"abc\" is not a number"), std::string::npos);
  EXPECT_NE(ErrorOf("name:1.5x|g").find("not a number"), std::string::npos);
  EXPECT_NE(ErrorOf("name:+-1|g").find("not a number"), std::string::npos);
  EXPECT_NE(ErrorOf("name: 1|g").find("not a number"), std::string::npos);
  EXPECT_NE(ErrorOf("name:nan|g").find("not finite"), std::string::npos);
  EXPECT_NE(ErrorOf("name:inf|h").find("not finite"), std::string::npos);
  EXPECT_NE(ErrorOf("name:1e999|h").find("out of range"), std::string::npos);
  EXPECT_NE(ErrorOf("name:-1|c").find("negative"), std::string::npos);
  EXPECT_NE(ErrorOf("name:-1|ms").find("negative"), std::string::npos);
}

TEST(StatsdParser, BadSampleRates) {
  for (const char* line :
       {"n:1|c|@0", "n:1|c|@1.5", "n:1|c|@-0.5", "n:1|c|@", "n:1|c|@x", "n:1|c|@nan"}) {
    EXPECT_NE(ErrorOf(line).find("sample rate"), std::string::npos) << line;
  }
  EXPECT_NE(ErrorOf("n:1|c|@0.5|@0.5").find("two sample rates"), std::string::npos);
}

TEST(StatsdParser, BadFields) {
  EXPECT_NE(ErrorOf("n:1|c||#a:b").find("empty field"), std::string::npos);
  EXPECT_NE(ErrorOf("n:1|c|").find("empty field"), std::string::npos);
  EXPECT_NE(ErrorOf("n:1|c|xyz").find("unknown field \"xyz\""), std::string::npos);
  EXPECT_NE(ErrorOf("n:1|c|T12a").find("unknown field"), std::string::npos);
}

TEST(StatsdParser, BadTags) {
  EXPECT_NE(ErrorOf("n:1|c|#:v").find("empty name"), std::string::npos);
  EXPECT_NE(ErrorOf("n:1|c|#__name__:x").find("reserved"), std::string::npos);
  EXPECT_NE(ErrorOf("n:1|c|#_.x:y").find("reserved"), std::string::npos);
  EXPECT_NE(ErrorOf("n:1|ms|#le:5").find("\"le\" is reserved"), std::string::npos);
  EXPECT_NE(ErrorOf("n:1|h|#le:5").find("\"le\" is reserved"), std::string::npos);
  MustParse("n:1|c|#le:5");  // only histograms have buckets
  MustParse("n:1|c|#_a:5");
  MustParse("n:1|c|#9lives:5");  // becomes _9lives
  EXPECT_NE(ErrorOf("n:1|c|#a:\xff").find("UTF-8"), std::string::npos);
}

TEST(StatsdParser, LongLinesAreCutInErrors) {
  std::string line = "n:" + std::string(1000, 'x') + "|c";
  std::string e = ErrorOf(line);
  EXPECT_LT(e.size(), 300u);
  EXPECT_NE(e.find("..."), std::string::npos);
}

TEST(StatsdParser, Sanitize) {
  EXPECT_EQ(SanitizeStatsdMetricName("api.requests-total"), "api_requests_total");
  EXPECT_EQ(SanitizeStatsdMetricName("9lives"), "_9lives");
  EXPECT_EQ(SanitizeStatsdMetricName("a:b/c d"), "a:b_c_d");
  EXPECT_EQ(SanitizeStatsdMetricName("caf\xc3\xa9"), "caf__");
  EXPECT_EQ(SanitizeStatsdLabelName("a:b.c"), "a_b_c");
  EXPECT_EQ(SanitizeStatsdLabelName("1x"), "_1x");
}

}  // namespace
}  // namespace zw::ingest
