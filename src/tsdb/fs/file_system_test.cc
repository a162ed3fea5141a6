// One behavioural suite run over every FileSystem: the real one in a temporary directory, the
// in-memory one, and the fault-injection wrapper with no faults set (which must be invisible).
#include "tsdb/fs/file_system.h"

#include <stdlib.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include <gtest/gtest.h>

namespace zw::fs {
namespace {

struct Backend {
  std::string name;
  // Returns the file system and a fresh, existing root directory in it.
  std::function<std::pair<std::shared_ptr<FileSystem>, std::string>()> make;
};

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "/zw-fs-XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

std::vector<Backend> Backends() {
  return {
      {"Posix",
       [] {
         // Not owned: PosixFileSystem() is process-wide.
         return std::make_pair(std::shared_ptr<FileSystem>(PosixFileSystem(), [](FileSystem*) {}),
                               MakeTempDir());
       }},
      {"Mem",
       [] {
         std::shared_ptr<FileSystem> fs = NewMemFileSystem();
         EXPECT_TRUE(fs->CreateDirs("/root").ok());
         return std::make_pair(fs, std::string("/root"));
       }},
      {"FaultInjectionOverMem",
       [] {
         std::shared_ptr<FileSystem> mem = NewMemFileSystem();
         // The wrapper keeps its base alive through the deleter.
         std::shared_ptr<FileSystem> fs(new FaultInjectionFileSystem(mem.get()),
                                        [mem](FileSystem* f) { delete f; });
         EXPECT_TRUE(fs->CreateDirs("/root").ok());
         return std::make_pair(fs, std::string("/root"));
       }},
  };
}

class FileSystemTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { std::tie(fs_, root_) = GetParam().make(); }
  void TearDown() override { EXPECT_TRUE(fs_->RemoveAll(root_).ok()); }

  std::string P(std::string_view name) const { return JoinPath(root_, name); }

  void Write(const std::string& path, std::string_view data, bool truncate = true) {
    auto f = fs_->NewWritableFile(path, truncate);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  std::string Read(const std::string& path) {
    auto r = fs_->ReadFile(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : "<error>";
  }
  std::vector<std::string> List(const std::string& dir) {
    auto r = fs_->ListDir(dir);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<std::string>{};
  }

  std::shared_ptr<FileSystem> fs_;
  std::string root_;
};

TEST_P(FileSystemTest, WriteThenRead) {
  std::string data("binary\0data\xff", 12);
  Write(P("f"), data);
  EXPECT_EQ(Read(P("f")), data);
  EXPECT_EQ(*fs_->FileSize(P("f")), 12u);
}

TEST_P(FileSystemTest, SizeCountsAppends) {
  auto f = fs_->NewWritableFile(P("f"), true);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Size(), 0u);
  ASSERT_TRUE((*f)->Append("abc").ok());
  ASSERT_TRUE((*f)->Append("").ok());
  ASSERT_TRUE((*f)->Append("de").ok());
  EXPECT_EQ((*f)->Size(), 5u);
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE((*f)->Close().ok()) << "closing twice is fine";
  EXPECT_FALSE((*f)->Append("x").ok()) << "appending after close fails";
  EXPECT_EQ(Read(P("f")), "abcde");
}

TEST_P(FileSystemTest, OpenWithoutTruncateAppends) {
  Write(P("f"), "hello ");
  auto f = fs_->NewWritableFile(P("f"), false);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Size(), 6u);
  ASSERT_TRUE((*f)->Append("world").ok());
  EXPECT_EQ((*f)->Size(), 11u);
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(Read(P("f")), "hello world");
}

TEST_P(FileSystemTest, OpenWithoutTruncateCreates) {
  Write(P("new"), "x", false);
  EXPECT_EQ(Read(P("new")), "x");
}

TEST_P(FileSystemTest, OpenWithTruncateEmpties) {
  Write(P("f"), "old contents");
  Write(P("f"), "new");
  EXPECT_EQ(Read(P("f")), "new");
}

TEST_P(FileSystemTest, LargeFile) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + (i >> 11));
  Write(P("big"), data);
  EXPECT_EQ(Read(P("big")), data);
}

TEST_P(FileSystemTest, MissingFileIsNotFoundAndNamed) {
  auto r = fs_->ReadFile(P("nope"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(P("nope")), std::string::npos) << r.status().message();
  EXPECT_EQ(fs_->FileSize(P("nope")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->RemoveFile(P("nope")).code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->Truncate(P("nope"), 0).code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs_->Exists(P("nope")));
}

TEST_P(FileSystemTest, NewFileInMissingDirectoryFails) {
  auto f = fs_->NewWritableFile(P("no/such/dir/f"), true);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
}

TEST_P(FileSystemTest, CreateDirsMakesParentsAndIsIdempotent) {
  ASSERT_TRUE(fs_->CreateDirs(P("a/b/c")).ok());
  ASSERT_TRUE(fs_->CreateDirs(P("a/b/c")).ok());
  ASSERT_TRUE(fs_->CreateDirs(P("a/b/c/")).ok());
  EXPECT_TRUE(fs_->Exists(P("a")));
  EXPECT_TRUE(fs_->Exists(P("a/b/c")));
  Write(P("a/b/c/f"), "x");
  EXPECT_EQ(Read(P("a/b/c/f")), "x");
}

TEST_P(FileSystemTest, CreateDirsOverFileFails) {
  Write(P("f"), "x");
  EXPECT_FALSE(fs_->CreateDirs(P("f")).ok());
  EXPECT_FALSE(fs_->CreateDirs(P("f/sub")).ok());
}

TEST_P(FileSystemTest, ListDirIsSortedAndShallow) {
  Write(P("b"), "");
  Write(P("a"), "");
  Write(P("00000002"), "");
  Write(P("00000010"), "");
  ASSERT_TRUE(fs_->CreateDirs(P("d/inner")).ok());
  Write(P("d/inner/deep"), "");
  Write(P("d/x"), "");
  EXPECT_EQ(List(root_), (std::vector<std::string>{"00000002", "00000010", "a", "b", "d"}));
  EXPECT_EQ(List(P("d")), (std::vector<std::string>{"inner", "x"}));
  EXPECT_EQ(List(P("d/inner")), (std::vector<std::string>{"deep"}));
}

TEST_P(FileSystemTest, ListDirDoesNotConfuseSiblingPrefixes) {
  ASSERT_TRUE(fs_->CreateDirs(P("wal")).ok());
  ASSERT_TRUE(fs_->CreateDirs(P("wal2")).ok());
  Write(P("wal/1"), "");
  Write(P("wal2/2"), "");
  Write(P("wal.txt"), "");
  EXPECT_EQ(List(P("wal")), (std::vector<std::string>{"1"}));
}

TEST_P(FileSystemTest, ListMissingDirIsNotFound) {
  auto r = fs_->ListDir(P("missing"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_P(FileSystemTest, RemoveFile) {
  Write(P("f"), "x");
  ASSERT_TRUE(fs_->RemoveFile(P("f")).ok());
  EXPECT_FALSE(fs_->Exists(P("f")));
  EXPECT_TRUE(List(root_).empty());
}

TEST_P(FileSystemTest, RemoveAllRemovesTree) {
  ASSERT_TRUE(fs_->CreateDirs(P("t/a/b")).ok());
  Write(P("t/a/b/f"), "x");
  Write(P("t/g"), "y");
  Write(P("t2"), "keep");
  ASSERT_TRUE(fs_->RemoveAll(P("t")).ok());
  EXPECT_FALSE(fs_->Exists(P("t")));
  EXPECT_FALSE(fs_->Exists(P("t/a/b/f")));
  EXPECT_EQ(Read(P("t2")), "keep");
  EXPECT_TRUE(fs_->RemoveAll(P("t")).ok()) << "removing what is not there is fine";
  Write(P("single"), "z");
  ASSERT_TRUE(fs_->RemoveAll(P("single")).ok());
  EXPECT_FALSE(fs_->Exists(P("single")));
}

TEST_P(FileSystemTest, RenameFileReplacesTarget) {
  Write(P("a"), "from a");
  Write(P("b"), "from b");
  ASSERT_TRUE(fs_->Rename(P("a"), P("b")).ok());
  EXPECT_FALSE(fs_->Exists(P("a")));
  EXPECT_EQ(Read(P("b")), "from a");
  EXPECT_EQ(fs_->Rename(P("a"), P("c")).code(), StatusCode::kNotFound);
}

TEST_P(FileSystemTest, RenameDirectoryMovesContents) {
  ASSERT_TRUE(fs_->CreateDirs(P("block.tmp/sub")).ok());
  Write(P("block.tmp/index"), "i");
  Write(P("block.tmp/sub/chunk"), "c");
  ASSERT_TRUE(fs_->Rename(P("block.tmp"), P("block")).ok());
  EXPECT_FALSE(fs_->Exists(P("block.tmp")));
  EXPECT_EQ(Read(P("block/index")), "i");
  EXPECT_EQ(Read(P("block/sub/chunk")), "c");
  EXPECT_EQ(List(P("block")), (std::vector<std::string>{"index", "sub"}));
}

TEST_P(FileSystemTest, TruncateShrinksAndExtendsWithZeros) {
  Write(P("f"), "0123456789");
  ASSERT_TRUE(fs_->Truncate(P("f"), 4).ok());
  EXPECT_EQ(Read(P("f")), "0123");
  ASSERT_TRUE(fs_->Truncate(P("f"), 6).ok());
  EXPECT_EQ(Read(P("f")), std::string("0123\0\0", 6));
  EXPECT_EQ(*fs_->FileSize(P("f")), 6u);
}

TEST_P(FileSystemTest, AppendAfterTruncateWritesAtNewEnd) {
  auto f = fs_->NewWritableFile(P("f"), true);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("0123456789").ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(fs_->Truncate(P("f"), 3).ok());
  Write(P("f"), "abc", false);
  EXPECT_EQ(Read(P("f")), "012abc");
}

TEST_P(FileSystemTest, OpenFileWritesAtEndAfterTruncate) {
  for (bool truncate : {true, false}) {
    auto f = fs_->NewWritableFile(P("f"), truncate);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("0123456789").ok());
    ASSERT_TRUE(fs_->Truncate(P("f"), 4).ok());
    ASSERT_TRUE((*f)->Append("xy").ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_EQ(Read(P("f")), "0123xy") << truncate;
    ASSERT_TRUE(fs_->RemoveFile(P("f")).ok());
  }
}

TEST_P(FileSystemTest, SyncDir) {
  EXPECT_TRUE(fs_->SyncDir(root_).ok());
  EXPECT_FALSE(fs_->SyncDir(P("missing")).ok());
}

TEST_P(FileSystemTest, ConcurrentWritersToDifferentFiles) {
  constexpr int kThreads = 4, kWrites = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto f = fs_->NewWritableFile(P("f" + std::to_string(t)), true);
      ASSERT_TRUE(f.ok());
      for (int i = 0; i < kWrites; ++i) ASSERT_TRUE((*f)->Append("0123456789").ok());
      ASSERT_TRUE((*f)->Close().ok());
      ASSERT_TRUE(fs_->ListDir(root_).ok());
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(*fs_->FileSize(P("f" + std::to_string(t))), 5000u);
}

TEST_P(FileSystemTest, SyncWhileAppending) {
  auto f = fs_->NewWritableFile(P("f"), true);
  ASSERT_TRUE(f.ok());
  std::thread syncer([&] {
    for (int i = 0; i < 50; ++i) EXPECT_TRUE((*f)->Sync().ok());
  });
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE((*f)->Append("abcd").ok());
  syncer.join();
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(*fs_->FileSize(P("f")), 8000u);
}

TEST_P(FileSystemTest, MapSeesWholeFile) {
  std::string big(100000, 'x');
  big[0] = 'a';
  big.back() = 'z';
  Write(P("f"), big);
  auto m = fs_->Map(P("f"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->data(), big);
}

TEST_P(FileSystemTest, MapEmptyFile) {
  Write(P("f"), "");
  auto m = fs_->Map(P("f"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE((*m)->data().empty());
}

TEST_P(FileSystemTest, MapMissingFileIsNotFound) {
  auto m = fs_->Map(P("nope"));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("nope"), std::string::npos);
}

TEST_P(FileSystemTest, MappingOutlivesRemovalOfTheFile) {
  Write(P("f"), "immutable bytes");
  auto m = fs_->Map(P("f"));
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(fs_->RemoveAll(P("f")).ok());
  EXPECT_FALSE(fs_->Exists(P("f")));
  EXPECT_EQ((*m)->data(), "immutable bytes");
}

TEST_P(FileSystemTest, ReadAtCopiesARange) {
  std::string big(100000, 'x');
  big.replace(70000, 5, "abcde");
  Write(P("f"), big);
  for (bool keep_open : {false, true}) {
    auto m = fs_->Map(P("f"), MapOptions{.keep_open = keep_open});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    std::string got(7, '?');
    ASSERT_TRUE((*m)->ReadAt(69999, got).ok());
    EXPECT_EQ(got, "xabcdex") << "keep_open " << keep_open;
    std::string tail(1, '?');
    ASSERT_TRUE((*m)->ReadAt(big.size() - 1, tail).ok());
    EXPECT_EQ(tail, "x");
    EXPECT_TRUE((*m)->ReadAt(big.size(), std::span<char>()).ok());
  }
}

TEST_P(FileSystemTest, ReadAtPastTheEndIsAnError) {
  Write(P("f"), "0123456789");
  for (bool keep_open : {false, true}) {
    auto m = fs_->Map(P("f"), MapOptions{.keep_open = keep_open});
    ASSERT_TRUE(m.ok());
    std::string got(4, '?');
    Status s = (*m)->ReadAt(8, got);
    EXPECT_FALSE(s.ok()) << "keep_open " << keep_open;
    EXPECT_NE(s.message().find("offset 8"), std::string::npos) << s.ToString();
    EXPECT_FALSE((*m)->ReadAt(uint64_t{1} << 40, std::span<char>(got.data(), 1)).ok());
  }
}

TEST_P(FileSystemTest, ReadAtOutlivesRemovalOfTheFile) {
  Write(P("f"), "immutable bytes");
  auto m = fs_->Map(P("f"), MapOptions{.keep_open = true});
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(fs_->RemoveFile(P("f")).ok());
  std::string got(5, '?');
  ASSERT_TRUE((*m)->ReadAt(10, got).ok());
  EXPECT_EQ(got, "bytes");
}

TEST_P(FileSystemTest, LinkGivesASecondName) {
  Write(P("a"), "linked");
  ASSERT_TRUE(fs_->CreateDirs(P("snap")).ok());
  ASSERT_TRUE(fs_->Link(P("a"), P("snap/a")).ok());
  EXPECT_EQ(Read(P("snap/a")), "linked");
  ASSERT_TRUE(fs_->RemoveFile(P("a")).ok());
  EXPECT_EQ(Read(P("snap/a")), "linked");
}

TEST_P(FileSystemTest, LinkOntoExistingFileFails) {
  Write(P("a"), "1");
  Write(P("b"), "2");
  EXPECT_FALSE(fs_->Link(P("a"), P("b")).ok());
  EXPECT_EQ(Read(P("b")), "2");
}

TEST_P(FileSystemTest, LinkMissingFileIsNotFound) {
  Status s = fs_->Link(P("nope"), P("b"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs_->Exists(P("b")));
}

INSTANTIATE_TEST_SUITE_P(AllFileSystems, FileSystemTest, ::testing::ValuesIn(Backends()),
                         [](const auto& param_info) { return param_info.param.name; });

// Behaviour only the in-memory file system has to get right on its own.

TEST(MemFileSystem, RemovedOpenFileKeepsAcceptingWrites) {
  auto fs = NewMemFileSystem();
  auto f = fs->NewWritableFile("/f", true);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs->RemoveFile("/f").ok());
  EXPECT_TRUE((*f)->Append("unseen").ok());
  EXPECT_FALSE(fs->Exists("/f"));
}

TEST(MemFileSystem, RelativeAndAbsolutePathsAreDistinct) {
  auto fs = NewMemFileSystem();
  ASSERT_TRUE(fs->CreateDirs("data").ok());
  ASSERT_TRUE(fs->CreateDirs("/data/x").ok());
  EXPECT_EQ(*fs->ListDir(""), (std::vector<std::string>{"data"}));
  EXPECT_EQ(*fs->ListDir("/"), (std::vector<std::string>{"data"}));
  EXPECT_TRUE(fs->ListDir("data")->empty());
  EXPECT_EQ(*fs->ListDir("//data/./"), (std::vector<std::string>{"x"}));
}

TEST(JoinPath, OneSlash) {
  EXPECT_EQ(JoinPath("/a", "b"), "/a/b");
  EXPECT_EQ(JoinPath("/a/", "b"), "/a/b");
  EXPECT_EQ(JoinPath("/a", "/b"), "/a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

}  // namespace
}  // namespace zw::fs
