#include "zenwatch/domain_metrics.h"

#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zenwatch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DomainMetricsTest, NothingIsExportedBeforeTheFirstRecord) {
  Registry r;
  DomainMetrics domains(r);
  EXPECT_EQ(r.ExpositionText(), "");
}

TEST(DomainMetricsTest, CoordinationBecomesAHistogramPerName) {
  Registry r;
  DomainMetrics domains(r);
  domains.RecordCoordination("decision_seconds", 0.2, {{"level", "swarm"}, {"agent", "a1"}});
  domains.RecordCoordination("decision_seconds", 0.3, {{"agent", "a1"}, {"level", "swarm"}});
  const std::string text = r.ExpositionText();
  EXPECT_THAT(text, HasSubstr("# TYPE coordination_decision_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("coordination_decision_seconds_count{domain=\"coordination\","
                              "agent=\"a1\",level=\"swarm\"} 2\n"));
}

TEST(DomainMetricsTest, CoordinationLabelNamesAreFixedByTheFirstCall) {
  Registry r;
  DomainMetrics domains(r);
  domains.RecordCoordination("handoffs", 1, {{"level", "swarm"}});
  EXPECT_THROW(domains.RecordCoordination("handoffs", 1, {{"tier", "swarm"}}),
               std::invalid_argument);
  EXPECT_THROW(domains.RecordCoordination("bad-name", 1), std::invalid_argument);
  EXPECT_THROW(domains.RecordCoordination("x", 1, {{"domain", "other"}}), std::invalid_argument);
}

TEST(DomainMetricsTest, DatabaseNeuralAndInterfaces) {
  Registry r;
  DomainMetrics domains(r);
  domains.RecordDatabase("sqlite", "query", 0.004, true);
  domains.RecordDatabase("kuzu", "write", 0.3, false);
  domains.RecordNeural("inference", 0.02, 1048576);
  domains.RecordInterface("/api/health", 0.001, 200);
  const std::string text = r.ExpositionText();
  EXPECT_THAT(text, HasSubstr("database_operation_duration_seconds_count{domain=\"database\","
                              "adapter=\"sqlite\",operation=\"query\",success=\"true\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("database_operation_duration_seconds_bucket{domain=\"database\","
                              "adapter=\"kuzu\",operation=\"write\",success=\"false\","
                              "le=\"0.25\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("neural_operation_duration_seconds_sum{domain=\"neural\","
                              "operation=\"inference\"} 0.02\n"));
  EXPECT_THAT(text, HasSubstr("neural_operation_memory_bytes{domain=\"neural\","
                              "operation=\"inference\"} 1048576\n"));
  EXPECT_THAT(text, HasSubstr("interfaces_request_duration_seconds_count{domain=\"interfaces\","
                              "endpoint=\"/api/health\",status=\"200\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("coordination")));
}

TEST(DomainMetricsTest, TwoHelpersOverOneRegistryShareFamilies) {
  Registry r;
  DomainMetrics a(r);
  DomainMetrics b(r);
  a.RecordDatabase("sqlite", "query", 0.1, true);
  b.RecordDatabase("sqlite", "query", 0.1, true);
  EXPECT_THAT(r.ExpositionText(),
              HasSubstr("database_operation_duration_seconds_count{domain=\"database\","
                        "adapter=\"sqlite\",operation=\"query\",success=\"true\"} 2\n"));
}

}  // namespace
}  // namespace zenwatch
