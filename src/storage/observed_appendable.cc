#include "storage/observed_appendable.h"

namespace zw::storage {
namespace {

class ObservedAppender final : public Appender {
 public:
  ObservedAppender(std::unique_ptr<Appender> inner, CommitObserver* observer)
      : inner_(std::move(inner)), observer_(observer) {}

  Result<SeriesRef> Append(SeriesRef ref, const Labels& labels, int64_t t, double v,
                           const AppendOptions& opts) override {
    Result<SeriesRef> r = inner_->Append(ref, labels, t, v, opts);
    if (r.ok()) {
      appended_ = true;
      if (observer_->Interested(*r, labels)) kept_.push_back({*r, t, v});
    }
    return r;
  }

  Status Commit() override {
    Status st = inner_->Commit();
    // A failed commit published nothing, so there is nothing to tell.
    if (st.ok() && appended_) observer_->OnCommit(std::move(kept_));
    kept_.clear();
    return st;
  }

  void Rollback() override {
    kept_.clear();
    inner_->Rollback();
  }

 private:
  std::unique_ptr<Appender> inner_;
  CommitObserver* observer_;
  std::vector<CommittedSample> kept_;
  bool appended_ = false;
};

}  // namespace

std::unique_ptr<Appender> ObservedStorage::NewAppender() {
  std::unique_ptr<Appender> app = inner_->NewAppender();
  if (!observer_->Active()) return app;
  return std::make_unique<ObservedAppender>(std::move(app), observer_);
}

}  // namespace zw::storage
