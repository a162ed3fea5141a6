"""Compatibility with real peers from Debian: zenwatch scrapes prometheus-node-exporter and
Prometheus 2.42's own /metrics and stores what they expose; the real Prometheus scrapes
zenwatch's /metrics without errors; promtool accepts zenwatch's text exposition.
Skipped, with a message, when a peer binary is missing."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from zwtest import Server

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool")

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch(port, path="/metrics", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        conn.close()


def parse_text(body):
    """Prometheus text 0.0.4 -> {(name, frozenset(labels.items())): float}."""
    out = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("unparsable line: " + line)
        labels = {k: bytes(v, "utf-8").decode("unicode_escape") for k, v in LABEL.findall(m.group(3) or "")}
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def wait_http(port, path, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if fetch(port, path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("nothing answered on 127.0.0.1:%d%s" % (port, path))


@unittest.skipUnless(os.path.exists(NODE_EXPORTER) and os.path.exists(PROMETHEUS),
                     "prometheus-node-exporter or prometheus is not installed (scripts/setup installs them)")
class ScrapeCompatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="zw-compat-")
        cls.procs = []
        cls.node_port = free_port()
        cls.procs.append(subprocess.Popen(
            [NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % cls.node_port,
             "--collector.disable-defaults", "--collector.cpu", "--collector.meminfo", "--collector.uname"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http(cls.node_port, "/metrics")

        # zenwatch first: Prometheus's config needs its port.
        cls.prom_port = free_port()
        cfg = os.path.join(cls.tmp, "zw.yml")
        with open(cfg, "w") as f:
            f.write("scrape_configs:\n"
                    "  - {job_name: node, scrape_interval: 1s, static_configs: [{targets: ['127.0.0.1:%d']}]}\n"
                    "  - {job_name: prom, scrape_interval: 1s, static_configs: [{targets: ['127.0.0.1:%d']}]}\n"
                    % (cls.node_port, cls.prom_port))
        cls.srv = Server(extra_args=["--config", cfg]).start()

        prom_cfg = os.path.join(cls.tmp, "prometheus.yml")
        with open(prom_cfg, "w") as f:
            f.write("global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                    "scrape_configs:\n"
                    "  - {job_name: zenwatch, static_configs: [{targets: ['127.0.0.1:%d']}]}\n"
                    "  - job_name: zenwatch-text\n"
                    "    params: {format: [text]}\n"
                    "    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % (cls.srv.port, cls.srv.port))
        cls.prom_log = open(os.path.join(cls.tmp, "prometheus.log"), "w")
        cls.procs.append(subprocess.Popen(
            [PROMETHEUS, "--config.file=" + prom_cfg, "--storage.tsdb.path=" + os.path.join(cls.tmp, "prom"),
             "--web.listen-address=127.0.0.1:%d" % cls.prom_port],
            stdout=cls.prom_log, stderr=subprocess.STDOUT))
        wait_http(cls.prom_port, "/-/ready", timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.srv.cleanup()
        for p in cls.procs:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        cls.prom_log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def zw_query(self, q):
        status, body = self.srv.get_json("/api/v1/query", {"query": q})
        self.assertEqual(status, 200, body)
        return body["data"]["result"]

    def last_scrape(self, job):
        _, body = self.srv.get_json("/api/v1/targets")
        for t in body["data"]["activeTargets"]:
            if t["scrapePool"] == job and t["health"] == "up":
                return t["lastScrape"]
        return None

    def scrape_between(self, job, port):
        """Peer exposition before and after a zenwatch scrape of it, and what zenwatch stored."""
        deadline = time.time() + 30
        while self.last_scrape(job) is None and time.time() < deadline:
            time.sleep(0.1)
        before_scrape = self.last_scrape(job)
        self.assertIsNotNone(before_scrape, "zenwatch never scraped %s successfully" % job)
        before = parse_text(fetch(port)[2])
        while self.last_scrape(job) == before_scrape and time.time() < deadline:
            time.sleep(0.05)
        after = parse_text(fetch(port)[2])
        return before, after

    def stored(self, selector):
        out = {}
        for s in self.zw_query(selector):
            labels = {k: v for k, v in s["metric"].items() if k not in ("job", "instance")}
            name = labels.pop("__name__")
            out[(name, frozenset(labels.items()))] = float(s["value"][1])
        return out

    def test_node_exporter_series_and_values_match(self):
        before, after = self.scrape_between("node", self.node_port)
        stored = self.stored('node_cpu_seconds_total{job="node"}')
        exposed = {k for k in after if k[0] == "node_cpu_seconds_total"}
        self.assertTrue(exposed)
        self.assertEqual(set(stored), exposed)  # the same label sets, exactly
        for k, v in stored.items():  # a counter read between two reads of the peer
            self.assertLessEqual(before[k], v, k)
            self.assertLessEqual(v, after[k], k)
        for name in ("node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes", "node_uname_info"):
            stored = self.stored('%s{job="node"}' % name)
            exposed = {k: v for k, v in after.items() if k[0] == name}
            self.assertEqual(stored, exposed, name)
        up = self.zw_query('up{job="node"}')
        self.assertEqual(up[0]["value"][1], "1")

    def test_prometheus_series_and_values_match(self):
        before, after = self.scrape_between("prom", self.prom_port)
        for name in ("prometheus_build_info", "prometheus_config_last_reload_successful",
                     "prometheus_tsdb_lowest_timestamp_seconds"):
            stored = self.stored('%s{job="prom"}' % name)
            exposed = {k: v for k, v in after.items() if k[0] == name}
            self.assertTrue(exposed, name)
            self.assertEqual(stored, exposed, name)
        # Histogram bucket label sets; zenwatch spells le canonically ("1" is stored as "1.0",
        # as Prometheus 3 does), so bounds are compared as numbers.
        def by_bound(keys):
            return {(k[0], frozenset((n, float(v) if n == "le" else v) for n, v in k[1])) for k in keys}
        stored = by_bound(self.stored('prometheus_http_request_duration_seconds_bucket{job="prom",handler="/metrics"}'))
        exposed = by_bound(k for k in after if k[0] == "prometheus_http_request_duration_seconds_bucket"
                           and dict(k[1]).get("handler") == "/metrics")
        self.assertTrue(exposed)
        self.assertEqual(stored, exposed)

    def test_prometheus_scrapes_zenwatch(self):
        deadline = time.time() + 60
        targets = []
        while time.time() < deadline:
            _, _, body = fetch(self.prom_port, "/api/v1/targets")
            targets = json.loads(body)["data"]["activeTargets"]
            if len(targets) == 2 and all(t["health"] == "up" for t in targets):
                break
            time.sleep(0.5)
        self.assertEqual(len(targets), 2, targets)
        for t in targets:
            self.assertEqual((t["health"], t["lastError"]), ("up", ""), t)
        _, _, body = fetch(self.prom_port, "/api/v1/query?query=up")
        result = json.loads(body)["data"]["result"]
        self.assertEqual(sorted((r["metric"]["job"], r["value"][1]) for r in result),
                         [("zenwatch", "1"), ("zenwatch-text", "1")])
        # What Prometheus stored of zenwatch matches what zenwatch exposes (names).
        _, _, body = fetch(self.prom_port, "/api/v1/label/__name__/values?match[]=" +
                           "%7Bjob%3D%22zenwatch%22%7D")
        names = set(json.loads(body)["data"])
        _, _, text = fetch(self.srv.port)
        exposed = {k[0] for k in parse_text(text)}
        self.assertTrue(exposed <= names, exposed - names)

    @unittest.skipUnless(PROMTOOL, "promtool is not installed")
    def test_promtool_accepts_text_exposition(self):
        status, ctype, text = fetch(self.srv.port)
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
