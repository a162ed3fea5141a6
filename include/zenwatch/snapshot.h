// What a registry collects at scrape time: plain values, independent of the metric types, so
// that exposition formats (text 0.0.4 today) are written from data alone.
// Thread safety: plain values, thread-compatible (const use from many threads is safe).
#pragma once

#include <string>
#include <vector>

#include "zenwatch/histogram.h"
#include "zenwatch/types.h"

namespace zenwatch {

// One series of a counter, gauge or untyped family. Also what collector callbacks produce.
struct Sample {
  Labels labels;
  double value = 0;
};

struct HistogramSample {
  Labels labels;
  HistogramSnapshot histogram;
};

// REQUIRES of a well-formed snapshot: a valid metric name, valid and unique label names per
// series ("le" not among them for histograms), samples only for non-histogram types and
// histograms only for kHistogram.
struct MetricFamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kUntyped;
  std::vector<Sample> samples;
  std::vector<HistogramSample> histograms;
  std::string unit;  // OpenMetrics unit, e.g. "seconds"; "" for none
};

}  // namespace zenwatch
