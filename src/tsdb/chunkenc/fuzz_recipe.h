// Fuzz-target helper: reads a fuzzer's input front to back as a recipe of bytes and 64-bit
// words, running dry into zeros, so that any input describes some series to encode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace zw::chunkenc {

class FuzzRecipe {
 public:
  explicit FuzzRecipe(std::span<const uint8_t> in) : in_(in) {}
  bool empty() const { return pos_ >= in_.size(); }
  uint8_t Byte() { return pos_ < in_.size() ? in_[pos_++] : 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | Byte();
    return v;
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace zw::chunkenc
