// libFuzzer target: the remote_write decoder and receiver over arbitrary bytes never crash
// or read outside the input; every decoded view lies inside the input and every index
// range inside its vector; a rejected request stores nothing. The first byte picks the
// path: odd bytes feed the protobuf decoder and receiver directly, even bytes go through
// snappy first.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/remote_write.h"
#include "ingest/remote_write_proto.h"
#include "tsdb/head.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* head = zw::tsdb::Head::Open({}).value().release();
  static auto* rw = new zw::ingest::RemoteWriteIngester(head);
  if (size == 0) return 0;
  // A heap copy of exactly the body's size, so a read past its end is caught by ASan.
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool raw = (data[0] & 1) != 0;
  if (raw) {
    zw::ingest::prompb::WriteRequest req;
    if (zw::ingest::prompb::DecodeWriteRequest(body, &req).ok()) {
      for (const auto& l : req.labels) {
        if (!Inside(l.name, body) || !Inside(l.value, body)) __builtin_trap();
      }
      for (const auto& m : req.metadata) {
        if (!Inside(m.family, body) || !Inside(m.help, body) || !Inside(m.unit, body))
          __builtin_trap();
      }
      for (const auto& ts : req.series) {
        if (!Inside(ts.label_bytes, body)) __builtin_trap();
        std::vector<zw::ingest::prompb::LabelView> lazy;
        // Labels decoded eagerly passed, so decoding them from the span must pass too and
        // give the same labels.
        if (!zw::ingest::prompb::DecodeLabels(ts.label_bytes, &lazy).ok()) __builtin_trap();
        if (lazy.size() != ts.labels_end - ts.labels_begin) __builtin_trap();
        for (size_t k = 0; k < lazy.size(); ++k) {
          const auto& l = req.labels[ts.labels_begin + k];
          if (lazy[k].name != l.name || lazy[k].value != l.value) __builtin_trap();
        }
        if (ts.labels_begin > ts.labels_end || ts.labels_end > req.labels.size()) __builtin_trap();
        if (ts.samples_begin > ts.samples_end || ts.samples_end > req.samples.size())
          __builtin_trap();
      }
    }
  }
  uint64_t before = head->stats().samples_appended.load();
  auto r = raw ? rw->WriteDecompressed(body) : rw->Write(body);
  if (!r.ok() && head->stats().samples_appended.load() != before) __builtin_trap();
  return 0;
}
