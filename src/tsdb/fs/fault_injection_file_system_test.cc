#include <gtest/gtest.h>

#include "tsdb/fs/file_system.h"

namespace zw::fs {
namespace {

class FaultInjectionTest : public ::testing::Test {
 protected:
  FaultInjectionTest() : mem_(NewMemFileSystem()), fs_(mem_.get()) {}

  std::unique_ptr<WritableFile> Open(const std::string& path, bool truncate = true) {
    auto f = fs_.NewWritableFile(path, truncate);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return std::move(f).value();
  }
  std::string Read(const std::string& path) { return *mem_->ReadFile(path); }

  std::unique_ptr<FileSystem> mem_;
  FaultInjectionFileSystem fs_;
};

TEST_F(FaultInjectionTest, DropUnsyncedDataKeepsSyncedPrefix) {
  auto f = Open("/f");
  ASSERT_TRUE(f->Append("durable").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append(" lost").ok());
  EXPECT_EQ(fs_.SyncedSize("/f"), 7u);
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/f"), "durable");
}

TEST_F(FaultInjectionTest, NeverSyncedFileLosesEverything) {
  auto f = Open("/f");
  ASSERT_TRUE(f->Append("gone").ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/f"), "");
}

TEST_F(FaultInjectionTest, ExistingBytesCountAsDurable) {
  {
    auto raw = mem_->NewWritableFile("/f", true);
    ASSERT_TRUE((*raw)->Append("old").ok());
  }
  auto f = Open("/f", /*truncate=*/false);
  ASSERT_TRUE(f->Append("new").ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/f"), "old");
}

TEST_F(FaultInjectionTest, ReopenForAppendKeepsUnsyncedState) {
  {
    auto f = Open("/f");
    ASSERT_TRUE(f->Append("a").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->Append("b").ok());
  }
  auto f = Open("/f", /*truncate=*/false);
  ASSERT_TRUE(f->Append("c").ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/f"), "a");
}

TEST_F(FaultInjectionTest, WritesContinueAtTheTruncatedEnd) {
  auto f = Open("/f");
  ASSERT_TRUE(f->Append("abc").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("def").ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(f->Size(), 3u);
  ASSERT_TRUE(f->Append("g").ok());
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ(Read("/f"), "abcg");
  EXPECT_EQ(fs_.SyncedSize("/f"), 4u);
}

TEST_F(FaultInjectionTest, FailWritesAfterWritesWhatFitsThenFails) {
  auto f = Open("/f");
  fs_.SetFailWritesAfter(5);
  ASSERT_TRUE(f->Append("abc").ok());
  Status s = f->Append("defgh");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("/f"), std::string::npos);
  EXPECT_EQ(Read("/f"), "abcde") << "the bytes that fit are written, as a short write";
  EXPECT_FALSE(f->Append("x").ok()) << "the disk stays full";
  EXPECT_FALSE(Open("/g")->Append("y").ok()) << "for every file";
  fs_.SetFailWritesAfter(-1);
  EXPECT_TRUE(f->Append("x").ok());
  EXPECT_EQ(Read("/f"), "abcdex");
}

TEST_F(FaultInjectionTest, FailSync) {
  auto f = Open("/f");
  ASSERT_TRUE(f->Append("abc").ok());
  fs_.SetFailSync(true);
  EXPECT_FALSE(f->Sync().ok());
  EXPECT_EQ(fs_.SyncedSize("/f"), 0u);
  EXPECT_EQ(fs_.SyncCount(), 0u);
  fs_.SetFailSync(false);
  EXPECT_TRUE(f->Sync().ok());
  EXPECT_EQ(fs_.SyncedSize("/f"), 3u);
  EXPECT_EQ(fs_.SyncCount(), 1u);
}

TEST_F(FaultInjectionTest, RenameCarriesSyncState) {
  auto f = Open("/tmp");
  ASSERT_TRUE(f->Append("synced").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("+not").ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(fs_.Rename("/tmp", "/final").ok());
  EXPECT_EQ(fs_.SyncedSize("/tmp"), 0u);
  EXPECT_EQ(fs_.SyncedSize("/final"), 6u);
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/final"), "synced");
}

TEST_F(FaultInjectionTest, RemovedFilesAreForgotten) {
  auto f = Open("/f");
  ASSERT_TRUE(f->Append("x").ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(fs_.RemoveFile("/f").ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_FALSE(fs_.Exists("/f"));
}

TEST_F(FaultInjectionTest, TruncateLowersSyncedSize) {
  auto f = Open("/f");
  ASSERT_TRUE(f->Append("0123456789").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(fs_.Truncate("/f", 4).ok());
  EXPECT_EQ(fs_.SyncedSize("/f"), 4u);
}

}  // namespace
}  // namespace zw::fs
