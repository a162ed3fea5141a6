// Where a remote's sender is in the WAL, persisted so that a restart resumes there.
//
// A WalPosition is a record boundary: the segment and the byte offset just past a record.
// Samples are identified by the position of the record that holds them ("end").
//
// Progress = a watermark (every sample of a record ending at or before it was acknowledged
// by the remote, or given up) plus, per hash bucket of series, the end of the newest
// acknowledged record of that bucket. A bucket's series all go to one shard, which sends
// them in WAL order one request at a time, so every sample of the bucket up to that point is
// acknowledged too. On restart the watcher reads from the watermark and skips a bucket's
// samples up to the bucket's position: the only samples sent twice are those of the requests
// that were in flight, unacknowledged, when the process stopped. That matters because a
// Prometheus receiver refuses (400, whole request) any resent sample older than a series'
// newest.
//
// File: <data>/remote_write/<remote name>/progress, text, replaced atomically (write a
// temporary file, rename); a missing file means "start at the end of the WAL".
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"

namespace zw::remote {

struct WalPosition {
  int segment = 0;
  uint64_t offset = 0;
  friend auto operator<=>(const WalPosition&, const WalPosition&) = default;
};

// Series are spread over this many buckets (by label hash); shard = bucket % shards.
inline constexpr int kProgressBuckets = 256;

struct Progress {
  WalPosition watermark;
  std::array<WalPosition, kProgressBuckets> buckets{};

  // Text form, one position per line: "watermark <segment> <offset>", then
  // "bucket <i> <segment> <offset>" for buckets ahead of the watermark.
  std::string Encode() const;
  // Errors: kCorruption naming the line.
  static Result<Progress> Decode(std::string_view text);
};

// nullopt when the file does not exist.
Result<std::optional<Progress>> LoadProgress(const std::string& path);
// Writes `path`.tmp and renames it over `path`; with `sync`, fsyncs the file and directory
// first (used at shutdown; without it a crash of the process, not of the machine, is covered).
Status SaveProgress(const std::string& path, const Progress& p, bool sync);

}  // namespace zw::remote
