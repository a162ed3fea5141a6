// zenwatch's own metrics, exposed at /metrics through the instrumentation library: values
// kept elsewhere (head, WAL, push counters, the process) are read at scrape time; HTTP
// request durations are observed as requests finish.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "dashboard/stream_hub.h"
#include "ingest/push.h"
#include "ingest/statsd.h"
#include "remote/remote_storage.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "zenwatch/registry.h"

namespace zw::cli {

class SelfMetrics {
 public:
  SelfMetrics(const tsdb::Head* head, const ingest::PushIngester* push);

  // Compaction, retention and out-of-order counters of the database.
  void AddStorage(const tsdb::DB* db);
  // The StatsD listener's packet, line and flush counters.
  void AddStatsd(const ingest::StatsdStats& stats);
  // The remote_write queues (zenwatch_remote_storage_*{remote_name, url}); `rs` must outlive
  // this object.
  void AddRemoteWrite(const remote::RemoteStorage* rs);
  // The dashboard's live stream (zenwatch_stream_*); `hub` must outlive this object.
  void AddStream(const dashboard::StreamHub* hub);

  std::string Exposition() const { return registry_.ExpositionText(); }
  std::string ExpositionOpenMetrics() const {
    return registry_.Exposition(zenwatch::ExpositionFormat::kOpenMetrics);
  }
  void ObserveRequest(std::string_view route, unsigned status, double seconds);
  // Called by the WAL after each fsync.
  void ObserveFsync(double seconds) { fsync_->Observe(seconds); }

 private:
  // Exposes a counter the server keeps as an atomic.
  void Counter(std::string_view name, std::string_view help, const std::atomic<uint64_t>* v);

  zenwatch::Registry registry_;
  zenwatch::Family<zenwatch::Histogram>* http_;
  zenwatch::Histogram* fsync_;
};

}  // namespace zw::cli
