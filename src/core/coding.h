// Byte encodings shared by on-disk and wire formats: varints (LEB128, zig-zag for signed)
// and fixed-width big-endian integers. Decoders never read past the end of their input.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace zw {

inline void PutUvarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline void PutVarint(std::string& out, int64_t v) {
  PutUvarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
inline void PutBE64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline void PutBE32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline void PutLengthPrefixed(std::string& out, std::string_view s) {
  PutUvarint(out, s.size());
  out.append(s);
}

// Reads from the front of a view; every getter returns false (and consumes nothing
// further) when the input is too short or malformed.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool empty() const { return pos_ >= in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  size_t offset() const { return pos_; }

  bool Byte(uint8_t* v) {
    if (pos_ >= in_.size()) return false;
    *v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool Uvarint(uint64_t* v) {
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      auto b = static_cast<uint8_t>(in_[pos_++]);
      if (shift == 63 && b > 1) return false;  // overflow
      x |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        *v = x;
        return true;
      }
    }
    return false;
  }
  bool Varint(int64_t* v) {
    uint64_t u;
    if (!Uvarint(&u)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool BE64(uint64_t* v) {
    if (remaining() < 8) return false;
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i) x = (x << 8) | static_cast<uint8_t>(in_[pos_ + i]);
    pos_ += 8;
    *v = x;
    return true;
  }
  bool LengthPrefixed(std::string_view* s) {
    uint64_t n;
    if (!Uvarint(&n) || n > remaining()) return false;
    *s = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace zw
