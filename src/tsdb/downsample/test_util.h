// Test helpers shared by the downsample tests (header only; not part of the library).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/querier.h"
#include "tsdb/block/block.h"
#include "tsdb/block/writer.h"
#include "tsdb/downsample/downsample.h"
#include "tsdb/fs/file_system.h"

namespace zw::tsdb::testing_util {

// Writes `series` as a block of `resolution` (raw by default) covering [mint, maxt) and
// opens it.
inline std::shared_ptr<Block> WriteRawBlock(fs::FileSystem* fs, const std::string& dir,
                                            std::map<Labels, std::vector<Sample>> series,
                                            int64_t mint, int64_t maxt, int64_t resolution = 0) {
  std::vector<EncodedSeries> enc;
  for (auto& [labels, samples] : series) {
    if (!samples.empty()) enc.push_back(EncodeSeries(labels, samples));
  }
  auto set = NewVectorChunkSeriesSet(std::move(enc));
  BlockMeta meta;
  meta.min_time = mint;
  meta.max_time = maxt;
  meta.resolution_ms = resolution;
  auto written = WriteBlock(fs, dir, *set, meta);
  EXPECT_TRUE(written.ok()) << written.status().ToString();
  if (!written.ok()) return nullptr;
  auto block = Block::Open(fs, fs::JoinPath(dir, written->ulid));
  EXPECT_TRUE(block.ok()) << block.status().ToString();
  return block.ok() ? *block : nullptr;
}

inline std::shared_ptr<Block> Downsample(fs::FileSystem* fs, const std::string& dir, Block& source,
                                         int64_t res,
                                         std::function<bool(const Labels&)> is_counter = nullptr) {
  auto meta = DownsampleBlock(fs, dir, source, res, is_counter);
  EXPECT_TRUE(meta.ok()) << meta.status().ToString();
  if (!meta.ok()) return nullptr;
  auto block = Block::Open(fs, fs::JoinPath(dir, meta->ulid));
  EXPECT_TRUE(block.ok()) << block.status().ToString();
  return block.ok() ? *block : nullptr;
}

// Every series of a Select, with its samples.
inline std::map<Labels, std::vector<Sample>> ReadAll(storage::Querier& q,
                                                     const storage::SelectHints* hints,
                                                     const Matchers& ms,
                                                     std::vector<Labels>* order = nullptr) {
  std::map<Labels, std::vector<Sample>> out;
  auto set = q.Select(true, hints, ms);
  while (set->Next()) {
    std::vector<Sample>& v = out[set->At().labels()];
    if (order != nullptr) order->push_back(set->At().labels());
    auto it = set->At().Iterator();
    while (it->Next()) v.push_back(it->At());
    EXPECT_TRUE(it->Err().ok()) << it->Err().ToString();
  }
  EXPECT_TRUE(set->Err().ok()) << set->Err().ToString();
  return out;
}

}  // namespace zw::tsdb::testing_util
