"""zenwatch scrapes a real HTTP /metrics endpoint (served by this test) and itself."""
import http.server
import os
import tempfile
import threading
import time
import unittest

from zwtest import Server

BODY = b"""# HELP demo_requests_total Requests handled.
# TYPE demo_requests_total counter
demo_requests_total{code="200"} 42
demo_requests_total{code="500"} 3
# TYPE demo_temperature gauge
demo_temperature 21.5
"""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


class ScrapeTest(unittest.TestCase):
    def test_scrapes_a_target_and_itself(self):
        exporter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=exporter.serve_forever, daemon=True).start()
        port = exporter.server_address[1]
        fd, cfg = tempfile.mkstemp(suffix=".yml")
        with os.fdopen(fd, "w") as f:
            f.write("scrape_configs:\n"
                    "  - job_name: demo\n"
                    "    scrape_interval: 1s\n"
                    "    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n"
                    "        labels: {env: test}\n"
                    "  - job_name: broken\n"
                    "    scrape_interval: 1s\n"
                    "    static_configs: [{targets: ['127.0.0.1:1']}]\n" % port)
        srv = Server(extra_args=["--config", cfg]).start()
        try:
            deadline = time.time() + 20
            targets = {}
            while time.time() < deadline:
                status, body = srv.get_json("/api/v1/targets")
                self.assertEqual(status, 200)
                targets = {t["scrapePool"]: t for t in body["data"]["activeTargets"]}
                if targets.get("demo", {}).get("health") == "up" and targets.get("broken", {}).get("health") == "down":
                    break
                time.sleep(0.2)
            self.assertEqual(targets["demo"]["health"], "up", targets)
            self.assertEqual(targets["demo"]["labels"], {"env": "test", "instance": "127.0.0.1:%d" % port, "job": "demo"})
            self.assertEqual(targets["demo"]["scrapeUrl"], "http://127.0.0.1:%d/metrics" % port)
            self.assertEqual(targets["broken"]["health"], "down")
            self.assertNotEqual(targets["broken"]["lastError"], "")
            self.assertIn("zenwatch", targets)  # the default self-scrape job
            status, body = srv.get_json("/api/v1/series", {"match[]": '{job="demo"}'})
            names = sorted({s["__name__"] for s in body["data"]})
            self.assertEqual(names, ["demo_requests_total", "demo_temperature", "scrape_duration_seconds",
                                     "scrape_samples_post_metric_relabeling", "scrape_samples_scraped",
                                     "scrape_series_added", "up"])
            status, body = srv.get_json("/api/v1/series", {"match[]": 'up{job="broken"}'})
            self.assertEqual(len(body["data"]), 1)
            status, body = srv.get_json("/api/v1/metadata", {"metric": "demo_requests_total"})
            self.assertEqual(body["data"]["demo_requests_total"][0]["help"], "Requests handled.")
        finally:
            srv.stop()
            srv.cleanup()
            exporter.shutdown()
            exporter.server_close()
            os.unlink(cfg)

    def test_bad_scrape_config_fails_at_start(self):
        fd, cfg = tempfile.mkstemp(suffix=".yml")
        with os.fdopen(fd, "w") as f:
            f.write("scrape_configs:\n  - job_name: x\n    scrape_interval: 1s\n    scrape_timeout: 2s\n")
        srv = Server(extra_args=["--config", cfg])
        try:
            with self.assertRaises(RuntimeError) as ctx:
                srv.start()
            self.assertIn("greater than scrape_interval", str(ctx.exception))
        finally:
            srv.cleanup()
            os.unlink(cfg)


if __name__ == "__main__":
    unittest.main()
