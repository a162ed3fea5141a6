#include "tsdb/block/index.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/coding.h"
#include "core/crc32c.h"
#include "core/sample.h"
#include "core/symbols.h"

namespace zw::tsdb {
namespace {

constexpr size_t kHeaderSize = 8;
constexpr size_t kNumSections = 4;  // symbols, series, label index, postings
constexpr size_t kTocSize = kNumSections * 8 + 4;

uint64_t GetBE(std::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<uint8_t>(s[pos + static_cast<size_t>(i)]);
  return v;
}

void AppendSection(std::string& out, const std::string& body, uint64_t* offset) {
  *offset = out.size();
  PutBE32(out, static_cast<uint32_t>(body.size()));
  out.append(body);
  PutBE32(out, Crc32c(body));
}

void PutPostings(std::string& out, const BlockPostings& ids) {
  PutUvarint(out, ids.size());
  uint64_t prev = 0;
  for (uint64_t id : ids) {
    PutUvarint(out, id - prev);
    prev = id;
  }
}

BlockPostings IntersectPostings(const BlockPostings& a, const BlockPostings& b) {
  BlockPostings out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

BlockPostings SubtractPostings(const BlockPostings& a, const BlockPostings& b) {
  BlockPostings out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

std::string BuildIndex(const std::vector<IndexSeries>& series) {
  std::vector<std::string_view> symbols;
  for (const IndexSeries& s : series) {
    for (const Label& l : s.labels) {
      symbols.push_back(l.name);
      symbols.push_back(l.value);
    }
  }
  std::sort(symbols.begin(), symbols.end());
  symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
  std::unordered_map<std::string_view, uint64_t> sym_id;
  sym_id.reserve(symbols.size());
  std::string sym_body;
  PutUvarint(sym_body, symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    sym_id.emplace(symbols[i], i);
    PutLengthPrefixed(sym_body, symbols[i]);
  }

  std::string series_body;
  BlockPostings all;
  all.reserve(series.size());
  std::map<std::string_view, std::map<std::string_view, BlockPostings>> postings;
  for (const IndexSeries& s : series) {
    uint64_t id = series_body.size();
    all.push_back(id);
    PutUvarint(series_body, s.labels.size());
    for (const Label& l : s.labels) {
      PutUvarint(series_body, sym_id[l.name]);
      PutUvarint(series_body, sym_id[l.value]);
      postings[l.name][l.value].push_back(id);
    }
    PutUvarint(series_body, s.chunks.size());
    for (size_t i = 0; i < s.chunks.size(); ++i) {
      const ChunkRef& c = s.chunks[i];
      if (i == 0) {
        PutVarint(series_body, c.min_t);
        PutUvarint(series_body, static_cast<uint64_t>(c.max_t) - static_cast<uint64_t>(c.min_t));
        PutUvarint(series_body, c.ref);
      } else {
        const ChunkRef& p = s.chunks[i - 1];
        PutUvarint(series_body,
                   static_cast<uint64_t>(c.min_t) - static_cast<uint64_t>(p.max_t) - 1);
        PutUvarint(series_body, static_cast<uint64_t>(c.max_t) - static_cast<uint64_t>(c.min_t));
        PutUvarint(series_body, c.ref - p.ref);
      }
    }
  }

  std::string postings_body;
  PutPostings(postings_body, all);
  std::string label_body;
  PutUvarint(label_body, postings.size());
  for (const auto& [name, values] : postings) {
    PutUvarint(label_body, sym_id[name]);
    PutUvarint(label_body, values.size());
    for (const auto& [value, ids] : values) {
      PutUvarint(label_body, sym_id[value]);
      PutUvarint(label_body, postings_body.size());
      PutPostings(postings_body, ids);
    }
  }

  std::string out;
  PutBE32(out, kIndexMagic);
  out.push_back(static_cast<char>(kIndexVersion));
  out.append(3, '\0');
  uint64_t offsets[kNumSections];
  AppendSection(out, sym_body, &offsets[0]);
  AppendSection(out, series_body, &offsets[1]);
  AppendSection(out, label_body, &offsets[2]);
  AppendSection(out, postings_body, &offsets[3]);
  std::string toc;
  for (uint64_t o : offsets) PutBE64(toc, o);
  PutBE32(toc, Crc32c(toc));
  out.append(toc);
  return out;
}

void RechecksumIndex(std::string& index) {
  if (index.size() < kHeaderSize + kTocSize) return;
  size_t toc = index.size() - kTocSize;
  auto put32 = [&](size_t pos, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      index[pos + static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  };
  for (size_t i = 0; i < kNumSections; ++i) {
    uint64_t off = GetBE(index, toc + 8 * i, 8);
    if (off < kHeaderSize || off > toc || toc - off < 8) continue;
    uint64_t len = GetBE(index, off, 4);
    if (len > toc - off - 8) continue;
    put32(off + 4 + len, Crc32c(std::string_view(index).substr(off + 4, len)));
  }
  put32(toc + kTocSize - 4, Crc32c(std::string_view(index).substr(toc, kTocSize - 4)));
}

Status ExerciseIndex(const IndexReader& r) {
  Labels labels;
  std::vector<ChunkRef> chunks;
  auto all = r.AllPostings();
  if (!all.ok()) return all.status();
  for (uint64_t id : *all) ZW_RETURN_IF_ERROR(r.Series(id, &labels, &chunks));
  for (const std::string& name : r.LabelNames()) {
    for (const std::string& value : r.LabelValues(name)) {
      auto p = r.Postings(name, value);
      if (!p.ok()) return p.status();
      for (uint64_t id : *p) ZW_RETURN_IF_ERROR(r.Series(id, &labels, &chunks));
    }
    auto m = r.ForMatchers({Matcher::MustMake(MatchType::kRegexMatch, name, ".+"),
                            Matcher::MustMake(MatchType::kNotEqual, name, "x")});
    if (!m.ok()) return m.status();
    auto sizes = r.PostingsSizes(name);
    if (!sizes.ok()) return sizes.status();
  }
  return Status::Ok();
}

Status IndexReader::Corrupt(uint64_t offset, std::string_view what) const {
  return Status::Corruption(file_, offset,
                            fmt::format("{}: corrupt index at offset {}: {}", file_, offset, what));
}

Result<std::unique_ptr<IndexReader>> IndexReader::Open(std::string_view data, std::string file) {
  std::unique_ptr<IndexReader> r(new IndexReader(data, std::move(file)));
  if (data.size() < kHeaderSize + kTocSize) return r->Corrupt(0, "file too short");
  if (GetBE(data, 0, 4) != kIndexMagic) return r->Corrupt(0, "bad magic");
  if (static_cast<uint8_t>(data[4]) != kIndexVersion)
    return r->Corrupt(4, fmt::format("unsupported version {}", static_cast<uint8_t>(data[4])));
  if (data.substr(5, 3) != std::string_view("\0\0\0", 3))
    return r->Corrupt(5, "bad header padding");
  size_t toc = data.size() - kTocSize;
  if (Crc32c(data.substr(toc, kTocSize - 4)) != GetBE(data, toc + kTocSize - 4, 4))
    return r->Corrupt(toc, "table of contents checksum mismatch");
  std::string_view bodies[kNumSections];
  uint64_t bases[kNumSections];
  uint64_t min_offset = kHeaderSize;
  for (size_t i = 0; i < kNumSections; ++i) {
    uint64_t off = GetBE(data, toc + 8 * i, 8);
    if (off < min_offset || off > toc || toc - off < 8)
      return r->Corrupt(toc + 8 * i, "section offset out of range");
    uint64_t len = GetBE(data, off, 4);
    if (len > toc - off - 8) return r->Corrupt(off, "section length out of range");
    bodies[i] = data.substr(off + 4, len);
    bases[i] = off + 4;
    if (Crc32c(bodies[i]) != GetBE(data, off + 4 + len, 4))
      return r->Corrupt(off, "section checksum mismatch");
    min_offset = off + 8 + len;
  }
  ZW_RETURN_IF_ERROR(r->ReadSymbols(bodies[0], bases[0]));
  r->series_ = bodies[1];
  r->series_base_ = bases[1];
  r->postings_ = bodies[3];
  r->postings_base_ = bases[3];
  ZW_RETURN_IF_ERROR(r->ReadLabelIndex(bodies[2], bases[2]));
  return r;
}

Status IndexReader::ReadSymbols(std::string_view body, uint64_t base) {
  Decoder d(body);
  uint64_t n;
  if (!d.Uvarint(&n) || n > d.remaining()) return Corrupt(base, "bad symbol count");
  symbols_.reserve(n);
  std::string_view prev;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view s;
    uint64_t at = base + d.offset();
    if (!d.LengthPrefixed(&s)) return Corrupt(at, "truncated symbol");
    if (i > 0 && s <= prev) return Corrupt(at, "symbols out of order");
    prev = s;
    symbols_.push_back(Intern(s));
  }
  if (!d.empty()) return Corrupt(base + d.offset(), "trailing bytes after symbols");
  return Status::Ok();
}

Status IndexReader::ReadLabelIndex(std::string_view body, uint64_t base) {
  Decoder d(body);
  uint64_t n;
  if (!d.Uvarint(&n) || n > d.remaining()) return Corrupt(base, "bad label name count");
  names_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t at = base + d.offset();
    uint64_t name, nvalues;
    if (!d.Uvarint(&name) || name >= symbols_.size() || !d.Uvarint(&nvalues) ||
        nvalues > d.remaining())
      return Corrupt(at, "bad label index entry");
    if (!names_.empty() && symbols_[name] <= names_.back().name)
      return Corrupt(at, "label names out of order");
    NameEntry e{symbols_[name], {}};
    e.values.reserve(nvalues);
    for (uint64_t j = 0; j < nvalues; ++j) {
      uint64_t vat = base + d.offset();
      uint64_t value, offset;
      if (!d.Uvarint(&value) || value >= symbols_.size() || !d.Uvarint(&offset) ||
          offset >= postings_.size())
        return Corrupt(vat, "bad label value entry");
      if (symbols_[value].empty()) return Corrupt(vat, "empty label value");
      if (!e.values.empty() && symbols_[value] <= e.values.back().value)
        return Corrupt(vat, "label values out of order");
      e.values.push_back({symbols_[value], offset});
    }
    names_.push_back(std::move(e));
  }
  if (!d.empty()) return Corrupt(base + d.offset(), "trailing bytes after label index");
  return Status::Ok();
}

Result<BlockPostings> IndexReader::ReadPostings(uint64_t offset) const {
  if (offset >= postings_.size())
    return Corrupt(postings_base_ + offset, "postings offset out of range");
  Decoder d(postings_.substr(offset));
  uint64_t n;
  if (!d.Uvarint(&n) || n > d.remaining())
    return Corrupt(postings_base_ + offset, "bad postings count");
  BlockPostings out;
  out.reserve(n);
  uint64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t delta;
    if (!d.Uvarint(&delta) || (i > 0 && delta == 0) || delta > series_.size() - prev)
      return Corrupt(postings_base_ + offset + d.offset(), "bad postings entry");
    prev += delta;
    if (prev >= series_.size())
      return Corrupt(postings_base_ + offset + d.offset(), "series id out of range");
    out.push_back(prev);
  }
  return out;
}

const IndexReader::NameEntry* IndexReader::FindName(std::string_view name) const {
  auto it = std::lower_bound(names_.begin(), names_.end(), name,
                             [](const NameEntry& e, std::string_view n) { return e.name < n; });
  return it != names_.end() && it->name == name ? &*it : nullptr;
}

std::vector<std::string> IndexReader::LabelNames() const {
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (const NameEntry& e : names_) out.emplace_back(e.name);
  return out;
}

std::vector<std::string> IndexReader::LabelValues(std::string_view name) const {
  std::vector<std::string> out;
  if (const NameEntry* e = FindName(name)) {
    out.reserve(e->values.size());
    for (const ValueEntry& v : e->values) out.emplace_back(v.value);
  }
  return out;
}

Result<BlockPostings> IndexReader::Postings(std::string_view name, std::string_view value) const {
  const NameEntry* e = FindName(name);
  if (!e) return BlockPostings{};
  auto it = std::lower_bound(e->values.begin(), e->values.end(), value,
                             [](const ValueEntry& v, std::string_view x) { return v.value < x; });
  if (it == e->values.end() || it->value != value) return BlockPostings{};
  return ReadPostings(it->offset);
}

Result<BlockPostings> IndexReader::AllPostings() const {
  if (postings_.empty()) return Corrupt(postings_base_, "missing all-series postings");
  return ReadPostings(0);
}

Result<std::vector<std::pair<std::string, uint64_t>>> IndexReader::PostingsSizes(
    std::string_view name) const {
  std::vector<std::pair<std::string, uint64_t>> out;
  const NameEntry* e = FindName(name);
  if (!e) return out;
  for (const ValueEntry& v : e->values) {
    Decoder d(postings_.substr(v.offset));
    uint64_t n;
    if (!d.Uvarint(&n)) return Corrupt(postings_base_ + v.offset, "bad postings count");
    out.emplace_back(std::string(v.value), n);
  }
  return out;
}

Result<BlockPostings> IndexReader::UnionOfValues(std::string_view name, const Matcher& m,
                                                 bool want_match) const {
  const NameEntry* e = FindName(name);
  if (!e) return BlockPostings{};
  BlockPostings out;
  auto add = [&](const ValueEntry& v) -> Status {
    auto p = ReadPostings(v.offset);
    if (!p.ok()) return p.status();
    out.insert(out.end(), p->begin(), p->end());
    return Status::Ok();
  };
  const auto& set = m.SetMatches();
  if (want_match && !set.empty()) {
    for (const std::string& value : set) {
      auto it =
          std::lower_bound(e->values.begin(), e->values.end(), value,
                           [](const ValueEntry& v, std::string_view x) { return v.value < x; });
      if (it != e->values.end() && it->value == value) ZW_RETURN_IF_ERROR(add(*it));
    }
  } else {
    for (const ValueEntry& v : e->values) {
      if (m.Matches(v.value) == want_match) ZW_RETURN_IF_ERROR(add(v));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<BlockPostings> IndexReader::ForMatchers(const Matchers& matchers) const {
  std::vector<BlockPostings> positive, negative;
  for (const Matcher& m : matchers) {
    if (!m.MatchesEmpty()) {
      auto p = m.type() == MatchType::kEqual ? Postings(m.name(), m.value())
                                             : UnionOfValues(m.name(), m, true);
      if (!p.ok()) return p.status();
      if (p->empty()) return BlockPostings{};
      positive.push_back(std::move(p).value());
    } else {
      auto p = UnionOfValues(m.name(), m, false);
      if (!p.ok()) return p.status();
      negative.push_back(std::move(p).value());
    }
  }
  BlockPostings result;
  if (positive.empty()) {
    auto all = AllPostings();
    if (!all.ok()) return all.status();
    result = std::move(all).value();
  } else {
    std::sort(positive.begin(), positive.end(),
              [](const BlockPostings& a, const BlockPostings& b) { return a.size() < b.size(); });
    result = std::move(positive[0]);
    for (size_t i = 1; i < positive.size() && !result.empty(); ++i)
      result = IntersectPostings(result, positive[i]);
  }
  for (const BlockPostings& n : negative) {
    if (result.empty()) break;
    result = SubtractPostings(result, n);
  }
  return result;
}

Status IndexReader::Series(uint64_t id, Labels* labels, std::vector<ChunkRef>* chunks) const {
  if (id >= series_.size())
    return Corrupt(series_base_, fmt::format("series id {} out of range", id));
  Decoder d(series_.substr(id));
  uint64_t at = series_base_ + id;
  uint64_t nlabels;
  if (!d.Uvarint(&nlabels) || nlabels > d.remaining()) return Corrupt(at, "bad label count");
  std::vector<Label> ls;
  ls.reserve(nlabels);
  for (uint64_t i = 0; i < nlabels; ++i) {
    uint64_t name, value;
    if (!d.Uvarint(&name) || !d.Uvarint(&value) || name >= symbols_.size() ||
        value >= symbols_.size())
      return Corrupt(at + d.offset(), "bad label symbol");
    if (symbols_[value].empty() || symbols_[name].empty())
      return Corrupt(at + d.offset(), "empty label name or value");
    if (!ls.empty() && symbols_[name] <= ls.back().name)
      return Corrupt(at + d.offset(), "series labels out of order");
    ls.push_back({symbols_[name], symbols_[value]});
  }
  uint64_t nchunks;
  if (!d.Uvarint(&nchunks) || nchunks > d.remaining())
    return Corrupt(at + d.offset(), "bad chunk count");
  chunks->clear();
  chunks->reserve(nchunks);
  for (uint64_t i = 0; i < nchunks; ++i) {
    uint64_t gap, span, ref;
    ChunkRef c;
    if (i == 0) {
      int64_t min_t;
      if (!d.Varint(&min_t) || !d.Uvarint(&span) || !d.Uvarint(&ref))
        return Corrupt(at + d.offset(), "truncated chunk entry");
      c.min_t = min_t;
      c.ref = ref;
    } else {
      if (!d.Uvarint(&gap) || !d.Uvarint(&span) || !d.Uvarint(&ref) || ref == 0)
        return Corrupt(at + d.offset(), "truncated chunk entry");
      const ChunkRef& p = chunks->back();
      if (gap >= static_cast<uint64_t>(kMaxTime) - static_cast<uint64_t>(p.max_t) ||
          ref > UINT64_MAX - p.ref)
        return Corrupt(at + d.offset(), "chunk entry out of range");
      c.min_t = static_cast<int64_t>(static_cast<uint64_t>(p.max_t) + 1 + gap);
      c.ref = p.ref + ref;
    }
    if (span > static_cast<uint64_t>(kMaxTime) - static_cast<uint64_t>(c.min_t))
      return Corrupt(at + d.offset(), "chunk time range out of range");
    c.max_t = static_cast<int64_t>(static_cast<uint64_t>(c.min_t) + span);
    chunks->push_back(c);
  }
  *labels = Labels::FromSortedInterned(std::move(ls));
  return Status::Ok();
}

}  // namespace zw::tsdb
