#include "ingest/remote_write_proto.h"

#include <cstring>
#include <string>

#include <fmt/format.h>

#include "ingest/proto_wire.h"

// Every reading function returns false on malformed input after writing what was wrong
// into the decoder's error string; enclosing messages prefix their path on the way out.
// Nothing on the success path builds a Status or a string.

namespace zw::ingest::prompb {
namespace {

// Tags, varints, lengths and skipping: proto_wire.h.
using namespace protowire;  // NOLINT(google-build-using-namespace): a .cc-local alias

// Decodes one Label message [begin, end) of base into *l.
bool DecodeLabel(const char* base, size_t begin, size_t end, LabelView* l, std::string* err) {
  Reader r(base, begin, end, err);
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.Tag(&f, &wt)) return false;
    if (f == 1 || f == 2) {
      if (wt != kLen) return r.WrongType(f, f == 1 ? "name" : "value", wt, kLen);
      if (!r.String(f == 1 ? &l->name : &l->value)) return false;
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  return true;
}

class Decoder {
 public:
  Decoder(std::string_view buf, WriteRequest* out, DecodeOptions options)
      : buf_(buf), out_(out), options_(options) {}

  bool Run() {
    Reader r(buf_.data(), 0, buf_.size(), &err_);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        if (wt != kLen) return r.WrongType(f, "timeseries", wt, kLen);
        size_t b, e;
        if (!r.Length(&b, &e)) return false;
        if (!TimeSeries(b, e)) return Prefix(fmt::format("timeseries[{}].", out_->series.size()));
      } else if (f == 3) {
        if (wt != kLen) return r.WrongType(f, "metadata", wt, kLen);
        size_t b, e;
        if (!r.Length(&b, &e)) return false;
        if (!Metadata(b, e)) return Prefix(fmt::format("metadata[{}].", out_->metadata.size()));
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    return true;
  }

  const std::string& error() const { return err_; }

 private:
  bool Prefix(std::string_view where) {
    err_.insert(0, where);
    return false;
  }

  bool Count() {
    if (++entries_ > kMaxDecodedEntries) [[unlikely]] {
      err_ =
          fmt::format("more than {} labels, samples and series in one request", kMaxDecodedEntries);
      return false;
    }
    return true;
  }

  bool TimeSeries(size_t begin, size_t end) {
    if (!Count()) return false;
    TimeSeriesView ts;
    ts.labels_begin = static_cast<uint32_t>(out_->labels.size());
    ts.samples_begin = static_cast<uint32_t>(out_->samples.size());
    size_t labels_from = 0, labels_to = 0;
    uint32_t nlabels = 0;
    bool other_after_label = false;
    Reader r(buf_.data(), begin, end, &err_);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f != 1 && nlabels > 0) other_after_label = true;
      switch (f) {
        case 1: {
          if (wt != kLen) return r.WrongType(f, "labels", wt, kLen);
          size_t tag_start = r.tag_start();
          size_t b, e;
          if (!r.Length(&b, &e)) return false;
          if (nlabels++ == 0) labels_from = tag_start;
          if (other_after_label) ts.labels_interleaved = true;
          labels_to = e;
          if (!Count()) return false;
          if (options_.labels) {
            LabelView l;
            if (!DecodeLabel(buf_.data(), b, e, &l, &err_))
              return Prefix(fmt::format("labels[{}]: ", nlabels - 1));
            out_->labels.push_back(l);
          }
          break;
        }
        case 2: {
          if (wt != kLen) return r.WrongType(f, "samples", wt, kLen);
          size_t b, e;
          if (!r.Length(&b, &e)) return false;
          if (!Sample(b, e))
            return Prefix(fmt::format("samples[{}]: ", out_->samples.size() - ts.samples_begin));
          break;
        }
        case 3:
        case 4: {
          // Exemplars and native histograms: counted; their bytes are checked for length only.
          if (wt != kLen) return r.WrongType(f, f == 3 ? "exemplars" : "histograms", wt, kLen);
          size_t b, e;
          if (!r.Length(&b, &e)) return false;
          if (f == 3) {
            ++ts.exemplars;
            ++out_->exemplars;
          } else {
            ++ts.histograms;
            ++out_->histograms;
          }
          break;
        }
        default:
          if (!r.Skip(f, wt)) return false;
      }
    }
    ts.label_bytes = buf_.substr(labels_from, labels_to - labels_from);
    ts.labels_end = static_cast<uint32_t>(out_->labels.size());
    ts.samples_end = static_cast<uint32_t>(out_->samples.size());
    out_->series.push_back(ts);
    return true;
  }

  bool Sample(size_t begin, size_t end) {
    if (!Count()) return false;
    SampleView s;
    const char* p = buf_.data() + begin;
    // The shape every sender produces: value (tag 0x09, 8 bytes), then timestamp (tag
    // 0x10, a varint) ending exactly at the message's end. Anything else takes the
    // general path below.
    if (end - begin >= 11 && p[0] == '\x09' && p[9] == '\x10') {
      uint64_t ts = 0;
      size_t i = 10;
      for (unsigned shift = 0; i < end - begin && shift < 63; shift += 7) {
        auto b = static_cast<uint8_t>(p[i++]);
        ts |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (b < 0x80) {
          if (i == end - begin) {
            std::memcpy(&s.value, p + 1, 8);
            s.timestamp = static_cast<int64_t>(ts);
            out_->samples.push_back(s);
            return true;
          }
          break;
        }
      }
    }
    Reader r(buf_.data(), begin, end, &err_);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        if (wt != kFixed64) return r.WrongType(f, "value", wt, kFixed64);
        uint64_t bits;
        if (!r.Fixed64(&bits)) return false;
        std::memcpy(&s.value, &bits, sizeof bits);
      } else if (f == 2) {
        if (wt != kVarint) return r.WrongType(f, "timestamp", wt, kVarint);
        uint64_t v;
        if (!r.Varint(&v)) return false;
        s.timestamp = static_cast<int64_t>(v);  // int64: two's complement, not zig-zag
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    out_->samples.push_back(s);
    return true;
  }

  bool Metadata(size_t begin, size_t end) {
    if (!Count()) return false;
    MetadataView m;
    Reader r(buf_.data(), begin, end, &err_);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      switch (f) {
        case 1: {
          if (wt != kVarint) return r.WrongType(f, "type", wt, kVarint);
          uint64_t v;
          if (!r.Varint(&v)) return false;
          m.type = static_cast<int32_t>(static_cast<uint32_t>(v));  // enums are int32
          break;
        }
        case 2:
        case 4:
        case 5: {
          std::string_view name = f == 2 ? "metric_family_name" : f == 4 ? "help" : "unit";
          if (wt != kLen) return r.WrongType(f, name, wt, kLen);
          if (!r.String(f == 2 ? &m.family : f == 4 ? &m.help : &m.unit)) return false;
          break;
        }
        default:
          if (!r.Skip(f, wt)) return false;
      }
    }
    out_->metadata.push_back(m);
    return true;
  }

  std::string_view buf_;
  WriteRequest* out_;
  DecodeOptions options_;
  std::string err_;
  size_t entries_ = 0;
};

}  // namespace

void WriteRequest::Clear() {
  series.clear();
  labels.clear();
  samples.clear();
  metadata.clear();
  exemplars = 0;
  histograms = 0;
}

Status DecodeWriteRequest(std::string_view buf, WriteRequest* out, DecodeOptions options) {
  out->Clear();
  if (buf.size() > UINT32_MAX) {
    return Status::InvalidArgument(
        fmt::format("request of {} bytes is larger than 4 GiB", buf.size()));
  }
  Decoder d(buf, out, options);
  if (!d.Run()) return Status::InvalidArgument(d.error());
  return Status::Ok();
}

Status DecodeLabels(std::string_view label_bytes, std::vector<LabelView>* out) {
  std::string err;
  Reader r(label_bytes.data(), 0, label_bytes.size(), &err);
  size_t n = 0;
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.Tag(&f, &wt)) return Status::InvalidArgument(err);
    if (f != 1) {
      if (!r.Skip(f, wt)) return Status::InvalidArgument(err);
      continue;
    }
    if (wt != kLen) {
      r.WrongType(f, "labels", wt, kLen);
      return Status::InvalidArgument(err);
    }
    size_t b, e;
    if (!r.Length(&b, &e)) return Status::InvalidArgument(err);
    LabelView l;
    if (!DecodeLabel(label_bytes.data(), b, e, &l, &err)) {
      return Status::InvalidArgument(fmt::format("labels[{}]: {}", n, err));
    }
    out->push_back(l);
    ++n;
  }
  return Status::Ok();
}

}  // namespace zw::ingest::prompb
