// Vocabulary shared by the metric types, the registry and the exposition writers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zenwatch {

enum class MetricType { kCounter, kGauge, kHistogram, kUntyped };

// A label as stored and exported: (name, value).
using Label = std::pair<std::string, std::string>;
using Labels = std::vector<Label>;

// A label as passed to Family::With(): views of the caller's strings, copied only when a new
// series is created.
using LabelRef = std::pair<std::string_view, std::string_view>;

// How many updates the library has refused since the process started: Counter::Inc with a
// negative or NaN amount and Histogram::Observe(NaN). Such calls are otherwise no-ops (a
// counter must never go down, and one NaN would poison a histogram's sum for good); export
// this number, e.g. with Registry::AddCallbackCounter, to notice the bug. Thread-safe.
std::uint64_t RejectedUpdates() noexcept;

}  // namespace zenwatch
