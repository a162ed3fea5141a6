#include "tsdb/block/meta.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <mutex>
#include <random>

namespace zw::tsdb {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void WriteStrings(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key,
                  const std::vector<std::string>& v) {
  w.Key(key);
  w.StartArray();
  for (const std::string& s : v) w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

}  // namespace

std::string EncodeMeta(const BlockMeta& m) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("ulid");
  w.String(m.ulid.data(), static_cast<rapidjson::SizeType>(m.ulid.size()));
  w.Key("minTime");
  w.Int64(m.min_time);
  w.Key("maxTime");
  w.Int64(m.max_time);
  w.Key("stats");
  w.StartObject();
  w.Key("numSamples");
  w.Uint64(m.num_samples);
  w.Key("numSeries");
  w.Uint64(m.num_series);
  w.Key("numChunks");
  w.Uint64(m.num_chunks);
  w.EndObject();
  w.Key("compaction");
  w.StartObject();
  w.Key("level");
  w.Int(m.level);
  WriteStrings(w, "sources", m.sources);
  WriteStrings(w, "parents", m.parents);
  w.EndObject();
  w.Key("resolution");
  w.Int64(m.resolution_ms);
  w.Key("version");
  w.Int(m.version);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

Result<BlockMeta> DecodeMeta(std::string_view json, const std::string& file) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError()) {
    return Status::Corruption(file, d.GetErrorOffset(), file + ": meta.json is not valid JSON");
  }
  auto bad = [&](std::string_view what) {
    return Status::Corruption(file, 0, fmt::format("{}: meta.json: {}", file, what));
  };
  if (!d.IsObject()) return bad("not an object");
  BlockMeta m;
  auto i64 = [&](const rapidjson::Value& obj, const char* key, int64_t* out) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsInt64()) return false;
    *out = it->value.GetInt64();
    return true;
  };
  auto u64 = [&](const rapidjson::Value& obj, const char* key, uint64_t* out) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsUint64()) return false;
    *out = it->value.GetUint64();
    return true;
  };
  auto strings = [&](const rapidjson::Value& obj, const char* key, std::vector<std::string>* out) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd()) return true;  // optional
    if (!it->value.IsArray()) return false;
    for (const auto& v : it->value.GetArray()) {
      if (!v.IsString()) return false;
      out->emplace_back(v.GetString(), v.GetStringLength());
    }
    return true;
  };
  const rapidjson::Value& root = d;  // const iterators: clang rejects comparing mutable ones
  auto ulid = root.FindMember("ulid");
  if (ulid == root.MemberEnd() || !ulid->value.IsString()) return bad("missing \"ulid\"");
  m.ulid.assign(ulid->value.GetString(), ulid->value.GetStringLength());
  if (!IsUlid(m.ulid)) return bad("\"ulid\" is not a ULID");
  if (!i64(d, "minTime", &m.min_time) || !i64(d, "maxTime", &m.max_time))
    return bad("missing \"minTime\"/\"maxTime\"");
  if (m.min_time >= m.max_time) return bad("minTime must be less than maxTime");
  auto stats = root.FindMember("stats");
  if (stats == root.MemberEnd() || !stats->value.IsObject()) return bad("missing \"stats\"");
  if (!u64(stats->value, "numSamples", &m.num_samples) ||
      !u64(stats->value, "numSeries", &m.num_series) ||
      !u64(stats->value, "numChunks", &m.num_chunks))
    return bad("malformed \"stats\"");
  auto comp = root.FindMember("compaction");
  if (comp == root.MemberEnd() || !comp->value.IsObject()) return bad("missing \"compaction\"");
  int64_t level = 0;
  if (!i64(comp->value, "level", &level) || level < 1 || level > 1000)
    return bad("malformed \"compaction.level\"");
  m.level = static_cast<int>(level);
  if (!strings(comp->value, "sources", &m.sources) || !strings(comp->value, "parents", &m.parents))
    return bad("malformed \"compaction.sources\"/\"parents\"");
  if (!i64(d, "resolution", &m.resolution_ms) || m.resolution_ms < 0)
    return bad("malformed \"resolution\"");
  int64_t version = 0;
  if (!i64(d, "version", &version)) return bad("missing \"version\"");
  if (version != 1) return bad(fmt::format("unsupported version {}", version));
  m.version = 1;
  return m;
}

std::string UlidAt(int64_t unix_ms, uint64_t rand_hi16, uint64_t rand_lo64) {
  // 128 bits: 48 of time, 80 of randomness; 26 base32 digits carry 130 bits, the top 2 zero.
  auto hi = (static_cast<uint64_t>(unix_ms) << 16) | (rand_hi16 & 0xffff);
  uint64_t lo = rand_lo64;
  std::string out(26, '0');
  for (int i = 25; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kCrockford[lo & 31];
    lo = (lo >> 5) | (hi << 59);
    hi >>= 5;
  }
  return out;
}

bool IsUlid(std::string_view s) {
  if (s.size() != 26 || s[0] > '7') return false;
  for (char c : s) {
    if (kCrockford.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string NewUlid() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  static int64_t last_ms = -1;
  static uint64_t hi16 = 0, lo64 = 0;
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::lock_guard lock(mu);
  if (now <= last_ms) {
    // Same (or an earlier) millisecond: keep the time and count the random part up.
    now = last_ms;
    if (++lo64 == 0) hi16 = (hi16 + 1) & 0xffff;
  } else {
    last_ms = now;
    lo64 = rng();
    hi16 = rng() & 0x7fff;  // leaves room to count up without overflowing the 80 bits
  }
  return UlidAt(now, hi16, lo64);
}

}  // namespace zw::tsdb
