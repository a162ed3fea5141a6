// Protobuf wire-format reading shared by the hand-written decoders (remote_write_proto,
// otlp_proto): tags, varints, fixed-width values, length-delimited fields and skipping of
// unknown fields (groups included), over a byte range of one message.
//
// Every reading function returns false on malformed input after writing what was wrong,
// with its byte offset, into the caller's error string; nothing on the success path builds
// a string. Offsets are from `base`, the start of the whole request, so they point into the
// body the sender built. Every length is checked against what remains of the enclosing
// message, so no input makes a Reader read outside [pos, end).
//
// Thread-compatible; a Reader is a cursor over memory it does not own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace zw::ingest::protowire {

// Protobuf wire types.
inline constexpr uint32_t kVarint = 0;
inline constexpr uint32_t kFixed64 = 1;
inline constexpr uint32_t kLen = 2;
inline constexpr uint32_t kStartGroup = 3;
inline constexpr uint32_t kEndGroup = 4;
inline constexpr uint32_t kFixed32 = 5;

// Groups (deprecated, but legal in unknown fields) may nest; deeper input is rejected
// rather than recursed into.
inline constexpr int kMaxGroupDepth = 32;
inline constexpr uint64_t kMaxFieldNumber = (uint64_t{1} << 29) - 1;

inline std::string_view WireTypeName(uint32_t wt) {
  switch (wt) {
    case kVarint:
      return "varint";
    case kFixed64:
      return "fixed64";
    case kLen:
      return "length-delimited";
    case kStartGroup:
      return "start-group";
    case kEndGroup:
      return "end-group";
    case kFixed32:
      return "fixed32";
    default:
      return "invalid";
  }
}

// sint32/sint64 zig-zag decoding.
inline int64_t ZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Reads one message's bytes [pos, end) of `base`.
class Reader {
 public:
  Reader(const char* base, size_t pos, size_t end, std::string* err)
      : base_(base), pos_(pos), end_(end), err_(err) {}

  bool done() const { return pos_ >= end_; }
  size_t pos() const { return pos_; }
  size_t tag_start() const { return tag_start_; }

  bool Varint(uint64_t* v) {
    if (pos_ < end_) [[likely]] {
      auto b = static_cast<uint8_t>(base_[pos_]);
      if (b < 0x80) {
        *v = b;
        ++pos_;
        return true;
      }
    }
    return VarintSlow(v);
  }

  // Reads a tag: field number and wire type.
  bool Tag(uint32_t* field, uint32_t* wire_type) {
    size_t start = pos_;
    uint64_t tag;
    if (!Varint(&tag)) return false;
    uint64_t f = tag >> 3;
    if (f == 0 || f > kMaxFieldNumber) [[unlikely]] {
      *err_ = fmt::format("invalid field number {} in tag at offset {}", f, start);
      return false;
    }
    *field = static_cast<uint32_t>(f);
    *wire_type = static_cast<uint32_t>(tag & 7);
    tag_start_ = start;
    return true;
  }

  // The bytes of a length-delimited field, as absolute [begin, end) offsets.
  bool Length(size_t* begin, size_t* end) {
    size_t start = pos_;
    uint64_t n;
    if (!Varint(&n)) return false;
    if (n > end_ - pos_) [[unlikely]] {
      *err_ = fmt::format("length {} at offset {} exceeds the {} bytes left in the message", n,
                          start, end_ - pos_);
      return false;
    }
    *begin = pos_;
    pos_ += static_cast<size_t>(n);
    *end = pos_;
    return true;
  }

  bool String(std::string_view* s) {
    size_t b, e;
    if (!Length(&b, &e)) return false;
    *s = std::string_view(base_ + b, e - b);
    return true;
  }

  bool Fixed64(uint64_t* v) {
    if (end_ - pos_ < 8) [[unlikely]] {
      *err_ = fmt::format("truncated fixed64 at offset {}: {} bytes left", pos_, end_ - pos_);
      return false;
    }
    std::memcpy(v, base_ + pos_, 8);  // little-endian on the wire and on every target we build
    pos_ += 8;
    return true;
  }

  bool Double(double* v) {
    uint64_t bits;
    if (!Fixed64(&bits)) return false;
    std::memcpy(v, &bits, sizeof bits);
    return true;
  }

  bool Fixed32(uint32_t* v) {
    if (end_ - pos_ < 4) [[unlikely]] {
      *err_ = fmt::format("truncated fixed32 at offset {}: {} bytes left", pos_, end_ - pos_);
      return false;
    }
    std::memcpy(v, base_ + pos_, 4);
    pos_ += 4;
    return true;
  }

  // Skips the value of a field whose tag was just read.
  bool Skip(uint32_t field, uint32_t wire_type, int depth = 0) {
    switch (wire_type) {
      case kVarint: {
        uint64_t v;
        return Varint(&v);
      }
      case kFixed64: {
        uint64_t v;
        return Fixed64(&v);
      }
      case kLen: {
        size_t b, e;
        return Length(&b, &e);
      }
      case kFixed32: {
        uint32_t v;
        return Fixed32(&v);
      }
      case kStartGroup: {
        size_t start = tag_start_;
        if (depth >= kMaxGroupDepth) {
          *err_ = fmt::format("groups nested deeper than {} at offset {}", kMaxGroupDepth, start);
          return false;
        }
        while (!done()) {
          uint32_t f, wt;
          if (!Tag(&f, &wt)) return false;
          if (wt == kEndGroup) {
            if (f != field) {
              *err_ =
                  fmt::format("end-group for field {} at offset {} closes the group of field {}", f,
                              tag_start_, field);
              return false;
            }
            return true;
          }
          if (!Skip(f, wt, depth + 1)) return false;
        }
        *err_ = fmt::format("group of field {} opened at offset {} is not closed", field, start);
        return false;
      }
      case kEndGroup:
        *err_ =
            fmt::format("end-group for field {} at offset {} without a group", field, tag_start_);
        return false;
      default:
        *err_ = fmt::format("invalid wire type {} for field {} at offset {}", wire_type, field,
                            tag_start_);
        return false;
    }
  }

  bool WrongType(uint32_t field, std::string_view name, uint32_t got, uint32_t want) {
    *err_ = fmt::format("field {} ({}): wire type {} ({}), want {} ({}) at offset {}", field, name,
                        got, WireTypeName(got), want, WireTypeName(want), tag_start_);
    return false;
  }

 private:
  bool VarintSlow(uint64_t* v) {
    size_t start = pos_;
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (pos_ >= end_) {
        *err_ = fmt::format("truncated varint at offset {}", start);
        return false;
      }
      auto b = static_cast<uint8_t>(base_[pos_++]);
      if (shift == 63 && b > 1) {
        *err_ = fmt::format("varint at offset {} overflows 64 bits", start);
        return false;
      }
      x |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        *v = x;
        return true;
      }
    }
    return false;  // unreachable: the tenth byte ends the loop either way
  }

  const char* base_;
  size_t pos_;
  size_t end_;
  std::string* err_;
  size_t tag_start_ = 0;
};

}  // namespace zw::ingest::protowire
