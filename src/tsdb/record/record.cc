#include "tsdb/record/record.h"

#include <bit>

#include "core/coding.h"

namespace zw::record {
namespace {

Status Bad(const Decoder& d, std::string_view what) {
  return Status::Corruption("wal record", d.offset(), std::string(what));
}

bool ExpectType(Decoder& d, Type want) {
  uint8_t t;
  return d.Byte(&t) && t == static_cast<uint8_t>(want);
}

}  // namespace

Type GetType(std::string_view rec) {
  if (rec.empty()) return Type::kInvalid;
  auto t = static_cast<uint8_t>(rec[0]);
  if (t < 1 || t > 3) return Type::kInvalid;
  return static_cast<Type>(t);
}

void EncodeSeries(std::span<const RefSeries> series, std::string& out) {
  out.push_back(static_cast<char>(Type::kSeries));
  for (const RefSeries& s : series) {
    PutBE64(out, s.ref);
    PutUvarint(out, s.labels.size());
    for (const Label& l : s.labels) {
      PutLengthPrefixed(out, l.name);
      PutLengthPrefixed(out, l.value);
    }
  }
}

// Layout: type, base ref (BE64), base time (BE64), then per sample the ref and time as
// zig-zag varint deltas from the base, and the value's 64 bits.
void EncodeSamples(std::span<const RefSample> samples, std::string& out) {
  out.push_back(static_cast<char>(Type::kSamples));
  if (samples.empty()) return;
  const RefSample& first = samples.front();
  PutBE64(out, first.ref);
  PutBE64(out, static_cast<uint64_t>(first.t));
  for (const RefSample& s : samples) {
    PutVarint(out, static_cast<int64_t>(s.ref - first.ref));
    PutVarint(out,
              static_cast<int64_t>(static_cast<uint64_t>(s.t) - static_cast<uint64_t>(first.t)));
    PutBE64(out, std::bit_cast<uint64_t>(s.v));
  }
}

void EncodeMetadata(std::span<const RefMetadata> metadata, std::string& out) {
  out.push_back(static_cast<char>(Type::kMetadata));
  for (const RefMetadata& m : metadata) {
    PutLengthPrefixed(out, m.metric);
    out.push_back(static_cast<char>(m.meta.type));
    PutLengthPrefixed(out, m.meta.unit);
    PutLengthPrefixed(out, m.meta.help);
  }
}

Status DecodeSeries(std::string_view rec, std::vector<RefSeries>& out) {
  Decoder d(rec);
  if (!ExpectType(d, Type::kSeries)) return Bad(d, "not a series record");
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  while (!d.empty()) {
    RefSeries s;
    uint64_t n;
    if (!d.BE64(&s.ref) || !d.Uvarint(&n) || n > d.remaining() / 2) {
      return Bad(d, "truncated series entry");
    }
    pairs.clear();
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view name, value;
      if (!d.LengthPrefixed(&name) || !d.LengthPrefixed(&value)) return Bad(d, "truncated label");
      if (!pairs.empty() && name <= pairs.back().first) return Bad(d, "labels not sorted");
      if (value.empty()) return Bad(d, "empty label value");
      pairs.emplace_back(name, value);
    }
    s.labels = Labels::FromPairs(pairs);
    out.push_back(std::move(s));
  }
  return Status::Ok();
}

Status DecodeSamples(std::string_view rec, std::vector<RefSample>& out) {
  Decoder d(rec);
  if (!ExpectType(d, Type::kSamples)) return Bad(d, "not a samples record");
  if (d.empty()) return Status::Ok();
  uint64_t base_ref, base_t;
  if (!d.BE64(&base_ref) || !d.BE64(&base_t)) return Bad(d, "truncated samples header");
  while (!d.empty()) {
    int64_t dref, dt;
    uint64_t bits;
    if (!d.Varint(&dref) || !d.Varint(&dt) || !d.BE64(&bits)) return Bad(d, "truncated sample");
    out.push_back({base_ref + static_cast<uint64_t>(dref),
                   static_cast<int64_t>(base_t + static_cast<uint64_t>(dt)),
                   std::bit_cast<double>(bits)});
  }
  return Status::Ok();
}

Status DecodeMetadata(std::string_view rec, std::vector<RefMetadata>& out) {
  Decoder d(rec);
  if (!ExpectType(d, Type::kMetadata)) return Bad(d, "not a metadata record");
  while (!d.empty()) {
    std::string_view metric, unit, help;
    uint8_t type;
    if (!d.LengthPrefixed(&metric) || !d.Byte(&type) || !d.LengthPrefixed(&unit) ||
        !d.LengthPrefixed(&help)) {
      return Bad(d, "truncated metadata entry");
    }
    if (type > static_cast<uint8_t>(MetricType::kStateSet)) return Bad(d, "unknown metric type");
    out.push_back({std::string(metric),
                   {static_cast<MetricType>(type), std::string(help), std::string(unit)}});
  }
  return Status::Ok();
}

}  // namespace zw::record
