#include "zenwatch/domain_metrics.h"

#include <algorithm>
#include <string>
#include <vector>

namespace zenwatch {
namespace {

Labels DomainLabel(std::string_view domain) { return {{"domain", std::string(domain)}}; }

}  // namespace

DomainMetrics::DomainMetrics(Registry& registry)
    : registry_(registry),
      database_duration_(registry.AddHistogram(
          "database_operation_duration_seconds", "Duration of database operations in seconds.",
          DefaultBuckets(), {"adapter", "operation", "success"}, DomainLabel("database"))),
      neural_duration_(registry.AddHistogram(
          "neural_operation_duration_seconds", "Duration of neural (WASM) operations in seconds.",
          DefaultBuckets(), {"operation"}, DomainLabel("neural"))),
      neural_memory_(registry.AddGauge("neural_operation_memory_bytes",
                                       "Memory used by the last neural operation, in bytes.",
                                       {"operation"}, DomainLabel("neural"))),
      interface_duration_(registry.AddHistogram(
          "interfaces_request_duration_seconds", "Response time of interface requests in seconds.",
          DefaultBuckets(), {"endpoint", "status"}, DomainLabel("interfaces"))) {}

void DomainMetrics::RecordCoordination(std::string_view name, double value,
                                       std::span<const LabelRef> labels) {
  Family<Histogram>* family;
  {
    std::lock_guard lock(mu_);
    auto it = coordination_.find(name);
    if (it == coordination_.end()) {
      std::vector<std::string> label_names;
      for (const auto& label : labels) label_names.emplace_back(label.first);
      std::sort(label_names.begin(), label_names.end());
      family = &registry_.AddHistogram(
          "coordination_" + std::string(name), "Coordination metric " + std::string(name) + ".",
          DefaultBuckets(), std::move(label_names), DomainLabel("coordination"));
      coordination_.emplace(std::string(name), family);
    } else {
      family = it->second;
    }
  }
  family->With(labels).Observe(value);
}

void DomainMetrics::RecordDatabase(std::string_view adapter, std::string_view operation,
                                   double duration_seconds, bool success) {
  database_duration_
      .With(
          {{"adapter", adapter}, {"operation", operation}, {"success", success ? "true" : "false"}})
      .Observe(duration_seconds);
}

void DomainMetrics::RecordNeural(std::string_view operation, double duration_seconds,
                                 double memory_bytes) {
  neural_duration_.With({{"operation", operation}}).Observe(duration_seconds);
  neural_memory_.With({{"operation", operation}}).Set(memory_bytes);
}

void DomainMetrics::RecordInterface(std::string_view endpoint, double response_seconds,
                                    int status_code) {
  const std::string status = std::to_string(status_code);
  interface_duration_.With({{"endpoint", endpoint}, {"status", status}}).Observe(response_seconds);
}

}  // namespace zenwatch
