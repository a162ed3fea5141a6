#include "remote/progress.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace zw::remote {
namespace {

TEST(Progress, RoundTrip) {
  Progress p;
  p.watermark = {3, 4096};
  p.buckets[7] = {3, 9000};
  p.buckets[255] = {4, 12};
  auto d = Progress::Decode(p.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->watermark, (WalPosition{3, 4096}));
  EXPECT_EQ(d->buckets[7], (WalPosition{3, 9000}));
  EXPECT_EQ(d->buckets[255], (WalPosition{4, 12}));
  EXPECT_EQ(d->buckets[0], p.watermark);  // buckets behind the watermark are raised to it
}

TEST(Progress, DamageIsReported) {
  EXPECT_FALSE(Progress::Decode("").ok());
  EXPECT_FALSE(Progress::Decode("watermark 1\n").ok());
  EXPECT_FALSE(Progress::Decode("watermark 1 x\n").ok());
  EXPECT_FALSE(Progress::Decode("watermark 1 2\nbucket 256 1 2\n").ok());
  EXPECT_FALSE(Progress::Decode("watermark -1 2\n").ok());
  auto st = Progress::Decode("watermark 1 2\nnonsense\n").status();
  EXPECT_EQ(st.message(), "line 2 is malformed");
}

TEST(Progress, SaveAndLoad) {
  char tmpl[] = "/tmp/zw-progress-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/progress";
  auto none = LoadProgress(path);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  Progress p;
  p.watermark = {1, 77};
  ASSERT_TRUE(SaveProgress(path, p, false).ok());
  p.watermark = {2, 5};
  ASSERT_TRUE(SaveProgress(path, p, true).ok());
  auto got = LoadProgress(path);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->watermark, (WalPosition{2, 5}));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::ofstream(path) << "garbage\n";
  auto bad = LoadProgress(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().file(), path);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace zw::remote
