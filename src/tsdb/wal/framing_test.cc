// The WAL's framing on bytes alone: one short case per way a segment can be damaged.
#include "tsdb/wal/framing.h"

#include <gtest/gtest.h>

#include "core/crc32c.h"

namespace zw::wal {
namespace {

std::string BigString(std::string_view partial, size_t n) {
  std::string out;
  while (out.size() < n) out.append(partial);
  out.resize(n);
  return out;
}

// A segment holding `records`, written one after another from offset 0.
std::string Encode(const std::vector<std::string>& records) {
  std::string out;
  uint64_t offset = 0;
  for (const auto& r : records) offset = EncodeRecord(r, offset, out);
  EXPECT_EQ(offset, out.size());
  return out;
}

// One fragment with a correct checksum, for building sequences the writer never produces.
std::string Fragment(FragmentType type, std::string_view payload) {
  auto t = static_cast<uint8_t>(type);
  uint32_t crc = Crc32c(payload, Crc32c(&t, 1));
  std::string out;
  out.push_back(static_cast<char>(t));
  out.push_back(static_cast<char>(payload.size() >> 8));
  out.push_back(static_cast<char>(payload.size()));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(crc >> shift));
  out.append(payload);
  return out;
}

struct ReadResult {
  std::vector<std::string> records;
  Status status;
  uint64_t good_end = 0;
};

ReadResult Read(std::string_view segment) {
  ReadResult r;
  SegmentReader reader(segment, "seg");
  std::string_view rec;
  while (reader.Next(&rec)) r.records.emplace_back(rec);
  EXPECT_FALSE(reader.Next(&rec)) << "stays at the end";
  r.status = reader.status();
  r.good_end = reader.good_end();
  return r;
}

void ExpectCorruption(const ReadResult& r, uint64_t offset, std::string_view what) {
  ASSERT_EQ(r.status.code(), StatusCode::kCorruption) << r.status.ToString();
  EXPECT_EQ(r.status.file(), "seg");
  EXPECT_EQ(r.status.offset(), offset);
  EXPECT_NE(r.status.message().find(what), std::string::npos) << r.status.message();
}

TEST(Framing, Empty) {
  ReadResult r = Read("");
  EXPECT_TRUE(r.status.ok());
  EXPECT_TRUE(r.records.empty());
}

TEST(Framing, ReadWrite) {
  std::vector<std::string> recs = {"foo", "bar", "", "xxxx"};
  ReadResult r = Read(Encode(recs));
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.records, recs);
  EXPECT_EQ(r.good_end, 3 + 3 + 0 + 4 + 4 * kHeaderSize);
}

// Freezes the format: a change here breaks every WAL already on disk.
TEST(Framing, GoldenBytes) {
  std::string got = Encode({"hello"});
  std::string want(
      "\x01\x00\x05\x67\x19\xda\xea"
      "hello",
      12);
  EXPECT_EQ(got, want);
}

TEST(Framing, ManyPages) {
  std::vector<std::string> recs;
  for (int i = 0; i < 100000; ++i) recs.push_back(std::to_string(i));
  ReadResult r = Read(Encode(recs));
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.records, recs);
}

TEST(Framing, Fragmentation) {
  std::vector<std::string> recs = {"small", BigString("medium", 50000), BigString("large", 100000)};
  std::string seg = Encode(recs);
  EXPECT_GT(seg.size(), 4 * kPageSize);
  ReadResult r = Read(seg);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.records, recs);
}

TEST(Framing, RecordFillingPageExactly) {
  std::string seg = Encode({std::string(kPageSize - kHeaderSize, 'a'), "b"});
  EXPECT_EQ(static_cast<uint8_t>(seg[0]), static_cast<uint8_t>(FragmentType::kFull));
  EXPECT_EQ(static_cast<uint8_t>(seg[kPageSize]), static_cast<uint8_t>(FragmentType::kFull));
  EXPECT_EQ(seg.size(), kPageSize + kHeaderSize + 1);
  EXPECT_EQ(Read(seg).records.size(), 2u);
}

TEST(Framing, RecordOneByteOverPage) {
  std::string seg = Encode({std::string(kPageSize - kHeaderSize + 1, 'a')});
  EXPECT_EQ(static_cast<uint8_t>(seg[0]), static_cast<uint8_t>(FragmentType::kFirst));
  EXPECT_EQ(static_cast<uint8_t>(seg[kPageSize]), static_cast<uint8_t>(FragmentType::kLast));
  EXPECT_EQ(seg.size(), kPageSize + kHeaderSize + 1);
  EXPECT_EQ(Read(seg).records[0].size(), kPageSize - kHeaderSize + 1);
}

TEST(Framing, RecordSpanningExactlyTwoPages) {
  std::string rec(2 * (kPageSize - kHeaderSize), 'z');
  std::string seg = Encode({rec});
  EXPECT_EQ(seg.size(), 2 * kPageSize);
  EXPECT_EQ(Read(seg).records, std::vector<std::string>{rec});
}

TEST(Framing, ShortPageTailIsPadded) {
  // Leaves exactly 7 bytes in the page: too few for a fragment with payload.
  std::string first(kPageSize - 2 * kHeaderSize, 'a');
  std::string seg = Encode({first, ""});
  EXPECT_EQ(seg.substr(kPageSize - kHeaderSize, kHeaderSize), std::string(kHeaderSize, '\0'));
  EXPECT_EQ(seg.size(), kPageSize + kHeaderSize);
  EXPECT_EQ(Read(seg).records, (std::vector<std::string>{first, ""}));
}

TEST(Framing, EightBytesLeftHoldOnePayloadByte) {
  std::string first(kPageSize - 2 * kHeaderSize - 1, 'a');
  std::string seg = Encode({first, "xy"});
  EXPECT_EQ(static_cast<uint8_t>(seg[kPageSize - kMinFragmentSpace]),
            static_cast<uint8_t>(FragmentType::kFirst));
  EXPECT_EQ(Read(seg).records, (std::vector<std::string>{first, "xy"}));
}

TEST(Framing, PaddedPageThenMoreRecords) {
  std::string seg = Encode({"a"});
  seg.append(PaddingToPageEnd(seg.size()), '\0');
  seg += Fragment(FragmentType::kFull, "b");
  EXPECT_EQ(Read(seg).records, (std::vector<std::string>{"a", "b"}));
}

TEST(Framing, FitsInSegment) {
  constexpr uint64_t kSeg = 2 * kPageSize;
  constexpr uint64_t kCapacity = 2 * (kPageSize - kHeaderSize);
  EXPECT_TRUE(FitsInSegment(kCapacity, 0, kSeg));
  EXPECT_FALSE(FitsInSegment(kCapacity + 1, 0, kSeg));
  EXPECT_TRUE(FitsInSegment(kPageSize - kHeaderSize, kPageSize, kSeg));
  EXPECT_FALSE(FitsInSegment(kPageSize - kHeaderSize + 1, kPageSize, kSeg));
  EXPECT_TRUE(FitsInSegment(1, kSeg - kMinFragmentSpace, kSeg));
  EXPECT_FALSE(FitsInSegment(0, kSeg - kHeaderSize, kSeg)) << "7 bytes are padding";
  EXPECT_FALSE(FitsInSegment(0, kSeg, kSeg));
  EXPECT_FALSE(FitsInSegment(0, kSeg + 100, kSeg));
}

TEST(Framing, FitsAgreesWithEncoder) {
  constexpr uint64_t kSeg = 3 * kPageSize;
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{100}, uint64_t{kPageSize - 8},
                          uint64_t{kPageSize - 7}, uint64_t{kPageSize + 5000}}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{50000}, size_t{3 * kPageSize - 30}}) {
      std::string out;
      uint64_t end = EncodeRecord(std::string(n, 'q'), offset, out);
      EXPECT_EQ(FitsInSegment(n, offset, kSeg), end <= kSeg) << offset << " " << n;
    }
  }
}

TEST(Framing, ChecksumMismatch) {
  std::string seg = Encode({"good", "foo"});
  seg[seg.size() - 1] ^= 1;
  ReadResult r = Read(seg);
  EXPECT_EQ(r.records, std::vector<std::string>{"good"});
  ExpectCorruption(r, kHeaderSize + 4, "checksum");
  EXPECT_EQ(r.good_end, kHeaderSize + 4);
}

TEST(Framing, ChecksumCoversType) {
  // A first fragment turned into a full one must not pass for a whole record.
  std::string seg = Encode({BigString("split", 40000)});
  seg[0] = static_cast<char>(FragmentType::kFull);
  ReadResult r = Read(seg);
  EXPECT_TRUE(r.records.empty());
  ExpectCorruption(r, 0, "checksum");
}

TEST(Framing, BadType) {
  std::string seg = Encode({"ok"}) + Fragment(FragmentType::kFull, "x");
  seg[kHeaderSize + 2] = 5;
  ReadResult r = Read(seg);
  EXPECT_EQ(r.records, std::vector<std::string>{"ok"});
  ExpectCorruption(r, kHeaderSize + 2, "invalid fragment type 5");
}

TEST(Framing, BadLength) {
  std::string seg = Encode({"foo"});
  seg[1] = '\xff';  // 0xff03 bytes cannot fit in a page
  ReadResult r = Read(seg);
  EXPECT_TRUE(r.records.empty());
  ExpectCorruption(r, 0, "runs past the end of the page");
}

TEST(Framing, TornHeader) {
  std::string seg = Encode({"foo", "bar"});
  seg.resize(kHeaderSize + 3 + 4);
  ReadResult r = Read(seg);
  EXPECT_EQ(r.records, std::vector<std::string>{"foo"});
  ExpectCorruption(r, kHeaderSize + 3, "torn");
  EXPECT_EQ(r.good_end, kHeaderSize + 3);
}

TEST(Framing, TornPayload) {
  std::string seg = Encode({"foo", "barbaz"});
  seg.resize(seg.size() - 1);
  ReadResult r = Read(seg);
  EXPECT_EQ(r.records, std::vector<std::string>{"foo"});
  ExpectCorruption(r, kHeaderSize + 3, "torn");
}

TEST(Framing, PartialLastIsTorn) {
  std::string seg = Encode({"foo", BigString("bar", 40000)});
  seg.resize(kPageSize);  // the first fragment of the second record, not its last
  ReadResult r = Read(seg);
  EXPECT_EQ(r.records, std::vector<std::string>{"foo"});
  ExpectCorruption(r, kHeaderSize + 3, "inside a record");
  EXPECT_EQ(r.good_end, kHeaderSize + 3);
}

TEST(Framing, MiddleWithoutFirst) {
  ReadResult r = Read(Fragment(FragmentType::kMiddle, "m") + Fragment(FragmentType::kFull, "x"));
  EXPECT_TRUE(r.records.empty());
  ExpectCorruption(r, 0, "middle fragment without a first");
}

TEST(Framing, LastWithoutFirst) {
  ReadResult r = Read(Fragment(FragmentType::kFull, "a") + Fragment(FragmentType::kLast, "l"));
  EXPECT_EQ(r.records, std::vector<std::string>{"a"});
  ExpectCorruption(r, kHeaderSize + 1, "last fragment without a first");
}

TEST(Framing, FullInsideSplitRecord) {
  ReadResult r = Read(Fragment(FragmentType::kFirst, "f") + Fragment(FragmentType::kFull, "x") +
                      Fragment(FragmentType::kLast, "l"));
  EXPECT_TRUE(r.records.empty());
  ExpectCorruption(r, kHeaderSize + 1, "full fragment inside a split record");
}

TEST(Framing, FirstInsideSplitRecord) {
  ReadResult r = Read(Fragment(FragmentType::kFirst, "f") + Fragment(FragmentType::kFirst, "g"));
  ExpectCorruption(r, kHeaderSize + 1, "first fragment inside a split record");
}

TEST(Framing, MiddleFragmentsJoin) {
  ReadResult r = Read(Fragment(FragmentType::kFirst, "ab") + Fragment(FragmentType::kMiddle, "") +
                      Fragment(FragmentType::kMiddle, "cd") + Fragment(FragmentType::kLast, "e"));
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.records, std::vector<std::string>{"abcde"});
}

TEST(Framing, NonZeroPadding) {
  std::string seg = Encode({"a"});
  seg.append(PaddingToPageEnd(seg.size()), '\0');
  seg[100] = 1;
  seg += Fragment(FragmentType::kFull, "b");
  ReadResult r = Read(seg);
  EXPECT_EQ(r.records, std::vector<std::string>{"a"});
  ExpectCorruption(r, kHeaderSize + 1, "padding");
}

TEST(Framing, NonZeroShortTail) {
  std::string seg = Encode({std::string(kPageSize - 2 * kHeaderSize, 'a'), "b"});
  seg[kPageSize - 3] = 'x';
  ReadResult r = Read(seg);
  EXPECT_EQ(r.records.size(), 1u);
  ExpectCorruption(r, kPageSize - kHeaderSize, "padding");
}

TEST(Framing, ZerosAtTheEndAreACleanEnd) {
  // What a file system may leave after a crash: the size grew, the data never came.
  std::string seg = Encode({"a"}) + std::string(5000, '\0');
  ReadResult r = Read(seg);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.records, std::vector<std::string>{"a"});
}

TEST(Framing, ZerosInsideASplitRecordAreTorn) {
  std::string seg = Encode({BigString("x", 40000)});
  std::fill(seg.begin() + kPageSize, seg.end(), '\0');
  ReadResult r = Read(seg);
  EXPECT_TRUE(r.records.empty());
  ExpectCorruption(r, 0, "inside a record");
}

}  // namespace
}  // namespace zw::wal
