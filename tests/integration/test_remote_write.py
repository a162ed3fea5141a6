"""POST /api/v1/write: Prometheus remote_write 1.0 into zenwatch.

(a) Requests built here (bench/server/rwproto.py: hand-written protobuf, literal-only snappy)
    land and read back through the query API; bad requests get 400 and store nothing.
(b) Compatibility: the real Prometheus (/usr/bin/prometheus) scrapes itself every second and
    remote-writes into zenwatch; after it stops, the raw samples zenwatch holds equal the
    ones Prometheus stored in its own TSDB, series by series.
"""
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import zwtest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "bench", "server"))
import rwproto  # noqa: E402

PROMETHEUS = os.environ.get("ZW_PROMETHEUS", "/usr/bin/prometheus")


def write(server, body, headers=None, compress=True):
    data = rwproto.snappy_block(body) if compress else body
    status, _, resp = server.request("POST", "/api/v1/write", body=data,
                                     headers=headers if headers is not None else rwproto.HEADERS)
    return status, (json.loads(resp) if resp else None)


def raw_samples(get_json, selector, at_s, window_s):
    """{labels-json: [(t_ms, float)]} of `selector[window]` evaluated at `at_s`."""
    status, body = get_json("/api/v1/query", {"query": f"{selector}[{window_s}s]", "time": str(at_s)})
    if status != 200 or body.get("status") != "success":
        raise AssertionError(f"query {selector} failed: {status} {body}")
    out = {}
    for s in body["data"]["result"]:
        key = json.dumps(s["metric"], sort_keys=True)
        out[key] = [(round(float(t) * 1000), float(v)) for t, v in s["values"]]
    return out


class RemoteWriteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = zwtest.Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def series(self, match):
        status, body = self.server.get_json("/api/v1/series", {"match[]": match})
        self.assertEqual(status, 200, body)
        return body["data"]

    def test_samples_land_and_read_back(self):
        now = int(time.time()) * 1000
        body = rwproto.encode_write_request([
            ([("__name__", "rw_up"), ("instance", "h:1"), ("job", "a")],
             [(now - 30000, 1), (now - 15000, 0), (now, 1)]),
            # Labels out of order and an empty value: sorted, and the empty one dropped.
            ([("job", "a"), ("zone", ""), ("__name__", "rw_temp"), ("instance", "h:1")],
             [(now, -2.5)]),
        ])
        status, resp = write(self.server, body)
        self.assertEqual(status, 204, resp)
        got = raw_samples(self.server.get_json, '{__name__=~"rw_up|rw_temp"}', now / 1000, 60)
        self.assertEqual(got, {
            json.dumps({"__name__": "rw_up", "instance": "h:1", "job": "a"}, sort_keys=True):
                [(now - 30000, 1.0), (now - 15000, 0.0), (now, 1.0)],
            json.dumps({"__name__": "rw_temp", "instance": "h:1", "job": "a"}, sort_keys=True):
                [(now, -2.5)],
        })
        self.assertEqual(self.series("rw_temp"),
                         [{"__name__": "rw_temp", "instance": "h:1", "job": "a"}])

    def test_bad_requests_get_400_and_store_nothing(self):
        now = int(time.time()) * 1000
        good = ([("__name__", "rw_bad_good")], [(now, 1)])
        cases = [
            ("bad snappy", b"\xff\xff\xff\xff\xff\xff", False, "invalid snappy block"),
            ("bad protobuf", rwproto.encode_write_request([good]) + b"\x0a\x09", True,
             "invalid protobuf WriteRequest"),
            ("duplicate label", rwproto.encode_write_request(
                [good, ([("__name__", "rw_bad"), ("a", "1"), ("a", "2")], [(now, 1)])]), True,
             'duplicate label name \\"a\\"'),
            ("bad metric name", rwproto.encode_write_request(
                [good, ([("__name__", "rw bad")], [(now, 1)])]), True, "invalid metric name"),
            ("no metric name", rwproto.encode_write_request(
                [good, ([("job", "x")], [(now, 1)])]), True, "has no metric name"),
            ("conflicting duplicate", rwproto.encode_write_request(
                [good, ([("__name__", "rw_bad_dup")], [(now, 1), (now, 2)])]), True,
             "duplicate sample"),
            ("too old", rwproto.encode_write_request(
                [good, ([("__name__", "rw_bad_old")], [(now, 1), (now - 6 * 3600 * 1000, 2)])]),
             True, "timeseries[1]: "),
            ("native histogram", rwproto.encode_write_request([good]) + rwproto.length_delimited(
                1, rwproto.encode_series([("__name__", "rw_bad_h")], []) +
                rwproto.length_delimited(4, rwproto.tag(1, 0) + rwproto.varint(1))), True,
             "native histograms are not supported"),
        ]
        for name, body, compress, want in cases:
            with self.subTest(name):
                status, resp = write(self.server, body, compress=compress)
                self.assertEqual(status, 400, resp)
                self.assertEqual(resp["status"], "error")
                self.assertEqual(resp["errorType"], "bad_data")
                self.assertIn(want.replace('\\"', '"'), resp["error"])
        self.assertEqual(self.series('{__name__=~"rw_bad.*"}'), [])

    def test_unsupported_content_type_or_encoding_gets_415(self):
        body = rwproto.snappy_block(rwproto.encode_write_request(
            [([("__name__", "rw_415")], [(int(time.time()) * 1000, 1)])]))
        for headers in ({"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                         "Content-Encoding": "snappy"},
                        {"Content-Type": "application/json", "Content-Encoding": "snappy"},
                        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}):
            status, _, _ = self.server.request("POST", "/api/v1/write", body=body, headers=headers)
            self.assertEqual(status, 415, headers)
        self.assertEqual(self.series("rw_415"), [])

    def test_metadata_is_stored_with_the_familys_samples(self):
        now = int(time.time()) * 1000
        status, resp = write(self.server, rwproto.encode_write_request(
            metadata=[("rw_req_duration_seconds", "histogram", "Request latency.", "seconds")]))
        self.assertEqual(status, 204, resp)
        status, resp = write(self.server, rwproto.encode_write_request(
            [([("__name__", "rw_req_duration_seconds_bucket"), ("le", "+Inf")], [(now, 3)])]))
        self.assertEqual(status, 204, resp)
        status, body = self.server.get_json("/api/v1/metadata", {"metric": "rw_req_duration_seconds"})
        self.assertEqual(status, 200)
        self.assertEqual(body["data"], {"rw_req_duration_seconds": [
            {"type": "histogram", "help": "Request latency.", "unit": "seconds"}]})

    def test_many_series_in_one_request(self):
        now = int(time.time()) * 1000
        series = [([("__name__", "rw_many"), ("i", str(i))], [(now - 1000, i), (now, i + 0.5)])
                  for i in range(3000)]
        status, resp = write(self.server, rwproto.encode_write_request(series))
        self.assertEqual(status, 204, resp)
        status, body = self.server.get_json("/api/v1/query",
                                            {"query": "count(rw_many)", "time": str(now / 1000)})
        self.assertEqual(body["data"]["result"][0]["value"][1], "3000")
        status, body = self.server.get_json("/api/v1/query",
                                            {"query": "sum(rw_many)", "time": str(now / 1000)})
        self.assertEqual(float(body["data"]["result"][0]["value"][1]), sum(i + 0.5 for i in range(3000)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """The real Prometheus on 127.0.0.1, data in `data_dir`, stopped by PID."""

    def __init__(self, data_dir, config, port):
        self.config_path = data_dir + ".yml"
        with open(self.config_path, "w") as f:
            f.write(config)
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file", self.config_path, "--storage.tsdb.path", data_dir,
             "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited: " + self.output())
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("prometheus did not become ready")

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def get_json(self, path, params=None):
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@unittest.skipUnless(os.access(PROMETHEUS, os.X_OK), "needs the real Prometheus at " + PROMETHEUS)
class PrometheusCompatibilityTest(unittest.TestCase):
    # Series compared sample by sample: a gauge, a counter and a classic histogram's buckets.
    SELECTORS = [
        'up{job="prom"}',
        'prometheus_tsdb_head_series{job="prom"}',
        'prometheus_http_requests_total{job="prom",handler="/metrics"}',
        'prometheus_http_request_duration_seconds_bucket{job="prom",handler="/metrics"}',
    ]

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="zw-rw-prom-")
        self.server = zwtest.Server().start()
        self.prom = None

    def tearDown(self):
        if self.prom:
            self.prom.stop()
        self.server.stop()
        self.server.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def zw_count(self, selector):
        status, body = self.server.get_json(
            "/api/v1/query", {"query": f"count_over_time({selector}[10m])", "time": str(time.time())})
        res = body["data"]["result"] if status == 200 else []
        return int(float(res[0]["value"][1])) if res else 0

    def test_prometheus_remote_write_matches_its_own_tsdb(self):
        data_dir = os.path.join(self.tmp, "prom")
        port = free_port()  # Prometheus scrapes itself; fixed before start so the config names it
        config = f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prom
    scrape_interval: 1s
    static_configs:
      - targets: ['127.0.0.1:{port}']
remote_write:
  - url: http://127.0.0.1:{self.server.port}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      max_samples_per_send: 500
    metadata_config:
      send_interval: 1s
"""
        self.prom = Prometheus(data_dir, config, port)
        start_s = time.time()
        deadline = start_s + 60
        while time.time() < deadline and self.zw_count('up{job="prom"}') < 15:
            time.sleep(0.5)
        self.assertGreaterEqual(self.zw_count('up{job="prom"}'), 15,
                                "remote-written samples did not arrive:\n" + self.prom.output())
        # Prometheus stops tailing its WAL before it flushes the queues, so its last
        # second or two may never be sent; compare up to a few seconds before the stop.
        at = time.time() - 5
        self.prom.stop()  # flushes its remote-write queue
        # Reopen Prometheus's TSDB without scraping or forwarding, to read what it stored.
        self.prom = Prometheus(data_dir, "global:\n  scrape_interval: 1m\n", free_port())
        window = int(at - start_s) + 30
        compared = 0
        counts = {}
        for sel in self.SELECTORS:
            with self.subTest(sel):
                want = raw_samples(self.prom.get_json, sel, at, window)
                got = raw_samples(self.server.get_json, sel, at, window)
                self.assertTrue(want, f"Prometheus has no {sel}")
                self.assertEqual(sorted(got), sorted(want))
                for key in want:
                    w, g = want[key], got[key]
                    self.assertEqual(len(g), len(w), key)
                    for (tw, vw), (tg, vg) in zip(w, g):
                        self.assertEqual(tg, tw, key)
                        self.assertTrue(vg == vw or (math.isnan(vg) and math.isnan(vw)),
                                        f"{key} at {tw}: {vg} != {vw}")
                    compared += len(w)
                counts[sel] = (len(want), sum(len(v) for v in want.values()))
        # Every selector matched series with samples (sel: (series, samples)).
        self.assertGreater(compared, 4 * 10, counts)
        # query_range over the same series and range gives the same points.
        for sel in self.SELECTORS[:2]:
            params = {"query": sel, "start": str(int(start_s)), "end": str(int(at)), "step": "1"}
            ws, want = self.prom.get_json("/api/v1/query_range", params)
            gs, got = self.server.get_json("/api/v1/query_range", params)
            self.assertEqual((gs, ws), (200, 200))
            norm = lambda body: sorted(  # noqa: E731
                (json.dumps(s["metric"], sort_keys=True), [(t, float(v)) for t, v in s["values"]])
                for s in body["data"]["result"])
            self.assertEqual(norm(got), norm(want), sel)
        # Metadata Prometheus sent is stored.
        status, body = self.server.get_json("/api/v1/metadata", {"metric": "prometheus_http_requests_total"})
        self.assertEqual(status, 200)
        self.assertEqual(body["data"]["prometheus_http_requests_total"][0]["type"], "counter")


if __name__ == "__main__":
    unittest.main()
