#include "storage/observed_appendable.h"

#include <atomic>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

namespace zw::storage {
namespace {

// Accepts everything except negative timestamps (a stand-in for out-of-order rejections);
// Commit fails when told to.
class FakeStorage final : public Storage {
 public:
  class App final : public Appender {
   public:
    explicit App(FakeStorage* s) : s_(s) {}
    Result<SeriesRef> Append(SeriesRef, const Labels& labels, int64_t t, double,
                             const AppendOptions&) override {
      if (t < 0) return Status::InvalidArgument("negative time");
      return labels.Hash();
    }
    Status Commit() override {
      if (s_->fail_commit) return Status::IOError("disk full");
      ++s_->commits;
      return Status::Ok();
    }
    void Rollback() override {}

   private:
    FakeStorage* s_;
  };
  std::unique_ptr<Appender> NewAppender() override { return std::make_unique<App>(this); }
  std::unique_ptr<Querier> NewQuerier(int64_t, int64_t) override { return nullptr; }
  std::vector<std::pair<std::string, MetricMetadata>> Metadata() const override { return {}; }

  bool fail_commit = false;
  int commits = 0;
};

class RecordingObserver final : public CommitObserver {
 public:
  bool Active() const override { return active; }
  bool Interested(SeriesRef ref, const Labels& labels) override {
    ++asked;
    if (labels.MetricName() != "wanted") return false;
    known[ref] = labels;  // samples come without labels: the observer keeps them
    return true;
  }
  void OnCommit(std::vector<CommittedSample>&& samples) override {
    ++commits;
    for (auto& s : samples) seen.push_back(std::move(s));
  }

  bool active = true;
  int asked = 0;
  int commits = 0;
  std::vector<CommittedSample> seen;
  std::map<SeriesRef, Labels> known;
};

TEST(ObservedStorage, TellsInterestingSamplesAfterCommit) {
  FakeStorage inner;
  RecordingObserver obs;
  ObservedStorage st(&inner, &obs);
  auto app = st.NewAppender();
  Labels wanted{{"__name__", "wanted"}, {"a", "1"}};
  ASSERT_TRUE(app->Append(0, wanted, 10, 1.5).ok());
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "other"}}, 10, 2).ok());
  EXPECT_TRUE(obs.seen.empty());  // nothing before Commit
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_EQ(obs.seen.size(), 1u);
  EXPECT_EQ(obs.seen[0].ref, wanted.Hash());
  EXPECT_EQ(obs.known[obs.seen[0].ref], wanted);
  EXPECT_EQ(obs.seen[0].t, 10);
  EXPECT_EQ(obs.seen[0].v, 1.5);
  EXPECT_EQ(obs.commits, 1);
}

TEST(ObservedStorage, RejectedSamplesAreNotTold) {
  FakeStorage inner;
  RecordingObserver obs;
  ObservedStorage st(&inner, &obs);
  auto app = st.NewAppender();
  EXPECT_FALSE(app->Append(0, Labels{{"__name__", "wanted"}}, -1, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(obs.asked, 0);
  EXPECT_EQ(obs.commits, 0);  // nothing was accepted: no new data
}

TEST(ObservedStorage, FailedCommitAndRollbackTellNothing) {
  FakeStorage inner;
  RecordingObserver obs;
  ObservedStorage st(&inner, &obs);
  inner.fail_commit = true;
  auto app = st.NewAppender();
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "wanted"}}, 1, 1).ok());
  EXPECT_FALSE(app->Commit().ok());
  auto app2 = st.NewAppender();
  ASSERT_TRUE(app2->Append(0, Labels{{"__name__", "wanted"}}, 1, 1).ok());
  app2->Rollback();
  EXPECT_EQ(obs.commits, 0);
  EXPECT_TRUE(obs.seen.empty());
}

TEST(ObservedStorage, InactiveObserverIsNotAskedAtAll) {
  FakeStorage inner;
  RecordingObserver obs;
  obs.active = false;
  ObservedStorage st(&inner, &obs);
  auto app = st.NewAppender();
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "wanted"}}, 1, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(inner.commits, 1);
  EXPECT_EQ(obs.asked, 0);
  EXPECT_EQ(obs.commits, 0);
}

TEST(ObservedStorage, CommitWithOnlyUninterestingSamplesStillSignalsNewData) {
  FakeStorage inner;
  RecordingObserver obs;
  ObservedStorage st(&inner, &obs);
  auto app = st.NewAppender();
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "other"}}, 1, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(obs.commits, 1);
  EXPECT_TRUE(obs.seen.empty());
}

}  // namespace
}  // namespace zw::storage
