#include "tsdb/wal/framing.h"

#include <algorithm>
#include <array>

#include "core/crc32c.h"

namespace zw::wal {
namespace {

static_assert(kPageSize - kHeaderSize <= 0xffff, "fragment length must fit 16 bits");

// The checksum covers the type byte, then the payload; start from the type byte's CRC.
uint32_t TypeCrc(uint8_t type) {
  static const std::array<uint32_t, kMaxFragmentType + 1> crcs = [] {
    std::array<uint32_t, kMaxFragmentType + 1> c{};
    for (uint8_t t = 0; t <= kMaxFragmentType; ++t) c[t] = Crc32c(&t, 1);
    return c;
  }();
  return crcs[type];
}

uint32_t FragmentCrc(uint8_t type, std::string_view payload) {
  return Crc32c(payload.data(), payload.size(), TypeCrc(type));
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

}  // namespace

size_t PaddingToPageEnd(uint64_t offset) {
  size_t in_page = static_cast<size_t>(offset % kPageSize);
  return in_page == 0 ? 0 : kPageSize - in_page;
}

uint64_t EncodeRecord(std::string_view record, uint64_t offset, std::string& out) {
  bool first = true;
  while (true) {
    size_t left = kPageSize - static_cast<size_t>(offset % kPageSize);
    if (left < kMinFragmentSpace) {
      out.append(left, '\0');
      offset += left;
      continue;
    }
    size_t take = std::min(record.size(), left - kHeaderSize);
    bool last = take == record.size();
    FragmentType type = first ? (last ? FragmentType::kFull : FragmentType::kFirst)
                              : (last ? FragmentType::kLast : FragmentType::kMiddle);
    std::string_view payload = record.substr(0, take);
    auto t = static_cast<uint8_t>(type);
    uint32_t crc = FragmentCrc(t, payload);
    const char header[kHeaderSize] = {
        static_cast<char>(t),         static_cast<char>(take >> 8), static_cast<char>(take),
        static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
        static_cast<char>(crc),
    };
    out.append(header, kHeaderSize);
    out.append(payload);
    offset += kHeaderSize + take;
    record.remove_prefix(take);
    first = false;
    if (last) return offset;
  }
}

bool FitsInSegment(size_t size, uint64_t offset, uint64_t segment_size) {
  if (offset >= segment_size) return false;
  uint64_t left_in_page = kPageSize - offset % kPageSize;
  uint64_t capacity = left_in_page >= kMinFragmentSpace ? left_in_page - kHeaderSize : 0;
  uint64_t whole_pages = (segment_size - offset - left_in_page) / kPageSize;
  capacity += whole_pages * (kPageSize - kHeaderSize);
  // Even an empty record needs room for a header.
  return std::max<uint64_t>(size, 1) <= capacity;
}

SegmentReader::SegmentReader(std::string_view data, std::string name, uint64_t base)
    : data_(data), name_(std::move(name)), base_(base) {}

bool SegmentReader::Fail(uint64_t offset, std::string msg) {
  status_ = Status::Corruption(name_, base_ + offset, std::move(msg));
  done_ = true;
  return false;
}

bool SegmentReader::Next(std::string_view* record) {
  if (done_) return false;
  const uint64_t size = data_.size();
  while (true) {
    if (pos_ == size) {
      done_ = true;
      if (in_record_) return Fail(record_start_, "segment ends inside a record (torn write)");
      return false;
    }
    const uint64_t at = base_ + pos_;  // offset in the segment
    const uint64_t page_end = std::min<uint64_t>((at / kPageSize + 1) * kPageSize - base_, size);
    const uint64_t left_in_page = kPageSize - at % kPageSize;
    const auto type = static_cast<uint8_t>(data_[pos_]);

    if (left_in_page < kHeaderSize || type == static_cast<uint8_t>(FragmentType::kZero)) {
      if (!AllZero(data_.substr(pos_, page_end - pos_))) {
        return Fail(pos_, "non-zero bytes in page padding");
      }
      pos_ = page_end;
      continue;
    }
    if (size - pos_ < kHeaderSize)
      return Fail(pos_, "segment ends inside a fragment header (torn write)");
    if (type > kMaxFragmentType) return Fail(pos_, fmt::format("invalid fragment type {}", type));

    const auto* h = reinterpret_cast<const uint8_t*>(data_.data() + pos_);
    const size_t length = static_cast<size_t>(h[1]) << 8 | h[2];
    const uint32_t stored_crc = static_cast<uint32_t>(h[3]) << 24 |
                                static_cast<uint32_t>(h[4]) << 16 |
                                static_cast<uint32_t>(h[5]) << 8 | static_cast<uint32_t>(h[6]);
    if (length > left_in_page - kHeaderSize) {
      return Fail(pos_, fmt::format("fragment length {} runs past the end of the page", length));
    }
    if (size - pos_ - kHeaderSize < length) {
      return Fail(pos_, "segment ends inside a fragment payload (torn write)");
    }
    std::string_view payload = data_.substr(pos_ + kHeaderSize, length);
    if (FragmentCrc(type, payload) != stored_crc) return Fail(pos_, "fragment checksum mismatch");

    const uint64_t fragment_start = pos_;
    const uint64_t next = pos_ + kHeaderSize + length;
    switch (static_cast<FragmentType>(type)) {
      case FragmentType::kFull:
        if (in_record_) return Fail(fragment_start, "full fragment inside a split record");
        pos_ = good_end_ = next;
        *record = payload;
        return true;
      case FragmentType::kFirst:
        if (in_record_) return Fail(fragment_start, "first fragment inside a split record");
        in_record_ = true;
        record_start_ = fragment_start;
        scratch_.assign(payload);
        break;
      case FragmentType::kMiddle:
        if (!in_record_) return Fail(fragment_start, "middle fragment without a first");
        scratch_.append(payload);
        break;
      case FragmentType::kLast:
        if (!in_record_) return Fail(fragment_start, "last fragment without a first");
        scratch_.append(payload);
        in_record_ = false;
        pos_ = good_end_ = next;
        *record = scratch_;
        return true;
      case FragmentType::kZero:
        break;  // handled above
    }
    pos_ = next;
  }
}

}  // namespace zw::wal
