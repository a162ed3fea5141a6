// DomainMetrics: one-call recorders for the orchestration platform's domains, mapped onto
// ordinary families of a Registry. Every family is named <domain>_<name> and carries a constant
// label domain="<domain>", so one selector ({domain="database"}) finds a domain's metrics.
//
//   RecordCoordination(name, value, labels)
//       coordination_<name>{domain="coordination", labels...}              histogram
//   RecordDatabase(adapter, operation, seconds, success)
//       database_operation_duration_seconds{domain, adapter, operation, success="true|false"}
//   RecordNeural(operation, seconds, memory_bytes)
//       neural_operation_duration_seconds{domain, operation}               histogram
//       neural_operation_memory_bytes{domain, operation}                   gauge, last value
//   RecordInterface(endpoint, seconds, status_code)
//       interfaces_request_duration_seconds{domain, endpoint, status="200"}
//
// Histograms use DefaultBuckets(). Each call is a With() lookup plus an update; on a hot path
// take the series once from the family instead.
#pragma once

#include <initializer_list>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "zenwatch/registry.h"

namespace zenwatch {

// Thread safety: every method may be called concurrently. The registry must outlive this.
class DomainMetrics {
 public:
  explicit DomainMetrics(Registry& registry);

  // The first call for a `name` fixes its label names; a later call with other label names,
  // an invalid name or a label named "domain" throws std::invalid_argument.
  void RecordCoordination(std::string_view name, double value,
                          std::initializer_list<LabelRef> labels = {}) {
    RecordCoordination(name, value, std::span<const LabelRef>(labels.begin(), labels.size()));
  }
  void RecordCoordination(std::string_view name, double value, std::span<const LabelRef> labels);
  void RecordDatabase(std::string_view adapter, std::string_view operation, double duration_seconds,
                      bool success);
  void RecordNeural(std::string_view operation, double duration_seconds, double memory_bytes);
  void RecordInterface(std::string_view endpoint, double response_seconds, int status_code);

 private:
  Registry& registry_;
  Family<Histogram>& database_duration_;
  Family<Histogram>& neural_duration_;
  Family<Gauge>& neural_memory_;
  Family<Histogram>& interface_duration_;

  std::mutex mu_;
  std::map<std::string, Family<Histogram>*, std::less<>> coordination_;  // by name
};

}  // namespace zenwatch
