#include "tsdb/block/block.h"

#include <algorithm>

#include "tsdb/chunkenc/xor_chunk.h"

namespace zw::tsdb {
namespace {

constexpr std::string_view kTombstonesFile = "tombstones";

std::vector<std::pair<std::string, uint64_t>> Top(std::vector<std::pair<std::string, uint64_t>> v,
                                                  size_t top) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (v.size() > top) v.resize(top);
  return v;
}

}  // namespace

Result<std::shared_ptr<Block>> Block::Open(fs::FileSystem* fs, const std::string& dir) {
  std::shared_ptr<Block> b(new Block());
  b->fs_ = fs;
  b->dir_ = dir;
  std::string meta_path = fs::JoinPath(dir, "meta.json");
  auto meta_json = fs->ReadFile(meta_path);
  if (!meta_json.ok()) return meta_json.status();
  auto meta = DecodeMeta(*meta_json, meta_path);
  if (!meta.ok()) return meta.status();
  b->meta_ = std::move(meta).value();
  b->meta_bytes_ = meta_json->size();

  std::string index_path = fs::JoinPath(dir, "index");
  auto index_file = fs->Map(index_path);
  if (!index_file.ok()) return index_file.status();
  b->index_file_ = std::move(index_file).value();
  auto index = IndexReader::Open(b->index_file_->data(), index_path);
  if (!index.ok()) return index.status();
  b->index_ = std::move(index).value();

  auto chunks = ChunkReader::Open(fs, fs::JoinPath(dir, "chunks"));
  if (!chunks.ok()) return chunks.status();
  b->chunks_ = std::move(chunks).value();

  std::string ts_path = fs::JoinPath(dir, kTombstonesFile);
  if (fs->Exists(ts_path)) {
    auto data = fs->ReadFile(ts_path);
    if (!data.ok()) return data.status();
    auto ts = DecodeTombstones(*data, ts_path);
    if (!ts.ok()) return ts.status();
    b->tombstones_ = std::make_shared<const TombstoneMap>(std::move(ts).value());
    b->tombstone_bytes_ = data->size();
  } else {
    b->tombstones_ = std::make_shared<const TombstoneMap>();
  }
  return b;
}

uint64_t Block::SizeBytes() const {
  std::lock_guard lock(mu_);
  return index_file_->data().size() + chunks_->Size() + meta_bytes_ + tombstone_bytes_;
}

std::shared_ptr<const TombstoneMap> Block::tombstones() const {
  std::lock_guard lock(mu_);
  return tombstones_;
}

bool Block::HasTombstones() const { return !tombstones()->empty(); }

Status Block::VerifyChunks() const {
  auto ids = index_->AllPostings();
  if (!ids.ok()) return ids.status();
  Labels labels;
  std::vector<ChunkRef> refs;
  ChunkSampleIterator it;
  for (uint64_t id : *ids) {
    ZW_RETURN_IF_ERROR(index_->Series(id, &labels, &refs));
    for (const ChunkRef& c : refs) {
      auto raw = chunks_->Read(c.ref);
      if (!raw.ok()) return raw.status();
      it.Reset(*raw, dir_);
      int64_t first = 0, last = 0;
      size_t n = 0;
      while (it.Next()) {
        if (n++ == 0) first = it.At().t;
        last = it.At().t;
      }
      auto where = [&](std::string_view what) {
        return Status::Corruption(
            dir_, c.ref & 0xffffffff,
            fmt::format("block {}: chunk {:#x} of {}: {}", dir_, c.ref, labels.ToString(), what));
      };
      if (Status e = it.Err(); !e.ok()) return where(e.message());
      if (n == 0 || first != c.min_t || last != c.max_t)
        return where("samples do not match the chunk's time range in the index");
    }
  }
  return Status::Ok();
}

Status Block::Delete(int64_t mint, int64_t maxt, const Matchers& ms) {
  if (ms.empty()) return Status::InvalidArgument("delete: at least one matcher is required");
  if (mint > maxt) return Status::InvalidArgument("delete: mint after maxt");
  mint = std::max(mint, meta_.min_time);
  maxt = std::min(maxt, meta_.max_time - 1);
  if (mint > maxt) return Status::Ok();
  std::lock_guard delete_lock(delete_mu_);
  auto ids = index_->ForMatchers(ms);
  if (!ids.ok()) return ids.status();
  auto next = std::make_shared<TombstoneMap>(*tombstones());
  bool changed = false;
  Labels labels;
  std::vector<ChunkRef> refs;
  for (uint64_t id : *ids) {
    ZW_RETURN_IF_ERROR(index_->Series(id, &labels, &refs));
    bool overlaps = std::any_of(refs.begin(), refs.end(), [&](const ChunkRef& c) {
      return c.max_t >= mint && c.min_t <= maxt;
    });
    if (!overlaps) continue;
    Intervals& ivs = (*next)[id];
    if (CoversRange(ivs, mint, maxt)) continue;
    AddInterval(ivs, {mint, maxt});
    changed = true;
  }
  if (!changed) return Status::Ok();
  std::string data = EncodeTombstones(*next);
  std::string path = fs::JoinPath(dir_, kTombstonesFile);
  std::string tmp = path + ".tmp";
  {
    auto f = fs_->NewWritableFile(tmp, /*truncate=*/true);
    if (!f.ok()) return f.status();
    Status s = (*f)->Append(data);
    if (s.ok()) s = (*f)->Sync();
    if (s.ok()) s = (*f)->Close();
    if (!s.ok()) {
      (void)fs_->RemoveFile(tmp);
      return s;
    }
  }
  ZW_RETURN_IF_ERROR(fs_->Rename(tmp, path));
  ZW_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  std::lock_guard lock(mu_);
  tombstones_ = std::move(next);
  tombstone_bytes_ = data.size();
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, uint64_t>>> Block::SeriesCountByMetricName(
    size_t top) const {
  auto sizes = index_->PostingsSizes(kMetricNameLabel);
  if (!sizes.ok()) return sizes.status();
  return Top(std::move(sizes).value(), top);
}

Result<std::vector<std::pair<std::string, uint64_t>>> Block::SeriesCountByLabelPair(
    size_t top) const {
  std::vector<std::pair<std::string, uint64_t>> all;
  for (const std::string& name : index_->LabelNames()) {
    auto sizes = index_->PostingsSizes(name);
    if (!sizes.ok()) return sizes.status();
    for (auto& [value, n] : *sizes) all.emplace_back(name + "=" + value, n);
  }
  return Top(std::move(all), top);
}

}  // namespace zw::tsdb
