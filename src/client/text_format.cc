#include "zenwatch/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace zenwatch {
namespace {

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kUntyped:
      break;
  }
  return "untyped";
}

// Appends `text` with backslash, newline and (for label values) double quote escaped.
void AppendEscaped(std::string_view text, bool quote, std::string& out) {
  const std::string_view specials = quote ? std::string_view("\\\n\"") : "\\\n";
  std::size_t start = 0;
  for (std::size_t i = text.find_first_of(specials); i != std::string_view::npos;
       i = text.find_first_of(specials, start)) {
    out.append(text, start, i - start);
    out += text[i] == '\n' ? "\\n" : text[i] == '"' ? "\\\"" : "\\\\";
    start = i + 1;
  }
  out.append(text, start);
}

void AppendLabel(std::string_view name, std::string_view value, std::string& out) {
  out += name;
  out += "=\"";
  AppendEscaped(value, /*quote=*/true, out);
  out += '"';
}

// name{labels[,le="bound"]} value
void AppendLine(std::string_view name, std::string_view suffix, const Labels& labels,
                const double* le, double value, std::string& out) {
  out += name;
  out += suffix;
  if (!labels.empty() || le != nullptr) {
    out += '{';
    bool first = true;
    for (const auto& [label_name, label_value] : labels) {
      if (!first) out += ',';
      first = false;
      AppendLabel(label_name, label_value, out);
    }
    if (le != nullptr) {
      if (!first) out += ',';
      out += "le=\"";
      AppendSampleValue(*le, out);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendSampleValue(value, out);
  out += '\n';
}

void AppendHistogram(std::string_view name, const HistogramSample& sample, std::string& out) {
  const HistogramSnapshot& h = sample.histogram;
  for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
    AppendLine(name, "_bucket", sample.labels, &h.upper_bounds[i],
               static_cast<double>(h.cumulative_counts[i]), out);
  }
  const double inf = INFINITY;
  AppendLine(name, "_bucket", sample.labels, &inf, static_cast<double>(h.count), out);
  AppendLine(name, "_sum", sample.labels, nullptr, h.sum, out);
  AppendLine(name, "_count", sample.labels, nullptr, static_cast<double>(h.count), out);
}

}  // namespace

void AppendSampleValue(double value, std::string& out) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  std::to_chars_result result;
  if (value == 0 && std::signbit(value)) {
    out += "-0";
    return;
  }
  if (std::abs(value) < 0x1p63 && value == std::trunc(value)) {
    result = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
  } else {
    result = std::to_chars(buf, buf + sizeof buf, value);  // shortest round trip
  }
  out.append(buf, result.ptr);
}

void AppendTextFormat(std::span<const MetricFamilySnapshot> families, std::string& out) {
  for (const MetricFamilySnapshot& family : families) {
    if (!family.help.empty()) {
      out += "# HELP ";
      out += family.name;
      out += ' ';
      AppendEscaped(family.help, /*quote=*/false, out);
      out += '\n';
    }
    out += "# TYPE ";
    out += family.name;
    out += ' ';
    out += TypeName(family.type);
    out += '\n';
    for (const Sample& sample : family.samples) {
      AppendLine(family.name, "", sample.labels, nullptr, sample.value, out);
    }
    for (const HistogramSample& sample : family.histograms) {
      AppendHistogram(family.name, sample, out);
    }
  }
}

std::string TextFormat(std::span<const MetricFamilySnapshot> families) {
  std::string out;
  AppendTextFormat(families, out);
  return out;
}

}  // namespace zenwatch
