#include "core/time.h"

#include <gtest/gtest.h>

namespace zw {
namespace {

TEST(Duration, Parse) {
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5400000);
  EXPECT_EQ(*ParseDurationMs("5m"), 300000);
  EXPECT_EQ(*ParseDurationMs("1y2w3d4h5m6s7ms"),
            365LL * 86400000 + 14LL * 86400000 + 3LL * 86400000 + 4 * 3600000 + 5 * 60000 + 6007);
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
}

TEST(Duration, Errors) {
  for (const char* bad : {"", "h", "5", "1m1h", "1x", "1h1h", "-1s", "99999999999999999999y"}) {
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
  }
}

TEST(Duration, Format) {
  EXPECT_EQ(FormatDurationMs(5400000), "1h30m");
  EXPECT_EQ(FormatDurationMs(0), "0s");
  EXPECT_EQ(FormatDurationMs(1500), "1s500ms");
  EXPECT_EQ(*ParseDurationMs(FormatDurationMs(123456789)), 123456789);
}

}  // namespace
}  // namespace zw
