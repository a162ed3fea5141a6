"""zenwatch against the real Prometheus 2.42 on the same data: the same PromQL queries must
give identical results (same series, same timestamps, floats equal to 1e-9 relative, NaN
equal to NaN) and the same stats.samples.totalQueryableSamples.

The dataset (50 series over 2 h at 15 s: counters with resets, gauges, histogram buckets,
gaps longer than the lookback) is written once as OpenMetrics and backfilled into a
temporary Prometheus data directory with `promtool tsdb create-blocks-from openmetrics`, and
pushed into zenwatch through POST /api/v1/push (as gauges, so values are taken as given).
Staleness markers cannot be written either way, so a second, recent dataset with stale
markers goes to both through remote_write (the same bytes to zenwatch's /api/v1/write and
Prometheus's receiver). Prometheus runs from /usr/bin/prometheus on 127.0.0.1 and a free port
and is stopped by PID.
"""
import json
import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from zwtest import Server

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool")
STEP_S = 15
POINTS = 2 * 3600 // STEP_S  # 2 h
# Whole hours, three hours ago: both systems accept it and 2 h blocks align.
BASE_S = (int(time.time()) // 3600 - 3) * 3600
END_S = BASE_S + (POINTS - 1) * STEP_S
DOMAIN = "compat"
SOURCE = "gen"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_dataset():
    """Returns {(name, ((label, value), ...)): [(t_s, value)]}; 50 series."""
    rnd = random.Random(42)
    data = {}

    def add(name, labels, points):
        full = dict(labels, domain=DOMAIN, source=SOURCE)
        data[(DOMAIN + "_" + name, tuple(sorted(full.items())))] = points

    # 16 counters with resets and uneven increments.
    for job in ("api", "web"):
        for inst in range(8):
            v, pts = 0.0, []
            for i in range(POINTS):
                if rnd.random() < 0.01:
                    v = 0.0  # reset
                v += rnd.choice([0, 1, 2, 5, 10, 0.5])
                pts.append((BASE_S + i * STEP_S, v))
            add("requests_total", {"job": job, "instance": "i%d" % inst}, pts)
    # 14 gauges, some with gaps longer than the 5 m lookback.
    for k in range(14):
        pts = []
        for i in range(POINTS):
            if k % 3 == 0 and 100 <= i < 140:
                continue  # a 10 m gap
            if k % 5 == 1 and i % 97 == 0:
                continue  # a single missing scrape
            pts.append((BASE_S + i * STEP_S, round(rnd.uniform(-50, 150), 3)))
        add("temperature", {"room": "r%d" % k, "floor": str(k % 3)}, pts)
    # 2 histograms x 10 buckets (le, cumulative).
    bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"]
    for svc in ("auth", "cart"):
        counts = [0.0] * len(bounds)
        series = [[] for _ in bounds]
        for i in range(POINTS):
            for _ in range(rnd.randint(0, 6)):
                x = rnd.expovariate(1.0)
                for b, le in enumerate(bounds):
                    if le == "+Inf" or x <= float(le):
                        counts[b] += 1
            for b in range(len(bounds)):
                series[b].append((BASE_S + i * STEP_S, counts[b]))
        for b, le in enumerate(bounds):
            add("latency_seconds_bucket", {"service": svc, "le": le}, series[b])
    assert len(data) == 50, len(data)
    return data


def openmetrics(data):
    out = []
    for (name, labels), pts in sorted(data.items()):
        lab = ",".join('%s="%s"' % (k, v) for k, v in labels)
        for t, v in pts:
            out.append("%s{%s} %s %d" % (name, lab, repr(float(v)), t))
    out.append("# EOF")
    return "\n".join(out) + "\n"


def push_events(data):
    events = []
    for (name, labels), pts in data.items():
        extra = {k: v for k, v in labels if k not in ("domain", "source")}
        for t, v in pts:
            events.append({"source": SOURCE, "domain": DOMAIN, "type": "gauge",
                           "name": name[len(DOMAIN) + 1:], "value": v, "labels": extra,
                           "timestamp": t * 1000})
    events.sort(key=lambda e: e["timestamp"])
    return events


# Recent data with staleness markers, after the backfilled blocks (Prometheus's head only
# accepts samples newer than its newest block and within an hour of each other).
STALE_END_S = (int(time.time()) // 15) * 15 - 60
STALE_START_S = STALE_END_S - 40 * 60
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def stale_dataset():
    """{labels tuple: [(t_ms, value)]}: 6 series that go stale and come back."""
    data = {}
    n = (STALE_END_S - STALE_START_S) // STEP_S + 1
    for k in range(6):
        pts = []
        for i in range(n):
            t = (STALE_START_S + i * STEP_S) * 1000
            if (i // 20) % 3 == 2 and k % 2 == 0:
                # Stale for 5 minutes: a marker, then nothing.
                if i % 20 == 0:
                    pts.append((t, STALE_NAN))
                continue
            if k % 2 == 1 and i == n // 2:
                pts.append((t, STALE_NAN))  # one marker, then the series resumes
                continue
            pts.append((t, float(i * (k + 1) % 37)))
        labels = (("__name__", "stale_metric"), ("k", str(k)), ("kind", "odd" if k % 2 else "even"))
        data[labels] = pts
    return data


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    if wire == 2:
        return varint(num << 3 | 2) + varint(len(payload)) + payload
    return varint(num << 3 | wire) + payload


def write_request(data):
    """A remote_write 1.0 body: protobuf WriteRequest, snappy block format (one literal)."""
    body = bytearray()
    for labels, pts in data.items():
        ts = bytearray()
        for name, value in sorted(labels):
            ts += field(1, 2, field(1, 2, name.encode()) + field(2, 2, value.encode()))
        for t, v in pts:
            ts += field(2, 2, field(1, 1, struct.pack("<d", v)) + field(2, 0, varint(t)))
        body += field(1, 2, bytes(ts))
    raw = bytes(body)
    # Snappy: the uncompressed length, then one literal of 4-byte length (tag 63 << 2).
    return varint(len(raw)) + bytes([63 << 2]) + struct.pack("<I", len(raw) - 1) + raw


STALE_QUERIES = [
    "stale_metric",
    "count_over_time(stale_metric[5m])",
    "last_over_time(stale_metric[10m])",
    "rate(stale_metric[5m])",
    "sum by (kind) (stale_metric)",
    "timestamp(stale_metric)",
    "absent_over_time(stale_metric{k=\"0\"}[2m])",
    "max_over_time(stale_metric[3m:30s])",
]

T1, T2, T3 = BASE_S + 3600, BASE_S + 5400 + 7, END_S
INSTANT_QUERIES = [
    'compat_requests_total{job="api"}',
    'compat_temperature',
    'compat_temperature{room=~"r1.*"}',
    'rate(compat_requests_total[5m])',
    'irate(compat_requests_total[5m])',
    'increase(compat_requests_total[10m])',
    'resets(compat_requests_total[1h])',
    'changes(compat_temperature[30m])',
    'sum by (job) (rate(compat_requests_total[5m]))',
    'sum without (instance) (rate(compat_requests_total[1m]))',
    'histogram_quantile(0.9, sum by (le) (rate(compat_latency_seconds_bucket[5m])))',
    'histogram_quantile(0.5, rate(compat_latency_seconds_bucket[10m]))',
    'topk(3, compat_temperature)',
    'bottomk(2, rate(compat_requests_total[5m]))',
    'avg_over_time(compat_temperature[10m])',
    'max_over_time(compat_temperature[1h])',
    'min_over_time(compat_temperature[7m])',
    'stddev_over_time(compat_temperature[20m])',
    'quantile_over_time(0.3, compat_temperature[15m])',
    'count_over_time(compat_temperature[10m])',
    'last_over_time(compat_temperature[10m])',
    'compat_requests_total offset 30m',
    'compat_temperature @ %d' % (BASE_S + 1800),
    'rate(compat_requests_total[5m] @ %d)' % (BASE_S + 2700),
    'max_over_time(rate(compat_requests_total[2m])[30m:1m])',
    'avg_over_time(sum(compat_temperature)[20m:45s])',
    'compat_requests_total / on(job, instance) group_left compat_requests_total offset 5m',
    'compat_temperature > on(floor) group_left avg by (floor) (compat_temperature)',
    'sum by (job) (compat_requests_total) / ignoring(job) group_left sum(compat_requests_total)',
    'compat_temperature and on(room) compat_temperature > 50',
    'compat_temperature unless compat_temperature < 0',
    'rate(compat_requests_total[5m]) or vector(0)',
    'label_replace(compat_temperature, "r", "$1", "room", "r(.*)")',
    'label_join(compat_requests_total, "id", "/", "job", "instance")',
    'absent(compat_nothing{job="x"})',
    'absent(compat_temperature)',
    'deriv(compat_temperature[10m])',
    'predict_linear(compat_temperature[10m], 600)',
    'delta(compat_temperature[10m])',
    'idelta(compat_temperature[5m])',
    'holt_winters(compat_temperature[10m], 0.3, 0.6)',
    'count_values("v", floor(compat_temperature / 50))',
    'quantile by (floor) (0.75, compat_temperature)',
    'stddev by (floor) (compat_temperature)',
    'clamp(compat_temperature, 0, 100) * 2 - 1',
    'abs(compat_temperature) ^ 0.5',
    'timestamp(compat_temperature)',
    'sort_desc(sum by (service) (rate(compat_latency_seconds_bucket{le="+Inf"}[5m])))',
    'scalar(sum(compat_temperature)) * time()',
    'group by (floor) (compat_temperature)',
]
RANGE_QUERIES = [
    ('rate(compat_requests_total[5m])', 60),
    ('sum by (job) (increase(compat_requests_total[10m]))', 300),
    ('compat_temperature', 15),
    ('compat_temperature', 97),
    ('histogram_quantile(0.99, sum by (le, service) (rate(compat_latency_seconds_bucket[5m])))', 120),
    ('avg_over_time(compat_temperature[10m])', 60),
    ('topk(2, compat_temperature)', 600),
    ('compat_temperature @ end()', 300),
    ('max_over_time(compat_temperature[30m:1m])', 600),
    ('compat_requests_total offset 10m - compat_requests_total', 180),
    ('absent_over_time(compat_temperature{room="r0"}[1m])', 60),
    ('vector(1) + time()', 900),
]


def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def normalise(data):
    """The result as {labels: [(t, value)]} (a scalar as one series with no labels)."""
    kind, res = data["resultType"], data["result"]
    if kind == "scalar":
        return {(): [(float(res[0]), float(res[1]))]}
    out = {}
    for s in res:
        key = tuple(sorted(s["metric"].items()))
        pts = [s["value"]] if kind == "vector" else s["values"]
        out[key] = [(float(t), float(v)) for t, v in pts]
    return out


@unittest.skipUnless(os.path.exists(PROMETHEUS) and PROMTOOL,
                     "/usr/bin/prometheus or promtool is missing (scripts/setup installs them)")
class PromqlCompatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="zw-compat-")
        cls.prom = None
        cls.srv = None
        try:
            cls._start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        data = make_dataset()
        om = os.path.join(cls.tmp, "data.om")
        with open(om, "w") as f:
            f.write(openmetrics(data))
        prom_dir = os.path.join(cls.tmp, "prom")
        os.makedirs(prom_dir)
        r = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", om, prom_dir],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        cfg = os.path.join(cls.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        port = free_port()
        cls.prom_log = open(os.path.join(cls.tmp, "prometheus.log"), "w")
        cls.prom = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" + prom_dir,
             "--web.listen-address=127.0.0.1:%d" % port, "--storage.tsdb.retention.time=30d",
             "--web.enable-remote-write-receiver"],
            stdout=cls.prom_log, stderr=subprocess.STDOUT)
        cls.prom_url = "http://127.0.0.1:%d" % port

        cls.srv = Server().start()
        events = push_events(data)
        for i in range(0, len(events), 50000):
            status, body = cls.srv.push(events[i:i + 50000])
            assert status == 204, body

        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(cls.prom_url + "/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if cls.prom.poll() is not None or time.time() > deadline:
                raise RuntimeError("prometheus did not become ready")
            time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        if cls.prom is not None and cls.prom.poll() is None:
            os.kill(cls.prom.pid, signal.SIGTERM)
            try:
                cls.prom.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(cls.prom.pid, signal.SIGKILL)
                cls.prom.wait()
        if getattr(cls, "prom_log", None):
            cls.prom_log.close()
        if cls.srv is not None:
            cls.srv.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def prometheus(self, path, params):
        url = self.prom_url + path + "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.loads(resp.read())

    def compare(self, what, path, params):
        params = dict(params, stats="all")
        want = self.prometheus(path, params)
        self.assertEqual(want["status"], "success", (what, want))
        status, got = self.srv.get_json(path, params)
        self.assertEqual(status, 200, (what, got))
        self.assertEqual(got["data"]["resultType"], want["data"]["resultType"], what)
        w, g = normalise(want["data"]), normalise(got["data"])
        self.assertEqual(sorted(g), sorted(w), "%s: series differ" % what)
        for key, wpts in w.items():
            gpts = g[key]
            self.assertEqual([t for t, _ in gpts], [t for t, _ in wpts], "%s %s: timestamps" % (what, key))
            for (t, gv), (_, wv) in zip(gpts, wpts):
                self.assertTrue(close(gv, wv), "%s %s at %s: zenwatch %r, prometheus %r" % (what, key, t, gv, wv))
        # The samples the selectors read are counted as Prometheus counts them.
        self.assertEqual(got["data"]["stats"]["samples"]["totalQueryableSamples"],
                         want["data"]["stats"]["samples"]["totalQueryableSamples"], "%s: stats" % what)
        return sum(len(p) for p in w.values())

    def test_instant_queries(self):
        self.assertGreaterEqual(len(INSTANT_QUERIES), 40)
        points = 0
        for q in INSTANT_QUERIES:
            returned = 0
            for t in (T1, T2, T3):
                with self.subTest(query=q, time=t):
                    returned += self.compare("%s @%d" % (q, t), "/api/v1/query", {"query": q, "time": t})
            if q != "absent(compat_temperature)":  # the one query meant to be empty
                self.assertGreater(returned, 0, "%s returns nothing: the comparison proves little" % q)
            points += returned
        self.assertGreater(points, 1000)

    def remote_write(self, url_or_none, body):
        headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                   "X-Prometheus-Remote-Write-Version": "0.1.0"}
        if url_or_none is None:
            status, _, resp = self.srv.request("POST", "/api/v1/write", body=body, headers=headers)
            return status, resp
        req = urllib.request.Request(url_or_none, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_staleness_markers_through_remote_write(self):
        body = write_request(stale_dataset())
        status, resp = self.remote_write(None, body)
        if status in (404, 405):
            self.skipTest("this zenwatch has no /api/v1/write")
        self.assertEqual(status, 204, resp)
        status, resp = self.remote_write(self.prom_url + "/api/v1/write", body)
        self.assertEqual(status, 204, resp)
        points = 0
        for q in STALE_QUERIES:
            for t in range(STALE_START_S + 120, STALE_END_S + 400, 97):
                with self.subTest(query=q, time=t):
                    points += self.compare("%s @%d" % (q, t), "/api/v1/query", {"query": q, "time": t})
            with self.subTest(query=q, range=True):
                points += self.compare("%s range" % q, "/api/v1/query_range",
                                       {"query": q, "start": STALE_START_S, "end": STALE_END_S + 400, "step": 20})
        self.assertGreater(points, 1000)

    def test_range_queries(self):
        points = 0
        for q, step in RANGE_QUERIES:
            with self.subTest(query=q, step=step):
                n = self.compare("%s step %d" % (q, step), "/api/v1/query_range",
                                       {"query": q, "start": BASE_S + 600, "end": END_S, "step": step})
                self.assertGreater(n, 0, "%s returns nothing" % q)
                points += n
        self.assertGreater(points, 10000)


if __name__ == "__main__":
    unittest.main()
