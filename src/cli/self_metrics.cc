#include "cli/self_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "core/symbols.h"

namespace zw::cli {
namespace {

double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace

void SelfMetrics::Counter(std::string_view name, std::string_view help,
                          const std::atomic<uint64_t>* v) {
  registry_.AddCallbackCounter(
      name, help, [v] { return static_cast<double>(v->load(std::memory_order_relaxed)); });
}

void SelfMetrics::AddStorage(const tsdb::DB* db) {
  const tsdb::DBStats& ds = db->stats();
  Counter("zenwatch_tsdb_head_compactions_total", "Head ranges written as level-1 blocks.",
          &ds.head_compactions);
  Counter("zenwatch_tsdb_compactions_total", "Block compactions (merges and rewrites).",
          &ds.compactions);
  Counter("zenwatch_tsdb_compaction_failures_total", "Compaction rounds that failed.",
          &ds.compaction_failures);
  Counter("zenwatch_tsdb_downsamplings_total", "Downsampled blocks written.", &ds.downsamplings);
  Counter("zenwatch_tsdb_retention_deletions_total", "Blocks deleted by retention.",
          &ds.retention_deletions);
  Counter("zenwatch_tsdb_blocks_quarantined_total", "Damaged blocks moved to blocks/corrupted/.",
          &ds.blocks_quarantined);
  registry_.AddCallbackGauge("zenwatch_tsdb_blocks", "Blocks on disk, all resolutions.",
                             [db] { return static_cast<double>(db->Blocks().size()); });
  const tsdb::HeadStats& hs = db->head().stats();
  Counter("zenwatch_head_out_of_order_samples_appended_total",
          "Samples accepted out of order, within the out-of-order window.",
          &hs.out_of_order_appended);
  Counter("zenwatch_head_out_of_bounds_samples_total",
          "Samples rejected as older than the newest block.", &hs.out_of_bounds_rejected);
  Counter("zenwatch_head_series_removed_total", "Series garbage-collected by head truncation.",
          &hs.series_removed);
  Counter("zenwatch_head_truncations_total", "Head truncations.", &hs.truncations);
}

void SelfMetrics::AddStatsd(const ingest::StatsdStats& s) {
  Counter("zenwatch_statsd_packets_total", "StatsD UDP packets received.", &s.packets);
  Counter("zenwatch_statsd_lines_total", "StatsD metric lines accepted.", &s.lines);
  Counter("zenwatch_statsd_bad_lines_total",
          "StatsD lines rejected: malformed, or conflicting with the type of their series.",
          &s.bad_lines);
  Counter("zenwatch_statsd_ignored_lines_total",
          "DogStatsD events and service checks received and ignored.", &s.ignored_lines);
  Counter("zenwatch_statsd_dropped_lines_total",
          "StatsD lines dropped over the series or set-value limits.", &s.dropped_lines);
  Counter("zenwatch_statsd_flushes_total", "StatsD aggregation flushes into storage.", &s.flushes);
  Counter("zenwatch_statsd_flush_failures_total", "StatsD flushes whose commit failed.",
          &s.flush_failures);
  Counter("zenwatch_statsd_samples_total", "Samples written by StatsD flushes.", &s.samples);
  Counter("zenwatch_statsd_expired_series_total",
          "StatsD series forgotten after --statsd.expire-after without updates.",
          &s.expired_series);
}

void SelfMetrics::AddStream(const dashboard::StreamHub* hub) {
  const dashboard::StreamStats& s = hub->stats();
  registry_.AddCallbackGauge("zenwatch_stream_clients", "Connected /api/v1/stream clients.",
                             [&s] { return static_cast<double>(s.clients.load()); });
  registry_.AddCallbackGauge("zenwatch_stream_queued_bytes",
                             "Bytes queued to stream clients and not yet written.",
                             [hub] { return static_cast<double>(hub->QueuedBytes()); });
  Counter("zenwatch_stream_metric_updates_total", "Live metric_update messages sent.",
          &s.metric_updates);
  Counter("zenwatch_stream_expr_updates_total", "expr_update messages sent.", &s.expr_updates);
  Counter("zenwatch_stream_summaries_total", "summary_update rounds sent to the clients.",
          &s.summaries);
  Counter("zenwatch_stream_expr_evaluations_total", "Expression evaluations for subscriptions.",
          &s.expr_evaluations);
  Counter("zenwatch_stream_snapshot_switches_total",
          "Clients switched to snapshot mode because their send queue was full.",
          &s.snapshot_switches);
  Counter("zenwatch_stream_snapshots_total", "Snapshots sent to clients in snapshot mode.",
          &s.snapshots);
  Counter("zenwatch_stream_dropped_samples_total",
          "Committed samples dropped before dispatch (pending queue full).", &s.dropped_samples);
}

void SelfMetrics::AddRemoteWrite(const remote::RemoteStorage* rs) {
  using Get = double (*)(const remote::QueueStats&, const remote::WatcherStats&);
  auto add = [&](std::string_view name, std::string_view help, zenwatch::MetricType type, Get get) {
    registry_.AddCollector(name, help, type, [rs, get](std::vector<zenwatch::Sample>& out) {
      rs->ForEach([&](const remote::RemoteWriteConfig& c, const remote::QueueStats& q,
                      const remote::WatcherStats& w) {
        out.push_back({{{"remote_name", c.RemoteName()}, {"url", c.url}}, get(q, w)});
      });
    });
  };
  using T = zenwatch::MetricType;
  add("zenwatch_remote_storage_samples_total", "Samples acknowledged by the remote (2xx).",
      T::kCounter, [](const auto& q, const auto&) { return double(q.samples_sent.load()); });
  add("zenwatch_remote_storage_samples_failed_total",
      "Samples the remote refused for good (4xx other than a retried 429); not retried.",
      T::kCounter, [](const auto& q, const auto&) { return double(q.samples_failed.load()); });
  add("zenwatch_remote_storage_samples_retried_total",
      "Samples in requests that failed recoverably (network, 5xx, 429) and were retried.",
      T::kCounter, [](const auto& q, const auto&) { return double(q.samples_retried.load()); });
  add("zenwatch_remote_storage_samples_dropped_total", "Samples dropped by write_relabel_configs.",
      T::kCounter, [](const auto& q, const auto&) { return double(q.samples_dropped.load()); });
  add("zenwatch_remote_storage_samples_unknown_series_total",
      "Samples read from the WAL whose series record was never seen (not sent).", T::kCounter,
      [](const auto& q, const auto&) { return double(q.samples_unknown_series.load()); });
  add("zenwatch_remote_storage_samples_in_total", "Samples read from the WAL into the queue.",
      T::kCounter, [](const auto& q, const auto&) { return double(q.samples_in.load()); });
  add("zenwatch_remote_storage_samples_pending", "Samples queued or in flight, not acknowledged.",
      T::kGauge, [](const auto& q, const auto&) { return double(q.samples_pending.load()); });
  add("zenwatch_remote_storage_bytes_total", "Compressed request bytes acknowledged by the remote.",
      T::kCounter, [](const auto& q, const auto&) { return double(q.bytes_sent.load()); });
  add("zenwatch_remote_storage_requests_failed_total",
      "Requests that got no 2xx (each attempt counts).", T::kCounter,
      [](const auto& q, const auto&) { return double(q.requests_failed.load()); });
  add("zenwatch_remote_storage_highest_timestamp_in_seconds",
      "Newest sample timestamp read from the WAL for this remote.", T::kGauge,
      [](const auto& q, const auto&) { return double(q.highest_read_ms.load()) / 1000; });
  add("zenwatch_remote_storage_queue_highest_sent_timestamp_seconds",
      "Newest sample timestamp the remote acknowledged.", T::kGauge,
      [](const auto& q, const auto&) { return double(q.highest_sent_ms.load()) / 1000; });
  add("zenwatch_remote_storage_lag_seconds",
      "Newest timestamp read from the WAL minus newest acknowledged (0 when caught up).", T::kGauge,
      [](const auto& q, const auto&) {
        const int64_t read = q.highest_read_ms.load(), sent = q.highest_sent_ms.load();
        return read > sent ? double(read - sent) / 1000 : 0.0;
      });
  add("zenwatch_remote_storage_shards", "Shards sending in parallel.", T::kGauge,
      [](const auto& q, const auto&) { return double(q.shards.load()); });
  add("zenwatch_remote_storage_shards_desired",
      "Shards the load needs, as last computed (before rounding and clamping).", T::kGauge,
      [](const auto& q, const auto&) { return q.shards_desired.load(); });
  add("zenwatch_remote_storage_shards_min", "queue_config.min_shards.", T::kGauge,
      [](const auto& q, const auto&) { return double(q.shards_min.load()); });
  add("zenwatch_remote_storage_shards_max", "queue_config.max_shards (at most 256).", T::kGauge,
      [](const auto& q, const auto&) { return double(q.shards_max.load()); });
  add("zenwatch_remote_storage_samples_lost_total",
      "Samples in WAL segments deleted before this remote read them (beyond the WAL kept for "
      "lagging remotes).",
      T::kCounter, [](const auto& q, const auto&) { return double(q.samples_lost.load()); });
  add("zenwatch_remote_storage_series", "Series the queue knows by WAL reference.", T::kGauge,
      [](const auto& q, const auto&) { return double(q.series.load()); });
  add("zenwatch_remote_storage_wal_segment", "WAL segment the watcher is reading.", T::kGauge,
      [](const auto&, const auto& w) { return double(w.segment.load()); });
  add("zenwatch_remote_storage_wal_segments_skipped_total",
      "WAL segments deleted by a checkpoint before they were read (their samples are lost).",
      T::kCounter, [](const auto&, const auto& w) { return double(w.segments_skipped.load()); });
  add("zenwatch_remote_storage_wal_corruptions_total", "Damaged WAL places the watcher skipped.",
      T::kCounter, [](const auto&, const auto& w) { return double(w.corruptions.load()); });
}

SelfMetrics::SelfMetrics(const tsdb::Head* head, const ingest::PushIngester* push) {
  const tsdb::HeadStats& hs = head->stats();
  Counter("zenwatch_samples_ingested_total", "Samples committed to the head.",
          &hs.samples_appended);
  Counter("zenwatch_head_series_created_total", "Series created in the head.", &hs.series_created);
  Counter("zenwatch_head_out_of_order_samples_total",
          "Samples rejected as older than their series' newest, beyond the out-of-order window.",
          &hs.out_of_order_rejected);
  Counter("zenwatch_head_duplicate_samples_total",
          "Samples rejected: same timestamp, different value.", &hs.duplicates_rejected);
  Counter("zenwatch_head_commits_total", "Appender transactions committed.", &hs.commits);
  Counter("zenwatch_head_commit_failures_total", "Appender transactions that failed to commit.",
          &hs.commit_failures);
  Counter("zenwatch_wal_replay_unknown_refs_total",
          "Samples in the WAL whose series record never appeared.", &hs.wal_replay_unknown_refs);
  registry_.AddCallbackGauge("zenwatch_head_series", "Active series in the head.",
                             [head] { return static_cast<double>(head->NumSeries()); });
  registry_.AddCallbackCounter(
      "zenwatch_client_rejected_updates_total",
      "Metric updates the instrumentation library refused (negative or NaN).",
      [] { return static_cast<double>(zenwatch::RejectedUpdates()); });
  registry_.AddCallbackGauge("zenwatch_symbol_table_bytes",
                             "Bytes of interned label names and values.",
                             [] { return static_cast<double>(InternedBytes()); });
  if (const wal::Stats* ws = head->wal_stats()) {
    Counter("zenwatch_wal_bytes_written_total", "Bytes written to WAL segments, framing included.",
            &ws->bytes_written);
    Counter("zenwatch_wal_records_written_total", "Records written to the WAL.",
            &ws->records_written);
    Counter("zenwatch_wal_write_failures_total", "WAL writes that failed.", &ws->write_failures);
    Counter("zenwatch_wal_fsync_failures_total", "WAL fsyncs that failed.", &ws->fsync_failures);
    Counter("zenwatch_wal_corruptions_total", "Damaged WAL places found and cut off at start.",
            &ws->corruptions);
    Counter("zenwatch_wal_segments_created_total", "WAL segments created.", &ws->segments_created);
    registry_.AddCallbackGauge(
        "zenwatch_wal_segments_retained",
        "WAL segments a checkpoint covers, kept for lagging remote_write remotes.",
        [ws] { return static_cast<double>(ws->segments_retained.load()); });
    registry_.AddCallbackGauge(
        "zenwatch_wal_segments_retained_bytes",
        "Bytes of the WAL segments kept for lagging remote_write remotes.",
        [ws] { return static_cast<double>(ws->segments_retained_bytes.load()); });
    Counter("zenwatch_wal_retained_segments_dropped_total",
            "WAL segments a remote_write remote still needed, deleted over the retention limit.",
            &ws->retained_segments_dropped);
  }
  fsync_ = &registry_
                .AddHistogram("zenwatch_wal_fsync_duration_seconds", "Duration of WAL fsyncs.",
                              zenwatch::ExponentialBuckets(0.0001, 4, 10))
                .With({});
  const ingest::PushStats& ps = push->stats();
  Counter("zenwatch_push_requests_total", "JSON push requests received.", &ps.requests);
  Counter("zenwatch_push_rejected_requests_total", "JSON push requests rejected (nothing stored).",
          &ps.rejected);
  Counter("zenwatch_push_events_total", "MetricEvents stored from JSON push.", &ps.events);
  Counter("zenwatch_push_samples_total", "Samples written by JSON push.", &ps.samples);

  http_ = &registry_.AddHistogram("zenwatch_http_request_duration_seconds",
                                  "HTTP request duration by route pattern and status code.",
                                  zenwatch::ExponentialBuckets(0.0001, 4, 10), {"route", "code"});

  double start =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  registry_.AddCallbackGauge("process_start_time_seconds",
                             "Start time of the process since the Unix epoch.",
                             [start] { return start; });
  registry_.AddCallbackGauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                             ResidentBytes);
  registry_.AddCallbackCounter("process_cpu_seconds_total",
                               "User and system CPU time spent, in seconds.", CpuSeconds);
}

void SelfMetrics::ObserveRequest(std::string_view route, unsigned status, double seconds) {
  std::string code = std::to_string(status);
  http_->With({{"route", route.empty() ? std::string_view("unmatched") : route}, {"code", code}})
      .Observe(seconds);
}

}  // namespace zw::cli
