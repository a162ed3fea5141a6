#include "tsdb/block/tombstones.h"

#include <algorithm>

#include "core/coding.h"
#include "core/crc32c.h"

namespace zw::tsdb {

void AddInterval(Intervals& ivs, Interval iv) {
  Intervals out;
  out.reserve(ivs.size() + 1);
  bool placed = false;
  for (const Interval& x : ivs) {
    // Disjoint and not adjacent to iv (careful at the ends of the int64 range).
    bool before = x.maxt < iv.mint && x.maxt + 1 < iv.mint;
    bool after = x.mint > iv.maxt && x.mint - 1 > iv.maxt;
    if (before) {
      out.push_back(x);
    } else if (after) {
      if (!placed) out.push_back(iv), placed = true;
      out.push_back(x);
    } else {
      iv.mint = std::min(iv.mint, x.mint);
      iv.maxt = std::max(iv.maxt, x.maxt);
    }
  }
  if (!placed) out.push_back(iv);
  ivs = std::move(out);
}

bool IsDeleted(const Intervals& ivs, int64_t t) {
  auto it = std::upper_bound(ivs.begin(), ivs.end(), t,
                             [](int64_t x, const Interval& iv) { return x < iv.mint; });
  return it != ivs.begin() && std::prev(it)->maxt >= t;
}

bool CoversRange(const Intervals& ivs, int64_t mint, int64_t maxt) {
  // Intervals are not adjacent, so one of them must hold the whole range.
  for (const Interval& iv : ivs) {
    if (iv.mint <= mint && iv.maxt >= maxt) return true;
  }
  return false;
}

std::string EncodeTombstones(const TombstoneMap& t) {
  std::string out;
  PutBE32(out, kTombstonesMagic);
  out.push_back(1);  // version
  out.append(3, '\0');
  PutUvarint(out, t.size());
  for (const auto& [id, ivs] : t) {
    PutUvarint(out, id);
    PutUvarint(out, ivs.size());
    for (const Interval& iv : ivs) {
      PutVarint(out, iv.mint);
      PutVarint(out, iv.maxt);
    }
  }
  PutBE32(out, Crc32c(out));
  return out;
}

Result<TombstoneMap> DecodeTombstones(std::string_view data, const std::string& file) {
  auto bad = [&](uint64_t off, std::string_view what) {
    return Status::Corruption(
        file, off, fmt::format("{}: corrupt tombstones at offset {}: {}", file, off, what));
  };
  if (data.size() < 12) return bad(0, "file too short");
  std::string_view body = data.substr(0, data.size() - 4);
  uint32_t want = 0;
  for (size_t i = body.size(); i < data.size(); ++i)
    want = (want << 8) | static_cast<uint8_t>(data[i]);
  if (Crc32c(body) != want) return bad(body.size(), "checksum mismatch");
  Decoder d(body);
  uint64_t magic = 0;
  for (int i = 0; i < 4; ++i) {
    uint8_t b;
    if (!d.Byte(&b)) return bad(0, "truncated header");
    magic = (magic << 8) | b;
  }
  uint8_t version, pad;
  if (magic != kTombstonesMagic || !d.Byte(&version) || version != 1)
    return bad(0, "bad magic or version");
  for (int i = 0; i < 3; ++i) {
    if (!d.Byte(&pad)) return bad(5, "truncated header");
  }
  TombstoneMap out;
  uint64_t n;
  if (!d.Uvarint(&n) || n > d.remaining()) return bad(d.offset(), "bad series count");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id, nivs;
    if (!d.Uvarint(&id) || !d.Uvarint(&nivs) || nivs > d.remaining())
      return bad(d.offset(), "bad entry");
    Intervals ivs;
    for (uint64_t j = 0; j < nivs; ++j) {
      Interval iv;
      if (!d.Varint(&iv.mint) || !d.Varint(&iv.maxt) || iv.mint > iv.maxt)
        return bad(d.offset(), "bad interval");
      AddInterval(ivs, iv);
    }
    out[id] = std::move(ivs);
  }
  if (!d.empty()) return bad(d.offset(), "trailing bytes");
  return out;
}

}  // namespace zw::tsdb
