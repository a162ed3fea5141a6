#include "ingest/remote_write.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <utility>

#include <gtest/gtest.h>
#include <snappy.h>

#include "core/sample.h"
#include "ingest/proto_wire_testing.h"
#include "ingest/remote_write_proto.h"
#include "storage/series_set.h"
#include "tsdb/head.h"

namespace zw::ingest {
namespace {

using protowire::DoubleField;
using protowire::LenField;
using protowire::Tag;
using protowire::Varint;
using protowire::VarintField;

std::string LabelMsg(std::string_view name, std::string_view value) {
  return LenField(1, name) + LenField(2, value);
}
std::string SampleMsg(double v, int64_t t) {
  return DoubleField(1, v) + VarintField(2, static_cast<uint64_t>(t));
}
using Pairs = std::initializer_list<std::pair<std::string_view, std::string_view>>;
using Points = std::initializer_list<std::pair<int64_t, double>>;
std::string SeriesMsg(Pairs labels, Points samples, std::string extra = "") {
  std::string out;
  for (auto& [n, v] : labels) out += LenField(1, LabelMsg(n, v));
  for (auto& [t, v] : samples) out += LenField(2, SampleMsg(v, t));
  return out + extra;
}
std::string Request(std::initializer_list<std::string> series, std::string extra = "") {
  std::string out;
  for (const auto& s : series) out += LenField(1, s);
  return out + extra;
}
std::string MetadataMsg(int type, std::string_view family, std::string_view help,
                        std::string_view unit) {
  return VarintField(1, static_cast<uint64_t>(type)) + LenField(2, family) + LenField(4, help) +
         LenField(5, unit);
}
std::string Snappy(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

// ---- decoder ----

Status Decode(std::string_view buf, prompb::WriteRequest* out) {
  return prompb::DecodeWriteRequest(buf, out);
}

TEST(RemoteWriteProtoTest, DecodesLabelsAndSamplesAsViews) {
  std::string buf =
      Request({SeriesMsg({{"__name__", "up"}, {"job", "a"}}, {{1000, 1}, {2000, 0.5}}),
               SeriesMsg({{"__name__", "x"}}, {{-5, -1}})});
  prompb::WriteRequest req;
  ASSERT_TRUE(Decode(buf, &req).ok());
  ASSERT_EQ(req.series.size(), 2u);
  ASSERT_EQ(req.labels.size(), 3u);
  EXPECT_EQ(req.labels[1].name, "job");
  EXPECT_EQ(req.labels[1].value, "a");
  EXPECT_GE(req.labels[1].value.data(), buf.data());  // a view, not a copy
  EXPECT_LT(req.labels[1].value.data(), buf.data() + buf.size());
  EXPECT_EQ(req.series[0].samples_end - req.series[0].samples_begin, 2u);
  EXPECT_EQ(req.samples[1].timestamp, 2000);
  EXPECT_EQ(req.samples[1].value, 0.5);
  EXPECT_EQ(req.samples[2].timestamp, -5);  // int64 varint: ten bytes, two's complement
  EXPECT_EQ(req.series[1].labels_begin, 2u);
}

TEST(RemoteWriteProtoTest, EmptyBodyIsAnEmptyRequest) {
  prompb::WriteRequest req;
  ASSERT_TRUE(Decode("", &req).ok());
  EXPECT_TRUE(req.series.empty());
}

TEST(RemoteWriteProtoTest, SkipsUnknownFieldsOfEveryWireType) {
  std::string unknown = VarintField(9, 300) + DoubleField(10, 1.5) + LenField(11, "zzz") +
                        Tag(12, 5) + std::string(4, 'x') + Tag(13, 3) + VarintField(1, 7) +
                        Tag(14, 3) + Tag(14, 4) + Tag(13, 4);
  std::string label = LabelMsg("__name__", "m") + unknown;
  std::string sample = unknown + SampleMsg(2, 3000);
  std::string series = LenField(1, label) + unknown + LenField(2, sample);
  std::string buf = unknown + LenField(1, series) + LenField(2, "reserved field") + unknown;
  prompb::WriteRequest req;
  Status st = Decode(buf, &req);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(req.series.size(), 1u);
  EXPECT_EQ(req.labels[0].value, "m");
  EXPECT_EQ(req.samples[0].value, 2);
  EXPECT_EQ(req.samples[0].timestamp, 3000);
}

TEST(RemoteWriteProtoTest, LastValueOfARepeatedSingularFieldWins) {
  std::string sample = SampleMsg(1, 10) + SampleMsg(2, 20);
  std::string buf =
      LenField(1, LenField(1, LabelMsg("__name__", "a") + LenField(2, "b")) + LenField(2, sample));
  prompb::WriteRequest req;
  ASSERT_TRUE(Decode(buf, &req).ok());
  EXPECT_EQ(req.labels[0].value, "b");
  EXPECT_EQ(req.samples[0].value, 2);
  EXPECT_EQ(req.samples[0].timestamp, 20);
}

TEST(RemoteWriteProtoTest, PackedAndUnpackedHistogramsAreCountedNotDecoded) {
  // A native histogram with a packed repeated field (positive_deltas = 12) and an unpacked
  // one: only its presence matters to the receiver, which rejects it.
  std::string packed = LenField(12, Varint(2) + Varint(4) + Varint(1));
  std::string unpacked = VarintField(12, 2) + VarintField(12, 4);
  std::string series =
      SeriesMsg({{"__name__", "h"}}, {}, LenField(4, packed) + LenField(4, unpacked));
  prompb::WriteRequest req;
  ASSERT_TRUE(Decode(Request({series}), &req).ok());
  EXPECT_EQ(req.histograms, 2u);
  EXPECT_EQ(req.series[0].histograms, 2u);
}

TEST(RemoteWriteProtoTest, ExemplarsAreCounted) {
  std::string ex = LenField(1, LabelMsg("trace_id", "abc")) + DoubleField(2, 1) + VarintField(3, 5);
  prompb::WriteRequest req;
  ASSERT_TRUE(
      Decode(Request({SeriesMsg({{"__name__", "c"}}, {{1, 1}}, LenField(3, ex))}), &req).ok());
  EXPECT_EQ(req.exemplars, 1u);
}

TEST(RemoteWriteProtoTest, DecodesMetadata) {
  prompb::WriteRequest req;
  std::string buf = LenField(3, MetadataMsg(3, "http_req", "Requests.", "seconds"));
  ASSERT_TRUE(Decode(buf, &req).ok());
  ASSERT_EQ(req.metadata.size(), 1u);
  EXPECT_EQ(req.metadata[0].type, 3);
  EXPECT_EQ(req.metadata[0].family, "http_req");
  EXPECT_EQ(req.metadata[0].help, "Requests.");
  EXPECT_EQ(req.metadata[0].unit, "seconds");
}

TEST(RemoteWriteProtoTest, LabelBytesSpanTheLabelFieldsAndDecodeLazily) {
  std::string labels = LenField(1, LabelMsg("__name__", "up")) + LenField(1, LabelMsg("job", "a"));
  std::string buf = LenField(1, labels + LenField(2, SampleMsg(1, 1000)));
  prompb::WriteRequest req;
  ASSERT_TRUE(prompb::DecodeWriteRequest(buf, &req, {.labels = false}).ok());
  ASSERT_EQ(req.series.size(), 1u);
  EXPECT_TRUE(req.labels.empty());
  EXPECT_EQ(req.series[0].label_bytes, labels);
  EXPECT_FALSE(req.series[0].labels_interleaved);
  EXPECT_EQ(req.samples.size(), 1u);
  std::vector<prompb::LabelView> got;
  ASSERT_TRUE(prompb::DecodeLabels(req.series[0].label_bytes, &got).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].name, "job");
  EXPECT_EQ(got[1].value, "a");
}

TEST(RemoteWriteProtoTest, InterleavedLabelsAreMarkedAndStillDecode) {
  std::string series = LenField(1, LabelMsg("__name__", "up")) + LenField(2, SampleMsg(1, 1000)) +
                       LenField(1, LabelMsg("job", "a"));
  prompb::WriteRequest req;
  std::string buf = LenField(1, series);
  ASSERT_TRUE(prompb::DecodeWriteRequest(buf, &req, {.labels = false}).ok());
  EXPECT_TRUE(req.series[0].labels_interleaved);
  std::vector<prompb::LabelView> got;
  ASSERT_TRUE(prompb::DecodeLabels(req.series[0].label_bytes, &got).ok());
  EXPECT_EQ(got.size(), 2u);
}

TEST(RemoteWriteProtoTest, LazyLabelErrorsSurfaceWhenDecoded) {
  std::string bad_label = LenField(1, DoubleField(1, 1));  // name as fixed64
  prompb::WriteRequest req;
  std::string buf = LenField(1, bad_label);
  ASSERT_TRUE(prompb::DecodeWriteRequest(buf, &req, {.labels = false}).ok());
  std::vector<prompb::LabelView> got;
  Status st = prompb::DecodeLabels(req.series[0].label_bytes, &got);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("labels[0]: field 1 (name): wire type 1 (fixed64)"),
            std::string::npos)
      << st.message();
}

TEST(RemoteWriteProtoTest, SamplesOfEveryShapeDecode) {
  // The fast shape, a zero timestamp left out, fields reversed, a 10-byte negative timestamp.
  std::string s1 = SampleMsg(1.5, 1700000000000);
  std::string s2 = DoubleField(1, 2.5);
  std::string s3 = VarintField(2, 7) + DoubleField(1, 3.5);
  std::string s4 = SampleMsg(4.5, -1);
  std::string buf =
      LenField(1, LenField(2, s1) + LenField(2, s2) + LenField(2, s3) + LenField(2, s4));
  prompb::WriteRequest req;
  ASSERT_TRUE(Decode(buf, &req).ok());
  ASSERT_EQ(req.samples.size(), 4u);
  EXPECT_EQ(req.samples[0].timestamp, 1700000000000);
  EXPECT_EQ(req.samples[0].value, 1.5);
  EXPECT_EQ(req.samples[1].timestamp, 0);
  EXPECT_EQ(req.samples[1].value, 2.5);
  EXPECT_EQ(req.samples[2].timestamp, 7);
  EXPECT_EQ(req.samples[2].value, 3.5);
  EXPECT_EQ(req.samples[3].timestamp, -1);
  EXPECT_EQ(req.samples[3].value, 4.5);
}

void ExpectError(std::string_view buf, std::string_view want) {
  prompb::WriteRequest req;
  Status st = Decode(buf, &req);
  ASSERT_FALSE(st.ok()) << "decoded: " << want;
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
}

TEST(RemoteWriteProtoTest, TruncatedVarint) {
  ExpectError("\x0a", "truncated varint at offset 1");
  ExpectError(LenField(1, LenField(2, Tag(2, 0) + "\x80\x80")),
              "timeseries[0].samples[0]: truncated varint");
}

TEST(RemoteWriteProtoTest, VarintOverflowingSixtyFourBits) {
  ExpectError(Tag(9, 0) + std::string(10, '\xff') + "\x01", "varint at offset 1 overflows 64 bits");
  ExpectError(Tag(9, 0) + std::string(9, '\xff') + "\x02", "varint at offset 1 overflows 64 bits");
}

TEST(RemoteWriteProtoTest, WrongWireType) {
  std::string sample = VarintField(1, 5);  // value must be fixed64
  ExpectError(Request({SeriesMsg({{"__name__", "a"}}, {}, LenField(2, sample))}),
              "timeseries[0].samples[0]: field 1 (value): wire type 0 (varint), want 1 (fixed64)");
  ExpectError(VarintField(1, 5), "field 1 (timeseries): wire type 0 (varint), want 2");
  ExpectError(LenField(1, LenField(1, DoubleField(1, 1))),
              "timeseries[0].labels[0]: field 1 (name): wire type 1 (fixed64)");
  ExpectError(LenField(1, LenField(2, DoubleField(2, 1))), "field 2 (timestamp)");
}

TEST(RemoteWriteProtoTest, HugeLength) {
  ExpectError(Tag(1, 2) + Varint(0xffffffffffULL) + "abc",
              "length 1099511627775 at offset 1 exceeds the 3 bytes left");
  // A nested length may not run past its parent even if the request has more bytes.
  std::string inner = Tag(1, 2) + Varint(50) + "ab";
  ExpectError(LenField(1, inner) + std::string(100, '\0'), "timeseries[0].");
}

TEST(RemoteWriteProtoTest, TruncatedFixed64) {
  ExpectError(LenField(1, LenField(2, Tag(1, 1) + "abc")), "truncated fixed64");
}

TEST(RemoteWriteProtoTest, BadTagsAndGroups) {
  ExpectError(VarintField(0, 1), "invalid field number 0");
  ExpectError(Tag(5, 6), "invalid wire type 6");
  ExpectError(Tag(5, 4), "end-group for field 5 at offset 0 without a group");
  ExpectError(Tag(5, 3) + VarintField(1, 1), "group of field 5 opened at offset 0 is not closed");
  ExpectError(Tag(5, 3) + Tag(6, 4),
              "end-group for field 6 at offset 1 closes the group of field 5");
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += Tag(5, 3);
  ExpectError(deep, "nested deeper");
}

// ---- ingester ----

class RemoteWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = tsdb::Head::Open({});
    ASSERT_TRUE(h.ok());
    head_ = std::move(h).value();
    rw_ = std::make_unique<RemoteWriteIngester>(head_.get());
  }

  Result<RemoteWriteResult> Write(const std::string& raw) { return rw_->Write(Snappy(raw)); }
  std::vector<Sample> Samples(const Labels& ls) { return storage::ReadExact(*head_, ls); }
  uint64_t Appended() const { return head_->stats().samples_appended.load(); }

  void ExpectRejected(const std::string& raw, StatusCode code, std::string_view want) {
    uint64_t before = Appended();
    auto r = Write(raw);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
    EXPECT_EQ(Appended(), before);
  }

  std::unique_ptr<tsdb::Head> head_;
  std::unique_ptr<RemoteWriteIngester> rw_;
};

const Labels kUp{{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}};

TEST_F(RemoteWriteTest, AppendsAndReadsBack) {
  auto r = Write(Request({SeriesMsg({{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}},
                                    {{1000, 1}, {16000, 0}}),
                          SeriesMsg({{"__name__", "temp"}}, {{1000, -3.5}})}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->series, 2u);
  EXPECT_EQ(r->samples, 3u);
  EXPECT_EQ(Samples(kUp), (std::vector<Sample>{{1000, 1}, {16000, 0}}));
  EXPECT_EQ(Samples(Labels{{"__name__", "temp"}}), (std::vector<Sample>{{1000, -3.5}}));
}

TEST_F(RemoteWriteTest, KnownSeriesAreAppendedFromTheCache) {
  auto series = [](int64_t t) {
    return Request(
        {SeriesMsg({{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}}, {{t, 1}})});
  };
  ASSERT_TRUE(Write(series(1000)).ok());
  EXPECT_EQ(rw_->stats().cache_misses.load(), 1u);
  EXPECT_EQ(rw_->cached_series(), 1u);
  ASSERT_TRUE(Write(series(2000)).ok());
  ASSERT_TRUE(Write(series(3000)).ok());
  EXPECT_EQ(rw_->stats().cache_misses.load(), 1u);
  EXPECT_EQ(Samples(kUp).size(), 3u);
}

TEST_F(RemoteWriteTest, UnsortedLabelsAreSortedAndEmptyValuesDropped) {
  auto r = Write(Request({SeriesMsg(
      {{"job", "node"}, {"empty", ""}, {"__name__", "up"}, {"instance", "a:9100"}}, {{1000, 1}})}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Samples(kUp), (std::vector<Sample>{{1000, 1}}));
  // The same series sorted hits the same cache entry and series.
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}},
                               {{2000, 1}})}))
          .ok());
  EXPECT_EQ(Samples(kUp).size(), 2u);
}

TEST_F(RemoteWriteTest, EquivalentEncodingsReachTheSameSeries) {
  // Unsorted and sorted label orders are distinct cache keys for one series.
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"job", "node"}, {"__name__", "up"}, {"instance", "a:9100"}},
                               {{1000, 1}})}))
          .ok());
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}},
                               {{2000, 1}})}))
          .ok());
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"job", "node"}, {"__name__", "up"}, {"instance", "a:9100"}},
                               {{3000, 1}})}))
          .ok());
  EXPECT_EQ(Samples(kUp).size(), 3u);
  EXPECT_EQ(rw_->stats().cache_misses.load(), 2u);
  EXPECT_EQ(head_->stats().series_created.load(), 1u);
}

TEST(RemoteWriteCacheTest, HashCollisionsAreResolvedByTheLabels) {
  // Every series hashes alike: the cache must tell them apart by their labels.
  auto h = tsdb::Head::Open({});
  ASSERT_TRUE(h.ok());
  RemoteWriteOptions opts;
  opts.series_hash_for_testing = [](std::string_view) -> uint64_t { return 42; };
  RemoteWriteIngester rw(h->get(), opts);
  const std::vector<Labels> series = {
      Labels{{"__name__", "up"}, {"job", "a"}},
      Labels{{"__name__", "up"}, {"job", "b"}},
      Labels{{"__name__", "up"}, {"job", "ab"}},
      Labels{{"__name__", "down"}, {"job", "a"}},
  };
  auto msg = [](const Labels& ls, int64_t t, double v) {
    std::string out;
    for (const Label& l : ls) out += LenField(1, LabelMsg(l.name, l.value));
    return out + LenField(2, SampleMsg(v, t));
  };
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < series.size(); ++i) {
      auto r = rw.Write(Snappy(Request({msg(series[i], 1000 * (round + 1), double(i))})));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  EXPECT_EQ(rw.cached_series(), series.size());
  EXPECT_EQ(rw.stats().cache_misses.load(), series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    EXPECT_EQ(storage::ReadExact(**h, series[i]),
              (std::vector<Sample>{{1000, double(i)}, {2000, double(i)}, {3000, double(i)}}))
        << series[i].ToString();
  }
}

TEST_F(RemoteWriteTest, UnsortedLabelsWithEmptyValuesHitTheCache) {
  auto series = [](int64_t t) {
    return Request({SeriesMsg(
        {{"job", "node"}, {"empty", ""}, {"__name__", "up"}, {"instance", "a:9100"}}, {{t, 1}})});
  };
  for (int64_t t : {1000, 2000, 3000}) ASSERT_TRUE(Write(series(t)).ok());
  EXPECT_EQ(rw_->stats().cache_misses.load(), 1u);
  EXPECT_EQ(Samples(kUp).size(), 3u);
  // A label set that only adds a label is another series, not a cache hit.
  ASSERT_TRUE(
      Write(Request({SeriesMsg(
                {{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}, {"zone", "z"}},
                {{4000, 1}})}))
          .ok());
  EXPECT_EQ(head_->stats().series_created.load(), 2u);
  EXPECT_EQ(Samples(kUp).size(), 3u);
}

TEST_F(RemoteWriteTest, InterleavedLabelsWorkWithoutCaching) {
  std::string series = LenField(1, LabelMsg("__name__", "up")) + LenField(2, SampleMsg(1, 1000)) +
                       LenField(1, LabelMsg("job", "a"));
  ASSERT_TRUE(Write(LenField(1, series)).ok());
  EXPECT_EQ(rw_->cached_series(), 0u);
  EXPECT_EQ(Samples(Labels{{"__name__", "up"}, {"job", "a"}}), (std::vector<Sample>{{1000, 1}}));
}

TEST_F(RemoteWriteTest, MalformedLabelOfANewSeriesRejectsTheRequest) {
  ExpectRejected(Request({SeriesMsg({{"__name__", "ok"}}, {{1, 1}}),
                          LenField(1, DoubleField(1, 1)) + LenField(2, SampleMsg(1, 1))}),
                 StatusCode::kInvalidArgument,
                 "timeseries[1]: invalid protobuf WriteRequest: labels[0]: field 1 (name)");
}

TEST_F(RemoteWriteTest, StaleMarkersAndSpecialValuesKeepTheirBits) {
  double inf = std::numeric_limits<double>::infinity();
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"__name__", "g"}}, {{1, inf}, {2, StaleNaN()}, {3, -0.0}})}))
          .ok());
  auto s = Samples(Labels{{"__name__", "g"}});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].v, inf);
  EXPECT_TRUE(IsStaleNaN(s[1].v));
  EXPECT_TRUE(std::signbit(s[2].v));
}

TEST_F(RemoteWriteTest, BadSnappyIsRejected) {
  uint64_t before = Appended();
  auto r = rw_->Write("\xff\xff\xff\xff\xff\xff");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("invalid snappy block"), std::string::npos);
  std::string ok = Snappy(Request({SeriesMsg({{"__name__", "a"}}, {{1, 1}})}));
  ok.resize(ok.size() - 3);  // truncated
  r = rw_->Write(ok);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid snappy block"), std::string::npos);
  EXPECT_EQ(Appended(), before);
}

TEST_F(RemoteWriteTest, OversizedDecompressedBodyIsRejectedBeforeInflating) {
  rw_ = std::make_unique<RemoteWriteIngester>(head_.get(),
                                              RemoteWriteOptions{.max_decompressed_bytes = 10});
  ExpectRejected(Request({SeriesMsg({{"__name__", "a"}}, {{1, 1}})}), StatusCode::kInvalidArgument,
                 "exceeds the limit of 10 bytes");
}

TEST_F(RemoteWriteTest, BadProtobufIsRejected) {
  ExpectRejected(Request({SeriesMsg({{"__name__", "a"}}, {{1, 1}})}) + "\x0a\x05",
                 StatusCode::kInvalidArgument, "invalid protobuf WriteRequest: length 5 at offset");
}

TEST_F(RemoteWriteTest, OneBadSeriesRejectsTheWholeRequest) {
  std::string good = SeriesMsg({{"__name__", "good"}}, {{1000, 1}});
  ExpectRejected(Request({good, SeriesMsg({{"__name__", "b"}, {"x", "1"}, {"x", "2"}}, {{1, 1}})}),
                 StatusCode::kInvalidArgument, "timeseries[1]: duplicate label name \"x\"");
  ExpectRejected(Request({good, SeriesMsg({{"__name__", "1bad"}}, {{1, 1}})}),
                 StatusCode::kInvalidArgument, "timeseries[1]: invalid metric name \"1bad\"");
  ExpectRejected(Request({good, SeriesMsg({{"job", "x"}}, {{1, 1}})}), StatusCode::kInvalidArgument,
                 "timeseries[1]: series {job=\"x\"} has no metric name");
  ExpectRejected(Request({good, SeriesMsg({{"__name__", "a"}, {"bad-name", "x"}}, {{1, 1}})}),
                 StatusCode::kInvalidArgument, "invalid label name \"bad-name\"");
  ExpectRejected(Request({good, SeriesMsg({{"__name__", "a"}, {"l", "\xc3\x28"}}, {{1, 1}})}),
                 StatusCode::kInvalidArgument, "not valid UTF-8");
  ExpectRejected(Request({good, SeriesMsg({}, {{1, 1}})}), StatusCode::kInvalidArgument,
                 "timeseries[1]: series has no labels");
  EXPECT_TRUE(Samples(Labels{{"__name__", "good"}}).empty());
}

TEST_F(RemoteWriteTest, SamplesStorageRefusesRejectTheRequest) {
  constexpr int64_t kT = 10 * 3600 * 1000;  // far enough ahead that t=1000 is too old
  ASSERT_TRUE(Write(Request({SeriesMsg({{"__name__", "a"}}, {{kT, 1}})})).ok());
  std::string fresh = SeriesMsg({{"__name__", "new"}}, {{kT, 1}});
  ExpectRejected(Request({fresh, SeriesMsg({{"__name__", "a"}}, {{kT, 7}})}),
                 StatusCode::kDuplicate, "timeseries[1]: duplicate sample");
  // Too old: out of order beyond what storage accepts (its code depends on the head's
  // out-of-order window, so only the rejection is checked).
  uint64_t before = Appended();
  auto r = Write(Request({fresh, SeriesMsg({{"__name__", "a"}}, {{1000, 2}})}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("timeseries[1]: "), std::string::npos)
      << r.status().message();
  EXPECT_EQ(Appended(), before);
  EXPECT_EQ(Samples(Labels{{"__name__", "a"}}), (std::vector<Sample>{{kT, 1}}));
  EXPECT_TRUE(Samples(Labels{{"__name__", "new"}}).empty());
  // An exact resend (a retry) is accepted.
  EXPECT_TRUE(Write(Request({SeriesMsg({{"__name__", "a"}}, {{kT, 1}})})).ok());
}

TEST_F(RemoteWriteTest, NativeHistogramsAreRejected) {
  std::string series = SeriesMsg({{"__name__", "h"}}, {}, LenField(4, VarintField(1, 3)));
  ExpectRejected(Request({SeriesMsg({{"__name__", "ok"}}, {{1, 1}}), series}),
                 StatusCode::kInvalidArgument,
                 "timeseries[1] h{}: native histograms are not supported");
}

TEST_F(RemoteWriteTest, ExemplarsAreAcceptedAndIgnored) {
  std::string ex =
      LenField(1, LabelMsg("trace_id", "abc")) + DoubleField(2, 1) + VarintField(3, 1000);
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"__name__", "c_total"}}, {{1000, 4}}, LenField(3, ex))})).ok());
  EXPECT_EQ(Samples(Labels{{"__name__", "c_total"}}), (std::vector<Sample>{{1000, 4}}));
  EXPECT_EQ(rw_->stats().exemplars_ignored.load(), 1u);
}

TEST_F(RemoteWriteTest, MetadataInTheSameRequestIsStored) {
  std::string md = LenField(3, MetadataMsg(1, "http_requests", "Requests served.", ""));
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"__name__", "http_requests_total"}}, {{1000, 4}})}, md)).ok());
  auto m = head_->Metadata("http_requests");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->type, MetricType::kCounter);
  EXPECT_EQ(m->help, "Requests served.");
}

TEST_F(RemoteWriteTest, MetadataAloneWaitsForTheFamilysFirstSample) {
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"__name__", "lat_bucket"}, {"le", "1"}}, {{1000, 1}})})).ok());
  ASSERT_TRUE(Write(LenField(3, MetadataMsg(3, "lat", "Latency.", "seconds")) +
                    LenField(3, MetadataMsg(2, "never_sent", "No samples.", "")))
                  .ok());
  EXPECT_FALSE(head_->Metadata("lat").has_value());
  // The cached series picks up the pending metadata on its next sample.
  ASSERT_TRUE(
      Write(Request({SeriesMsg({{"__name__", "lat_bucket"}, {"le", "1"}}, {{2000, 2}})})).ok());
  auto m = head_->Metadata("lat");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->type, MetricType::kHistogram);
  EXPECT_EQ(m->unit, "seconds");
  EXPECT_FALSE(head_->Metadata("never_sent").has_value());
}

TEST_F(RemoteWriteTest, RejectedRequestStoresNoMetadata) {
  std::string md = LenField(3, MetadataMsg(2, "g", "A gauge.", ""));
  ASSERT_TRUE(Write(Request({SeriesMsg({{"__name__", "g"}}, {{5000, 1}})})).ok());
  ExpectRejected(Request({SeriesMsg({{"__name__", "g"}}, {{5000, 2}})}, md), StatusCode::kDuplicate,
                 "duplicate sample");
  ASSERT_TRUE(Write(Request({SeriesMsg({{"__name__", "g"}}, {{6000, 1}})})).ok());
  EXPECT_FALSE(head_->Metadata("g").has_value());
}

TEST_F(RemoteWriteTest, InvalidMetadataIsRejected) {
  ExpectRejected(LenField(3, MetadataMsg(1, "bad name", "", "")), StatusCode::kInvalidArgument,
                 "metadata[0]: invalid metric family name \"bad name\"");
}

}  // namespace
}  // namespace zw::ingest
