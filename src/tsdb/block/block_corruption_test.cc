// Damaged blocks: every changed or missing byte of the index, chunk segments, tombstones
// and meta.json gives a Corruption error (or NotFound for missing files) at Open or at
// query time, never a crash and never wrong data. Crashes while writing leave no block.
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "core/coding.h"
#include "core/crc32c.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_test_util.h"
#include "tsdb/block/index.h"
#include "tsdb/block/writer.h"

namespace zw::tsdb {
namespace {

using testing::Model;
using testing::ModelChunkSeriesSet;
using testing::SelectAll;

constexpr int64_t kMin = 1'700'000'000'000;
constexpr int64_t kMax = kMin + 2 * 3600 * 1000;

class CorruptionTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  void SetUp() override {
    std::tie(fs_, root_) = GetParam().make();
    blocks_ = fs::JoinPath(root_, "blocks");
    std::mt19937_64 rng(11);
    model_ = testing::RandomModel(rng, 40, kMin, kMax);
    ModelChunkSeriesSet set(model_);
    BlockMeta meta;
    meta.min_time = kMin;
    meta.max_time = kMax;
    auto r = WriteBlock(fs_.get(), blocks_, set, meta);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    dir_ = fs::JoinPath(blocks_, r->ulid);
  }
  void TearDown() override { EXPECT_TRUE(fs_->RemoveAll(root_).ok()); }

  std::string Read(const std::string& name) { return *fs_->ReadFile(dir_ + "/" + name); }
  void Put(const std::string& name, std::string_view data) {
    auto f = fs_->NewWritableFile(dir_ + "/" + name, true);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
  }

  // Reads everything the block holds; returns the first error. Checks that what it did
  // read before the error is what the model holds.
  Status ReadEverything() {
    auto b = Block::Open(fs_.get(), dir_);
    if (!b.ok()) return b.status();
    Matchers all = {Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+")};
    auto got = SelectAll(*(*b)->NewQuerier(kMinTime, kMaxTime), all);
    for (const auto& [labels, samples] : got.series) {
      auto it = model_.find(labels);
      EXPECT_TRUE(it != model_.end()) << "unknown series " << labels.ToString();
      if (it != model_.end()) {
        EXPECT_TRUE(testing::SameSamples(samples, it->second));
      }
    }
    if (!got.err.ok()) return got.err;
    return (*b)->VerifyChunks();
  }

  std::shared_ptr<fs::FileSystem> fs_;
  std::string root_, blocks_;
  Model model_;
  std::string dir_;
};

TEST_P(CorruptionTest, IntactBlockReads) { EXPECT_TRUE(ReadEverything().ok()); }

TEST_P(CorruptionTest, EveryFlippedIndexByteIsCaughtAtOpen) {
  std::string index = Read("index");
  for (size_t i = 0; i < index.size(); ++i) {
    std::string bad = index;
    bad[i] ^= static_cast<char>(1 << (i % 8));
    Put("index", bad);
    auto b = Block::Open(fs_.get(), dir_);
    ASSERT_FALSE(b.ok()) << "flip at " << i << " not detected";
    EXPECT_EQ(b.status().code(), StatusCode::kCorruption);
    EXPECT_NE(b.status().message().find(dir_ + "/index"), std::string::npos)
        << b.status().message();
  }
}

TEST_P(CorruptionTest, EveryTruncationOfTheIndexIsCaught) {
  std::string index = Read("index");
  for (size_t n = 0; n < index.size(); ++n) {
    Put("index", index.substr(0, n));
    auto b = Block::Open(fs_.get(), dir_);
    ASSERT_FALSE(b.ok()) << "truncation to " << n;
    EXPECT_EQ(b.status().code(), StatusCode::kCorruption);
  }
}

TEST_P(CorruptionTest, FlippedChunkBytesAreCaughtAtOpenOrRead) {
  std::string seg = Read("chunks/000001");
  std::mt19937_64 rng(5);
  for (int round = 0; round < 300; ++round) {
    size_t i = round < 8 ? static_cast<size_t>(round) : rng() % seg.size();
    std::string bad = seg;
    bad[i] ^= static_cast<char>(1 << (rng() % 8));
    Put("chunks/000001", bad);
    Status s = ReadEverything();
    ASSERT_FALSE(s.ok()) << "flip at " << i << " not detected";
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
    EXPECT_NE(s.message().find(dir_), std::string::npos) << s.message();
  }
}

TEST_P(CorruptionTest, QueryOverDamagedChunkEndsWithCorruptionNamingTheBlock) {
  std::string seg = Read("chunks/000001");
  seg[seg.size() / 2] ^= 0x10;
  Put("chunks/000001", seg);
  auto b = Block::Open(fs_.get(), dir_);
  ASSERT_TRUE(b.ok());  // chunks are checked when read
  auto set =
      (*b)->NewQuerier(kMinTime, kMaxTime)
          ->Select(true, nullptr, {Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+")});
  size_t n = 0;
  while (set->Next()) ++n;
  EXPECT_LT(n, model_.size());
  EXPECT_EQ(set->Err().code(), StatusCode::kCorruption);
  EXPECT_NE(set->Err().message().find("block " + dir_), std::string::npos);
  EXPECT_EQ(set->Err().file(), dir_ + "/chunks/000001");
  EXPECT_FALSE((*b)->VerifyChunks().ok());
}

TEST_P(CorruptionTest, TruncatedChunkSegmentIsCaught) {
  std::string seg = Read("chunks/000001");
  for (size_t n : {size_t{0}, size_t{3}, size_t{8}, seg.size() / 3, seg.size() - 1}) {
    Put("chunks/000001", seg.substr(0, n));
    Status s = ReadEverything();
    ASSERT_FALSE(s.ok()) << n;
    EXPECT_EQ(s.code(), StatusCode::kCorruption);
  }
}

TEST_P(CorruptionTest, MissingFiles) {
  for (std::string name : {"index", "meta.json", "chunks/000001"}) {
    std::string data = Read(name);
    ASSERT_TRUE(fs_->RemoveFile(dir_ + "/" + name).ok());
    Status s = ReadEverything();
    EXPECT_FALSE(s.ok()) << name;
    Put(name, data);
  }
  EXPECT_TRUE(ReadEverything().ok());
  Put("chunks/000003", "stray");
  EXPECT_EQ(ReadEverything().code(), StatusCode::kCorruption);
}

TEST_P(CorruptionTest, DamagedMetaIsCorruption) {
  std::string meta = Read("meta.json");
  for (size_t n : {size_t{0}, size_t{1}, meta.size() / 2, meta.size() - 3}) {
    Put("meta.json", meta.substr(0, n));
    auto b = Block::Open(fs_.get(), dir_);
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.status().code(), StatusCode::kCorruption);
    EXPECT_NE(b.status().message().find("meta.json"), std::string::npos);
  }
  std::string swapped = meta;
  swapped.replace(swapped.find("minTime"), 7, "minTyme");
  Put("meta.json", swapped);
  EXPECT_EQ(Block::Open(fs_.get(), dir_).status().code(), StatusCode::kCorruption);
}

TEST_P(CorruptionTest, DamagedTombstonesAreCaught) {
  {
    auto b = Block::Open(fs_.get(), dir_);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(
        (*b)->Delete(kMin, kMax, {Matcher::MustMake(MatchType::kEqual, "__name__", "up")}).ok());
  }
  std::string ts = Read("tombstones");
  for (size_t i = 0; i < ts.size(); ++i) {
    std::string bad = ts;
    bad[i] ^= 0x01;
    Put("tombstones", bad);
    auto b = Block::Open(fs_.get(), dir_);
    ASSERT_FALSE(b.ok()) << i;
    EXPECT_EQ(b.status().code(), StatusCode::kCorruption);
  }
}

// Damage that keeps the checksums right (as a bug in a writer would) reaches the decoders:
// they return Corruption or well-formed answers, and never read outside the file. (The fuzz
// target index_reader_fuzz does this at scale, under the sanitizers.)
TEST_P(CorruptionTest, DamageBehindValidChecksumsNeverCrashesTheReader) {
  std::string index = Read("index");
  std::mt19937_64 rng(9);
  int opened = 0, failed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bad = index;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k)
      bad[8 + rng() % (bad.size() - 44)] ^= static_cast<char>(1 + rng() % 255);
    RechecksumIndex(bad);
    // A copy the exact size of the damaged bytes, so that reading past them is caught by
    // the sanitizers.
    auto heap = std::make_unique<char[]>(bad.size());
    std::memcpy(heap.get(), bad.data(), bad.size());
    auto r = IndexReader::Open(std::string_view(heap.get(), bad.size()), "index");
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
      ++failed;
      continue;
    }
    ++opened;
    Status s = ExerciseIndex(**r);
    EXPECT_TRUE(s.ok() || s.code() == StatusCode::kCorruption) << s.ToString();
  }
  EXPECT_GT(opened, 0);
  EXPECT_GT(failed, 0);
}

// A chunk whose bytes are changed and its CRC recomputed (a writer bug, not a disk error)
// reaches the chunk decoders (packed, zstd inside it, XOR): they return Corruption or
// well-formed samples, never crash.
TEST_P(CorruptionTest, DamagedChunkBehindValidCrcNeverCrashesTheReader) {
  const std::string seg = Read("chunks/000001");
  // The chunks' frames: len:uvarint encoding:u8 data crc:u32.
  struct Frame {
    size_t enc, data, len;
  };
  std::vector<Frame> frames;
  for (Decoder d(std::string_view(seg).substr(kChunkSegmentHeaderSize)); !d.empty();) {
    uint64_t len;
    uint8_t enc;
    ASSERT_TRUE(d.Uvarint(&len) && d.Byte(&enc));
    size_t at = kChunkSegmentHeaderSize + d.offset();
    frames.push_back({at - 1, at, len});
    ASSERT_GE(d.remaining(), len + 4);
    for (size_t i = 0; i < len + 4; ++i) d.Byte(&enc);
  }
  ASSERT_GT(frames.size(), 10u);
  std::mt19937_64 rng(4);
  int failed = 0;
  for (int round = 0; round < 400; ++round) {
    const Frame& f = frames[rng() % frames.size()];
    std::string bad = seg;
    bad[f.data + rng() % f.len] ^= static_cast<char>(1 + rng() % 255);
    uint32_t crc = Crc32c(std::string_view(bad).substr(f.data, f.len),
                          Crc32c(std::string_view(bad).substr(f.enc, 1)));
    for (int i = 0; i < 4; ++i) bad[f.data + f.len + i] = static_cast<char>(crc >> (24 - 8 * i));
    Put("chunks/000001", bad);
    auto b = Block::Open(fs_.get(), dir_);
    ASSERT_TRUE(b.ok());
    Matchers all = {Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+")};
    Status s = SelectAll(*(*b)->NewQuerier(kMinTime, kMaxTime), all).err;
    EXPECT_TRUE(s.ok() || s.code() == StatusCode::kCorruption) << s.ToString();
    Status v = (*b)->VerifyChunks();
    EXPECT_TRUE(v.ok() || v.code() == StatusCode::kCorruption) << v.ToString();
    failed += !v.ok();
  }
  EXPECT_GT(failed, 0);
}

INSTANTIATE_TEST_SUITE_P(FileSystems, CorruptionTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& p) { return p.param.name; });

// A write that fails part-way (a full disk, or a crash: the bytes not synced are lost)
// leaves no block under its final name.
TEST(WriteBlockCrash, FailedWriteLeavesNoBlock) {
  std::mt19937_64 rng(1);
  Model model = testing::RandomModel(rng, 50, kMin, kMax);
  auto mem = fs::NewMemFileSystem();
  fs::FaultInjectionFileSystem fault(mem.get());
  ASSERT_TRUE(fault.CreateDirs("/blocks").ok());
  uint64_t total = 0;
  {
    ModelChunkSeriesSet set(model);
    BlockMeta meta;
    meta.min_time = kMin;
    meta.max_time = kMax;
    auto r = WriteBlock(&fault, "/probe", set, meta);
    ASSERT_TRUE(r.ok());
    for (std::string f : {"index", "meta.json", "chunks/000001"})
      total += *fault.FileSize("/probe/" + r->ulid + "/" + f);
  }
  for (uint64_t budget = 0; budget < total; budget += total / 23 + 1) {
    fault.SetFailWritesAfter(static_cast<int64_t>(budget));
    ModelChunkSeriesSet set(model);
    BlockMeta meta;
    meta.min_time = kMin;
    meta.max_time = kMax;
    auto r = WriteBlock(&fault, "/blocks", set, meta);
    ASSERT_FALSE(r.ok()) << budget;
    EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
    ASSERT_TRUE(fault.DropUnsyncedData().ok());
    auto names = fault.ListDir("/blocks");
    ASSERT_TRUE(names.ok());
    for (const std::string& name : *names) {
      EXPECT_TRUE(name.ends_with(".tmp")) << name;
    }
  }
  fault.SetFailWritesAfter(-1);
  ModelChunkSeriesSet set(model);
  BlockMeta meta;
  meta.min_time = kMin;
  meta.max_time = kMax;
  auto r = WriteBlock(&fault, "/blocks", set, meta);
  ASSERT_TRUE(r.ok());
  // Everything was synced before the rename: a power loss now loses nothing.
  ASSERT_TRUE(fault.DropUnsyncedData().ok());
  auto b = Block::Open(&fault, "/blocks/" + r->ulid);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE((*b)->VerifyChunks().ok());
}

TEST(WriteBlockCrash, FailedSyncLeavesNoBlock) {
  Model model;
  model[Labels{{"__name__", "a"}}] = {{kMin, 1}};
  auto mem = fs::NewMemFileSystem();
  fs::FaultInjectionFileSystem fault(mem.get());
  fault.SetFailSync(true);
  ModelChunkSeriesSet set(model);
  BlockMeta meta;
  meta.min_time = kMin;
  meta.max_time = kMax;
  auto r = WriteBlock(&fault, "/blocks", set, meta);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(fault.ListDir("/blocks")->empty());
}

}  // namespace
}  // namespace zw::tsdb
