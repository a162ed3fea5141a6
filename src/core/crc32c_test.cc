#include "core/crc32c.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace zw {
namespace {

// Vectors from RFC 3720 (iSCSI), appendix B.4, and the common "check" value.
TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(descending), 0x113FDB5Cu);
}

TEST(Crc32c, SoftwareMatchesVectors) {
  EXPECT_EQ(crc32c_internal::Software("123456789", 9, 0), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c_internal::Software(zeros.data(), zeros.size(), 0), 0x8A9136AAu);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "hello, write-ahead log; hello, checksums";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t a = Crc32c(s.substr(0, cut));
    EXPECT_EQ(Crc32c(s.substr(cut), a), Crc32c(s)) << cut;
  }
}

TEST(Crc32c, DetectsSingleBitFlips) {
  std::string s(100, 'x');
  uint32_t want = Crc32c(s);
  for (size_t i = 0; i < s.size() * 8; ++i) {
    std::string t = s;
    t[i / 8] = static_cast<char>(t[i / 8] ^ (1 << (i % 8)));
    EXPECT_NE(Crc32c(t), want) << i;
  }
}

TEST(Crc32c, HardwareMatchesSoftwareOnRandomData) {
  if (!crc32c_internal::HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(42);
  std::string buf(70000, '\0');
  for (auto& c : buf) c = static_cast<char>(rng());
  // Every length and misalignment near the small end, then random spans.
  for (size_t off = 0; off < 9; ++off) {
    for (size_t n = 0; n < 80; ++n) {
      uint32_t init = static_cast<uint32_t>(rng());
      ASSERT_EQ(crc32c_internal::Hardware(buf.data() + off, n, init),
                crc32c_internal::Software(buf.data() + off, n, init))
          << off << " " << n;
    }
  }
  for (int i = 0; i < 500; ++i) {
    size_t off = rng() % buf.size();
    size_t n = rng() % (buf.size() - off + 1);
    ASSERT_EQ(crc32c_internal::Hardware(buf.data() + off, n, 7),
              crc32c_internal::Software(buf.data() + off, n, 7));
  }
}

}  // namespace
}  // namespace zw
