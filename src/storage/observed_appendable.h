// ObservedStorage: a Storage decorator that tells an observer what was committed.
//
// Ingest paths append through it instead of the storage itself; queries and metadata pass
// straight through. After a successful Commit() the observer receives the samples it said it
// was interested in — series reference, time and value — on the committing thread, once per
// transaction.
//
// Cost on the ingest path: NewAppender asks the observer Active() (an atomic load for the
// dashboard's stream hub); when it is false the inner appender is returned undecorated, so
// with nobody listening nothing else happens. Otherwise each successful Append asks
// Interested(ref, labels), which the observer answers from a per-reference cache (one atomic
// load for the stream hub); a sample it does not want costs nothing more. Labels are not
// copied per sample: an observer that wants a series keeps its labels when it first says so
// (copying them per sample would also free them on another thread than the one that built
// them, which the allocator makes everyone pay for).
//
// Thread safety: as the wrapped storage. The observer is called from ingest threads
// concurrently and must be thread-safe; it must outlive the ObservedStorage.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "storage/storage.h"

namespace zw::storage {

struct CommittedSample {
  SeriesRef ref = 0;
  int64_t t = 0;
  double v = 0;
};

class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  // Whether anybody listens now; checked once per transaction, must be cheap.
  virtual bool Active() const = 0;
  // Per accepted sample: whether OnCommit wants it. `ref` is the reference Append returned.
  // An observer that answers true must know the series' labels by `ref` when OnCommit comes
  // (it keeps `labels` from its first true answer).
  virtual bool Interested(SeriesRef ref, const Labels& labels) = 0;
  // After a successful Commit of a transaction opened while Active(): the samples Interested
  // accepted, in append order (possibly none: the transaction still means new data arrived).
  virtual void OnCommit(std::vector<CommittedSample>&& samples) = 0;
};

class ObservedStorage final : public Storage {
 public:
  // REQUIRES: inner and observer outlive this object.
  ObservedStorage(Storage* inner, CommitObserver* observer) : inner_(inner), observer_(observer) {}

  std::unique_ptr<Appender> NewAppender() override;
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return inner_->NewQuerier(mint, maxt);
  }
  std::vector<std::pair<std::string, MetricMetadata>> Metadata() const override {
    return inner_->Metadata();
  }

 private:
  Storage* inner_;
  CommitObserver* observer_;
};

}  // namespace zw::storage
