// Runs Prometheus 2.42's PromQL test scripts (../shared/data/promqltest-v2.42, never copied
// into the repo) and our own (src/promql/testdata) through the engine, and pins how many pass
// so regressions fail. Every script runs twice: against a fresh head, and against a database
// whose loaded data was cut into on-disk blocks and compacted (with the newest part left in
// the head), so the same answers must come out of blocks, merged levels and the boundaries
// between them.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "promql/engine.h"
#include "promql/promqltest/script.h"
#include "tsdb/db.h"
#include "tsdb/fs/file_system.h"
#include "tsdb/head.h"

namespace zw::promqltest {
namespace {

std::filesystem::path SourceDir() {
  const char* src = std::getenv("ZW_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".");
}

Result<InstantResult> Evaluate(promql::Engine& engine, storage::Queryable& q,
                               const std::string& expr, int64_t at) {
  auto res = engine.Instant(q, expr, at);
  if (!res.ok()) return res.status();
  InstantResult out;
  if (const auto* s = std::get_if<promql::Scalar>(&res->value)) {
    out.is_scalar = true;
    out.scalar = s->v;
    return out;
  }
  if (const auto* v = std::get_if<promql::Vector>(&res->value)) {
    for (const auto& smp : *v) out.vector.emplace_back(smp.labels, smp.v);
    return out;
  }
  return Status::InvalidArgument("instant query returned a " +
                                 std::string(promql::ValueTypeName(promql::TypeOf(res->value))));
}

Result<RangeResult> EvaluateRange(promql::Engine& engine, storage::Queryable& q,
                                  const std::string& expr, int64_t start, int64_t end,
                                  int64_t step) {
  auto res = engine.Range(q, expr, start, end, step);
  if (!res.ok()) return res.status();
  RangeResult out;
  for (const auto& s : std::get<promql::Matrix>(res->value)) {
    RangeSeries rs{s.labels, {}};
    for (const auto& p : s.points) rs.points.emplace_back(p.t, p.v);
    out.push_back(std::move(rs));
  }
  return out;
}

// Measured with the first cut of the evaluator; raise these as the engine improves.
constexpr const char* kFullyPassing[] = {"aggregators.test", "at_modifier.test",   "collision.test",
                                         "functions.test",   "histograms.test",    "literals.test",
                                         "operators.test",   "selectors.test",     "staleness.test",
                                         "subquery.test",    "trig_functions.test"};
constexpr int kMinPassed = 566;

// Keeps what a script loads, so that it can be rebuilt as blocks before the next eval.
class Recorder final : public storage::Appendable {
 public:
  struct Loaded {
    Labels labels;
    int64_t t;
    double v;
  };
  std::unique_ptr<storage::Appender> NewAppender() override { return std::make_unique<Txn>(this); }
  const std::vector<Loaded>& samples() const { return samples_; }
  // True once after each commit.
  bool TakeChanged() { return std::exchange(changed_, false); }

 private:
  class Txn final : public storage::Appender {
   public:
    explicit Txn(Recorder* r) : r_(r) {}
    Result<storage::SeriesRef> Append(storage::SeriesRef, const Labels& labels, int64_t t, double v,
                                      const storage::AppendOptions&) override {
      pending_.push_back({labels, t, v});
      return storage::SeriesRef{0};
    }
    Status Commit() override {
      for (auto& s : pending_) r_->samples_.push_back(std::move(s));
      r_->changed_ = r_->changed_ || !pending_.empty();
      pending_.clear();
      return Status::Ok();
    }
    void Rollback() override { pending_.clear(); }

   private:
    Recorder* r_;
    std::vector<Loaded> pending_;
  };
  std::vector<Loaded> samples_;
  bool changed_ = false;
};

constexpr int64_t kMinute = 60'000;

struct BlockCounts {
  int databases = 0;  // rebuilt before an eval, with data spanning at least 4 minutes
  int with_blocks = 0;
  int compacted = 0;  // of those, with a block of level 2 or more
};

// A database holding `samples` in blocks (cut from the head and compacted as far as the
// ranges allow; the newest part stays in the head), on its own in-memory file system.
Result<std::unique_ptr<tsdb::DB>> BuildBlocks(const std::vector<Recorder::Loaded>& samples,
                                              fs::FileSystem* fs, BlockCounts* counts) {
  // Block ranges from the data's span (a quarter of it, in whole minutes, tripling per level),
  // so that every script's data is cut into several blocks and merged once, with the newest
  // part left in the head.
  int64_t mint = INT64_MAX, maxt = INT64_MIN;
  for (const auto& s : samples) {
    mint = std::min(mint, s.t);
    maxt = std::max(maxt, s.t);
  }
  int64_t range =
      samples.empty() ? kMinute : std::max(kMinute, (maxt - mint) / 4 / kMinute * kMinute);
  tsdb::DBOptions o;
  o.dir = "/db";
  o.fs = fs;
  o.background = false;
  o.block_ranges_ms = {range, 3 * range, 9 * range};
  o.retention_ms = o.retention_5m_ms = o.retention_1h_ms = 0;
  o.downsample_after_ms = 0;  // raw data only: the answers must be exact
  o.head.ooo_window_ms = range / 2;
  auto db = tsdb::DB::Open(std::move(o));
  if (!db.ok()) return db.status();
  // In time order over all series, as a live database would have received them.
  std::vector<const Recorder::Loaded*> order;
  order.reserve(samples.size());
  for (const auto& s : samples) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return a->t < b->t; });
  auto app = (*db)->NewAppender();
  for (const auto* s : order) {
    auto r = app->Append(0, s->labels, s->t, s->v);
    if (!r.ok()) return r.status();
  }
  ZW_RETURN_IF_ERROR(app->Commit());
  // Each round cuts what the head can give and merges what the ranges allow; stop once a
  // round changes nothing.
  for (int round = 0; round < 64; ++round) {
    uint64_t before = (*db)->stats().head_compactions + (*db)->stats().compactions;
    ZW_RETURN_IF_ERROR((*db)->Compact());
    if ((*db)->stats().head_compactions + (*db)->stats().compactions == before) break;
  }
  auto blocks = (*db)->Blocks();
  // Data spanning under a few minutes (a handful of samples at one time) stays in the head.
  if (samples.empty() || maxt - mint < 4 * kMinute) return db;
  ++counts->databases;
  if (!blocks.empty()) ++counts->with_blocks;
  if (std::any_of(blocks.begin(), blocks.end(),
                  [](const auto& b) { return b->meta().level >= 2; })) {
    ++counts->compacted;
  }
  return db;
}

// Runs every *.test file in `dir`; per-file {evals, passed}. With `counts`, over blocks.
std::map<std::string, RunReport> RunDir(const std::filesystem::path& dir,
                                        BlockCounts* counts = nullptr) {
  std::map<std::string, RunReport> reports;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  promql::Engine engine;
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string name = path.filename().string();
    auto script = ParseScript(ss.str(), name);
    EXPECT_TRUE(script.ok()) << script.status().ToString();
    if (!script.ok()) continue;
    std::unique_ptr<tsdb::Head> head;
    std::unique_ptr<Recorder> recorder;
    std::unique_ptr<fs::FileSystem> fs;
    std::unique_ptr<tsdb::DB> db;
    // The storage an eval reads: the head, or the database rebuilt after the last load.
    auto storage = [&]() -> Result<storage::Queryable*> {
      if (counts == nullptr) return head.get();
      if (recorder->TakeChanged() || db == nullptr) {
        db.reset();
        fs = fs::NewMemFileSystem();
        auto built = BuildBlocks(recorder->samples(), fs.get(), counts);
        if (!built.ok()) return built.status();
        db = std::move(built).value();
      }
      return db.get();
    };
    Engine e;
    e.fresh = [&]() -> storage::Appendable& {
      if (counts == nullptr) {
        head = std::move(tsdb::Head::Open({})).value();
        return *head;
      }
      db.reset();
      recorder = std::make_unique<Recorder>();
      return *recorder;
    };
    e.eval = [&](const std::string& expr, int64_t at) -> Result<InstantResult> {
      auto q = storage();
      if (!q.ok()) return q.status();
      return Evaluate(engine, **q, expr, at);
    };
    // Only expressions a range query accepts (vector or scalar) are cross-checked.
    e.range = [&](const std::string& expr, int64_t start, int64_t end,
                  int64_t step) -> Result<RangeResult> {
      auto q = storage();
      if (!q.ok()) return q.status();
      return EvaluateRange(engine, **q, expr, start, end, step);
    };
    reports[name] = RunScript(*script, name, e);
  }
  return reports;
}

void Print(const std::map<std::string, RunReport>& reports, int* evals, int* passed) {
  for (const auto& [name, rep] : reports) {
    std::printf("%-22s %3d / %3d (%d also in range mode)\n", name.c_str(), rep.passed, rep.evals,
                rep.cross_checked);
    if (std::getenv("ZW_PROMQLTEST_VERBOSE") != nullptr) {
      for (const auto& f : rep.failures) std::printf("  %s\n", f.c_str());
    }
    *evals += rep.evals;
    *passed += rep.passed;
  }
  std::printf("%-22s %3d / %3d\n", "total", *passed, *evals);
}

TEST(PrometheusScripts, PassCountsDoNotRegress) {
  auto dir = SourceDir() / ".." / "shared" / "data" / "promqltest-v2.42";
  if (!std::filesystem::exists(dir)) {
    GTEST_SKIP() << "Prometheus 2.42 test scripts not found at " << dir;
  }
  auto reports = RunDir(dir);
  int evals = 0, passed = 0;
  Print(reports, &evals, &passed);
  // Files that pass completely must keep passing.
  for (const char* name : kFullyPassing) {
    auto it = reports.find(name);
    ASSERT_NE(it, reports.end()) << name;
    EXPECT_EQ(it->second.passed, it->second.evals)
        << name << ": " << (it->second.failures.empty() ? "" : it->second.failures[0]);
  }
  EXPECT_EQ(evals, 566);
  EXPECT_GE(passed, kMinPassed);
}

TEST(PrometheusScripts, SameAnswersOverCompactedBlocks) {
  spdlog::set_level(spdlog::level::warn);  // not every block cut and compaction
  auto dir = SourceDir() / ".." / "shared" / "data" / "promqltest-v2.42";
  if (!std::filesystem::exists(dir)) {
    GTEST_SKIP() << "Prometheus 2.42 test scripts not found at " << dir;
  }
  BlockCounts counts;
  auto reports = RunDir(dir, &counts);
  int evals = 0, passed = 0;
  Print(reports, &evals, &passed);
  std::printf("databases %d, with blocks %d, with compacted blocks %d\n", counts.databases,
              counts.with_blocks, counts.compacted);
  EXPECT_EQ(evals, 566);
  EXPECT_GE(passed, kMinPassed);
  // The mode means something only if the scripts' data really went to blocks.
  EXPECT_EQ(counts.with_blocks, counts.databases);
  EXPECT_GT(counts.compacted, 0);
}

TEST(OurScripts, AllPass) {
  auto dir = SourceDir() / "src" / "promql" / "testdata";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no scripts at " << dir;
  auto reports = RunDir(dir);
  int evals = 0, passed = 0;
  Print(reports, &evals, &passed);
  for (const auto& [name, rep] : reports) {
    EXPECT_EQ(rep.passed, rep.evals)
        << name << ": " << (rep.failures.empty() ? "" : rep.failures[0]);
  }
}

TEST(OurScripts, AllPassOverCompactedBlocks) {
  spdlog::set_level(spdlog::level::warn);
  auto dir = SourceDir() / "src" / "promql" / "testdata";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no scripts at " << dir;
  BlockCounts counts;
  auto reports = RunDir(dir, &counts);
  int evals = 0, passed = 0;
  Print(reports, &evals, &passed);
  std::printf("databases %d, with blocks %d, with compacted blocks %d\n", counts.databases,
              counts.with_blocks, counts.compacted);
  for (const auto& [name, rep] : reports) {
    EXPECT_EQ(rep.passed, rep.evals)
        << name << ": " << (rep.failures.empty() ? "" : rep.failures[0]);
  }
  EXPECT_EQ(counts.with_blocks, counts.databases);
  EXPECT_GT(counts.compacted, 0);
}

}  // namespace
}  // namespace zw::promqltest
