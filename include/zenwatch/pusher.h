// Pusher: ships a registry's metrics to a zenwatch server from a background thread, for
// processes that cannot be scraped (batch jobs, short-lived workers, hosts behind NAT).
//
//   zenwatch::PusherOptions o;
//   o.url = "http://127.0.0.1:3003";
//   o.domain = "batch";            // remote_write: the job label; JSON: the name prefix
//   o.source = "worker-7";         // remote_write: the instance label; JSON: the source
//   zenwatch::Pusher pusher(registry, o);   // pushes every o.interval
//   ...
//   pusher.Push();                 // also push now; never blocks on the network
//   pusher.Shutdown();             // final push, flush what is queued (bounded), join
//
// How: Push() (and the background thread every `interval`) collects the registry, asks the
// encoder for a batch of what changed, and puts it on a bounded queue; when the queue is
// full the oldest batch is dropped and counted. The background thread sends batches in
// order over HTTP/1.1, retrying connection errors and 5xx/429 answers with exponential
// backoff (up to max_attempts); a batch the server rejects (other 4xx) or that runs out of
// attempts is dropped and counted. The counts are metrics in the pushed registry:
// zenwatch_pusher_batches_sent_total, zenwatch_pusher_batches_dropped_total{reason}.
//
// The encoder is the seam for wire formats: RemoteWriteEncoder (the default) speaks
// Prometheus remote_write 1.0, POST /api/v1/write (snappy protobuf); JsonPushEncoder speaks
// POST /api/v1/push (PusherOptions::format = PushFormat::kJson).
//
// Thread safety: Push() and Stats() may be called from any thread. Shutdown() once, or let
// the destructor do it. The registry must outlive the Pusher.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zenwatch/registry.h"
#include "zenwatch/snapshot.h"

namespace zenwatch {

// Turns collected families into request bodies. Called from one thread at a time.
class PushEncoder {
 public:
  virtual ~PushEncoder() = default;
  virtual std::string_view Path() const = 0;  // e.g. "/api/v1/push"
  virtual std::string_view ContentType() const = 0;
  // Extra request headers (Content-Encoding, protocol versions, ...).
  virtual std::vector<std::pair<std::string, std::string>> Headers() const { return {}; }
  // The body carrying `families` at `now_ms`, or nullopt when nothing needs sending. May
  // keep state between calls (e.g. to send only changes).
  virtual std::optional<std::string> Encode(std::span<const MetricFamilySnapshot> families,
                                            int64_t now_ms) = 0;
};

// JSON push (docs/push.md): NDJSON MetricEvents of the series that changed since the last
// call. Counters are sent as the increase since the last call (the server keeps the running
// total; after a reset, the new value); gauges as their value. Histograms, which JSON push
// can only receive one observation at a time, are sent as gauges of their cumulative
// series: <name>_bucket{le}, <name>_sum, <name>_count. Every event has `domain` and
// `source`; the server names series <domain>_<name>. Each batch's timestamp is later than
// the previous one's (at least by 1 ms), as the server refuses a second value for a series
// at a timestamp it has.
class JsonPushEncoder final : public PushEncoder {
 public:
  JsonPushEncoder(std::string domain, std::string source)
      : domain_(std::move(domain)), source_(std::move(source)) {}
  std::string_view Path() const override { return "/api/v1/push"; }
  std::string_view ContentType() const override { return "application/x-ndjson"; }
  std::optional<std::string> Encode(std::span<const MetricFamilySnapshot> families,
                                    int64_t now_ms) override;

 private:
  std::string domain_, source_;
  std::vector<std::pair<std::string, double>> last_;  // series key -> value last sent, sorted
  int64_t last_ms_ = 0;                               // timestamp of the last batch
};

// Prometheus remote_write 1.0 (docs/remote_write.md): a snappy block-compressed protobuf
// `prometheus.WriteRequest` to POST /api/v1/write with Content-Encoding: snappy and
// X-Prometheus-Remote-Write-Version: 0.1.0. Every call sends every series with its current,
// cumulative value (remote_write carries no deltas): counters as <name>_total (the suffix
// added when missing), gauges and untyped as <name>, histograms as <name>_bucket{le} (with
// le="+Inf"), <name>_sum and <name>_count. Labels are sorted by name, __name__ among them;
// `external_labels` are added to every series unless the series has a label of that name
// (empty values are left out). Each batch's timestamp is later than the previous one's (by
// at least 1 ms). MetricMetadata (type, help, unit per family) rides along in the first
// request, whenever a family's metadata changes, and at least every `metadata_interval_ms`.
// Encoding is hand-written (no protobuf or snappy library): see
// EncodeRemoteWriteRequest and SnappyCompressBlock.
class RemoteWriteEncoder final : public PushEncoder {
 public:
  explicit RemoteWriteEncoder(std::vector<std::pair<std::string, std::string>> external_labels = {},
                              int64_t metadata_interval_ms = 60000);
  std::string_view Path() const override { return "/api/v1/write"; }
  std::string_view ContentType() const override { return "application/x-protobuf"; }
  std::vector<std::pair<std::string, std::string>> Headers() const override;
  std::optional<std::string> Encode(std::span<const MetricFamilySnapshot> families,
                                    int64_t now_ms) override;

 private:
  std::vector<std::pair<std::string, std::string>> external_;  // sorted by name
  int64_t metadata_interval_ms_;
  int64_t last_ms_ = 0;       // timestamp of the last batch
  int64_t last_meta_ms_ = 0;  // when metadata was last sent; 0: never
  std::string last_meta_;     // the metadata last sent, encoded
};

// The uncompressed protobuf WriteRequest for `families` at `timestamp_ms` (what
// RemoteWriteEncoder compresses), with metadata when `with_metadata`.
std::string EncodeRemoteWriteRequest(
    std::span<const MetricFamilySnapshot> families, int64_t timestamp_ms,
    const std::vector<std::pair<std::string, std::string>>& external_labels, bool with_metadata);

// Building blocks of a WriteRequest for senders that keep series of their own (the server's
// remote_write sender, src/remote): the protobuf Label messages (TimeSeries field 1) of a
// label set sorted by name, appended to `out`; and one WriteRequest.timeseries entry made of
// such pre-encoded labels and `samples` (which should be in time order), appended to `out`.
void AppendRemoteWriteLabels(
    std::span<const std::pair<std::string_view, std::string_view>> sorted_labels, std::string& out);
struct RemoteWriteSample {
  int64_t timestamp_ms = 0;
  double value = 0;
};
void AppendRemoteWriteTimeSeries(std::string_view encoded_labels,
                                 std::span<const RemoteWriteSample> samples, std::string& out);

// Snappy block format (not the framing format): the varint uncompressed length, then
// literal and copy elements. Any snappy decoder reads it back.
std::string SnappyCompressBlock(std::string_view input);

enum class PushFormat {
  kRemoteWrite,  // RemoteWriteEncoder({{"job", domain}, {"instance", source}})
  kJson,         // JsonPushEncoder(domain, source)
};

struct PusherOptions {
  std::string url = "http://127.0.0.1:3003";  // http://host:port (no TLS)
  std::string domain = "app";
  std::string source = "zenwatch-client";
  std::chrono::milliseconds interval{15000};  // 0: push only on Push()
  std::size_t queue_capacity = 16;            // batches
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds timeout{5000};  // connect + send + response, per attempt
  // Used when `encoder` is null.
  PushFormat format = PushFormat::kRemoteWrite;
  // Any encoder; nullptr: the one `format` names.
  std::unique_ptr<PushEncoder> encoder;
};

struct PusherStats {
  uint64_t batches_sent = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_rejected = 0;  // the server answered 4xx
  uint64_t dropped_failed = 0;    // out of attempts, or shut down before sending
  uint64_t send_errors = 0;       // failed attempts, retried or not
};

class Pusher {
 public:
  // Throws std::invalid_argument for a URL that is not http://host:port[/].
  Pusher(Registry& registry, PusherOptions options);
  ~Pusher();  // Shutdown()
  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;

  // Collects and queues a batch now. Returns false when a batch had to be dropped to make
  // room. Never waits for the network. A no-op after Shutdown().
  bool Push();
  // Pushes once more, then sends what is queued for at most `grace` and stops the thread.
  // Batches still queued after `grace` are dropped and counted. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));
  PusherStats Stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zenwatch
