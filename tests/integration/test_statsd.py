"""StatsD/DogStatsD over UDP (--statsd.listen): lines sent from a Python UDP socket land as
the documented series (docs/statsd.md) after a flush, read back through /api/v1/query.
"""
import re
import socket
import time
import unittest

import zwtest

FLUSH = "200ms"


def start_server(extra=(), data_dir=None):
    server = zwtest.Server(data_dir=data_dir,
                           extra_args=["--statsd.listen", "127.0.0.1:0"] + list(extra))
    server.start()
    deadline = time.time() + 10
    while time.time() < deadline:
        m = re.search(r"statsd listening on udp://127\.0\.0\.1:(\d+)", server.output())
        if m:
            server.statsd_port = int(m.group(1))
            return server
        time.sleep(0.05)
    server.cleanup()
    raise RuntimeError("no statsd listening line in the log:\n" + server.output())


class ReadBack:
    """Reads what a flush wrote, through PromQL and /metrics (needs self.server)."""

    def query(self, q):
        status, body = self.server.get_json("/api/v1/query", {"query": q})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "success", body)
        return body["data"]["result"]

    def wait_value(self, q, want, timeout=10, rel=0.0):
        """Polls the instant query `q` until its one result equals `want` (within rel)."""
        deadline = time.time() + timeout
        got = None
        while time.time() < deadline:
            result = self.query(q)
            if len(result) == 1:
                got = float(result[0]["value"][1])
                if abs(got - want) <= rel * abs(want):
                    return result[0]
            time.sleep(0.05)
        self.fail(f"{q}: want {want}, last got {got} ({self.query(q)})")

    def self_metric(self, name):
        _, _, body = self.server.request("GET", "/metrics")
        m = re.search(r"^" + name + r" (\S+)$", body.decode(), re.M)
        self.assertIsNotNone(m, name)
        return float(m.group(1))


class StatsdTest(ReadBack, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server(["--statsd.flush-interval", FLUSH])
        cls.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    @classmethod
    def tearDownClass(cls):
        cls.sock.close()
        cls.server.stop()
        cls.server.cleanup()

    def send(self, *lines):
        self.sock.sendto("\n".join(lines).encode(), ("127.0.0.1", self.server.statsd_port))

    def test_counter_with_sample_rates(self):
        self.send("it.requests:1|c|@0.5", "it.requests:1|c|@0.5", "it.requests:4|c")
        r = self.wait_value('it_requests_total{job="statsd"}', 8)
        self.assertEqual(r["metric"], {"__name__": "it_requests_total", "job": "statsd"})
        self.send("it.requests:2|c")
        self.wait_value("it_requests_total", 10)  # a running total across flushes
        # The counter is written every flush, so rate() over it works.
        self.wait_value("count_over_time(it_requests_total[10s]) >= bool 3", 1)

    def test_gauge_absolute_and_relative(self):
        self.send("it.temp:20|g")
        self.wait_value("it_temp", 20)
        self.send("it.temp:+5|g")
        self.wait_value("it_temp", 25)
        self.send("it.temp:-7.5|g")
        self.wait_value("it_temp", 17.5)

    def test_timer_histogram_quantile(self):
        # 1..100 ms: the median is 50 ms; log buckets keep quantiles within 4.43 %.
        lines = [f"it.latency:{i}|ms" for i in range(1, 101)]
        self.send(*lines[:50])
        self.send(*lines[50:])
        self.wait_value("it_latency_seconds_count", 100)
        self.wait_value("it_latency_seconds_sum", 5.05, rel=1e-9)
        self.wait_value("histogram_quantile(0.5, it_latency_seconds_bucket)", 0.05, rel=0.0443)
        self.wait_value("histogram_quantile(0.9, it_latency_seconds_bucket)", 0.09, rel=0.0443)

    def test_histogram_and_distribution(self):
        self.send("it.size:100|h", "it.size:300:500|d", "it.size:200|h|@0.5")
        self.wait_value("it_size_count", 5)
        self.wait_value("it_size_sum", 1300)

    def test_set_counts_distinct_values(self):
        self.send("it.users:alice|s", "it.users:bob|s", "it.users:alice|s", "it.users:carol|s")
        self.wait_value("max_over_time(it_users[5s])", 3)
        self.wait_value("it_users", 0)  # the next intervals saw no values

    def test_dogstatsd_tags_become_labels(self):
        self.send("it.tagged:1|c|#env:prod,region.name:eu-west,canary|c:abc123|T1700000000")
        r = self.wait_value("it_tagged_total", 1)
        self.assertEqual(r["metric"], {"__name__": "it_tagged_total", "job": "statsd", "env": "prod",
                                       "region_name": "eu-west", "canary": "true"})
        self.send("it.tagged:2|c|#job:web")
        r = self.wait_value('it_tagged_total{job="web"}', 2)

    def test_bad_lines_are_counted_and_the_rest_kept(self):
        before = self.self_metric("zenwatch_statsd_bad_lines_total")
        ignored = self.self_metric("zenwatch_statsd_ignored_lines_total")
        self.send("it.mixed:abc|c", "it.mixed:1|zz", "_e{5,4}:title|text", "_sc|check|0",
                  "it.good:7|g")
        self.wait_value("it_good", 7)
        self.assertEqual(self.self_metric("zenwatch_statsd_bad_lines_total"), before + 2)
        self.assertEqual(self.self_metric("zenwatch_statsd_ignored_lines_total"), ignored + 2)
        deadline = time.time() + 5
        while "bad lines" not in self.server.output() and time.time() < deadline:
            time.sleep(0.05)
        self.assertRegex(self.server.output(), r'value "abc" is not a number|unknown type "zz"')
        self.assertGreater(self.self_metric("zenwatch_statsd_flushes_total"), 0)


class StatsdShutdownTest(unittest.TestCase):
    def test_lines_received_before_sigterm_are_flushed(self):
        # A flush interval far beyond the test: only the final flush on shutdown can store it.
        server = start_server(["--statsd.flush-interval", "1h"])
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"it.last:42|g", ("127.0.0.1", server.statsd_port))
            time.sleep(0.3)
            self.assertEqual(server.stop(), 0)
            again = zwtest.Server(data_dir=server.data_dir).start()
            try:
                status, body = again.get_json("/api/v1/query", {"query": "it_last"})
                self.assertEqual(status, 200)
                self.assertEqual([float(r["value"][1]) for r in body["data"]["result"]], [42.0])
            finally:
                again.stop()
                again.cleanup()
        finally:
            server.cleanup()

    def test_bad_flags_are_rejected(self):
        for args in (["--statsd.listen", "nonsense"], ["--statsd.flush-interval", "0s"]):
            server = zwtest.Server(extra_args=args)
            try:
                with self.assertRaises(RuntimeError) as ctx:
                    server.start()
                self.assertIn("--statsd.", str(ctx.exception))
            finally:
                server.cleanup()


if __name__ == "__main__":
    unittest.main()
