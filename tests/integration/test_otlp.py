"""POST /v1/metrics: OTLP/HTTP metrics into zenwatch (docs/otlp.md).

Requests are built the way the OpenTelemetry SDKs send them -- one ResourceMetrics with
service.* and telemetry.sdk.* attributes, one ScopeMetrics per instrumentation scope,
cumulative counters with a start time, gauges, explicit-bucket and exponential histograms,
delta sums -- as protobuf (a tiny encoder below) and as OTLP/JSON, and read back through
PromQL.
"""
import gzip
import json
import struct
import time
import unittest

import zwtest

NS = 1_000_000_000


# ---- a tiny protobuf encoder ----

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def tag(field, wire_type):
    return varint(field << 3 | wire_type)


def length_delimited(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return tag(field, 2) + varint(len(payload)) + payload


def fixed64(field, v):
    return tag(field, 1) + struct.pack("<Q", v)


def double(field, v):
    return tag(field, 1) + struct.pack("<d", v)


def uint(field, v):
    return tag(field, 0) + varint(v)


def zigzag(v):
    return (v << 1) ^ (v >> 63)


def key_value(k, v):
    if isinstance(v, bool):
        any_value = uint(2, 1 if v else 0)
    elif isinstance(v, int):
        any_value = uint(3, v)
    else:
        any_value = length_delimited(1, v)
    return length_delimited(1, k) + length_delimited(2, any_value)


def attributes(field, attrs):
    return b"".join(length_delimited(field, key_value(k, v)) for k, v in attrs.items())


def number_point(attrs, start, t, value, as_int=False):
    p = attributes(7, attrs) + fixed64(2, start) + fixed64(3, t)
    return p + (fixed64(6, value & ((1 << 64) - 1)) if as_int else double(4, value))


def histogram_point(attrs, start, t, counts, bounds, total):
    return (attributes(9, attrs) + fixed64(2, start) + fixed64(3, t) + fixed64(4, sum(counts)) +
            double(5, total) + length_delimited(6, b"".join(struct.pack("<Q", c) for c in counts)) +
            length_delimited(7, b"".join(struct.pack("<d", b) for b in bounds)))


def exp_histogram_point(attrs, start, t, scale, zero_count, offset, counts, total):
    buckets = uint(1, zigzag(offset)) + length_delimited(2, b"".join(varint(c) for c in counts))
    return (attributes(1, attrs) + fixed64(2, start) + fixed64(3, t) +
            fixed64(4, zero_count + sum(counts)) + double(5, total) + uint(6, zigzag(scale)) +
            fixed64(7, zero_count) + length_delimited(8, buckets))


def metric(name, unit, description, field, data):
    return (length_delimited(1, name) + length_delimited(2, description) +
            length_delimited(3, unit) + length_delimited(field, data))


def points(pts):
    return b"".join(length_delimited(1, p) for p in pts)


def gauge(name, unit, pts):
    return metric(name, unit, "A gauge.", 5, points(pts))


def sum_metric(name, unit, pts, temporality=2, monotonic=True):
    return metric(name, unit, "A sum.", 7, points(pts) + uint(2, temporality) +
                  uint(3, 1 if monotonic else 0))


def histogram(name, unit, pts, temporality=2):
    return metric(name, unit, "A histogram.", 9, points(pts) + uint(2, temporality))


def exp_histogram(name, unit, pts, temporality=2):
    return metric(name, unit, "An exponential histogram.", 10, points(pts) + uint(2, temporality))


SDK_RESOURCE = {
    "service.name": "checkout",
    "service.namespace": "shop",
    "service.instance.id": "pod-7f9c",
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": "1.27.0",
    "host.name": "node-17",
}


def export_request(metrics, resource=None, scope=("otel.test.instrumentation", "0.1.0")):
    resource = SDK_RESOURCE if resource is None else resource
    scope_metrics = length_delimited(1, length_delimited(1, scope[0]) + length_delimited(2, scope[1]))
    scope_metrics += b"".join(length_delimited(2, m) for m in metrics)
    return length_delimited(1, length_delimited(1, attributes(1, resource)) +
                            length_delimited(2, scope_metrics))


def read_varint(body, i):
    v, shift = 0, 0
    while True:
        b = body[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, i


def decode_status(body):
    """(code, message) of a protobuf google.rpc.Status."""
    code, message, i = 0, "", 0
    while i < len(body):
        key, i = read_varint(body, i)
        if key == 0x08:
            code, i = read_varint(body, i)
        elif key == 0x12:
            n, i = read_varint(body, i)
            message = body[i:i + n].decode()
            i += n
        else:
            raise AssertionError("unexpected field in Status: %r" % body)
    return code, message


SCOPE_LABELS = {"job": "shop/checkout", "instance": "pod-7f9c",
                "otel_scope_name": "otel.test.instrumentation", "otel_scope_version": "0.1.0"}


class OtlpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = zwtest.Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def post(self, body, content_type="application/x-protobuf", path="/v1/metrics", headers=None):
        h = {"Content-Type": content_type}
        h.update(headers or {})
        status, resp_headers, resp = self.server.request("POST", path, body=body, headers=h)
        return status, resp_headers, resp

    def query(self, expr, at_s):
        status, body = self.server.get_json("/api/v1/query", {"query": expr, "time": str(at_s)})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "success", body)
        return {json.dumps(s["metric"], sort_keys=True): float(s["value"][1])
                for s in body["data"]["result"]}

    def value(self, expr, at_s):
        got = self.query(expr, at_s)
        self.assertEqual(len(got), 1, (expr, got))
        return next(iter(got.values()))

    def series(self, match):
        status, body = self.server.get_json("/api/v1/series", {"match[]": match})
        self.assertEqual(status, 200, body)
        return body["data"]

    def test_sdk_protobuf_export_lands_as_documented_series(self):
        now = int(time.time()) * NS
        start = now - 600 * NS
        req = export_request([
            sum_metric("http.server.requests", "{request}",
                       [number_point({"http.method": "GET", "http.status_code": 200}, start, now, 42, as_int=True),
                        number_point({"http.method": "POST", "http.status_code": 500}, start, now, 3, as_int=True)]),
            gauge("process.memory.usage", "By", [number_point({}, 0, now, 123456789.0)]),
            sum_metric("queue.depth", "{item}", [number_point({"queue": "a"}, start, now, -2, as_int=True)],
                       monotonic=False),
        ])
        status, headers, body = self.post(req)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("content-type"), "application/x-protobuf")
        self.assertEqual(body, b"")  # an empty ExportMetricsServiceResponse
        at = now / NS
        self.assertEqual(self.query('http_server_requests_total', at), {
            json.dumps(dict(SCOPE_LABELS, __name__="http_server_requests_total", http_method="GET",
                            http_status_code="200"), sort_keys=True): 42.0,
            json.dumps(dict(SCOPE_LABELS, __name__="http_server_requests_total", http_method="POST",
                            http_status_code="500"), sort_keys=True): 3.0,
        })
        self.assertEqual(self.value('process_memory_usage_bytes{job="shop/checkout"}', at), 123456789.0)
        self.assertEqual(self.value('queue_depth{queue="a"}', at), -2.0)
        # The other resource attributes are on target_info, joined by job and instance.
        self.assertEqual(self.series("target_info"), [{
            "__name__": "target_info", "job": "shop/checkout", "instance": "pod-7f9c",
            "host_name": "node-17", "telemetry_sdk_language": "python",
            "telemetry_sdk_name": "opentelemetry", "telemetry_sdk_version": "1.27.0"}])
        self.assertEqual(self.value(
            'sum by (host_name) (process_memory_usage_bytes * on (job, instance) group_left (host_name) target_info)',
            at), 123456789.0)
        status, body = self.server.get_json("/api/v1/metadata", {"metric": "http_server_requests_total"})
        self.assertEqual(body["data"]["http_server_requests_total"][0]["type"], "counter")

    def test_delta_sums_are_accumulated(self):
        now = int(time.time()) * NS
        t0 = now - 30 * NS
        for i, v in enumerate([3, 2, 5]):
            req = export_request([sum_metric("jobs.processed", "", [
                number_point({"kind": "email"}, t0 + i * 10 * NS, t0 + (i + 1) * 10 * NS, v, as_int=True)],
                temporality=1)])
            status, _, body = self.post(req)
            self.assertEqual(status, 200, body)
        for i, want in enumerate([3.0, 5.0, 10.0]):
            at = (t0 + (i + 1) * 10 * NS) / NS
            self.assertEqual(self.value('jobs_processed_total{kind="email"}', at), want)

    def test_histograms_support_histogram_quantile(self):
        now = int(time.time()) * NS
        start = now - 60 * NS
        # 100 observations: 10 <= 0.1, 40 in (0.1, 0.5], 50 in (0.5, 1]
        req = export_request([
            histogram("http.server.duration", "s",
                      [histogram_point({"http.route": "/cart"}, start, now, [10, 40, 50, 0], [0.1, 0.5, 1.0], 60.0)]),
            # Scale 0: bucket i holds (2^i, 2^(i+1)]; offset 0 -> (1,2] x4, (2,4] x4
            exp_histogram("payload.size", "By",
                          [exp_histogram_point({}, start, now, 0, 0, 0, [4, 4], 20.0)]),
        ])
        status, _, body = self.post(req)
        self.assertEqual(status, 200, body)
        at = now / NS
        buckets = self.query('http_server_duration_seconds_bucket{http_route="/cart"}', at)
        les = sorted((json.loads(k)["le"], v) for k, v in buckets.items())
        self.assertEqual(les, [("+Inf", 100.0), ("0.1", 10.0), ("0.5", 50.0), ("1.0", 100.0)])
        # Median: the 50th observation is the top of (0.1, 0.5].
        self.assertAlmostEqual(self.value(
            'histogram_quantile(0.5, http_server_duration_seconds_bucket{http_route="/cart"})', at), 0.5)
        self.assertAlmostEqual(self.value(
            'histogram_quantile(0.75, http_server_duration_seconds_bucket{http_route="/cart"})', at), 0.75)
        self.assertEqual(self.value('http_server_duration_seconds_count', at), 100.0)
        self.assertEqual(self.value('http_server_duration_seconds_sum', at), 60.0)
        # The exponential histogram's own bounds are the le values.
        exp = self.query('payload_size_bytes_bucket', at)
        self.assertEqual(sorted((float(json.loads(k)["le"]), v) for k, v in exp.items()),
                         [(2.0, 4.0), (4.0, 8.0), (float("inf"), 8.0)])
        self.assertAlmostEqual(self.value('histogram_quantile(0.75, payload_size_bytes_bucket)', at), 3.0)

    def test_json_and_gzip_and_prometheus_path(self):
        now = int(time.time()) * NS
        doc = {"resourceMetrics": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
            "scopeMetrics": [{"scope": {"name": "browser"}, "metrics": [
                {"name": "page.views", "unit": "1",
                 "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [
                     {"startTimeUnixNano": str(now - 60 * NS), "timeUnixNano": str(now), "asInt": "17",
                      "attributes": [{"key": "page", "value": {"stringValue": "/home"}}]}]}}]}]}]}
        status, headers, body = self.post(json.dumps(doc), content_type="application/json")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("content-type"), "application/json")
        self.assertEqual(json.loads(body), {})
        at = now / NS
        self.assertEqual(self.value('page_views_total{job="web",page="/home",otel_scope_name="browser"}', at), 17.0)

        req = export_request([gauge("gzipped.gauge", "", [number_point({}, 0, now, 7.5)])])
        status, _, body = self.post(gzip.compress(req), headers={"Content-Encoding": "gzip"},
                                    path="/api/v1/otlp/v1/metrics")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.value('gzipped_gauge', at), 7.5)

    def test_bad_requests_get_400_and_store_nothing(self):
        now = int(time.time()) * NS
        good = gauge("bad.good", "", [number_point({}, 0, now, 1)])
        cases = [
            ("truncated", export_request([good])[:-3], "invalid protobuf ExportMetricsServiceRequest"),
            ("no timestamp", export_request([good, gauge("bad.g", "", [double(4, 1.0)])]),
             "timeUnixNano is missing"),
            ("bucket mismatch", export_request([good, histogram("bad.h", "", [
                histogram_point({}, 0, now, [1, 2], [0.1, 0.2], 1.0)])]),
             "2 bucket_counts for 2 explicit_bounds"),
            ("unspecified temporality", export_request([good, sum_metric("bad.s", "", [
                number_point({}, 0, now, 1)], temporality=0)]), "aggregation temporality 0"),
        ]
        for name, body, want in cases:
            with self.subTest(name):
                status, headers, resp = self.post(body)
                self.assertEqual(status, 400, resp)
                self.assertEqual(headers.get("content-type"), "application/x-protobuf")
                code, message = decode_status(resp)
                self.assertEqual(code, 3)  # INVALID_ARGUMENT
                self.assertIn(want, message)
        status, headers, resp = self.post('{"resourceMetrics": [', content_type="application/json")
        self.assertEqual(status, 400)
        err = json.loads(resp)
        self.assertEqual(err["code"], 3)
        self.assertIn("invalid JSON", err["message"])
        status, _, _ = self.post(export_request([good]), content_type="text/plain")
        self.assertEqual(status, 415)
        status, _, _ = self.post(b"\x1f\x8b garbage", headers={"Content-Encoding": "gzip"})
        self.assertEqual(status, 400)
        self.assertEqual(self.series('{__name__=~"bad_.*"}'), [])

    def test_refused_points_are_a_partial_success(self):
        now = int(time.time()) * NS
        status, _, _ = self.post(export_request([gauge("partial.g", "", [number_point({}, 0, now, 1)])]))
        self.assertEqual(status, 200)
        doc = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {"name": "partial.g", "gauge": {"dataPoints": [
                {"timeUnixNano": str(now - 6 * 3600 * NS), "asDouble": 2}]}},
            {"name": "partial.h", "gauge": {"dataPoints": [
                {"timeUnixNano": str(now), "asDouble": 3}]}}]}]}]}
        # The same series as above (same resource and scope), 6 h older: beyond the head's
        # out-of-order window, so storage refuses that point and keeps the other.
        doc["resourceMetrics"][0]["resource"] = {"attributes": [
            {"key": k, "value": {"stringValue": v}} for k, v in SDK_RESOURCE.items()]}
        doc["resourceMetrics"][0]["scopeMetrics"][0]["scope"] = {
            "name": "otel.test.instrumentation", "version": "0.1.0"}
        status, _, body = self.post(json.dumps(doc), content_type="application/json")
        self.assertEqual(status, 200, body)
        resp = json.loads(body)
        self.assertEqual(resp["partialSuccess"]["rejectedDataPoints"], "1")
        self.assertIn("partial.g", resp["partialSuccess"]["errorMessage"])
        self.assertEqual(self.value('partial_h', now / NS), 3.0)


if __name__ == "__main__":
    unittest.main()
