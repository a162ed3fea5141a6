#include "ingest/otlp_proto.h"

#include <cstring>
#include <string>

#include <fmt/format.h>

#include "ingest/otlp_values.h"
#include "ingest/proto_wire.h"

// Every reading function returns false on malformed input after writing what was wrong
// into the decoder's error string; enclosing messages prefix their path on the way out.

namespace zw::ingest::otlp {
namespace {

using namespace protowire;  // NOLINT(google-build-using-namespace): a .cc-local alias

class Decoder {
 public:
  Decoder(std::string_view buf, ExportRequest* out) : buf_(buf), out_(out) {}

  bool Run() {
    Reader r = At(0, buf_.size());
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        size_t b, e;
        if (!Message(r, f, "resource_metrics", wt, &b, &e)) return false;
        if (!ResourceMetrics(b, e))
          return Prefix(fmt::format("resource_metrics[{}]", out_->resources.size()));
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    return true;
  }

  const std::string& error() const { return err_; }

 private:
  Reader At(size_t begin, size_t end) { return Reader(buf_.data(), begin, end, &err_); }

  // Prefixes the error with a path element; a field name gets a ": " before the message.
  bool Prefix(std::string_view where) {
    bool nested = !err_.empty() && err_.front() == '.';
    err_.insert(0, nested ? std::string(where) : std::string(where) + ": ");
    return false;
  }
  bool PrefixDot(std::string_view where) {
    bool nested = !err_.empty() && err_.front() == '.';
    err_.insert(0, nested ? "." + std::string(where) : "." + std::string(where) + ": ");
    return false;
  }

  bool Count(size_t n = 1) {
    entries_ += n;
    if (entries_ > kMaxDecodedEntries) [[unlikely]] {
      err_ = fmt::format("more than {} points, attributes and buckets in one request",
                         kMaxDecodedEntries);
      return false;
    }
    return true;
  }

  static uint32_t Index(size_t n) { return static_cast<uint32_t>(n); }

  // A length-delimited field holding a message.
  bool Message(Reader& r, uint32_t f, std::string_view name, uint32_t wt, size_t* b, size_t* e) {
    if (wt != kLen) return r.WrongType(f, name, wt, kLen);
    return r.Length(b, e);
  }
  bool Str(Reader& r, uint32_t f, std::string_view name, uint32_t wt, std::string_view* s) {
    if (wt != kLen) return r.WrongType(f, name, wt, kLen);
    return r.String(s);
  }
  bool Fix64(Reader& r, uint32_t f, std::string_view name, uint32_t wt, uint64_t* v) {
    if (wt != kFixed64) return r.WrongType(f, name, wt, kFixed64);
    return r.Fixed64(v);
  }
  bool Dbl(Reader& r, uint32_t f, std::string_view name, uint32_t wt, double* v) {
    if (wt != kFixed64) return r.WrongType(f, name, wt, kFixed64);
    return r.Double(v);
  }
  bool Var(Reader& r, uint32_t f, std::string_view name, uint32_t wt, uint64_t* v) {
    if (wt != kVarint) return r.WrongType(f, name, wt, kVarint);
    return r.Varint(v);
  }

  bool ResourceMetrics(size_t begin, size_t end) {
    if (!Count()) return false;
    ResourceView res;
    res.scopes.begin = res.scopes.end = Index(out_->scopes.size());
    bool have_attrs = false;
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      size_t b, e;
      if (f == 1) {
        if (!Message(r, f, "resource", wt, &b, &e)) return false;
        // A resource sent twice: the last one's attributes count (protobuf merges messages,
        // but two resources in one ResourceMetrics is never what a sender meant).
        if (!Resource(b, e, &res.attributes)) return PrefixDot("resource");
        have_attrs = true;
      } else if (f == 2) {
        if (!Message(r, f, "scope_metrics", wt, &b, &e)) return false;
        if (!ScopeMetrics(b, e))
          return PrefixDot(
              fmt::format("scope_metrics[{}]", out_->scopes.size() - res.scopes.begin));
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    if (!have_attrs) res.attributes.begin = res.attributes.end = Index(out_->attributes.size());
    res.scopes.end = Index(out_->scopes.size());
    out_->resources.push_back(res);
    return true;
  }

  bool Resource(size_t begin, size_t end, Range* attrs) {
    attrs->begin = Index(out_->attributes.size());
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        size_t b, e;
        if (!Message(r, f, "attributes", wt, &b, &e)) return false;
        if (!KeyValue(b, e))
          return PrefixDot(fmt::format("attributes[{}]", out_->attributes.size() - attrs->begin));
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    attrs->end = Index(out_->attributes.size());
    return true;
  }

  bool ScopeMetrics(size_t begin, size_t end) {
    if (!Count()) return false;
    ScopeView sc;
    sc.attributes.begin = sc.attributes.end = Index(out_->attributes.size());
    sc.metrics.begin = Index(out_->metrics.size());
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      size_t b, e;
      if (f == 1) {
        if (!Message(r, f, "scope", wt, &b, &e)) return false;
        if (!Scope(b, e, &sc)) return PrefixDot("scope");
      } else if (f == 2) {
        if (!Message(r, f, "metrics", wt, &b, &e)) return false;
        if (!Metric(b, e))
          return PrefixDot(fmt::format("metrics[{}]", out_->metrics.size() - sc.metrics.begin));
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    sc.metrics.end = Index(out_->metrics.size());
    out_->scopes.push_back(sc);
    return true;
  }

  bool Scope(size_t begin, size_t end, ScopeView* sc) {
    sc->attributes.begin = Index(out_->attributes.size());
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        if (!Str(r, f, "name", wt, &sc->name)) return false;
      } else if (f == 2) {
        if (!Str(r, f, "version", wt, &sc->version)) return false;
      } else if (f == 3) {
        size_t b, e;
        if (!Message(r, f, "attributes", wt, &b, &e)) return false;
        if (!KeyValue(b, e))
          return PrefixDot(
              fmt::format("attributes[{}]", out_->attributes.size() - sc->attributes.begin));
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    sc->attributes.end = Index(out_->attributes.size());
    return true;
  }

  bool Metric(size_t begin, size_t end) {
    if (!Count()) return false;
    MetricView m;
    m.points.begin = m.points.end = Index(out_->points.size());
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      size_t b, e;
      switch (f) {
        case 1:
          if (!Str(r, f, "name", wt, &m.name)) return false;
          break;
        case 2:
          if (!Str(r, f, "description", wt, &m.description)) return false;
          break;
        case 3:
          if (!Str(r, f, "unit", wt, &m.unit)) return false;
          break;
        case 5:
        case 7:
        case 9:
        case 10:
        case 11: {
          MetricKind kind = f == 5    ? MetricKind::kGauge
                            : f == 7  ? MetricKind::kSum
                            : f == 9  ? MetricKind::kHistogram
                            : f == 10 ? MetricKind::kExponentialHistogram
                                      : MetricKind::kSummary;
          std::string_view name = f == 5    ? "gauge"
                                  : f == 7  ? "sum"
                                  : f == 9  ? "histogram"
                                  : f == 10 ? "exponential_histogram"
                                            : "summary";
          if (!Message(r, f, name, wt, &b, &e)) return false;
          // A oneof sent twice keeps the last member, as protobuf does.
          m.kind = kind;
          m.temporality = Temporality::kUnspecified;
          m.raw_temporality = 0;
          m.monotonic = false;
          m.points.begin = Index(out_->points.size());
          if (!Data(b, e, &m)) return PrefixDot(name);
          break;
        }
        default:
          if (!r.Skip(f, wt)) return false;
      }
    }
    m.points.end = Index(out_->points.size());
    out_->metrics.push_back(m);
    return true;
  }

  // Gauge, Sum, Histogram, ExponentialHistogram or Summary.
  bool Data(size_t begin, size_t end, MetricView* m) {
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        size_t b, e;
        if (!Message(r, f, "data_points", wt, &b, &e)) return false;
        bool ok = false;
        switch (m->kind) {
          case MetricKind::kGauge:
          case MetricKind::kSum:
            ok = NumberPoint(b, e);
            break;
          case MetricKind::kHistogram:
            ok = HistogramPoint(b, e);
            break;
          case MetricKind::kExponentialHistogram:
            ok = ExponentialPoint(b, e);
            break;
          case MetricKind::kSummary:
            ok = SummaryPoint(b, e);
            break;
          case MetricKind::kNone:
            break;
        }
        if (!ok)
          return PrefixDot(fmt::format("data_points[{}]", out_->points.size() - m->points.begin));
      } else if (f == 2 && m->kind != MetricKind::kGauge && m->kind != MetricKind::kSummary) {
        uint64_t v = 0;
        if (!Var(r, f, "aggregation_temporality", wt, &v)) return false;
        m->raw_temporality = static_cast<int32_t>(static_cast<uint32_t>(v));
        m->temporality = m->raw_temporality == 1   ? Temporality::kDelta
                         : m->raw_temporality == 2 ? Temporality::kCumulative
                                                   : Temporality::kUnspecified;
      } else if (f == 3 && m->kind == MetricKind::kSum) {
        uint64_t v = 0;
        if (!Var(r, f, "is_monotonic", wt, &v)) return false;
        m->monotonic = v != 0;
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    return true;
  }

  // Adds an attribute and reports its index range through *attrs (begin set by caller).
  bool Attribute(Reader& r, uint32_t f, uint32_t wt, Range* attrs) {
    size_t b, e;
    if (!Message(r, f, "attributes", wt, &b, &e)) return false;
    if (!KeyValue(b, e))
      return PrefixDot(fmt::format("attributes[{}]", out_->attributes.size() - attrs->begin));
    return true;
  }

  bool Timestamp(Reader& r, uint32_t f, uint32_t wt, PointView* p) {
    return Fix64(r, f, f == 2 ? "start_time_unix_nano" : "time_unix_nano", wt,
                 f == 2 ? &p->start_ns : &p->time_ns);
  }

  bool Flags(Reader& r, uint32_t f, uint32_t wt, PointView* p) {
    uint64_t v = 0;
    if (!Var(r, f, "flags", wt, &v)) return false;
    p->flags = static_cast<uint32_t>(v);
    return true;
  }

  bool NumberPoint(size_t begin, size_t end) {
    if (!Count()) return false;
    PointView p;
    p.attributes.begin = Index(out_->attributes.size());
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      switch (f) {
        case 7:
          if (!Attribute(r, f, wt, &p.attributes)) return false;
          break;
        case 2:
        case 3:
          if (!Timestamp(r, f, wt, &p)) return false;
          break;
        case 4:
          if (!Dbl(r, f, "as_double", wt, &p.value)) return false;
          p.has_value = true;
          break;
        case 6: {
          uint64_t v = 0;
          if (!Fix64(r, f, "as_int", wt, &v)) return false;
          p.value = static_cast<double>(static_cast<int64_t>(v));
          p.has_value = true;
          break;
        }
        case 8:
          if (!Flags(r, f, wt, &p)) return false;
          break;
        default:
          if (!r.Skip(f, wt)) return false;
      }
    }
    p.attributes.end = Index(out_->attributes.size());
    out_->points.push_back(p);
    return true;
  }

  // A repeated fixed64 (or double: same bits) field, packed or not, appended to *v.
  template <typename T>
  bool RepeatedFixed64(Reader& r, uint32_t f, std::string_view name, uint32_t wt,
                       std::vector<T>* v) {
    static_assert(sizeof(T) == 8);
    if (wt == kFixed64) {
      if (!Count()) return false;
      T x;
      uint64_t bits = 0;
      if (!r.Fixed64(&bits)) return false;
      std::memcpy(&x, &bits, 8);
      v->push_back(x);
      return true;
    }
    if (wt != kLen) return r.WrongType(f, name, wt, kLen);
    size_t b, e;
    if (!r.Length(&b, &e)) return false;
    if ((e - b) % 8 != 0) {
      err_ = fmt::format("field {} ({}): packed length {} at offset {} is not a multiple of 8", f,
                         name, e - b, r.tag_start());
      return false;
    }
    if (!Count((e - b) / 8)) return false;
    for (size_t i = b; i < e; i += 8) {
      T x;
      std::memcpy(&x, buf_.data() + i, 8);
      v->push_back(x);
    }
    return true;
  }

  bool HistogramPoint(size_t begin, size_t end) {
    if (!Count()) return false;
    PointView p;
    p.attributes.begin = Index(out_->attributes.size());
    Range counts{Index(out_->counts.size()), 0}, bounds{Index(out_->bounds.size()), 0};
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      switch (f) {
        case 9:
          if (!Attribute(r, f, wt, &p.attributes)) return false;
          break;
        case 2:
        case 3:
          if (!Timestamp(r, f, wt, &p)) return false;
          break;
        case 4:
          if (!Fix64(r, f, "count", wt, &p.count)) return false;
          break;
        case 5:
          if (!Dbl(r, f, "sum", wt, &p.sum)) return false;
          p.has_sum = true;
          break;
        case 6:
          if (!RepeatedFixed64(r, f, "bucket_counts", wt, &out_->counts)) return false;
          break;
        case 7:
          if (!RepeatedFixed64(r, f, "explicit_bounds", wt, &out_->bounds)) return false;
          break;
        case 10:
          if (!Flags(r, f, wt, &p)) return false;
          break;
        default:
          if (!r.Skip(f, wt)) return false;
      }
    }
    p.attributes.end = Index(out_->attributes.size());
    counts.end = Index(out_->counts.size());
    bounds.end = Index(out_->bounds.size());
    p.bucket_counts = counts;
    p.explicit_bounds = bounds;
    out_->points.push_back(p);
    return true;
  }

  // ExponentialHistogramDataPoint.Buckets: the counts are appended to out_->counts.
  bool Buckets(size_t begin, size_t end, int32_t* offset, Range* range) {
    range->begin = Index(out_->counts.size());
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        uint64_t v = 0;
        if (!Var(r, f, "offset", wt, &v)) return false;
        *offset = static_cast<int32_t>(ZigZag(static_cast<uint32_t>(v)));
      } else if (f == 2) {
        if (wt == kVarint) {
          uint64_t v = 0;
          if (!Count() || !r.Varint(&v)) return false;
          out_->counts.push_back(v);
        } else if (wt == kLen) {
          size_t b, e;
          if (!r.Length(&b, &e)) return false;
          Reader packed = At(b, e);
          while (!packed.done()) {
            uint64_t v = 0;
            if (!Count() || !packed.Varint(&v)) return false;
            out_->counts.push_back(v);
          }
        } else {
          return r.WrongType(f, "bucket_counts", wt, kLen);
        }
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    range->end = Index(out_->counts.size());
    return true;
  }

  bool ExponentialPoint(size_t begin, size_t end) {
    if (!Count()) return false;
    PointView p;
    p.attributes.begin = Index(out_->attributes.size());
    p.positive.begin = p.positive.end = p.negative.begin = p.negative.end =
        Index(out_->counts.size());
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      switch (f) {
        case 1:
          if (!Attribute(r, f, wt, &p.attributes)) return false;
          break;
        case 2:
        case 3:
          if (!Timestamp(r, f, wt, &p)) return false;
          break;
        case 4:
          if (!Fix64(r, f, "count", wt, &p.count)) return false;
          break;
        case 5:
          if (!Dbl(r, f, "sum", wt, &p.sum)) return false;
          p.has_sum = true;
          break;
        case 6: {
          uint64_t v = 0;
          if (!Var(r, f, "scale", wt, &v)) return false;
          p.scale = static_cast<int32_t>(ZigZag(static_cast<uint32_t>(v)));
          break;
        }
        case 7:
          if (!Fix64(r, f, "zero_count", wt, &p.zero_count)) return false;
          break;
        case 8:
        case 9: {
          size_t b, e;
          std::string_view name = f == 8 ? "positive" : "negative";
          if (!Message(r, f, name, wt, &b, &e)) return false;
          bool ok = f == 8 ? Buckets(b, e, &p.positive_offset, &p.positive)
                           : Buckets(b, e, &p.negative_offset, &p.negative);
          if (!ok) return PrefixDot(name);
          break;
        }
        case 10:
          if (!Flags(r, f, wt, &p)) return false;
          break;
        case 14:
          if (!Dbl(r, f, "zero_threshold", wt, &p.zero_threshold)) return false;
          break;
        default:
          if (!r.Skip(f, wt)) return false;
      }
    }
    p.attributes.end = Index(out_->attributes.size());
    out_->points.push_back(p);
    return true;
  }

  bool SummaryPoint(size_t begin, size_t end) {
    if (!Count()) return false;
    PointView p;
    p.attributes.begin = Index(out_->attributes.size());
    p.quantiles.begin = Index(out_->quantiles.size());
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      switch (f) {
        case 7:
          if (!Attribute(r, f, wt, &p.attributes)) return false;
          break;
        case 2:
        case 3:
          if (!Timestamp(r, f, wt, &p)) return false;
          break;
        case 4:
          if (!Fix64(r, f, "count", wt, &p.count)) return false;
          break;
        case 5:
          if (!Dbl(r, f, "sum", wt, &p.sum)) return false;
          p.has_sum = true;
          break;
        case 6: {
          size_t b, e;
          if (!Message(r, f, "quantile_values", wt, &b, &e)) return false;
          if (!Quantile(b, e))
            return PrefixDot(
                fmt::format("quantile_values[{}]", out_->quantiles.size() - p.quantiles.begin));
          break;
        }
        case 8:
          if (!Flags(r, f, wt, &p)) return false;
          break;
        default:
          if (!r.Skip(f, wt)) return false;
      }
    }
    p.attributes.end = Index(out_->attributes.size());
    p.quantiles.end = Index(out_->quantiles.size());
    out_->points.push_back(p);
    return true;
  }

  bool Quantile(size_t begin, size_t end) {
    if (!Count()) return false;
    QuantileView q;
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        if (!Dbl(r, f, "quantile", wt, &q.quantile)) return false;
      } else if (f == 2) {
        if (!Dbl(r, f, "value", wt, &q.value)) return false;
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    out_->quantiles.push_back(q);
    return true;
  }

  bool KeyValue(size_t begin, size_t end) {
    if (!Count()) return false;
    KeyValueView kv;
    size_t vb = 0, ve = 0;
    bool has_value = false;
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        if (!Str(r, f, "key", wt, &kv.key)) return false;
      } else if (f == 2) {
        if (!Message(r, f, "value", wt, &vb, &ve)) return false;
        has_value = true;
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    if (has_value) {
      if (!AnyValue(vb, ve, &kv.value)) return PrefixDot("value");
    }
    out_->attributes.push_back(kv);
    return true;
  }

  // Converts an AnyValue to its string form: a view into the body for strings, else text
  // in out_->owned.
  bool AnyValue(size_t begin, size_t end, std::string_view* value) {
    // The last member of the oneof wins; keep its kind and bytes, convert once at the end.
    uint32_t kind = 0;
    uint64_t num = 0;
    size_t b = 0, e = 0;
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      switch (f) {
        case 1:
        case 5:
        case 6:
        case 7:
          if (!Message(r, f,
                       f == 1   ? "string_value"
                       : f == 5 ? "array_value"
                       : f == 6 ? "kvlist_value"
                                : "bytes_value",
                       wt, &b, &e))
            return false;
          kind = f;
          break;
        case 2:
        case 3:
          if (!Var(r, f, f == 2 ? "bool_value" : "int_value", wt, &num)) return false;
          kind = f;
          break;
        case 4:
          if (!Fix64(r, f, "double_value", wt, &num)) return false;
          kind = f;
          break;
        default:
          if (!r.Skip(f, wt)) return false;
      }
    }
    if (kind == 1) {
      *value = buf_.substr(b, e - b);
      return true;
    }
    if (kind == 0) {
      *value = {};
      return true;
    }
    std::string& out = out_->owned.emplace_back();
    if (kind == 5 || kind == 6) {
      if (!AnyValueJson(begin, end, &out, 0)) return false;
    } else {
      AppendScalar(kind, num, buf_.substr(b, e - b), &out);
    }
    *value = out;
    return true;
  }

  static void AppendScalar(uint32_t kind, uint64_t num, std::string_view bytes, std::string* out) {
    switch (kind) {
      case 2:
        out->append(num != 0 ? "true" : "false");
        break;
      case 3:
        fmt::format_to(std::back_inserter(*out), "{}", static_cast<int64_t>(num));
        break;
      case 4: {
        double d;
        std::memcpy(&d, &num, 8);
        AppendDouble(d, out);
        break;
      }
      case 7:
        AppendBase64(bytes, out);
        break;
      default:
        break;
    }
  }

  // An AnyValue [begin, end) as JSON text: strings quoted, arrays and key-value lists
  // nested, bytes as a base64 string, an empty AnyValue as null.
  bool AnyValueJson(size_t begin, size_t end, std::string* out, int depth) {
    if (depth >= kMaxAnyValueDepth) {
      err_ = fmt::format("arrays and key-value lists nested deeper than {} at offset {}",
                         kMaxAnyValueDepth, begin);
      return false;
    }
    uint32_t kind = 0;
    uint64_t num = 0;
    size_t b = 0, e = 0;
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1 || f == 5 || f == 6 || f == 7) {
        if (!Message(r, f, "value", wt, &b, &e)) return false;
        kind = f;
      } else if (f == 2 || f == 3) {
        if (!Var(r, f, f == 2 ? "bool_value" : "int_value", wt, &num)) return false;
        kind = f;
      } else if (f == 4) {
        if (!Fix64(r, f, "double_value", wt, &num)) return false;
        kind = f;
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    switch (kind) {
      case 0:
        out->append("null");
        return true;
      case 1:
        AppendJsonString(buf_.substr(b, e - b), out);
        return true;
      case 4: {
        double d;
        std::memcpy(&d, &num, 8);
        AppendJsonDouble(d, out);
        return true;
      }
      case 7: {
        out->push_back('"');
        AppendBase64(buf_.substr(b, e - b), out);
        out->push_back('"');
        return true;
      }
      case 5:
      case 6: {
        // ArrayValue { repeated AnyValue values = 1; } / KeyValueList { repeated KeyValue
        // values = 1; }
        out->push_back(kind == 5 ? '[' : '{');
        bool first = true;
        Reader list = At(b, e);
        while (!list.done()) {
          uint32_t f, wt;
          if (!list.Tag(&f, &wt)) return false;
          if (f != 1) {
            if (!list.Skip(f, wt)) return false;
            continue;
          }
          size_t ib, ie;
          if (!Message(list, f, "values", wt, &ib, &ie)) return false;
          if (!Count()) return false;
          if (!first) out->push_back(',');
          first = false;
          if (kind == 5) {
            if (!AnyValueJson(ib, ie, out, depth + 1)) return false;
          } else if (!KeyValueJson(ib, ie, out, depth + 1)) {
            return false;
          }
        }
        out->push_back(kind == 5 ? ']' : '}');
        return true;
      }
      default:
        AppendScalar(kind, num, {}, out);
        return true;
    }
  }

  bool KeyValueJson(size_t begin, size_t end, std::string* out, int depth) {
    std::string_view key;
    size_t vb = 0, ve = 0;
    bool has_value = false;
    Reader r = At(begin, end);
    while (!r.done()) {
      uint32_t f, wt;
      if (!r.Tag(&f, &wt)) return false;
      if (f == 1) {
        if (!Str(r, f, "key", wt, &key)) return false;
      } else if (f == 2) {
        if (!Message(r, f, "value", wt, &vb, &ve)) return false;
        has_value = true;
      } else if (!r.Skip(f, wt)) {
        return false;
      }
    }
    AppendJsonString(key, out);
    out->push_back(':');
    if (!has_value) {
      out->append("null");
      return true;
    }
    return AnyValueJson(vb, ve, out, depth);
  }

  std::string_view buf_;
  ExportRequest* out_;
  std::string err_;
  size_t entries_ = 0;
};

}  // namespace

std::string_view MetricKindName(MetricKind k) {
  switch (k) {
    case MetricKind::kNone:
      return "none";
    case MetricKind::kGauge:
      return "gauge";
    case MetricKind::kSum:
      return "sum";
    case MetricKind::kHistogram:
      return "histogram";
    case MetricKind::kExponentialHistogram:
      return "exponential histogram";
    case MetricKind::kSummary:
      return "summary";
  }
  return "?";
}

void ExportRequest::Clear() {
  resources.clear();
  scopes.clear();
  metrics.clear();
  points.clear();
  attributes.clear();
  counts.clear();
  bounds.clear();
  quantiles.clear();
  owned.clear();
}

Status DecodeExportRequest(std::string_view body, ExportRequest* out) {
  out->Clear();
  if (body.size() > UINT32_MAX) {
    return Status::InvalidArgument(
        fmt::format("request of {} bytes is larger than 4 GiB", body.size()));
  }
  Decoder d(body, out);
  if (!d.Run()) return Status::InvalidArgument(d.error());
  return Status::Ok();
}

}  // namespace zw::ingest::otlp
