// Prometheus remote_write 1.0 receiver: snappy-compressed `prometheus.WriteRequest` bodies
// (remote_write_proto.h) appended through storage::Appender (docs/remote_write.md).
//
// A request is all or nothing, like JSON push and like Prometheus's own receiver: bad
// snappy, bad protobuf, invalid or duplicate label names, a missing metric name, native
// histograms, or a sample storage refuses (out of order, too old, conflicting duplicate)
// rejects the whole request with InvalidArgument/OutOfOrder/Duplicate/OutOfBounds naming
// the time series, and nothing of it is stored; a failed commit (WAL) returns the
// storage's error. Labels may arrive unsorted (they are sorted); empty label values are
// dropped, as Prometheus does. Exemplars are accepted and ignored.
//
// Metadata (type, help, unit per metric family) travels in requests of its own; it is
// kept as pending and handed to storage with the next sample of that family (a sample
// named <family>, or <family>_bucket/_sum/_count/_total/_created/_info/_gsum/_gcount),
// since the Appender records metadata only alongside a sample.
//
// Hot path: the wire bytes of a series' labels are hashed and looked up in a cache of
// hash -> (interned Labels, SeriesRef) shared by all requests; a hit is confirmed by
// decoding the label messages as views and comparing them with the cached labels (the
// wire bytes themselves are not kept: that would cost as much memory as the labels
// again), so a known series is appended by reference without building, validating,
// interning or allocating labels. Only new series are validated (on views: bad input is
// never interned), interned, and added to the cache once their request commits.
//
// Thread-safe: requests run concurrently; the cache is read under a shared lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/labels.h"
#include "core/metric_type.h"
#include "core/status.h"
#include "storage/storage.h"

namespace zw::ingest {

struct RemoteWriteOptions {
  // Largest decompressed body accepted; larger ones are rejected (400) before inflating.
  size_t max_decompressed_bytes = 256u << 20;
  // The series cache is cleared when it grows past this many label sets (each costs about
  // 60 bytes; its labels are shared with storage).
  size_t max_cached_series = 2u << 20;
  // Metric families whose metadata waits for a first sample; more are dropped.
  size_t max_pending_metadata = 100000;
  // Tests only: replaces the hash of a series' label wire bytes (XXH3), e.g. with a
  // constant so that every series collides in the cache.
  uint64_t (*series_hash_for_testing)(std::string_view label_bytes) = nullptr;
};

struct RemoteWriteStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> series{0};
  std::atomic<uint64_t> samples{0};
  std::atomic<uint64_t> exemplars_ignored{0};
  std::atomic<uint64_t> metadata{0};
  std::atomic<uint64_t> cache_misses{0};
};

struct RemoteWriteResult {
  size_t series = 0;
  size_t samples = 0;
  size_t metadata = 0;
};

class RemoteWriteIngester {
 public:
  explicit RemoteWriteIngester(storage::Storage* storage, RemoteWriteOptions options = {});
  ~RemoteWriteIngester();

  // `body` is a snappy block-compressed WriteRequest.
  Result<RemoteWriteResult> Write(std::string_view body);
  // `proto` is an uncompressed WriteRequest.
  Result<RemoteWriteResult> WriteDecompressed(std::string_view proto);

  const RemoteWriteStats& stats() const { return stats_; }
  size_t cached_series() const;

 private:
  class SeriesCache;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  class Request;

  storage::Storage* storage_;
  RemoteWriteOptions options_;
  RemoteWriteStats stats_;

  mutable std::shared_mutex cache_mu_;
  std::unique_ptr<SeriesCache> cache_;  // guarded by cache_mu_

  std::mutex meta_mu_;
  // Guarded by meta_mu_: what storage holds, and what waits for a sample to carry it.
  std::unordered_map<std::string, MetricMetadata, StringHash, std::equal_to<>> known_meta_;
  std::unordered_map<std::string, MetricMetadata, StringHash, std::equal_to<>> pending_meta_;
  // Bumped whenever pending_meta_ gains an entry; 0 means "nothing ever pending".
  std::atomic<uint32_t> meta_gen_{0};
  std::atomic<size_t> pending_count_{0};
};

}  // namespace zw::ingest
