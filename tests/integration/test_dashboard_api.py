"""The dashboard API: /api/health, /api/performance and query_range's max_points."""
import json
import os
import tempfile
import time
import unittest

import zwtest


def event(domain, name, value, kind="counter", ts=None, labels=None):
    e = {"source": "it", "domain": domain, "type": kind, "name": name, "value": value}
    if ts is not None:
        e["timestamp"] = ts
    if labels:
        e["labels"] = labels
    return e


class DashboardApiTest(unittest.TestCase):
    def setUp(self):
        self.server = zwtest.Server().start()

    def tearDown(self):
        self.server.cleanup()

    def push(self, events):
        status, body = self.server.push(events)
        self.assertIn(status, (200, 204), body)

    def health(self):
        status, body = self.server.get_json("/api/health")
        self.assertIn(status, (200, 204), body)
        self.assertEqual(body["status"], "success")
        return {d["name"]: d for d in body["data"]["domains"]}, body["data"]

    def test_unknown_without_data(self):
        domains, data = self.health()
        self.assertEqual(list(domains), ["neural", "coordination", "database", "memory", "interfaces"])
        for d in domains.values():
            self.assertEqual(d["status"], "unknown")
            self.assertIn("no sample in the last 5m", d["reason"])
            self.assertIsNone(d["last_sample"])
            self.assertIsNone(d["request_rate"])
            self.assertEqual(set(d["sparklines"]), {"request_rate", "error_ratio", "latency_p95_seconds"})
        self.assertEqual(set(data["totals"]), {"active_series", "ingest_rate", "firing_alerts"})
        self.assertAlmostEqual(data["time"], time.time(), delta=5)

    def test_statuses_cross_thresholds(self):
        now = int(time.time() * 1000)
        for ts in (now - 30000, now):
            self.push([
                event("neural", "requests", 100, ts=ts),                      # healthy
                event("database", "requests", 100, ts=ts),
                event("database", "errors", 2, ts=ts),                        # 2 %: degraded
                event("memory", "requests", 100, ts=ts),
                event("memory", "errors", 10, ts=ts),                         # 10 %: unhealthy
                event("coordination", "requests", 100, ts=ts),
                event("coordination", "sync", 1000, kind="timer", ts=ts),     # 1 s: degraded
                event("interfaces", "request", 3000, kind="timer", ts=ts),    # 3 s: unhealthy
            ])
        domains, data = self.health()
        self.assertEqual(domains["neural"]["status"], "healthy", domains["neural"])
        self.assertGreater(domains["neural"]["request_rate"], 0)
        self.assertEqual(domains["neural"]["error_ratio"], 0)
        self.assertAlmostEqual(domains["neural"]["last_sample"], now / 1000, delta=0.01)
        self.assertEqual(domains["database"]["status"], "degraded", domains["database"])
        self.assertAlmostEqual(domains["database"]["error_ratio"], 0.02, delta=0.001)
        self.assertIn("error ratio", domains["database"]["reason"])
        self.assertEqual(domains["memory"]["status"], "unhealthy", domains["memory"])
        self.assertIn("error ratio", domains["memory"]["reason"])
        self.assertEqual(domains["coordination"]["status"], "degraded", domains["coordination"])
        self.assertIn("latency", domains["coordination"]["reason"])
        self.assertEqual(domains["interfaces"]["status"], "unhealthy", domains["interfaces"])
        self.assertGreater(domains["interfaces"]["latency_p95_seconds"], 2)
        spark = domains["neural"]["sparklines"]["request_rate"]
        self.assertTrue(0 < len(spark) <= 60)
        self.assertIsInstance(spark[-1][1], str)
        self.assertGreater(data["totals"]["active_series"], 5)

    def test_config_thresholds_and_domains(self):
        fd, path = tempfile.mkstemp(suffix=".yml")
        with os.fdopen(fd, "w") as f:
            f.write("dashboard:\n  domains:\n    - name: billing\n      thresholds:\n"
                    "        error_ratio: {degraded: 0.5, unhealthy: 0.9}\n")
        server = zwtest.Server(extra_args=["--config", path]).start()
        try:
            now = int(time.time() * 1000)
            for ts in (now - 30000, now):
                status, body = server.push([event("billing", "requests", 100, ts=ts),
                                            event("billing", "errors", 10, ts=ts)])
                self.assertIn(status, (200, 204), body)
            status, body = server.get_json("/api/health")
            domains = body["data"]["domains"]
            self.assertEqual([d["name"] for d in domains], ["billing"])
            self.assertEqual(domains[0]["status"], "healthy", domains[0])  # 10 % < 50 %
        finally:
            server.cleanup()
            os.unlink(path)
        # A bad section stops the server at start with a message naming the key.
        fd, path = tempfile.mkstemp(suffix=".yml")
        with os.fdopen(fd, "w") as f:
            f.write("dashboard:\n  domains:\n    - name: x\n      latency: 'histogram_quantile(0.9'\n")
        bad = zwtest.Server(extra_args=["--config", path])
        try:
            with self.assertRaises(RuntimeError) as cm:
                bad.start()
            self.assertIn("dashboard.domains[0].latency", str(cm.exception))
        finally:
            bad.cleanup()
            os.unlink(path)

    def test_performance_shape_and_errors(self):
        now = int(time.time() * 1000)
        for i in range(5):
            ts = now - (4 - i) * 15000
            self.push([event("neural", "requests", 10, ts=ts),
                       event("neural", "errors", 1, ts=ts),
                       event("neural", "infer", 200, kind="timer", ts=ts)])
        status, body = self.server.get_json("/api/performance", {"domain": "neural", "range": "10m", "step": "15s"})
        self.assertIn(status, (200, 204), body)
        data = body["data"]
        self.assertEqual(data["domain"], "neural")
        self.assertEqual(data["step"], 15)
        self.assertAlmostEqual(data["end"] - data["start"], 600, delta=0.01)
        self.assertEqual(set(data["series"]), {"request_rate", "error_rate", "error_ratio",
                                               "latency_p50_seconds", "latency_p95_seconds",
                                               "latency_p99_seconds"})
        self.assertTrue(data["series"]["request_rate"])
        self.assertTrue(data["series"]["latency_p95_seconds"])
        self.assertLessEqual(len(data["top_series"]), 10)
        names = [s["metric"]["__name__"] for s in data["top_series"]]
        self.assertEqual(names[0], "neural_requests_total")
        status, body = self.server.get_json("/api/performance", {"domain": "neural", "range": "10m",
                                                                 "step": "1s", "max_points": "7"})
        self.assertEqual(status, 200)
        for k, pts in body["data"]["series"].items():
            self.assertLessEqual(len(pts), 7, k)
        # Default range: an hour.
        status, body = self.server.get_json("/api/performance", {"domain": "neural"})
        self.assertEqual(status, 200)
        self.assertAlmostEqual(body["data"]["end"] - body["data"]["start"], 3600, delta=0.01)

        status, body = self.server.get_json("/api/performance", {"domain": "x"})
        self.assertEqual(status, 404)
        self.assertEqual(body, {"status": "error", "errorType": "bad_data", "error": "unknown domain \"x\""})
        status, body = self.server.get_json("/api/performance")
        self.assertEqual(status, 400)
        self.assertIn("domain", body["error"])
        status, body = self.server.get_json("/api/performance", {"domain": "neural", "range": "soon"})
        self.assertEqual(status, 400)
        self.assertIn("range", body["error"])

    def test_query_range_max_points(self):
        now = int(time.time())
        base = (now - 600) * 1000
        evs = [event("memory", "heap", (1000 if i == 137 else i % 7), kind="gauge", ts=base + i * 1000)
               for i in range(300)]
        self.push(evs)
        params = {"query": "memory_heap", "start": str(base / 1000), "end": str(base / 1000 + 299), "step": "1"}
        status, full = self.server.get_json("/api/v1/query_range", params)
        self.assertEqual(status, 200, full)
        full_values = full["data"]["result"][0]["values"]
        self.assertEqual(len(full_values), 300)
        status, red = self.server.get_json("/api/v1/query_range", dict(params, max_points="20"))
        self.assertEqual(status, 200, red)
        self.assertEqual(red["data"]["resultType"], "matrix")
        values = red["data"]["result"][0]["values"]
        self.assertLessEqual(len(values), 20)
        self.assertEqual(values[0], full_values[0])
        self.assertEqual(values[-1], full_values[-1])
        self.assertIn([base / 1000 + 137, "1000"], values)  # the spike survives
        status, body = self.server.get_json("/api/v1/query_range", dict(params, max_points="0"))
        self.assertEqual(status, 400)
        self.assertIn("max_points", body["error"])
        status, same = self.server.get_json("/api/v1/query_range", dict(params, max_points="1000"))
        self.assertEqual(same["data"]["result"][0]["values"], full_values)


if __name__ == "__main__":
    unittest.main()
