#include "zenwatch/text_format.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "zenwatch/registry.h"

namespace zenwatch {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Value(double v) {
  std::string out;
  AppendSampleValue(v, out);
  return out;
}

TEST(SampleValueTest, WholeNumbersHaveNoExponent) {
  EXPECT_EQ(Value(0), "0");
  EXPECT_EQ(Value(1), "1");
  EXPECT_EQ(Value(-42), "-42");
  EXPECT_EQ(Value(1e6), "1000000");
  EXPECT_EQ(Value(0x1p53), "9007199254740992");
  EXPECT_EQ(Value(1e18), "1000000000000000000");
}

TEST(SampleValueTest, SpecialValues) {
  EXPECT_EQ(Value(kInf), "+Inf");
  EXPECT_EQ(Value(-kInf), "-Inf");
  EXPECT_EQ(Value(kNaN), "NaN");
  EXPECT_EQ(Value(-0.0), "-0");
}

TEST(SampleValueTest, FractionsAreShortest) {
  EXPECT_EQ(Value(0.1), "0.1");
  EXPECT_EQ(Value(2.5), "2.5");
  EXPECT_EQ(Value(0.005), "0.005");
  EXPECT_EQ(Value(1.5e-05), "1.5e-05");
  EXPECT_EQ(Value(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Value(1e20), "1e+20");
}

TEST(SampleValueTest, EveryFiniteValueRoundTrips) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    const std::string text = Value(v);
    double back = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), back);
    ASSERT_EQ(result.ptr, text.data() + text.size()) << text;
    ASSERT_EQ(std::memcmp(&back, &v, sizeof v), 0) << text;
  }
}

TEST(TextFormatTest, HelpEscapesBackslashAndNewline) {
  MetricFamilySnapshot f{"m", "a \\ b\nc \"quoted\"", MetricType::kGauge, {{{}, 1}}, {}, ""};
  EXPECT_EQ(TextFormat({&f, 1}), "# HELP m a \\\\ b\\nc \"quoted\"\n# TYPE m gauge\nm 1\n");
}

TEST(TextFormatTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  MetricFamilySnapshot f{
      "m", "", MetricType::kUntyped, {{{{"path", "C:\\dir\\\"x\"\nend"}, {"e", ""}}, 2}}, {}, ""};
  EXPECT_EQ(TextFormat({&f, 1}),
            "# TYPE m untyped\nm{path=\"C:\\\\dir\\\\\\\"x\\\"\\nend\",e=\"\"} 2\n");
}

TEST(TextFormatTest, GoldenRegistry) {
  Registry r;
  auto& requests = r.AddCounter("requests_total", "Requests handled.", {"domain", "level"});
  requests.With({{"domain", "coordination"}, {"level", "swarm"}}).Inc(3);
  requests.With({{"domain", "coordination"}, {"level", "program"}}).Inc();
  requests.With({{"domain", "database"}, {"level", "portfolio"}}).Inc(0.5);
  auto& temp = r.AddGauge("temperature", "Odd values.", {"sensor"});
  temp.With({{"sensor", "nan"}}).Set(kNaN);
  temp.With({{"sensor", "hot"}}).Set(kInf);
  temp.With({{"sensor", "cold"}}).Set(-kInf);
  auto& latency =
      r.AddHistogram("latency_seconds", "Latency.\nIn seconds.", {0.25, 1, 2.5}, {"op"});
  for (double v : {0.125, 0.25, 0.75, 1.0, 3.0}) latency.With({{"op", "write"}}).Observe(v);
  latency.With({{"op", "read"}}).Observe(2);
  r.AddCallbackGauge("a_first", "Sorted first.", [] { return 1e-3; });

  EXPECT_EQ(r.ExpositionText(),
            "# HELP a_first Sorted first.\n"
            "# TYPE a_first gauge\n"
            "a_first 0.001\n"
            "# HELP latency_seconds Latency.\\nIn seconds.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"read\",le=\"0.25\"} 0\n"
            "latency_seconds_bucket{op=\"read\",le=\"1\"} 0\n"
            "latency_seconds_bucket{op=\"read\",le=\"2.5\"} 1\n"
            "latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n"
            "latency_seconds_sum{op=\"read\"} 2\n"
            "latency_seconds_count{op=\"read\"} 1\n"
            "latency_seconds_bucket{op=\"write\",le=\"0.25\"} 2\n"
            "latency_seconds_bucket{op=\"write\",le=\"1\"} 4\n"
            "latency_seconds_bucket{op=\"write\",le=\"2.5\"} 4\n"
            "latency_seconds_bucket{op=\"write\",le=\"+Inf\"} 5\n"
            "latency_seconds_sum{op=\"write\"} 5.125\n"
            "latency_seconds_count{op=\"write\"} 5\n"
            "# HELP requests_total Requests handled.\n"
            "# TYPE requests_total counter\n"
            "requests_total{domain=\"coordination\",level=\"program\"} 1\n"
            "requests_total{domain=\"coordination\",level=\"swarm\"} 3\n"
            "requests_total{domain=\"database\",level=\"portfolio\"} 0.5\n"
            "# HELP temperature Odd values.\n"
            "# TYPE temperature gauge\n"
            "temperature{sensor=\"cold\"} -Inf\n"
            "temperature{sensor=\"hot\"} +Inf\n"
            "temperature{sensor=\"nan\"} NaN\n");
}

TEST(TextFormatTest, HistogramWithoutLabels) {
  Registry r;
  auto& h = r.AddHistogram("h", "", {1});
  h.With({}).Observe(0.5);
  EXPECT_EQ(r.ExpositionText(),
            "# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 1\n"
            "h_bucket{le=\"+Inf\"} 1\n"
            "h_sum 0.5\n"
            "h_count 1\n");
}

}  // namespace
}  // namespace zenwatch
