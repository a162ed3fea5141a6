// The scrape manager: one loop per target of every configured job, on one I/O thread.
// Each loop fetches the target's metrics endpoint every interval (starting at an offset
// derived from the target's URL, so targets spread over the interval), hands the body to
// its ScrapeAppender, and records the target's health for /api/v1/targets.
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
  Labels labels;                   // job, instance and static labels
  Labels discovered_labels;        // __address__, __scheme__, __metrics_path__, job, static labels
  std::string health = "unknown";  // "up", "down" or "unknown" before the first scrape
  std::string last_error;
  int64_t last_scrape_ms = 0;
  double last_duration_seconds = 0;
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;
};

class ScrapeManager {
 public:
  explicit ScrapeManager(storage::Appendable* storage);
  ~ScrapeManager();  // Stop()

  // Replaces every loop with the targets of `config`. Targets that disappear get
  // staleness markers.
  void ApplyConfig(const Config& config);
  std::vector<TargetInfo> Targets() const;
  // Stops every loop (writing staleness markers) and the I/O thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zw::scrape
