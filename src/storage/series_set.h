// In-memory implementations of the Querier types: a series held as a vector of samples
// and a set of such series. Used by tests, by readers that decode whole series at once
// (remote read), and as the error set every Querier can return.
#pragma once

#include <memory>
#include <vector>

#include "storage/querier.h"

namespace zw::storage {

class VectorIterator final : public SampleIterator {
 public:
  explicit VectorIterator(const std::vector<Sample>* samples) : samples_(samples) {}
  bool Next() override;
  bool Seek(int64_t t) override;
  Sample At() const override { return (*samples_)[pos_]; }
  Status Err() const override { return Status::Ok(); }
  // The samples from the current one to the end.
  std::span<const Sample> Buffered() const override {
    if (pos_ >= samples_->size()) return {};
    return std::span<const Sample>(*samples_).subspan(pos_);
  }

 private:
  const std::vector<Sample>* samples_;
  size_t pos_ = static_cast<size_t>(-1);
};

class VectorSeries final : public Series {
 public:
  VectorSeries(Labels labels, std::vector<Sample> samples)
      : labels_(std::move(labels)), samples_(std::move(samples)) {}
  const Labels& labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<VectorIterator>(&samples_);
  }
  const std::vector<Sample>& samples() const { return samples_; }

 private:
  Labels labels_;
  std::vector<Sample> samples_;
};

class VectorSeriesSet final : public SeriesSet {
 public:
  explicit VectorSeriesSet(std::vector<VectorSeries> series, Status err = Status::Ok())
      : series_(std::move(series)), err_(std::move(err)) {}
  bool Next() override { return ++pos_ < series_.size(); }
  const Series& At() const override { return series_[pos_]; }
  Status Err() const override { return err_; }

 private:
  std::vector<VectorSeries> series_;
  size_t pos_ = static_cast<size_t>(-1);
  Status err_;
};

// The samples in [mint, maxt] of the one series whose labels are exactly `labels` (not a
// superset), in time order; empty when there is none. For tests and small look-ups.
std::vector<Sample> ReadExact(Queryable& storage, const Labels& labels, int64_t mint = kMinTime,
                              int64_t maxt = kMaxTime);

// A set with no series that reports `err`.
inline std::unique_ptr<SeriesSet> ErrorSeriesSet(Status err) {
  return std::make_unique<VectorSeriesSet>(std::vector<VectorSeries>{}, std::move(err));
}

}  // namespace zw::storage
