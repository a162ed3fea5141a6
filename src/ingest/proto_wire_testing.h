// Test-only: a minimal protobuf wire writer for hand-built requests, shared by the decoders'
// unit tests (remote_write, OTLP). Written independently of the encoders the product uses, so
// that tests check the decoders against the wire format itself.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace zw::ingest::protowire {

inline std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
inline std::string Tag(uint32_t field, uint32_t wire_type) {
  return Varint(field << 3 | wire_type);
}
inline std::string LenField(uint32_t field, std::string_view payload) {
  return Tag(field, 2) + Varint(payload.size()) + std::string(payload);
}
inline std::string VarintField(uint32_t field, uint64_t v) { return Tag(field, 0) + Varint(v); }
inline std::string Fixed64Field(uint32_t field, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  return Tag(field, 1) + std::string(b, 8);
}
inline std::string DoubleField(uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  return Fixed64Field(field, bits);
}

}  // namespace zw::ingest::protowire
