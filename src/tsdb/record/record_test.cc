#include "tsdb/record/record.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace zw::record {
namespace {

TEST(Record, SeriesRoundTrip) {
  std::vector<RefSeries> in = {
      {1, Labels{{"__name__", "up"}, {"job", "a"}}},
      {1ULL << 40, Labels{{"__name__", "x"}, {"k", std::string(300, 'v')}}},
      {7, Labels{}}};
  std::string rec;
  EncodeSeries(in, rec);
  ASSERT_EQ(GetType(rec), Type::kSeries);
  std::vector<RefSeries> out;
  ASSERT_TRUE(DecodeSeries(rec, out).ok());
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].ref, in[i].ref);
    EXPECT_EQ(out[i].labels, in[i].labels);
  }
}

TEST(Record, SamplesRoundTripWithExtremes) {
  std::vector<RefSample> in = {{5, 1000, 1.5},
                               {3, -5, -0.0},
                               {1ULL << 62, std::numeric_limits<int64_t>::max(), std::nan("")},
                               {9, std::numeric_limits<int64_t>::min(), -INFINITY}};
  std::string rec;
  EncodeSamples(in, rec);
  std::vector<RefSample> out;
  ASSERT_TRUE(DecodeSamples(rec, out).ok());
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].ref, in[i].ref);
    EXPECT_EQ(out[i].t, in[i].t);
    EXPECT_EQ(std::bit_cast<uint64_t>(out[i].v), std::bit_cast<uint64_t>(in[i].v));
  }
}

TEST(Record, EmptySamplesRecord) {
  std::string rec;
  EncodeSamples({}, rec);
  std::vector<RefSample> out;
  EXPECT_TRUE(DecodeSamples(rec, out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(Record, MetadataRoundTrip) {
  std::vector<RefMetadata> in = {{"http_requests_total", {MetricType::kCounter, "Requests.", ""}},
                                 {"temp", {MetricType::kGauge, "", "celsius"}}};
  std::string rec;
  EncodeMetadata(in, rec);
  std::vector<RefMetadata> out;
  ASSERT_TRUE(DecodeMetadata(rec, out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].metric, "http_requests_total");
  EXPECT_EQ(out[0].meta, in[0].meta);
  EXPECT_EQ(out[1].meta, in[1].meta);
}

TEST(Record, EveryTruncationIsCorruptionNeverACrash) {
  std::string series, samples, meta;
  EncodeSeries(std::vector<RefSeries>{{1, Labels{{"__name__", "a"}, {"b", "c"}}}}, series);
  EncodeSamples(std::vector<RefSample>{{1, 2, 3}, {2, 3, 4}}, samples);
  EncodeMetadata(std::vector<RefMetadata>{{"a", {MetricType::kGauge, "h", "u"}}}, meta);
  for (size_t n = 2; n < series.size(); ++n) {
    std::vector<RefSeries> out;
    EXPECT_EQ(DecodeSeries(series.substr(0, n), out).code(), StatusCode::kCorruption) << n;
  }
  // A samples record cut at a sample boundary is a shorter valid record (the WAL's
  // checksums are what catch that); anywhere else it is corruption.
  for (size_t n = 2; n < samples.size(); ++n) {
    std::vector<RefSample> out;
    Status st = DecodeSamples(samples.substr(0, n), out);
    if (st.ok()) {
      EXPECT_LT(out.size(), 2u) << n;
    } else {
      EXPECT_EQ(st.code(), StatusCode::kCorruption) << n;
    }
  }
  for (size_t n = 2; n < meta.size(); ++n) {
    std::vector<RefMetadata> out;
    EXPECT_EQ(DecodeMetadata(meta.substr(0, n), out).code(), StatusCode::kCorruption) << n;
  }
}

TEST(Record, WrongTypeIsRejected) {
  std::string rec;
  EncodeSamples(std::vector<RefSample>{{1, 2, 3}}, rec);
  std::vector<RefSeries> out;
  EXPECT_FALSE(DecodeSeries(rec, out).ok());
  EXPECT_EQ(GetType(""), Type::kInvalid);
  EXPECT_EQ(GetType("\x09"), Type::kInvalid);
}

}  // namespace
}  // namespace zw::record
