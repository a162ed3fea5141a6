// RemoteWriteEncoder: the protobuf WriteRequest and the snappy block format, hand-written
// so that the client library needs neither a protobuf nor a snappy library.
#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "zenwatch/pusher.h"
#include "zenwatch/text_format.h"

namespace zenwatch {
namespace {

// ---- protobuf wire format ----

constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2;

void PutVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void PutTag(uint32_t field, uint32_t wire_type, std::string& out) {
  PutVarint((static_cast<uint64_t>(field) << 3) | wire_type, out);
}

void PutBytes(uint32_t field, std::string_view bytes, std::string& out) {
  PutTag(field, kLengthDelimited, out);
  PutVarint(bytes.size(), out);
  out.append(bytes);
}

void PutDouble(uint32_t field, double v, std::string& out) {
  PutTag(field, kFixed64, out);
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((bits >> (8 * i)) & 0xff);
}

// int64 is encoded as the two's complement varint (10 bytes when negative).
void PutInt64(uint32_t field, int64_t v, std::string& out) {
  PutTag(field, kVarint, out);
  PutVarint(static_cast<uint64_t>(v), out);
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

using LabelPair = std::pair<std::string, std::string>;

// Appends one TimeSeries (field 1 of WriteRequest) to `out`, using `msg` as a reusable
// buffer. `labels` must be sorted by name.
void PutTimeSeries(const std::vector<std::pair<std::string_view, std::string_view>>& labels,
                   double value, int64_t ts, std::string& msg, std::string& out) {
  msg.clear();
  AppendRemoteWriteLabels(labels, msg);
  const RemoteWriteSample sample{ts, value};
  AppendRemoteWriteTimeSeries(msg, {&sample, 1}, out);
}

int32_t WireType(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return 1;
    case MetricType::kGauge:
      return 2;
    case MetricType::kHistogram:
      return 3;
    case MetricType::kUntyped:
      return 0;
  }
  return 0;
}

// The family name metadata carries: a counter's without its _total suffix (the receiver
// matches <family> and <family>_total alike).
std::string_view FamilyName(const MetricFamilySnapshot& f) {
  std::string_view name = f.name;
  if (f.type == MetricType::kCounter && name.ends_with("_total")) name.remove_suffix(6);
  return name;
}

// Encoded MetricMetadata entries (field 3 of WriteRequest) for every family.
std::string EncodeMetadata(std::span<const MetricFamilySnapshot> families) {
  std::string out, msg;
  for (const MetricFamilySnapshot& f : families) {
    msg.clear();
    int32_t type = WireType(f.type);
    if (type != 0) {  // proto3: the default value is not written
      PutTag(1, kVarint, msg);
      PutVarint(static_cast<uint64_t>(type), msg);
    }
    PutBytes(2, FamilyName(f), msg);
    if (!f.help.empty()) PutBytes(4, f.help, msg);
    if (!f.unit.empty()) PutBytes(5, f.unit, msg);
    PutBytes(3, msg, out);
  }
  return out;
}

// Appends the TimeSeries of all families to `out`.
void EncodeSeries(std::span<const MetricFamilySnapshot> families, int64_t ts,
                  const std::vector<LabelPair>& external, std::string& out) {
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  std::string msg, name, le;
  // The sorted label set of one series: its own labels, external labels it lacks,
  // __name__ and (for buckets) le. Empty values are left out, as receivers drop them.
  auto build = [&](const Labels& own, std::string_view metric, const std::string* le_value) {
    labels.clear();
    labels.emplace_back("__name__", metric);
    for (const auto& [n, v] : own) {
      if (!v.empty()) labels.emplace_back(n, v);
    }
    for (const auto& [n, v] : external) {
      if (v.empty()) continue;
      bool shadowed =
          std::any_of(own.begin(), own.end(), [&](const auto& l) { return l.first == n; });
      if (!shadowed && !(le_value && n == "le")) labels.emplace_back(n, v);
    }
    if (le_value) labels.emplace_back("le", *le_value);
    std::sort(labels.begin(), labels.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  };
  for (const MetricFamilySnapshot& f : families) {
    name = f.name;
    if (f.type == MetricType::kCounter && !name.ends_with("_total")) name += "_total";
    for (const Sample& s : f.samples) {
      build(s.labels, name, nullptr);
      PutTimeSeries(labels, s.value, ts, msg, out);
    }
    for (const HistogramSample& s : f.histograms) {
      const HistogramSnapshot& h = s.histogram;
      std::string bucket = f.name + "_bucket";
      for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
        le.clear();
        AppendSampleValue(h.upper_bounds[i], le);
        build(s.labels, bucket, &le);
        PutTimeSeries(labels, static_cast<double>(h.cumulative_counts[i]), ts, msg, out);
      }
      le = "+Inf";
      build(s.labels, bucket, &le);
      PutTimeSeries(labels, static_cast<double>(h.count), ts, msg, out);
      std::string sum = f.name + "_sum", count = f.name + "_count";
      build(s.labels, sum, nullptr);
      PutTimeSeries(labels, h.sum, ts, msg, out);
      build(s.labels, count, nullptr);
      PutTimeSeries(labels, static_cast<double>(h.count), ts, msg, out);
    }
  }
}

std::vector<LabelPair> SortedLabels(std::vector<LabelPair> labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

// ---- snappy block format ----

void PutLiteral(std::string_view in, size_t begin, size_t end, std::string& out) {
  while (begin < end) {
    size_t len = std::min<size_t>(end - begin, size_t{1} << 24);  // keeps the header small
    size_t n = len - 1;
    if (n < 60) {
      out += static_cast<char>(n << 2);
    } else {
      int bytes = n < (1u << 8) ? 1 : n < (1u << 16) ? 2 : n < (1u << 24) ? 3 : 4;
      out += static_cast<char>((59 + bytes) << 2);
      for (int i = 0; i < bytes; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    }
    out.append(in.substr(begin, len));
    begin += len;
  }
}

// One copy element, 4 <= len <= 64, 1 <= offset <= 65535.
void PutCopyElement(size_t offset, size_t len, std::string& out) {
  if (len <= 11 && offset < 2048) {  // copy with a 1-byte offset
    out += static_cast<char>(1 | ((len - 4) << 2) | ((offset >> 8) << 5));
    out += static_cast<char>(offset & 0xff);
  } else {  // copy with a 2-byte offset
    out += static_cast<char>(2 | ((len - 1) << 2));
    out += static_cast<char>(offset & 0xff);
    out += static_cast<char>(offset >> 8);
  }
}

void PutCopy(size_t offset, size_t len, std::string& out) {
  while (len >= 68) {
    PutCopyElement(offset, 64, out);
    len -= 64;
  }
  if (len > 64) {  // leave at least 4 for the last element
    PutCopyElement(offset, 60, out);
    len -= 60;
  }
  PutCopyElement(offset, len, out);
}

uint32_t Load32(std::string_view s, size_t i) {
  uint32_t v;
  std::memcpy(&v, s.data() + i, sizeof v);
  return v;
}

}  // namespace

void AppendRemoteWriteLabels(
    std::span<const std::pair<std::string_view, std::string_view>> sorted_labels,
    std::string& out) {
  for (const auto& [n, v] : sorted_labels) {
    const size_t len = 1 + VarintSize(n.size()) + n.size() + 1 + VarintSize(v.size()) + v.size();
    PutTag(1, kLengthDelimited, out);  // TimeSeries.labels = 1
    PutVarint(len, out);
    PutBytes(1, n, out);  // Label.name = 1
    PutBytes(2, v, out);  // Label.value = 2
  }
}

void AppendRemoteWriteTimeSeries(std::string_view encoded_labels,
                                 std::span<const RemoteWriteSample> samples, std::string& out) {
  auto sample_size = [](const RemoteWriteSample& s) {
    return 1 + 8 + 1 + VarintSize(static_cast<uint64_t>(s.timestamp_ms));
  };
  size_t len = encoded_labels.size();
  for (const RemoteWriteSample& s : samples) {
    const size_t n = sample_size(s);
    len += 1 + VarintSize(n) + n;
  }
  PutTag(1, kLengthDelimited, out);  // WriteRequest.timeseries = 1
  PutVarint(len, out);
  out.append(encoded_labels);
  for (const RemoteWriteSample& s : samples) {
    PutTag(2, kLengthDelimited, out);  // TimeSeries.samples = 2
    PutVarint(sample_size(s), out);
    PutDouble(1, s.value, out);        // Sample.value = 1
    PutInt64(2, s.timestamp_ms, out);  // Sample.timestamp = 2
  }
}

std::string SnappyCompressBlock(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 6 + 16);
  PutVarint(in.size(), out);
  constexpr int kHashBits = 14;
  constexpr size_t kMaxOffset = 65535;
  std::vector<int64_t> table(size_t{1} << kHashBits, -1);  // hash of 4 bytes -> position
  auto hash = [](uint32_t v) { return (v * 0x1e35a7bdu) >> (32 - kHashBits); };
  size_t literal_start = 0, i = 0;
  while (i + 4 <= in.size()) {
    uint32_t cur = Load32(in, i);
    int64_t& slot = table[hash(cur)];
    int64_t cand = slot;
    slot = static_cast<int64_t>(i);
    if (cand < 0 || i - static_cast<size_t>(cand) > kMaxOffset ||
        Load32(in, static_cast<size_t>(cand)) != cur) {
      ++i;
      continue;
    }
    size_t from = static_cast<size_t>(cand);
    size_t len = 4;
    while (i + len < in.size() && in[from + len] == in[i + len]) ++len;
    PutLiteral(in, literal_start, i, out);
    PutCopy(i - from, len, out);
    i += len;
    literal_start = i;
  }
  PutLiteral(in, literal_start, in.size(), out);
  return out;
}

std::string EncodeRemoteWriteRequest(std::span<const MetricFamilySnapshot> families,
                                     int64_t timestamp_ms,
                                     const std::vector<LabelPair>& external_labels,
                                     bool with_metadata) {
  std::string out;
  EncodeSeries(families, timestamp_ms, external_labels, out);
  if (with_metadata) out += EncodeMetadata(families);
  return out;
}

RemoteWriteEncoder::RemoteWriteEncoder(std::vector<LabelPair> external_labels,
                                       int64_t metadata_interval_ms)
    : external_(SortedLabels(std::move(external_labels))),
      metadata_interval_ms_(metadata_interval_ms) {}

std::vector<LabelPair> RemoteWriteEncoder::Headers() const {
  return {{"Content-Encoding", "snappy"}, {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
}

std::optional<std::string> RemoteWriteEncoder::Encode(
    std::span<const MetricFamilySnapshot> families, int64_t now_ms) {
  // Batches carry increasing timestamps: the receiver refuses a second, different value
  // for a series at a timestamp it already has.
  if (now_ms <= last_ms_) now_ms = last_ms_ + 1;
  std::string proto;
  EncodeSeries(families, now_ms, external_, proto);
  std::string meta = EncodeMetadata(families);
  bool send_meta = !meta.empty() && (last_meta_ms_ == 0 || meta != last_meta_ ||
                                     now_ms - last_meta_ms_ >= metadata_interval_ms_);
  if (proto.empty() && !send_meta) return std::nullopt;
  if (send_meta) {
    proto += meta;
    last_meta_ = std::move(meta);
    last_meta_ms_ = now_ms;
  }
  last_ms_ = now_ms;
  return SnappyCompressBlock(proto);
}

}  // namespace zenwatch
