#include "tsdb/db.h"

#include <algorithm>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "storage/merge.h"
#include "tsdb/downsample/downsample.h"
#include "tsdb/downsample/querier.h"

namespace zw::tsdb {
namespace {

constexpr const char* kTmpSuffix = ".tmp";
constexpr const char* kCorruptedDir = "corrupted";

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Keeps a block alive while its querier is in use, and turns a damaged block's error into a
// warning (the block is quarantined), so one bad block never fails queries of the others.
class BlockQuerier final : public storage::Querier {
 public:
  BlockQuerier(std::shared_ptr<Block> block, std::unique_ptr<storage::Querier> q,
               std::function<void(const std::string&, const Status&)> on_corruption)
      : block_(std::move(block)), q_(std::move(q)), on_corruption_(std::move(on_corruption)) {}

  std::unique_ptr<storage::SeriesSet> Select(bool sorted, const storage::SelectHints* hints,
                                             const Matchers& matchers) override {
    return std::make_unique<Set>(this, q_->Select(sorted, hints, matchers));
  }
  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const Matchers& matchers) override {
    return q_->LabelValues(name, matchers);
  }
  Result<std::vector<std::string>> LabelNames(const Matchers& matchers) override {
    return q_->LabelNames(matchers);
  }

 private:
  class Set final : public storage::SeriesSet {
   public:
    Set(BlockQuerier* owner, std::unique_ptr<storage::SeriesSet> s)
        : owner_(owner), s_(std::move(s)) {}
    bool Next() override { return s_->Next(); }
    const storage::Series& At() const override { return s_->At(); }
    Status Err() const override {
      Status st = s_->Err();
      if (st.code() != StatusCode::kCorruption) return st;
      owner_->on_corruption_(owner_->block_->meta().ulid, st);
      return Status::Ok();
    }
    std::vector<std::string> Warnings() const override {
      std::vector<std::string> w = s_->Warnings();
      Status st = s_->Err();
      if (st.code() == StatusCode::kCorruption) {
        w.push_back("block " + owner_->block_->meta().ulid +
                    " is damaged and was quarantined; its data is missing from this result: " +
                    st.ToString());
      }
      return w;
    }

   private:
    BlockQuerier* owner_;
    std::unique_ptr<storage::SeriesSet> s_;
  };

  std::shared_ptr<Block> block_;
  std::unique_ptr<storage::Querier> q_;
  std::function<void(const std::string&, const Status&)> on_corruption_;
};

// Recreates the tree under `from` at `to` with hard links (blocks are immutable).
Status LinkTree(fs::FileSystem* fs, const std::string& from, const std::string& to) {
  ZW_RETURN_IF_ERROR(fs->CreateDirs(to));
  auto names = fs->ListDir(from);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    std::string src = fs::JoinPath(from, name), dst = fs::JoinPath(to, name);
    if (fs->ListDir(src).ok()) {
      ZW_RETURN_IF_ERROR(LinkTree(fs, src, dst));
    } else {
      ZW_RETURN_IF_ERROR(fs->Link(src, dst));
    }
  }
  return fs->SyncDir(to);
}

}  // namespace

class DB::NotifyingAppender final : public storage::Appender {
 public:
  NotifyingAppender(DB* db, std::unique_ptr<storage::Appender> a) : db_(db), a_(std::move(a)) {}
  Result<storage::SeriesRef> Append(storage::SeriesRef ref, const Labels& labels, int64_t t,
                                    double v, const storage::AppendOptions& opts) override {
    return a_->Append(ref, labels, t, v, opts);
  }
  Status Commit() override {
    Status st = a_->Commit();
    if (st.ok() && db_->HeadCompactable()) db_->Wake();
    return st;
  }
  void Rollback() override { a_->Rollback(); }

 private:
  DB* db_;
  std::unique_ptr<storage::Appender> a_;
};

DB::DB(DBOptions options) : opts_(std::move(options)) {}

DB::~DB() { (void)Close(); }

Result<std::unique_ptr<DB>> DB::Open(DBOptions options) {
  const auto& r = options.block_ranges_ms;
  if (r.empty() || r[0] <= 0) {
    return Status::InvalidArgument("the block range must be positive");
  }
  for (size_t i = 1; i < r.size(); ++i) {
    if (r[i] <= r[i - 1] || r[i] % r[i - 1] != 0) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "compaction range {}ms is not a larger multiple of {}ms", r[i],
                           r[i - 1]);
    }
  }
  if (options.head.ooo_window_ms < 0 || options.head.ooo_window_ms > r[0] / 2) {
    return Status::Error(StatusCode::kInvalidArgument,
                         "the out-of-order window ({}ms) must be between 0 and half the block "
                         "range ({}ms)",
                         options.head.ooo_window_ms, r[0] / 2);
  }
  if (options.retention_ms < 0) return Status::InvalidArgument("retention time is negative");

  std::unique_ptr<DB> db(new DB(std::move(options)));
  int64_t min_valid = kMinTime;
  if (!db->opts_.dir.empty()) {
    ZW_RETURN_IF_ERROR(db->opts_.fs->CreateDirs(db->BlocksDir()));
    ZW_RETURN_IF_ERROR(db->LoadBlocks());
    for (const auto& b : db->blocks_) min_valid = std::max(min_valid, b->meta().max_time);
  }
  HeadOptions ho = db->opts_.head;
  ho.dir = db->opts_.dir;
  ho.fs = db->opts_.fs;
  ho.min_valid_time = min_valid;
  ho.chunk_range_ms = db->opts_.block_ranges_ms[0];
  db->deletions_ = std::make_unique<HeadDeletions>(
      db->opts_.fs, db->opts_.dir.empty() ? "" : fs::JoinPath(db->opts_.dir, "head_deletions"));
  ZW_RETURN_IF_ERROR(db->deletions_->Load());
  auto head = Head::Open(ho);
  if (!head.ok()) return head.status();
  db->head_ = std::move(*head);
  if (db->opts_.background) db->loop_ = std::thread([d = db.get()] { d->Loop(); });
  return db;
}

std::string DB::BlocksDir() const { return fs::JoinPath(opts_.dir, "blocks"); }

Status DB::LoadBlocks() {
  fs::FileSystem* fs = opts_.fs;
  auto names = fs->ListDir(BlocksDir());
  if (!names.ok()) return names.status();
  std::vector<std::shared_ptr<Block>> loaded;
  for (const std::string& name : *names) {
    std::string path = fs::JoinPath(BlocksDir(), name);
    if (name == kCorruptedDir) continue;
    if (std::string_view(name).ends_with(kTmpSuffix)) {
      spdlog::warn("removing unfinished block {} left by an interrupted write", path);
      ZW_RETURN_IF_ERROR(fs->RemoveAll(path));
      continue;
    }
    auto b = Block::Open(fs, path);
    if (!b.ok()) {
      if (b.status().code() != StatusCode::kCorruption) return b.status();
      spdlog::error("block {} is damaged and moved to {}/: {}", path, kCorruptedDir,
                    b.status().ToString());
      std::string qdir = fs::JoinPath(BlocksDir(), kCorruptedDir);
      ZW_RETURN_IF_ERROR(fs->CreateDirs(qdir));
      ZW_RETURN_IF_ERROR(fs->Rename(path, fs::JoinPath(qdir, name)));
      stats_.blocks_quarantined.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    loaded.push_back(std::move(*b));
  }
  // A compaction that finished writing its output but not deleting its inputs: a raw block
  // listed as a parent of another raw block. (Downsampled blocks name their raw source as
  // parent too; that source stays.)
  std::set<std::string> superseded;
  for (const auto& b : loaded) {
    if (b->meta().resolution_ms == 0) {
      superseded.insert(b->meta().parents.begin(), b->meta().parents.end());
    }
  }
  std::vector<std::shared_ptr<Block>> keep;
  for (auto& b : loaded) {
    if (b->meta().resolution_ms == 0 && superseded.count(b->meta().ulid)) {
      spdlog::info("removing block {}: superseded by a finished compaction", b->meta().ulid);
      std::string doomed = b->dir() + kTmpSuffix;
      ZW_RETURN_IF_ERROR(fs->Rename(b->dir(), doomed));
      ZW_RETURN_IF_ERROR(fs->RemoveAll(doomed));
    } else {
      keep.push_back(std::move(b));
    }
  }
  std::sort(keep.begin(), keep.end(),
            [](const auto& a, const auto& b) { return a->meta().min_time < b->meta().min_time; });
  blocks_ = std::move(keep);
  return Status::Ok();
}

std::unique_ptr<storage::Appender> DB::NewAppender() {
  return std::make_unique<NotifyingAppender>(this, head_->NewAppender());
}

// Per selection, reads the coarsest data its hints allow (ResolutionFits): for each stretch
// of time, a downsampled block of the chosen resolution where one exists, else raw blocks,
// else any downsampled block (raw data past its retention); then the head.
class DB::Querier final : public storage::Querier {
 public:
  Querier(DB* db, std::vector<std::shared_ptr<Block>> blocks, int64_t mint, int64_t maxt)
      : db_(db),
        blocks_(std::move(blocks)),
        mint_(mint),
        maxt_(maxt),
        head_(db->HeadQuerier(mint, maxt)) {}

  std::unique_ptr<storage::SeriesSet> Select(bool, const storage::SelectHints* hints,
                                             const Matchers& matchers) override {
    std::vector<std::unique_ptr<storage::SeriesSet>> sets;
    for (auto& q : Sources(hints)) {
      sets.push_back(q->Select(true, hints, matchers));
      keep_.push_back(std::move(q));
    }
    sets.push_back(head_->Select(true, hints, matchers));
    return storage::MergeSeriesSets(std::move(sets));
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const Matchers& matchers) override {
    std::vector<std::unique_ptr<storage::Querier>> qs = Sources(nullptr);
    qs.push_back(db_->HeadQuerier(mint_, maxt_));
    return storage::NewMergeQuerier(std::move(qs))->LabelValues(name, matchers);
  }

  Result<std::vector<std::string>> LabelNames(const Matchers& matchers) override {
    std::vector<std::unique_ptr<storage::Querier>> qs = Sources(nullptr);
    qs.push_back(db_->HeadQuerier(mint_, maxt_));
    return storage::NewMergeQuerier(std::move(qs))->LabelNames(matchers);
  }

 private:
  // Block queriers for one selection. The queriers live as long as this querier, since the
  // series sets they return point into them.
  std::vector<std::unique_ptr<storage::Querier>> Sources(const storage::SelectHints* hints) {
    std::vector<int64_t> order;  // resolutions by preference
    if (ResolutionFits(hints, kResolution1h)) {
      order = {kResolution1h, kResolution5m, 0};
    } else if (ResolutionFits(hints, kResolution5m)) {
      order = {kResolution5m, 0, kResolution1h};
    } else {
      order = {0, kResolution5m, kResolution1h};
    }
    std::vector<std::pair<int64_t, int64_t>> covered;
    auto overlaps = [&](const BlockMeta& m) {
      for (auto [lo, hi] : covered) {
        if (m.min_time < hi && lo < m.max_time) return true;
      }
      return false;
    };
    std::vector<std::unique_ptr<storage::Querier>> out;
    for (int64_t res : order) {
      for (const auto& b : blocks_) {
        const BlockMeta& m = b->meta();
        if (m.resolution_ms != res || overlaps(m)) continue;
        covered.emplace_back(m.min_time, m.max_time);
        auto q = res == 0 ? b->NewQuerier(mint_, maxt_) : NewDownsampledQuerier(b, mint_, maxt_);
        out.push_back(std::make_unique<BlockQuerier>(
            b, std::move(q),
            [db = db_](const std::string& ulid, const Status& st) { db->Quarantine(ulid, st); }));
      }
    }
    return out;
  }

  DB* db_;
  std::vector<std::shared_ptr<Block>> blocks_;
  int64_t mint_, maxt_;
  std::unique_ptr<storage::Querier> head_;
  std::vector<std::unique_ptr<storage::Querier>> keep_;
};

std::unique_ptr<storage::Querier> DB::NewQuerier(int64_t mint, int64_t maxt) {
  std::vector<std::shared_ptr<Block>> blocks;
  for (auto& b : Blocks()) {
    const BlockMeta& m = b->meta();
    if (m.max_time > mint && m.min_time <= maxt) blocks.push_back(std::move(b));
  }
  if (blocks.empty()) return HeadQuerier(mint, maxt);
  return std::make_unique<Querier>(this, std::move(blocks), mint, maxt);
}

std::unique_ptr<storage::Querier> DB::HeadQuerier(int64_t mint, int64_t maxt) {
  return HideDeleted(head_->NewQuerier(mint, maxt), deletions_->Snapshot());
}

Status DB::CarryDeletions(Block& block, int64_t mint, int64_t maxt) {
  auto deleted = deletions_->Snapshot();
  for (const auto& [labels, ivs] : *deleted) {
    Matchers ms;
    for (const Label& l : labels) {
      ms.push_back(Matcher::MustMake(MatchType::kEqual, std::string(l.name), std::string(l.value)));
    }
    for (const Interval& iv : ivs) {
      int64_t lo = std::max(iv.mint, mint), hi = std::min(iv.maxt, maxt - 1);
      if (lo <= hi) ZW_RETURN_IF_ERROR(block.Delete(lo, hi, ms));
    }
  }
  return Status::Ok();
}

std::vector<std::pair<std::string, MetricMetadata>> DB::Metadata() const {
  return head_->Metadata();
}

std::vector<std::shared_ptr<Block>> DB::Blocks() const {
  std::shared_lock lock(blocks_mu_);
  return blocks_;
}

bool DB::HeadCompactable() const {
  int64_t mn = head_->MinTime(), mx = head_->MaxTime();
  if (mn == kMaxTime || mx == kMinTime || opts_.dir.empty()) return false;
  return mx - mn > opts_.block_ranges_ms[0] / 2 * 3;
}

Status DB::Compact() {
  std::lock_guard lock(work_mu_);
  if (closed_.load()) return Status::Error(StatusCode::kUnavailable, "database closed");
  if (opts_.dir.empty()) return Status::Ok();
  auto start = std::chrono::steady_clock::now();
  Status st = CompactHead();
  if (st.ok()) st = CompactBlocks();
  if (st.ok()) st = DownsampleBlocks();
  if (st.ok()) st = ApplyRetention();
  stats_.compaction_nanos_total.fetch_add(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count(),
      std::memory_order_relaxed);
  if (!st.ok()) stats_.compaction_failures.fetch_add(1, std::memory_order_relaxed);
  return st;
}

Status DB::CompactHead() {
  const int64_t range = opts_.block_ranges_ms[0];
  while (HeadCompactable()) {
    const int64_t mint = FloorDiv(head_->MinTime(), range) * range;
    const int64_t maxt = mint + range;
    BlockMeta meta;
    meta.min_time = mint;
    meta.max_time = maxt;
    meta.level = 1;
    // From here no sample below maxt enters the head, so the block misses nothing.
    head_->SetMinValidTime(maxt);
    auto set = head_->Chunks(mint, maxt);
    auto written = WriteBlock(opts_.fs, BlocksDir(), *set, meta);
    set.reset();  // a reader: Truncate waits for readers to finish
    if (!written.ok()) return written.status();
    std::vector<std::shared_ptr<Block>> add;
    if (!written->ulid.empty()) {
      auto b = Block::Open(opts_.fs, fs::JoinPath(BlocksDir(), written->ulid));
      if (!b.ok()) return b.status();
      ZW_RETURN_IF_ERROR(CarryDeletions(**b, mint, maxt));
      add.push_back(std::move(*b));
      spdlog::info("head compacted into block {} [{}, {}): {} series, {} samples", written->ulid,
                   mint, maxt, written->num_series, written->num_samples);
    }
    ZW_RETURN_IF_ERROR(Swap(std::move(add), {}));
    ZW_RETURN_IF_ERROR(head_->Truncate(maxt));
    ZW_RETURN_IF_ERROR(deletions_->Forget(maxt));
    stats_.head_compactions.fetch_add(1, std::memory_order_relaxed);
    if (head_->MinTime() < maxt && head_->MinTime() != kMaxTime) {
      return Status::Error(StatusCode::kInternal, "head truncation to {} left samples from {}",
                           maxt, head_->MinTime());
    }
  }
  return Status::Ok();
}

// Which blocks to merge next, Prometheus's way: overlapping blocks first (vertical
// compaction), then blocks with deletions (rewritten alone), then, range by range, two or
// more blocks that fill an aligned range no new block can land in any more.
static std::vector<std::shared_ptr<Block>> Plan(const std::vector<std::shared_ptr<Block>>& blocks,
                                                const std::vector<int64_t>& ranges) {
  if (blocks.empty()) return {};
  // 1. Overlaps.
  std::vector<std::shared_ptr<Block>> group{blocks[0]};
  int64_t group_end = blocks[0]->meta().max_time;
  for (size_t i = 1; i < blocks.size(); ++i) {
    const BlockMeta& m = blocks[i]->meta();
    if (m.min_time < group_end) {
      group.push_back(blocks[i]);
      group_end = std::max(group_end, m.max_time);
      continue;
    }
    if (group.size() > 1) return group;
    group = {blocks[i]};
    group_end = m.max_time;
  }
  if (group.size() > 1) return group;
  // 2. Deletions.
  for (const auto& b : blocks) {
    if (b->HasTombstones()) return {b};
  }
  // 3. Aligned ranges, smallest first.
  int64_t newest = blocks.back()->meta().max_time;
  for (size_t r = 1; r < ranges.size(); ++r) {
    const int64_t range = ranges[r];
    std::map<int64_t, std::vector<std::shared_ptr<Block>>> buckets;
    for (const auto& b : blocks) {
      int64_t start = FloorDiv(b->meta().min_time, range) * range;
      if (b->meta().max_time > start + range) continue;  // already larger than this range
      buckets[start].push_back(b);
    }
    for (auto& [start, bs] : buckets) {
      if (bs.size() < 2) continue;
      if (start + range <= newest) return bs;
    }
  }
  return {};
}

Status DB::CompactBlocks() {
  for (;;) {
    std::vector<std::shared_ptr<Block>> raw;
    for (auto& b : Blocks()) {
      if (b->meta().resolution_ms == 0) raw.push_back(std::move(b));
    }
    std::vector<std::shared_ptr<Block>> plan = Plan(raw, opts_.block_ranges_ms);
    if (plan.empty()) return Status::Ok();
    auto written = tsdb::CompactBlocks(opts_.fs, BlocksDir(), plan);
    if (!written.ok()) return written.status();
    std::vector<std::string> drop;
    for (const auto& b : plan) drop.push_back(b->meta().ulid);
    std::vector<std::shared_ptr<Block>> add;
    if (!written->ulid.empty()) {
      auto b = Block::Open(opts_.fs, fs::JoinPath(BlocksDir(), written->ulid));
      if (!b.ok()) return b.status();
      add.push_back(std::move(*b));
    }
    spdlog::info("compacted {} blocks into {} [{}, {})", plan.size(),
                 written->ulid.empty() ? "nothing" : written->ulid, written->min_time,
                 written->max_time);
    ZW_RETURN_IF_ERROR(Swap(std::move(add), drop));
    stats_.compactions.fetch_add(1, std::memory_order_relaxed);
  }
}

Status DB::ApplyRetention() {
  std::vector<std::shared_ptr<Block>> blocks = Blocks();
  if (blocks.empty()) return Status::Ok();
  std::vector<std::string> drop;
  int64_t newest = head_->MaxTime();
  for (const auto& b : blocks) newest = std::max(newest, b->meta().max_time);
  for (const auto& b : blocks) {
    const BlockMeta& m = b->meta();
    int64_t keep = m.resolution_ms == 0               ? opts_.retention_ms
                   : m.resolution_ms == kResolution5m ? opts_.retention_5m_ms
                                                      : opts_.retention_1h_ms;
    if (keep > 0 && m.max_time <= newest - keep) {
      spdlog::info(
          "retention: deleting block {} [{}, {}) at resolution {}ms, older than {}ms "
          "before the newest sample",
          m.ulid, m.min_time, m.max_time, m.resolution_ms, keep);
      drop.push_back(m.ulid);
    }
  }
  if (opts_.retention_bytes > 0) {
    uint64_t total = 0;
    for (const auto& b : blocks) total += b->SizeBytes();
    // Oldest first (blocks are sorted by start); blocks already dropped by time count as gone.
    for (const auto& b : blocks) {
      if (total <= opts_.retention_bytes) break;
      total -= b->SizeBytes();
      if (std::find(drop.begin(), drop.end(), b->meta().ulid) == drop.end()) {
        spdlog::info("retention: deleting block {}, {} bytes of blocks exceed the limit of {}",
                     b->meta().ulid, total + b->SizeBytes(), opts_.retention_bytes);
        drop.push_back(b->meta().ulid);
      }
    }
  }
  if (drop.empty()) return Status::Ok();
  stats_.retention_deletions.fetch_add(drop.size(), std::memory_order_relaxed);
  return Swap({}, drop);
}

bool DB::IsCounter(const Labels& labels) const {
  if (opts_.is_counter) return opts_.is_counter(labels);
  std::string_view name = labels.Get("__name__");
  // Counters and the cumulative series of histograms and summaries (never _sum, which may
  // fall), then whatever the metadata calls a counter.
  if (name.ends_with("_total") || name.ends_with("_count") || name.ends_with("_bucket")) {
    return true;
  }
  auto meta = head_->Metadata(std::string(name));
  return meta && meta->type == MetricType::kCounter;
}

// Raw blocks that ended downsample_after_ms before the newest sample get a 5-minute copy,
// 5-minute blocks a 1-hour copy; a copy is known by its parents.
Status DB::DownsampleBlocks() {
  if (opts_.downsample_after_ms <= 0) return Status::Ok();
  for (auto [from, to] : {std::pair{int64_t{0}, kResolution5m}, {kResolution5m, kResolution1h}}) {
    std::vector<std::shared_ptr<Block>> blocks = Blocks();
    int64_t newest = head_->MaxTime();
    std::set<std::string> done;  // sources already covered at `to`
    for (const auto& b : blocks) {
      newest = std::max(newest, b->meta().max_time);
      if (b->meta().resolution_ms == to)
        done.insert(b->meta().sources.begin(), b->meta().sources.end());
    }
    for (const auto& b : blocks) {
      const BlockMeta& m = b->meta();
      if (m.resolution_ms != from || m.max_time > newest - opts_.downsample_after_ms) continue;
      bool covered =
          !m.sources.empty() && std::all_of(m.sources.begin(), m.sources.end(),
                                            [&](const auto& s) { return done.count(s); });
      if (covered) continue;
      auto written = DownsampleBlock(opts_.fs, BlocksDir(), *b, to,
                                     [this](const Labels& l) { return IsCounter(l); });
      if (!written.ok()) return written.status();
      if (written->ulid.empty()) continue;
      auto nb = Block::Open(opts_.fs, fs::JoinPath(BlocksDir(), written->ulid));
      if (!nb.ok()) return nb.status();
      spdlog::info("downsampled block {} to {} at {}ms", m.ulid, written->ulid, to);
      ZW_RETURN_IF_ERROR(Swap({std::move(*nb)}, {}));
      stats_.downsamplings.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return Status::Ok();
}

Status DB::Swap(std::vector<std::shared_ptr<Block>> add, const std::vector<std::string>& drop) {
  std::vector<std::shared_ptr<Block>> dropped;
  {
    std::unique_lock lock(blocks_mu_);
    std::vector<std::shared_ptr<Block>> next;
    for (auto& b : blocks_) {
      if (std::find(drop.begin(), drop.end(), b->meta().ulid) != drop.end()) {
        dropped.push_back(b);
      } else {
        next.push_back(b);
      }
    }
    for (auto& b : add) next.push_back(std::move(b));
    std::sort(next.begin(), next.end(),
              [](const auto& a, const auto& b) { return a->meta().min_time < b->meta().min_time; });
    blocks_ = std::move(next);
  }
  // Queries still reading a dropped block keep its mapping; the files go now. The directory
  // is renamed first, so that a crash midway leaves a *.tmp that the next start removes,
  // never a block with files missing.
  for (const auto& b : dropped) {
    std::string doomed = b->dir() + kTmpSuffix;
    ZW_RETURN_IF_ERROR(opts_.fs->Rename(b->dir(), doomed));
    ZW_RETURN_IF_ERROR(opts_.fs->SyncDir(BlocksDir()));
    ZW_RETURN_IF_ERROR(opts_.fs->RemoveAll(doomed));
  }
  return Status::Ok();
}

void DB::Quarantine(const std::string& ulid, const Status& why) {
  std::shared_ptr<Block> victim;
  {
    std::unique_lock lock(blocks_mu_);
    auto it = std::find_if(blocks_.begin(), blocks_.end(),
                           [&](const auto& b) { return b->meta().ulid == ulid; });
    if (it == blocks_.end()) return;  // already done
    victim = *it;
    blocks_.erase(it);
  }
  spdlog::error("block {} is damaged and moved to {}/: {}", victim->dir(), kCorruptedDir,
                why.ToString());
  stats_.blocks_quarantined.fetch_add(1, std::memory_order_relaxed);
  std::string qdir = fs::JoinPath(BlocksDir(), kCorruptedDir);
  Status st = opts_.fs->CreateDirs(qdir);
  if (st.ok()) st = opts_.fs->Rename(victim->dir(), fs::JoinPath(qdir, victim->meta().ulid));
  if (!st.ok()) spdlog::error("could not quarantine block {}: {}", ulid, st.ToString());
}

Status DB::Delete(int64_t mint, int64_t maxt, const Matchers& matchers) {
  std::lock_guard lock(work_mu_);
  for (const auto& b : Blocks()) {
    const BlockMeta& m = b->meta();
    if (m.max_time <= mint || m.min_time > maxt) continue;
    ZW_RETURN_IF_ERROR(b->Delete(mint, maxt, matchers));
  }
  // Head: remember the series that match now, up to the newest sample now held.
  int64_t hi = std::min(maxt, head_->MaxTime());
  if (hi < mint) return Status::Ok();
  auto q = head_->NewQuerier(mint, hi);
  auto set = q->Select(false, nullptr, matchers);
  std::vector<Labels> series;
  while (set->Next()) series.push_back(set->At().labels());
  ZW_RETURN_IF_ERROR(set->Err());
  return deletions_->Add(series, mint, hi);
}

Status DB::Snapshot(const std::string& dir, bool with_head) {
  std::lock_guard lock(work_mu_);
  fs::FileSystem* fs = opts_.fs;
  if (fs->Exists(dir)) {
    return Status::Error(StatusCode::kInvalidArgument, "snapshot directory {} exists", dir);
  }
  ZW_RETURN_IF_ERROR(fs->CreateDirs(dir));
  for (const auto& b : Blocks()) {
    ZW_RETURN_IF_ERROR(LinkTree(fs, b->dir(), fs::JoinPath(dir, b->meta().ulid)));
  }
  if (with_head && head_->MinTime() != kMaxTime) {
    BlockMeta meta;
    meta.min_time = head_->MinTime();
    meta.max_time = head_->MaxTime() + 1;
    meta.level = 1;
    auto set = head_->Chunks(meta.min_time, meta.max_time);
    auto written = WriteBlock(fs, dir, *set, meta);
    if (!written.ok()) return written.status();
    if (!written->ulid.empty()) {
      auto b = Block::Open(fs, fs::JoinPath(dir, written->ulid));
      if (!b.ok()) return b.status();
      ZW_RETURN_IF_ERROR(CarryDeletions(**b, meta.min_time, meta.max_time));
    }
  }
  return fs->SyncDir(dir);
}

TsdbStatus DB::Describe(size_t top) const {
  TsdbStatus s;
  s.head_series = head_->NumSeries();
  s.head_label_pairs = head_->postings().NumLabelPairs();
  s.head_min_time = head_->MinTime();
  s.head_max_time = head_->MaxTime();
  for (const auto& b : Blocks()) {
    ++s.num_blocks;
    s.blocks_bytes += b->SizeBytes();
  }
  const MemPostings& p = head_->postings();
  std::vector<std::pair<std::string, uint64_t>> pairs, names, memory;
  for (const std::string& name : p.LabelNames()) {
    std::vector<std::string> values = p.LabelValues(name);
    names.emplace_back(name, values.size());
    uint64_t bytes = 0;
    for (const std::string& v : values) {
      uint64_t n = p.Get(name, v).size();
      bytes += n * v.size();
      pairs.emplace_back(name + "=" + v, n);
      if (name == "__name__") s.series_count_by_metric_name.emplace_back(v, n);
    }
    memory.emplace_back(name, bytes);
  }
  auto top_n = [top](std::vector<std::pair<std::string, uint64_t>> v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (v.size() > top) v.resize(top);
    return v;
  };
  s.series_count_by_metric_name = top_n(std::move(s.series_count_by_metric_name));
  s.label_value_count_by_label_name = top_n(std::move(names));
  s.series_count_by_label_value_pair = top_n(std::move(pairs));
  s.memory_in_bytes_by_label_name = top_n(std::move(memory));
  return s;
}

void DB::Wake() {
  {
    std::lock_guard lock(loop_mu_);
    woken_ = true;
  }
  loop_cv_.notify_one();
}

void DB::Loop() {
  bool failed = false;
  for (;;) {
    {
      // After a failure (a full disk, say) commits do not wake the loop: it retries once per
      // interval instead of after every commit.
      std::unique_lock lock(loop_mu_);
      loop_cv_.wait_for(lock, opts_.compaction_interval,
                        [&] { return stop_ || (woken_ && !failed); });
      if (stop_) return;
      woken_ = false;
    }
    if (closed_.load()) return;
    Status st = Compact();
    failed = !st.ok();
    if (failed) {
      spdlog::error("compaction failed (retried in {} ms): {}", opts_.compaction_interval.count(),
                    st.ToString());
    }
  }
}

Status DB::Close() {
  if (closed_.exchange(true)) return Status::Ok();
  {
    std::lock_guard lock(loop_mu_);
    stop_ = true;
  }
  loop_cv_.notify_one();
  if (loop_.joinable()) loop_.join();
  std::lock_guard lock(work_mu_);
  return head_ ? head_->Close() : Status::Ok();
}

}  // namespace zw::tsdb
