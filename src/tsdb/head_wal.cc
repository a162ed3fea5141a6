// The head's side of the WAL: replay on Open (newest checkpoint, then later segments) and
// checkpoints after truncation. Record meanings: docs/format/records.md; checkpoints:
// docs/format/wal.md.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "tsdb/head.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/checkpoint.h"

namespace zw::tsdb {
namespace {

constexpr size_t kCheckpointSeriesPerBatch = 1000;
constexpr size_t kCheckpointSamplesPerRecord = 20000;

}  // namespace

Status Head::OpenWal() {
  const std::string wal_dir = fs::JoinPath(options_.dir, "wal");
  ZW_RETURN_IF_ERROR(options_.fs->CreateDirs(wal_dir));
  auto cp = wal::FindCheckpoint(options_.fs, wal_dir);
  if (!cp.ok()) return cp.status();
  wal::Options wo;
  wo.fs = options_.fs;
  wo.dir = wal_dir;
  wo.sync = options_.wal_sync;
  wo.sync_interval = options_.wal_sync_interval;
  wo.segment_size = options_.wal_segment_size;
  wo.on_fsync = options_.wal_on_fsync;
  wo.keep_below_first_segment = options_.wal_keep_covered_segments;
  auto replay = [this](std::string_view rec) { Replay(rec); };
  uint64_t checkpoint_records = 0;
  if (cp->has_value()) {
    auto n = wal::ReplayCheckpoint(options_.fs, (*cp)->dir, replay);
    if (!n.ok()) {
      return Status::Error(n.status().code(), "head: cannot replay WAL checkpoint {}: {}",
                           (*cp)->dir, n.status().ToString());
    }
    checkpoint_records = *n;
    wo.first_segment = (*cp)->index;
  }
  wal::ReplayReport report;
  auto w = wal::Wal::Open(wo, replay, &report);
  if (!w.ok()) return w.status();
  wal_ = std::move(w).value();
  stats_.wal_replay_corruptions += report.corruptions;
  size_t dropped = 0;
  for (const auto& [ref, samples] : replay_pending_) dropped += samples.size();
  replay_pending_.clear();
  replay_aliases_.clear();
  stats_.wal_replay_unknown_refs += dropped;
  if (dropped)
    spdlog::warn("WAL replay: {} samples referenced series that were never logged", dropped);
  spdlog::info(
      "head: replayed {} checkpoint and {} WAL records, {} series, {} corruptions repaired, {} "
      "samples below the min valid time {} skipped",
      checkpoint_records, report.records, NumSeries(), report.corruptions,
      stats_.wal_replay_out_of_bounds.load(), MinValidTime());
  return Status::Ok();
}

void Head::Replay(std::string_view rec) {
  stats_.wal_replayed_records.fetch_add(1, std::memory_order_relaxed);
  // Applies one sample as the appender did: in order, or into the out-of-order buffer. Every
  // out-of-order sample in the WAL was inside the window when it was accepted, so replay
  // takes them all (when the window is enabled); exact duplicates (a checkpoint overlaps
  // the segments after it) are ignored, and samples already in blocks are skipped.
  const int64_t min_valid = MinValidTime();
  const int64_t ooo_min = options_.ooo_window_ms > 0 ? kMinTime : kMaxTime;
  auto apply = [&](MemSeries* s, int64_t t, double v) {
    if (t < min_valid) {
      stats_.wal_replay_out_of_bounds.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::lock_guard lock(s->mu);
    switch (s->Check(t, v, 0, ooo_min)) {
      case AppendCheck::kOk:
        s->Append(t, v, options_.chunk_range_ms, options_.samples_per_chunk, disk_.get());
        break;
      case AppendCheck::kOutOfOrderOk:
        s->InsertOutOfOrder(t, v);
        break;
      default:
        return;
    }
    UpdateTimeRange(t, t);
  };
  auto resolve = [this](SeriesRef ref) -> MemSeries* {
    if (MemSeries* s = GetByRef(ref)) return s;
    auto a = replay_aliases_.find(ref);
    return a == replay_aliases_.end() ? nullptr : GetByRef(a->second);
  };
  switch (record::GetType(rec)) {
    case record::Type::kSeries: {
      std::vector<record::RefSeries> series;
      if (Status st = record::DecodeSeries(rec, series); !st.ok()) {
        spdlog::warn("WAL replay: skipping series record: {}", st.ToString());
        stats_.wal_replay_corruptions.fetch_add(1);
        return;
      }
      for (auto& rs : series) {
        bool created;
        MemSeries* s = GetOrCreate(rs.labels, rs.ref, &created);
        // The same labels logged under a second reference resolve to the first series.
        if (s->ref() != rs.ref) replay_aliases_[rs.ref] = s->ref();
        auto pending = replay_pending_.find(rs.ref);
        if (pending != replay_pending_.end()) {
          for (const Sample& smp : pending->second) apply(s, smp.t, smp.v);
          replay_pending_.erase(pending);
        }
      }
      return;
    }
    case record::Type::kSamples: {
      thread_local std::vector<record::RefSample> samples;
      samples.clear();
      if (Status st = record::DecodeSamples(rec, samples); !st.ok()) {
        spdlog::warn("WAL replay: skipping samples record: {}", st.ToString());
        stats_.wal_replay_corruptions.fetch_add(1);
        return;
      }
      for (const auto& rs : samples) {
        MemSeries* s = resolve(rs.ref);
        if (!s) {
          replay_pending_[rs.ref].push_back({rs.t, rs.v});
          continue;
        }
        apply(s, rs.t, rs.v);
      }
      return;
    }
    case record::Type::kMetadata: {
      std::vector<record::RefMetadata> meta;
      if (Status st = record::DecodeMetadata(rec, meta); !st.ok()) {
        spdlog::warn("WAL replay: skipping metadata record: {}", st.ToString());
        return;
      }
      for (const auto& m : meta) SetMetadata(m.metric, m.meta);
      return;
    }
    case record::Type::kInvalid:
      spdlog::warn("WAL replay: skipping record of unknown type");
      return;
  }
}

// The checkpoint is written from memory. Cutting the segment under the commit lock makes
// every record in the segments below the cut applied to memory before the snapshot, so the
// checkpoint holds all of it (plus some of what follows the cut: replay ignores those exact
// duplicates). Each series' samples are written merged and in time order, so replay needs
// no out-of-order window for them.
Status Head::Checkpoint() {
  if (!wal_) return Status::Ok();
  int cut;
  {
    auto lock = LockCommitExclusive();
    auto n = wal_->NextSegment();
    if (!n.ok()) return n.status();
    cut = *n;
  }
  auto writer = wal::CheckpointWriter::Create(options_.fs, wal_->dir(), cut);
  if (!writer.ok()) return writer.status();
  wal::CheckpointWriter& w = **writer;

  std::string buf;
  std::vector<MemSeries*> all;
  for (size_t i = 0; i < kStripes; ++i) {
    std::lock_guard lock(stripes_[i].mu);
    for (const auto& [hash, s] : stripes_[i].by_hash) all.push_back(s.get());
  }
  // Oldest references first, as they were logged.
  std::sort(all.begin(), all.end(),
            [](const MemSeries* a, const MemSeries* b) { return a->ref() < b->ref(); });

  std::vector<record::RefSeries> series;
  std::vector<record::RefSample> samples;
  auto flush_samples = [&]() -> Status {
    if (samples.empty()) return Status::Ok();
    buf.clear();
    record::EncodeSamples(samples, buf);
    samples.clear();
    return w.Add(buf);
  };
  for (size_t begin = 0; begin < all.size(); begin += kCheckpointSeriesPerBatch) {
    const size_t end = std::min(all.size(), begin + kCheckpointSeriesPerBatch);
    series.clear();
    for (size_t i = begin; i < end; ++i) series.push_back({all[i]->ref(), all[i]->labels()});
    buf.clear();
    record::EncodeSeries(series, buf);
    ZW_RETURN_IF_ERROR(w.Add(buf));
    for (size_t i = begin; i < end; ++i) {
      MemSeries* s = all[i];
      std::vector<ClosedChunk> chunks;
      std::vector<Sample> ooo;
      {
        std::lock_guard lock(s->mu);
        chunks = s->Snapshot(kMinTime, kMaxTime);
        ooo = s->OutOfOrderSnapshot(kMinTime, kMaxTime);
      }
      ChunksIterator it(std::move(chunks), MinValidTime(), kMaxTime, std::move(ooo));
      while (it.Next()) {
        Sample smp = it.At();
        samples.push_back({s->ref(), smp.t, smp.v});
        if (samples.size() >= kCheckpointSamplesPerRecord) ZW_RETURN_IF_ERROR(flush_samples());
      }
      if (!it.Err().ok()) return it.Err();
    }
    ZW_RETURN_IF_ERROR(flush_samples());
  }
  std::vector<record::RefMetadata> meta;
  for (auto& [metric, m] : Metadata()) meta.push_back({metric, m});
  if (!meta.empty()) {
    buf.clear();
    record::EncodeMetadata(meta, buf);
    ZW_RETURN_IF_ERROR(w.Add(buf));
  }
  ZW_RETURN_IF_ERROR(w.Commit());
  const uint64_t records = w.records(), bytes = w.bytes();
  writer->reset();
  // The checkpoint replaces everything below the cut: older segments and checkpoints go.
  ZW_RETURN_IF_ERROR(wal_->TruncateBefore(cut));
  ZW_RETURN_IF_ERROR(wal::DeleteCheckpointsBefore(options_.fs, wal_->dir(), cut));
  spdlog::info("head: WAL checkpoint {} written ({} series, {} records, {} bytes)", cut, all.size(),
               records, bytes);
  return Status::Ok();
}

}  // namespace zw::tsdb
