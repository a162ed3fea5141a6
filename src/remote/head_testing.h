// A small-segment head in a temporary directory, and a deterministic workload, for the tests
// of what tails the WAL (wal_watcher_test, remote_storage_test). Header-only, test use only.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tsdb/head.h"

namespace zw::remote {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/zw-remote-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A head whose WAL cuts a segment every few hundred samples. keep_covered_segments: the
// segments a checkpoint covers stay for lagging readers (HeadOptions::wal_keep_covered_segments).
inline std::unique_ptr<tsdb::Head> OpenHead(const std::string& dir,
                                            bool keep_covered_segments = false) {
  tsdb::HeadOptions o;
  o.dir = dir;
  o.wal_segment_size = 32 * 1024;
  o.head_chunk_file_size = 0;
  o.wal_keep_covered_segments = keep_covered_segments;
  auto h = tsdb::Head::Open(std::move(o));
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return std::move(h).value();
}

inline Labels Series(int i) { return Labels{{"__name__", "m"}, {"i", std::to_string(i)}}; }

// Samples at t = from..to-1 (step 1) for series 0..n-1, value t*10+i, one commit per timestamp.
inline void Write(tsdb::Head& head, int n, int64_t from, int64_t to) {
  for (int64_t t = from; t < to; ++t) {
    auto app = head.NewAppender();
    for (int i = 0; i < n; ++i) ASSERT_TRUE(app->Append(0, Series(i), t, double(t * 10 + i)).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
}

}  // namespace zw::remote
