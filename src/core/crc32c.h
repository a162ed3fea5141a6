// CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum of the WAL's
// fragments and of other on-disk structures. Uses the SSE4.2 crc32 instruction when the CPU
// has it and a table otherwise; both give the same result.
//
// Thread safe; no state beyond constant tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zw {

// The CRC32C of data[0, n). `init` is the CRC of whatever came before, so that
// Crc32c(b, nb, Crc32c(a, na)) == Crc32c(a followed by b). Crc32c("123456789", 9) == 0xE3069283.
uint32_t Crc32c(const void* data, size_t n, uint32_t init = 0);

inline uint32_t Crc32c(std::string_view s, uint32_t init = 0) {
  return Crc32c(s.data(), s.size(), init);
}

namespace crc32c_internal {
// Both paths, for tests and benchmarks. Hardware() requires HardwareAvailable().
uint32_t Software(const void* data, size_t n, uint32_t init);
uint32_t Hardware(const void* data, size_t n, uint32_t init);
bool HardwareAvailable();
}  // namespace crc32c_internal

}  // namespace zw
