#include "zenwatch/openmetrics_format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "zenwatch/text_format.h"

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
  return "unknown";
}

void AppendEscaped(std::string_view text, std::string& out) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// A float in canonical OpenMetrics spelling: whole numbers keep a ".0".
void AppendFloat(double v, std::string& out) {
  size_t start = out.size();
  AppendSampleValue(v, out);
  std::string_view written(out.data() + start, out.size() - start);
  if (std::isfinite(v) && written.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

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
      out += label_name;
      out += "=\"";
      AppendEscaped(label_value, out);
      out += '"';
    }
    if (le != nullptr) {
      if (!first) out += ',';
      out += "le=\"";
      AppendFloat(*le, out);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendSampleValue(value, out);
  out += '\n';
}

double QValue(std::string_view params) {
  // params: ";version=1.0.0;q=0.5" (spaces allowed)
  size_t pos = 0;
  while ((pos = params.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < params.size() && params[pos] == ' ') ++pos;
    if (params.substr(pos, 2) == "q=") {
      std::string q(params.substr(pos + 2, params.find(';', pos) - pos - 2));
      char* end = nullptr;
      double v = std::strtod(q.c_str(), &end);
      return end == q.c_str() ? 0 : v;
    }
  }
  return 1;
}

}  // namespace

void AppendOpenMetrics(std::span<const MetricFamilySnapshot> families, std::string& out) {
  for (const MetricFamilySnapshot& f : families) {
    std::string_view family = f.name;
    if (f.type == MetricType::kCounter && family.ends_with("_total")) family.remove_suffix(6);
    out += "# TYPE ";
    out += family;
    out += ' ';
    out += TypeName(f.type);
    out += '\n';
    if (!f.unit.empty()) {
      out += "# UNIT ";
      out += family;
      out += ' ';
      out += f.unit;
      out += '\n';
    }
    if (!f.help.empty()) {
      out += "# HELP ";
      out += family;
      out += ' ';
      AppendEscaped(f.help, out);
      out += '\n';
    }
    std::string_view suffix = f.type == MetricType::kCounter ? "_total" : "";
    for (const Sample& s : f.samples) AppendLine(family, suffix, s.labels, nullptr, s.value, out);
    for (const HistogramSample& s : f.histograms) {
      const HistogramSnapshot& h = s.histogram;
      for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
        AppendLine(family, "_bucket", s.labels, &h.upper_bounds[i],
                   static_cast<double>(h.cumulative_counts[i]), out);
      }
      const double inf = INFINITY;
      AppendLine(family, "_bucket", s.labels, &inf, static_cast<double>(h.count), out);
      AppendLine(family, "_count", s.labels, nullptr, static_cast<double>(h.count), out);
      AppendLine(family, "_sum", s.labels, nullptr, h.sum, out);
    }
  }
  out += "# EOF\n";
}

std::string OpenMetrics(std::span<const MetricFamilySnapshot> families) {
  std::string out;
  AppendOpenMetrics(families, out);
  return out;
}

ExpositionFormat NegotiateExpositionFormat(std::string_view accept) {
  double om = 0, text = 0;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t comma = accept.find(',', start);
    std::string_view item = accept.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    size_t semi = item.find(';');
    std::string_view type = item.substr(0, semi);
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    double q = semi == std::string_view::npos ? 1 : QValue(item.substr(semi));
    if (type == "application/openmetrics-text") {
      om = std::max(om, q);
    } else if (type == "text/plain" || type == "*/*") {
      text = std::max(text, q);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return om > 0 && om >= text ? ExpositionFormat::kOpenMetrics : ExpositionFormat::kPrometheusText;
}

std::string_view ContentType(ExpositionFormat format) {
  return format == ExpositionFormat::kOpenMetrics ? kOpenMetricsContentType
                                                  : kTextFormatContentType;
}

}  // namespace zenwatch
