// libFuzzer target: JSON push over arbitrary bodies never crashes; a rejected request
// stores nothing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/push.h"
#include "tsdb/head.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* head = zw::tsdb::Head::Open({}).value().release();
  static auto* push = new zw::ingest::PushIngester(head);
  std::string_view body(reinterpret_cast<const char*>(data), size);
  uint64_t before = head->stats().samples_appended.load();
  auto r = push->Push(body, 1700000000000);
  if (!r.ok() && head->stats().samples_appended.load() != before) __builtin_trap();
  return 0;
}
