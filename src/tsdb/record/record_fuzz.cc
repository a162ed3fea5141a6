// libFuzzer target: WAL record decoders on arbitrary bytes never crash; what decodes
// re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tsdb/record/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace zw::record;
  switch (GetType(in)) {
    case Type::kSeries: {
      std::vector<RefSeries> out;
      if (DecodeSeries(in, out).ok()) {
        std::string again;
        EncodeSeries(out, again);
        std::vector<RefSeries> back;
        if (!DecodeSeries(again, back).ok() || back.size() != out.size()) __builtin_trap();
      }
      break;
    }
    case Type::kSamples: {
      std::vector<RefSample> out;
      if (DecodeSamples(in, out).ok()) {
        std::string again;
        EncodeSamples(out, again);
        std::vector<RefSample> back;
        if (!DecodeSamples(again, back).ok() || back.size() != out.size()) __builtin_trap();
      }
      break;
    }
    case Type::kMetadata: {
      std::vector<RefMetadata> out;
      (void)DecodeMetadata(in, out);
      break;
    }
    case Type::kInvalid:
      break;
  }
  return 0;
}
