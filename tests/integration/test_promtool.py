"""The real promtool from Debian (Prometheus 2.42) against zenwatch: health, readiness,
instant and range queries, series and labels."""
import json
import shutil
import subprocess
import time
import unittest

from zwtest import Server

PROMTOOL = shutil.which("promtool")
NOW_MS = int(time.time() * 1000)


@unittest.skipUnless(PROMTOOL, "promtool is not installed (scripts/setup installs Debian's prometheus)")
class PromtoolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()
        cls.url = "http://127.0.0.1:%d" % cls.srv.port
        events = [{"source": "pt", "domain": "interfaces", "type": "counter", "name": "http_requests",
                   "value": 5, "labels": {"endpoint": e}, "timestamp": NOW_MS - 120000 + i * 15000}
                  for i in range(8) for e in ("/api", "/ui")]
        status, body = cls.srv.push(events)
        assert status == 204, body

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def promtool(self, *args):
        r = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_check_metrics_accepts_our_exposition(self):
        # (`promtool check healthy|ready` arrived after 2.42; Debian's promtool lacks them.)
        _, _, body = self.srv.request("GET", "/metrics")
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=body.decode(), capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_query_instant(self):
        out = self.promtool("query", "instant", "-o", "json", self.url,
                            'sum by (endpoint) (interfaces_http_requests_total)')
        result = {r["metric"]["endpoint"]: r["value"][1] for r in json.loads(out)}
        self.assertEqual(result, {"/api": "40", "/ui": "40"})

    def test_query_range(self):
        start = (NOW_MS - 120000) / 1000
        out = self.promtool("query", "range", "-o", "json", "--start", str(start), "--end", str(start + 105),
                            "--step", "15s", self.url, 'interfaces_http_requests_total{endpoint="/api"}')
        [series] = json.loads(out)
        self.assertEqual([v[1] for v in series["values"]], [str(5 * (i + 1)) for i in range(8)])

    def test_query_series_and_labels(self):
        out = self.promtool("query", "series", "--match", "interfaces_http_requests_total", self.url)
        self.assertIn('endpoint="/api"', out)
        self.assertIn('endpoint="/ui"', out)
        out = self.promtool("query", "labels", self.url, "endpoint")
        self.assertEqual(sorted(out.split()), ["/api", "/ui"])


if __name__ == "__main__":
    unittest.main()
