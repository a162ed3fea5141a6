#include "zenwatch/openmetrics_format.h"

#include <gtest/gtest.h>

#include "zenwatch/registry.h"

namespace zenwatch {
namespace {

TEST(OpenMetrics, CountersGaugesHistogramsUnitsAndEof) {
  Registry r;
  r.AddCounter("jobs_total", "Jobs \"done\".", {"kind"}).With({{"kind", "a"}}).Inc(3);
  r.AddCounter("retries", "Retries.").With({}).Inc();
  r.AddGauge("temp_celsius", "").With({}).Set(21.5);
  r.SetUnit("temp_celsius", "celsius");
  auto& h = r.AddHistogram("latency_seconds", "Latency.", {0.5, 1});
  r.SetUnit("latency_seconds", "seconds");
  h.With({}).Observe(0.7);
  EXPECT_EQ(r.Exposition(ExpositionFormat::kOpenMetrics),
            "# TYPE jobs counter\n"
            "# HELP jobs Jobs \\\"done\\\".\n"
            "jobs_total{kind=\"a\"} 3\n"
            "# TYPE latency_seconds histogram\n"
            "# UNIT latency_seconds seconds\n"
            "# HELP latency_seconds Latency.\n"
            "latency_seconds_bucket{le=\"0.5\"} 0\n"
            "latency_seconds_bucket{le=\"1.0\"} 1\n"
            "latency_seconds_bucket{le=\"+Inf\"} 1\n"
            "latency_seconds_count 1\n"
            "latency_seconds_sum 0.7\n"
            "# TYPE retries counter\n"
            "# HELP retries Retries.\n"
            "retries_total 1\n"
            "# TYPE temp_celsius gauge\n"
            "# UNIT temp_celsius celsius\n"
            "temp_celsius 21.5\n"
            "# EOF\n");
  // Text 0.0.4 is unchanged by units.
  EXPECT_EQ(r.ExpositionText().find("UNIT"), std::string::npos);
}

TEST(OpenMetrics, EmptyRegistryIsJustEof) {
  Registry r;
  EXPECT_EQ(r.Exposition(ExpositionFormat::kOpenMetrics), "# EOF\n");
}

TEST(OpenMetrics, UnitMustBeTheNameSuffix) {
  Registry r;
  EXPECT_THROW(r.SetUnit("latency_ms", "seconds"), std::invalid_argument);
  EXPECT_THROW(r.SetUnit("latency_seconds", "sec onds"), std::invalid_argument);
  EXPECT_NO_THROW(r.SetUnit("bytes_read_bytes_total", "bytes"));
}

TEST(OpenMetrics, Negotiation) {
  using F = ExpositionFormat;
  EXPECT_EQ(NegotiateExpositionFormat(""), F::kPrometheusText);
  EXPECT_EQ(NegotiateExpositionFormat("text/plain"), F::kPrometheusText);
  EXPECT_EQ(NegotiateExpositionFormat("*/*"), F::kPrometheusText);
  // What Prometheus 2.42 sends.
  EXPECT_EQ(NegotiateExpositionFormat(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            F::kOpenMetrics);
  EXPECT_EQ(NegotiateExpositionFormat("application/openmetrics-text; q=0.2, text/plain"),
            F::kPrometheusText);
  EXPECT_EQ(NegotiateExpositionFormat("application/openmetrics-text;q=0"), F::kPrometheusText);
  EXPECT_EQ(ContentType(F::kOpenMetrics),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

}  // namespace
}  // namespace zenwatch
