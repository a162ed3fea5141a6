// libFuzzer target: the exposition parser over arbitrary bodies never crashes, never
// reads outside the body, stops within one entry per line, and every series it reports
// has a valid name, valid UTF-8 label values and no duplicate label names. The first byte
// picks the format (odd: OpenMetrics); the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/names.h"
#include "ingest/exposition_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto format = (data[0] & 1) != 0 ? zw::ingest::ExpositionFormat::kOpenMetrics
                                   : zw::ingest::ExpositionFormat::kPrometheusText;
  // A heap copy of exactly the body's size, so a read past its end is caught by ASan.
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto p = zw::ingest::ExpositionParser::New(body, format);
  size_t entries = 0;
  for (;;) {
    zw::ingest::Entry e = p->Next();
    if (e == zw::ingest::Entry::kEnd) break;
    if (e == zw::ingest::Entry::kError) {
      if (p->Err().ok() || p->Next() != zw::ingest::Entry::kError) __builtin_trap();
      break;
    }
    if (++entries > body.size() + 1) __builtin_trap();  // at most one entry per line
    if (e != zw::ingest::Entry::kSeries) continue;
    if (!zw::IsValidMetricName(p->MetricName())) __builtin_trap();
    for (size_t i = 0; i < p->NumLabels(); ++i) {
      zw::ingest::LabelView l = p->Label(i);
      if (!zw::IsValidLabelName(l.name) || !zw::IsValidUtf8(l.value)) __builtin_trap();
      for (size_t j = 0; j < i; ++j) {
        if (p->Label(j).name == l.name) __builtin_trap();
      }
    }
  }
  return 0;
}
