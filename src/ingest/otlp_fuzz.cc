// libFuzzer target: the OTLP decoders (protobuf and JSON) and the receiver over arbitrary
// bytes never crash or read outside the input; every string the protobuf decoder returns lies
// inside the input or in the request's own storage; every index range of a decoded request
// lies inside its vector; a rejected request stores nothing. Each input is tried as both.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/otlp.h"
#include "ingest/otlp_proto.h"
#include "tsdb/head.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

bool Owned(std::string_view part, const zw::ingest::otlp::ExportRequest& req) {
  for (const std::string& s : req.owned) {
    if (Inside(part, s)) return true;
  }
  return false;
}

bool InRange(zw::ingest::otlp::Range r, size_t n) { return r.begin <= r.end && r.end <= n; }

void CheckRanges(const zw::ingest::otlp::ExportRequest& req) {
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
        !InRange(p.explicit_bounds, req.bounds.size()) || !InRange(p.positive, req.counts.size()) ||
        !InRange(p.negative, req.counts.size()) || !InRange(p.quantiles, req.quantiles.size()))
      __builtin_trap();
  }
}

// Protobuf strings are views into the body (or into the request's own storage).
void CheckStrings(const zw::ingest::otlp::ExportRequest& req, std::string_view body) {
  for (const auto& kv : req.attributes) {
    if (!Inside(kv.key, body)) __builtin_trap();
    if (!Inside(kv.value, body) && !Owned(kv.value, req)) __builtin_trap();
  }
  for (const auto& s : req.scopes) {
    if (!Inside(s.name, body) || !Inside(s.version, body)) __builtin_trap();
  }
  for (const auto& m : req.metrics) {
    if (!Inside(m.name, body) || !Inside(m.unit, body) || !Inside(m.description, body))
      __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* head = zw::tsdb::Head::Open({}).value().release();
  static auto* ing = new zw::ingest::OtlpIngester(head);
  // A heap copy of exactly the body's size, so a read past its end is caught by ASan.
  std::string body(reinterpret_cast<const char*>(data), size);
  for (bool json : {false, true}) {
    zw::ingest::otlp::ExportRequest req;
    auto decoded = json ? zw::ingest::otlp::DecodeExportRequestJson(body, &req)
                        : zw::ingest::otlp::DecodeExportRequest(body, &req);
    if (decoded.ok()) {
      CheckRanges(req);
      if (!json) CheckStrings(req, body);
    }
    uint64_t before = head->stats().samples_appended.load();
    auto r = ing->Export(body, json);
    if (!r.ok() && head->stats().samples_appended.load() != before) __builtin_trap();
  }
  return 0;
}
