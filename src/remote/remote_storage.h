// The remote_write sender: one queue manager and one WAL watcher per configured remote.
//
//   remote::RemoteStorage rs({.data_dir = dir, .wal_dir = dir + "/wal"});
//   ZW_RETURN_IF_ERROR(rs.ApplyConfig(*remote::ParseRemoteWriteConfigs(yaml)));
//   ...
//   rs.Stop();  // flushes (bounded), persists progress
//
// A remote's progress lives in <data_dir>/remote_write/<remote name>/progress. ApplyConfig
// keeps remotes whose configuration is unchanged running, stops removed or changed ones
// (flushing them like Stop) and starts new ones, resuming from their saved progress.
//
// WAL retention: given the head's Wal, the sender installs a wal::Retention so that a
// checkpoint does not delete segments a remote has not read and acknowledged yet (the lowest
// of each remote's reading segment and acknowledged watermark), up to
// wal_retention_max_bytes. Samples in segments deleted anyway are counted per remote
// (QueueStats::samples_lost). The destructor removes the retention.
//
// Thread safety: all methods may be called from any thread; ApplyConfig and Stop are
// serialised.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "remote/config.h"
#include "remote/queue_manager.h"
#include "remote/wal_watcher.h"
#include "tsdb/wal/wal.h"

namespace zw::remote {

struct RemoteStorageOptions {
  std::string data_dir;
  std::string wal_dir;
  std::chrono::milliseconds flush_deadline{5000};
  std::chrono::milliseconds poll_interval{50};
  // The head's WAL (may be null: no retention).
  wal::Wal* wal = nullptr;
  uint64_t wal_retention_max_bytes = uint64_t{2} << 30;
};

class RemoteStorage {
 public:
  explicit RemoteStorage(RemoteStorageOptions options);
  ~RemoteStorage();  // Stop()

  // Errors (nothing changes then): a remote's progress directory cannot be created, its
  // progress file is damaged, or its TLS settings cannot be loaded.
  Status ApplyConfig(const std::vector<RemoteWriteConfig>& configs);
  void Stop();

  // The lowest WAL segment a running remote still needs; INT_MAX when none.
  int LowestSegmentNeeded() const;

  // Calls `fn` for every running remote, holding a lock that keeps them alive.
  void ForEach(const std::function<void(const RemoteWriteConfig&, const QueueStats&,
                                        const WatcherStats&)>& fn) const;

 private:
  struct Remote {
    std::unique_ptr<QueueManager> queue;
    std::unique_ptr<WalWatcher> watcher;
  };
  static void StopRemote(Remote& r);
  Result<std::unique_ptr<Remote>> StartRemote(const RemoteWriteConfig& config);
  // Segments [from, to) are about to be deleted: counts their samples as lost for each
  // remote that had not read them.
  void CountLost(int from, int to);

  const RemoteStorageOptions opts_;
  std::mutex apply_mu_;
  mutable std::mutex mu_;  // guards remotes_ (ForEach takes it, ApplyConfig to change)
  std::map<std::string, std::unique_ptr<Remote>> remotes_;  // by RemoteName()
};

}  // namespace zw::remote
