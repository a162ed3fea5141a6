// How the WAL cuts records into checksummed fragments within 32 KiB pages, and how it reads
// them back: the pure, file-free half of the WAL. See docs/format/wal.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace zw::wal {

inline constexpr size_t kPageSize = 32 * 1024;
inline constexpr size_t kHeaderSize = 7;  // type:1, length:2, crc:4
// A fragment is only started where at least this much of the page is left.
inline constexpr size_t kMinFragmentSpace = kHeaderSize + 1;

// On disk: do not change the values.
enum class FragmentType : uint8_t {
  kZero = 0,  // padding to the end of the page
  kFull = 1,
  kFirst = 2,
  kMiddle = 3,
  kLast = 4,
};
inline constexpr uint8_t kMaxFragmentType = 4;

// Appends the fragments (and any padding) of `record` to `out`, as they are to be stored from
// byte `offset` of a segment on. Returns the segment offset just past the record.
uint64_t EncodeRecord(std::string_view record, uint64_t offset, std::string& out);

// Zero bytes from `offset` to the end of its page; 0 at a page boundary.
size_t PaddingToPageEnd(uint64_t offset);

// Whether a record of `size` bytes fits between `offset` and the end of a segment of
// `segment_size` bytes (a multiple of kPageSize).
bool FitsInSegment(size_t size, uint64_t offset, uint64_t segment_size);

// Reads the records of one segment's bytes, checking every fragment. Stops at the clean end
// of the data or at the first damage; nothing after damage is ever returned.
//
//   SegmentReader r(bytes, path);
//   std::string_view rec;
//   while (r.Next(&rec)) Use(rec);
//   if (!r.status().ok()) Repair(r.good_end());
//
// Not thread safe. `data` must outlive the reader.
class SegmentReader {
 public:
  // `name` names the segment in corruption errors. `base`: `data` holds the segment's bytes
  // from offset `base` on, which must be a record boundary (a good_end() of an earlier read);
  // offsets reported (errors, good_end) are the segment's. Lets a reader tail a growing file.
  SegmentReader(std::string_view data, std::string name, uint64_t base = 0);

  // The next complete record, valid until the next call to Next(). False at the end of the
  // data or at damage; status() tells which.
  bool Next(std::string_view* record);

  // OK after a clean end; kCorruption with the segment name and the offset of the damage
  // otherwise.
  const Status& status() const { return status_; }

  // The offset just past the last record returned: where the readable prefix ends.
  uint64_t good_end() const { return base_ + good_end_; }

 private:
  bool Fail(uint64_t offset, std::string msg);

  const std::string_view data_;
  const std::string name_;
  const uint64_t base_;  // segment offset of data_[0]
  uint64_t pos_ = 0;
  uint64_t good_end_ = 0;
  bool in_record_ = false;  // between a first fragment and its last
  uint64_t record_start_ = 0;
  std::string scratch_;  // a split record's fragments so far
  Status status_;
  bool done_ = false;
};

}  // namespace zw::wal
