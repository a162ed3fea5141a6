// The scrape manager: one loop per target of every configured job, on one I/O thread.
// Each loop fetches the target's metrics endpoint every interval (starting at an offset
// derived from the target's URL, so targets spread over the interval), hands the body to
// its ScrapeAppender, and records the target's health for /api/v1/targets.
//
// Targets come from static_configs and file_sd_configs (polled every refresh_interval)
// through the job's relabel_configs (target.h). A target is identified by its labels, URL,
// interval and timeout: when discovery or a new configuration yields the same target for
// a job whose scrape settings did not change, its loop keeps running with its state
// (series cache, staleness tracking, health); a target that goes away gets staleness
// markers for its series.
//
// Thread-safe: ApplyConfig, Targets and Stop may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/labels.h"
#include "scrape/config.h"
#include "storage/appender.h"

namespace zw::scrape {

struct TargetInfo {
  std::string job;
  std::string url;
  Labels labels;                   // after relabelling: job, instance and the other target labels
  Labels discovered_labels;        // before relabelling: __address__, __scheme__, __metrics_path__,
                                   // __scrape_interval__, __scrape_timeout__, __param_*, job, ...
  std::string health = "unknown";  // "up", "down" or "unknown" before the first scrape
  std::string last_error;
  int64_t last_scrape_ms = 0;
  double last_duration_seconds = 0;
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;
};

// The Authorization header value a scrape of `job` sends ("" for none); reads
// password_file / credentials_file. Throws std::runtime_error when a file cannot be read.
std::string AuthorizationHeader(const ScrapeConfig& job);

class ScrapeManager {
 public:
  explicit ScrapeManager(storage::Appendable* storage);
  ~ScrapeManager();  // Stop()

  // Makes `config` the running configuration: loops of unchanged targets of unchanged
  // jobs keep running, the others stop (writing staleness markers) or start.
  void ApplyConfig(const Config& config);
  // Active targets, by job then key.
  std::vector<TargetInfo> Targets() const;
  // Targets relabelling dropped: only job and discovered_labels are set.
  std::vector<TargetInfo> DroppedTargets() const;
  // Stops every loop (writing staleness markers) and the I/O thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zw::scrape
