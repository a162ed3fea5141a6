// OTLP/JSON decoding (otlp_proto.h) with simdjson's DOM: the JSON path is the one browsers
// and scripts use, not the hot one, so it favours clear errors over zero copies. Every
// string is copied into ExportRequest::owned.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include <fmt/format.h>
#include <simdjson.h>

#include "ingest/otlp_proto.h"
#include "ingest/otlp_values.h"

namespace zw::ingest::otlp {
namespace {

namespace dom = simdjson::dom;

// JSON keys are lowerCamelCase; protobuf's JSON mapping also accepts the proto's own
// snake_case names. Both match when compared without underscores, ignoring case.
bool KeyIs(std::string_view key, std::string_view camel) {
  size_t j = 0;
  for (char c : key) {
    if (c == '_') continue;
    if (j >= camel.size()) return false;
    auto lower = [](char x) { return x >= 'A' && x <= 'Z' ? static_cast<char>(x - 'A' + 'a') : x; };
    if (lower(c) != lower(camel[j])) return false;
    ++j;
  }
  return j == camel.size();
}

std::string_view TypeName(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "?";
}

class JsonDecoder {
 public:
  explicit JsonDecoder(ExportRequest* out) : out_(out) {}

  bool Run(dom::element root) {
    dom::object obj;
    if (!Object(root, &obj)) return false;
    for (auto [key, value] : obj) {
      if (!KeyIs(key, "resourceMetrics")) continue;
      if (!Array(value, [&](dom::element e, size_t i) {
            return ResourceMetrics(e) || Prefix(fmt::format("[{}]", i));
          }))
        return Prefix("resourceMetrics");
    }
    return true;
  }

  const std::string& error() const { return err_; }

 private:
  static uint32_t Index(size_t n) { return static_cast<uint32_t>(n); }

  bool Fail(std::string msg) {
    err_ = std::move(msg);
    return false;
  }
  // Prefixes the error with a path element (".name" inside another, "name: " innermost).
  bool Prefix(std::string_view where) {
    bool nested = !err_.empty() && (err_.front() == '.' || err_.front() == '[');
    err_.insert(0, nested ? std::string(where) : std::string(where) + ": ");
    return false;
  }
  bool PrefixDot(std::string_view where) {
    Prefix(where);
    err_.insert(0, ".");
    return false;
  }

  bool Count(size_t n = 1) {
    entries_ += n;
    if (entries_ > kMaxDecodedEntries)
      return Fail(fmt::format("more than {} points, attributes and buckets in one request",
                              kMaxDecodedEntries));
    return true;
  }

  bool Object(dom::element e, dom::object* o) {
    if (e.get_object().get(*o)) return Fail(fmt::format("{}, want an object", TypeName(e.type())));
    return true;
  }

  // Calls fn(element, index) for each element of an array; null is an empty array.
  template <typename Fn>
  bool Array(dom::element e, Fn fn) {
    if (e.is_null()) return true;
    dom::array a;
    if (e.get_array().get(a)) return Fail(fmt::format("{}, want an array", TypeName(e.type())));
    size_t i = 0;
    for (dom::element x : a) {
      if (!fn(x, i)) return false;
      ++i;
    }
    return true;
  }

  bool String(dom::element e, std::string_view* s) {
    std::string_view v;
    if (e.get_string().get(v)) return Fail(fmt::format("{}, want a string", TypeName(e.type())));
    *s = out_->owned.emplace_back(v);
    return true;
  }

  // 64-bit integers travel as decimal strings (or plain numbers).
  bool Uint64(dom::element e, uint64_t* v) {
    std::string_view s;
    if (e.get_string().get(s) == simdjson::SUCCESS) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
      if (ec != std::errc() || p != s.data() + s.size() || s.empty())
        return Fail(fmt::format("\"{}\" is not an unsigned 64-bit integer", s));
      return true;
    }
    if (e.get_uint64().get(*v) == simdjson::SUCCESS) return true;
    double d;
    if (e.get_double().get(d) == simdjson::SUCCESS && d >= 0 && d < 18446744073709551616.0 &&
        d == std::floor(d)) {
      *v = static_cast<uint64_t>(d);
      return true;
    }
    return Fail(
        fmt::format("{}, want an unsigned 64-bit integer (a decimal string)", TypeName(e.type())));
  }

  bool Int64(dom::element e, int64_t* v) {
    std::string_view s;
    if (e.get_string().get(s) == simdjson::SUCCESS) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
      if (ec != std::errc() || p != s.data() + s.size() || s.empty())
        return Fail(fmt::format("\"{}\" is not a 64-bit integer", s));
      return true;
    }
    if (e.get_int64().get(*v) == simdjson::SUCCESS) return true;
    double d;
    if (e.get_double().get(d) == simdjson::SUCCESS && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0 && d == std::floor(d)) {
      *v = static_cast<int64_t>(d);
      return true;
    }
    return Fail(fmt::format("{}, want a 64-bit integer (a decimal string)", TypeName(e.type())));
  }

  bool Int32(dom::element e, int32_t* v) {
    int64_t x;
    if (!Int64(e, &x)) return false;
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
      return Fail(fmt::format("{} does not fit in 32 bits", x));
    *v = static_cast<int32_t>(x);
    return true;
  }

  // Doubles are numbers, or the strings "NaN", "Infinity", "-Infinity".
  bool Double(dom::element e, double* v) {
    if (e.get_double().get(*v) == simdjson::SUCCESS) return true;
    std::string_view s;
    if (e.get_string().get(s) == simdjson::SUCCESS) {
      if (s == "NaN") {
        *v = std::numeric_limits<double>::quiet_NaN();
        return true;
      }
      if (s == "Infinity" || s == "-Infinity") {
        *v = s[0] == '-' ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
        return true;
      }
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return true;
    }
    return Fail(fmt::format("{}, want a number", TypeName(e.type())));
  }

  bool Bool(dom::element e, bool* v) {
    if (e.get_bool().get(*v))
      return Fail(fmt::format("{}, want true or false", TypeName(e.type())));
    return true;
  }

  bool ResourceMetrics(dom::element e) {
    if (!Count()) return false;
    dom::object obj;
    if (!Object(e, &obj)) return false;
    ResourceView res;
    res.attributes.begin = res.attributes.end = Index(out_->attributes.size());
    res.scopes.begin = Index(out_->scopes.size());
    for (auto [key, value] : obj) {
      if (KeyIs(key, "resource")) {
        dom::object r;
        if (!Object(value, &r)) return PrefixDot("resource");
        for (auto [k, v] : r) {
          if (KeyIs(k, "attributes") && !Attributes(v, &res.attributes))
            return PrefixDot("resource.attributes");
        }
      } else if (KeyIs(key, "scopeMetrics")) {
        if (!Array(value, [&](dom::element x, size_t i) {
              return ScopeMetrics(x) || Prefix(fmt::format("[{}]", i));
            }))
          return PrefixDot("scopeMetrics");
      }
    }
    res.scopes.end = Index(out_->scopes.size());
    out_->resources.push_back(res);
    return true;
  }

  bool Attributes(dom::element e, Range* range) {
    range->begin = Index(out_->attributes.size());
    if (!Array(e, [&](dom::element x, size_t i) {
          return KeyValue(x) || Prefix(fmt::format("[{}]", i));
        }))
      return false;
    range->end = Index(out_->attributes.size());
    return true;
  }

  bool KeyValue(dom::element e) {
    if (!Count()) return false;
    dom::object obj;
    if (!Object(e, &obj)) return false;
    KeyValueView kv;
    for (auto [key, value] : obj) {
      if (KeyIs(key, "key")) {
        if (!String(value, &kv.key)) return PrefixDot("key");
      } else if (KeyIs(key, "value")) {
        std::string text;
        bool is_string = false;
        if (!AnyValue(value, &text, &is_string, 0)) return PrefixDot("value");
        kv.value = out_->owned.emplace_back(std::move(text));
      }
    }
    out_->attributes.push_back(kv);
    return true;
  }

  // The string form of an AnyValue object ({"stringValue": "x"}, {"intValue": "3"}, ...):
  // `json` false gives the attribute text, true the JSON form used inside arrays and lists.
  bool AnyValue(dom::element e, std::string* out, bool* is_string, int depth, bool json = false) {
    if (depth >= kMaxAnyValueDepth)
      return Fail(
          fmt::format("arrays and key-value lists nested deeper than {}", kMaxAnyValueDepth));
    if (e.is_null()) {
      if (json) out->append("null");
      return true;
    }
    dom::object obj;
    if (!Object(e, &obj)) return false;
    bool any = false;
    for (auto [key, value] : obj) {
      any = true;
      if (KeyIs(key, "stringValue")) {
        std::string_view s;
        if (value.get_string().get(s)) {
          Fail(fmt::format("{}, want a string", TypeName(value.type())));
          return PrefixDot("stringValue");
        }
        *is_string = true;
        if (json)
          AppendJsonString(s, out);
        else
          out->append(s);
      } else if (KeyIs(key, "boolValue")) {
        bool b;
        if (!Bool(value, &b)) return PrefixDot("boolValue");
        out->append(b ? "true" : "false");
      } else if (KeyIs(key, "intValue")) {
        int64_t i;
        if (!Int64(value, &i)) return PrefixDot("intValue");
        fmt::format_to(std::back_inserter(*out), "{}", i);
      } else if (KeyIs(key, "doubleValue")) {
        double d;
        if (!Double(value, &d)) return PrefixDot("doubleValue");
        if (json)
          AppendJsonDouble(d, out);
        else
          AppendDouble(d, out);
      } else if (KeyIs(key, "bytesValue")) {
        // Already base64 in JSON, which is also the attribute text of bytes.
        std::string_view s;
        if (value.get_string().get(s)) {
          Fail(fmt::format("{}, want a base64 string", TypeName(value.type())));
          return PrefixDot("bytesValue");
        }
        if (json)
          AppendJsonString(s, out);
        else
          out->append(s);
      } else if (KeyIs(key, "arrayValue") || KeyIs(key, "kvlistValue")) {
        bool list = KeyIs(key, "kvlistValue");
        dom::object inner;
        if (!Object(value, &inner)) return PrefixDot(list ? "kvlistValue" : "arrayValue");
        out->push_back(list ? '{' : '[');
        bool first = true;
        for (auto [k, v] : inner) {
          if (!KeyIs(k, "values")) continue;
          if (!Array(v, [&](dom::element x, size_t i) {
                if (!Count()) return false;
                if (!first) out->push_back(',');
                first = false;
                bool ok = list ? KeyValueJson(x, out, depth + 1) : AnyValueJson(x, out, depth + 1);
                return ok || Prefix(fmt::format("[{}]", i));
              }))
            return PrefixDot(list ? "kvlistValue.values" : "arrayValue.values");
        }
        out->push_back(list ? '}' : ']');
      } else {
        any = false;  // unknown member: ignored
        continue;
      }
    }
    if (!any && json) out->append("null");
    return true;
  }

  bool AnyValueJson(dom::element e, std::string* out, int depth) {
    bool is_string = false;
    return AnyValue(e, out, &is_string, depth, true);
  }

  bool KeyValueJson(dom::element e, std::string* out, int depth) {
    dom::object obj;
    if (!Object(e, &obj)) return false;
    std::string_view key;
    dom::element value;
    bool has_value = false;
    for (auto [k, v] : obj) {
      if (KeyIs(k, "key")) {
        if (v.get_string().get(key)) {
          Fail(fmt::format("{}, want a string", TypeName(v.type())));
          return PrefixDot("key");
        }
      } else if (KeyIs(k, "value")) {
        value = v;
        has_value = true;
      }
    }
    AppendJsonString(key, out);
    out->push_back(':');
    if (!has_value) {
      out->append("null");
      return true;
    }
    return AnyValueJson(value, out, depth);
  }

  bool ScopeMetrics(dom::element e) {
    if (!Count()) return false;
    dom::object obj;
    if (!Object(e, &obj)) return false;
    ScopeView sc;
    sc.attributes.begin = sc.attributes.end = Index(out_->attributes.size());
    sc.metrics.begin = Index(out_->metrics.size());
    for (auto [key, value] : obj) {
      if (KeyIs(key, "scope")) {
        dom::object s;
        if (!Object(value, &s)) return PrefixDot("scope");
        for (auto [k, v] : s) {
          if (KeyIs(k, "name")) {
            if (!String(v, &sc.name)) return PrefixDot("scope.name");
          } else if (KeyIs(k, "version")) {
            if (!String(v, &sc.version)) return PrefixDot("scope.version");
          } else if (KeyIs(k, "attributes")) {
            if (!Attributes(v, &sc.attributes)) return PrefixDot("scope.attributes");
          }
        }
      } else if (KeyIs(key, "metrics")) {
        if (!Array(value, [&](dom::element x, size_t i) {
              return Metric(x) || Prefix(fmt::format("[{}]", i));
            }))
          return PrefixDot("metrics");
      }
    }
    sc.metrics.end = Index(out_->metrics.size());
    out_->scopes.push_back(sc);
    return true;
  }

  bool Metric(dom::element e) {
    if (!Count()) return false;
    dom::object obj;
    if (!Object(e, &obj)) return false;
    MetricView m;
    m.points.begin = m.points.end = Index(out_->points.size());
    for (auto [key, value] : obj) {
      MetricKind kind = MetricKind::kNone;
      if (KeyIs(key, "name")) {
        if (!String(value, &m.name)) return PrefixDot("name");
      } else if (KeyIs(key, "description")) {
        if (!String(value, &m.description)) return PrefixDot("description");
      } else if (KeyIs(key, "unit")) {
        if (!String(value, &m.unit)) return PrefixDot("unit");
      } else if (KeyIs(key, "gauge")) {
        kind = MetricKind::kGauge;
      } else if (KeyIs(key, "sum")) {
        kind = MetricKind::kSum;
      } else if (KeyIs(key, "histogram")) {
        kind = MetricKind::kHistogram;
      } else if (KeyIs(key, "exponentialHistogram")) {
        kind = MetricKind::kExponentialHistogram;
      } else if (KeyIs(key, "summary")) {
        kind = MetricKind::kSummary;
      }
      if (kind == MetricKind::kNone || value.is_null()) continue;
      m.kind = kind;
      m.temporality = Temporality::kUnspecified;
      m.raw_temporality = 0;
      m.monotonic = false;
      m.points.begin = Index(out_->points.size());
      if (!Data(value, &m)) return PrefixDot(key);
    }
    m.points.end = Index(out_->points.size());
    out_->metrics.push_back(m);
    return true;
  }

  bool Temporality(dom::element e, MetricView* m) {
    std::string_view name;
    if (e.get_string().get(name) == simdjson::SUCCESS) {
      if (name == "AGGREGATION_TEMPORALITY_DELTA") {
        m->raw_temporality = 1;
      } else if (name == "AGGREGATION_TEMPORALITY_CUMULATIVE") {
        m->raw_temporality = 2;
      } else if (name == "AGGREGATION_TEMPORALITY_UNSPECIFIED") {
        m->raw_temporality = 0;
      } else {
        return Fail(fmt::format("\"{}\" is not an AggregationTemporality", name));
      }
    } else if (!Int32(e, &m->raw_temporality)) {
      return false;
    }
    m->temporality = m->raw_temporality == 1   ? Temporality::kDelta
                     : m->raw_temporality == 2 ? Temporality::kCumulative
                                               : Temporality::kUnspecified;
    return true;
  }

  bool Data(dom::element e, MetricView* m) {
    dom::object obj;
    if (!Object(e, &obj)) return false;
    for (auto [key, value] : obj) {
      if (KeyIs(key, "dataPoints")) {
        if (!Array(value, [&](dom::element x, size_t i) {
              return Point(x, m->kind) || Prefix(fmt::format("[{}]", i));
            }))
          return PrefixDot("dataPoints");
      } else if (KeyIs(key, "aggregationTemporality") && m->kind != MetricKind::kGauge &&
                 m->kind != MetricKind::kSummary) {
        if (!Temporality(value, m)) return PrefixDot("aggregationTemporality");
      } else if (KeyIs(key, "isMonotonic") && m->kind == MetricKind::kSum) {
        if (!Bool(value, &m->monotonic)) return PrefixDot("isMonotonic");
      }
    }
    return true;
  }

  // A repeated number field: uint64 counts or double bounds.
  template <typename T>
  bool Numbers(dom::element e, std::vector<T>* out, Range* range) {
    range->begin = Index(out->size());
    if (!Array(e, [&](dom::element x, size_t i) {
          if (!Count()) return false;
          T v;
          bool ok;
          if constexpr (std::is_same_v<T, double>) {
            ok = Double(x, &v);
          } else {
            ok = Uint64(x, &v);
          }
          if (!ok) return Prefix(fmt::format("[{}]", i));
          out->push_back(v);
          return true;
        }))
      return false;
    range->end = Index(out->size());
    return true;
  }

  bool Buckets(dom::element e, int32_t* offset, Range* range) {
    dom::object obj;
    if (!Object(e, &obj)) return false;
    range->begin = range->end = Index(out_->counts.size());
    for (auto [key, value] : obj) {
      if (KeyIs(key, "offset")) {
        if (!Int32(value, offset)) return PrefixDot("offset");
      } else if (KeyIs(key, "bucketCounts")) {
        if (!Numbers(value, &out_->counts, range)) return PrefixDot("bucketCounts");
      }
    }
    return true;
  }

  bool Point(dom::element e, MetricKind kind) {
    if (!Count()) return false;
    dom::object obj;
    if (!Object(e, &obj)) return false;
    PointView p;
    p.attributes.begin = p.attributes.end = Index(out_->attributes.size());
    p.bucket_counts.begin = p.bucket_counts.end = Index(out_->counts.size());
    p.explicit_bounds.begin = p.explicit_bounds.end = Index(out_->bounds.size());
    p.positive = p.negative = p.bucket_counts;
    p.quantiles.begin = p.quantiles.end = Index(out_->quantiles.size());
    bool number = kind == MetricKind::kGauge || kind == MetricKind::kSum;
    bool hist = kind == MetricKind::kHistogram;
    bool exp = kind == MetricKind::kExponentialHistogram;
    for (auto [key, value] : obj) {
      bool ok = true;
      if (KeyIs(key, "attributes")) {
        ok = Attributes(value, &p.attributes);
      } else if (KeyIs(key, "startTimeUnixNano")) {
        ok = Uint64(value, &p.start_ns);
      } else if (KeyIs(key, "timeUnixNano")) {
        ok = Uint64(value, &p.time_ns);
      } else if (KeyIs(key, "flags")) {
        uint64_t f;
        ok = Uint64(value, &f);
        p.flags = static_cast<uint32_t>(f);
      } else if (number && KeyIs(key, "asDouble")) {
        ok = Double(value, &p.value);
        p.has_value = true;
      } else if (number && KeyIs(key, "asInt")) {
        int64_t i;
        ok = Int64(value, &i);
        p.value = static_cast<double>(i);
        p.has_value = true;
      } else if (!number && KeyIs(key, "count")) {
        ok = Uint64(value, &p.count);
      } else if (!number && KeyIs(key, "sum")) {
        ok = Double(value, &p.sum);
        p.has_sum = true;
      } else if (hist && KeyIs(key, "bucketCounts")) {
        ok = Numbers(value, &out_->counts, &p.bucket_counts);
      } else if (hist && KeyIs(key, "explicitBounds")) {
        ok = Numbers(value, &out_->bounds, &p.explicit_bounds);
      } else if (exp && KeyIs(key, "scale")) {
        ok = Int32(value, &p.scale);
      } else if (exp && KeyIs(key, "zeroCount")) {
        ok = Uint64(value, &p.zero_count);
      } else if (exp && KeyIs(key, "zeroThreshold")) {
        ok = Double(value, &p.zero_threshold);
      } else if (exp && KeyIs(key, "positive")) {
        ok = Buckets(value, &p.positive_offset, &p.positive);
      } else if (exp && KeyIs(key, "negative")) {
        ok = Buckets(value, &p.negative_offset, &p.negative);
      } else if (kind == MetricKind::kSummary && KeyIs(key, "quantileValues")) {
        p.quantiles.begin = Index(out_->quantiles.size());
        ok = Array(value, [&](dom::element x, size_t i) {
          if (!Count()) return false;
          dom::object q;
          QuantileView qv;
          if (!Object(x, &q)) return Prefix(fmt::format("[{}]", i));
          for (auto [k, v] : q) {
            if (KeyIs(k, "quantile") && !Double(v, &qv.quantile))
              return Prefix(fmt::format("[{}].quantile", i));
            if (KeyIs(k, "value") && !Double(v, &qv.value))
              return Prefix(fmt::format("[{}].value", i));
          }
          out_->quantiles.push_back(qv);
          return true;
        });
        p.quantiles.end = Index(out_->quantiles.size());
      }
      if (!ok) return PrefixDot(key);
    }
    out_->points.push_back(p);
    return true;
  }

  ExportRequest* out_;
  std::string err_;
  size_t entries_ = 0;
};

}  // namespace

Status DecodeExportRequestJson(std::string_view body, ExportRequest* out) {
  out->Clear();
  thread_local dom::parser parser;
  dom::element root;
  if (auto err = parser.parse(body.data(), body.size()).get(root)) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  JsonDecoder d(out);
  if (!d.Run(root)) return Status::InvalidArgument(d.error());
  return Status::Ok();
}

}  // namespace zw::ingest::otlp
