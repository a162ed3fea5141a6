// libFuzzer target: the OTLP/JSON decoder and receiver over arbitrary bodies never crash;
// every index range of a decoded request lies inside its vector; a rejected request stores
// nothing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingest/otlp.h"
#include "ingest/otlp_proto.h"
#include "tsdb/head.h"

namespace {

bool InRange(zw::ingest::otlp::Range r, size_t n) { return r.begin <= r.end && r.end <= n; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* head = zw::tsdb::Head::Open({}).value().release();
  static auto* ing = new zw::ingest::OtlpIngester(head);
  std::string body(reinterpret_cast<const char*>(data), size);
  zw::ingest::otlp::ExportRequest req;
  if (zw::ingest::otlp::DecodeExportRequestJson(body, &req).ok()) {
    for (const auto& r : req.resources) {
      if (!InRange(r.attributes, req.attributes.size()) || !InRange(r.scopes, req.scopes.size()))
        __builtin_trap();
    }
    for (const auto& s : req.scopes) {
      if (!InRange(s.attributes, req.attributes.size()) || !InRange(s.metrics, req.metrics.size()))
        __builtin_trap();
    }
    for (const auto& m : req.metrics) {
      if (!InRange(m.points, req.points.size())) __builtin_trap();
    }
    for (const auto& p : req.points) {
      if (!InRange(p.attributes, req.attributes.size()) ||
          !InRange(p.bucket_counts, req.counts.size()) ||
          !InRange(p.explicit_bounds, req.bounds.size()) ||
          !InRange(p.positive, req.counts.size()) || !InRange(p.negative, req.counts.size()) ||
          !InRange(p.quantiles, req.quantiles.size()))
        __builtin_trap();
    }
  }
  uint64_t before = head->stats().samples_appended.load();
  auto r = ing->Export(body, true);
  if (!r.ok() && head->stats().samples_appended.load() != before) __builtin_trap();
  return 0;
}
