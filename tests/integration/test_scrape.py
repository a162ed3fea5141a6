"""zenwatch scrapes a real HTTP /metrics endpoint (served by this test) and itself."""
import base64
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
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


AUTH = {
    "/bearer": "Bearer s3cret",
    "/basic": "Basic " + base64.b64encode(b"scraper:pa ss").decode(),
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        if path not in ("/metrics", "/bearer", "/basic"):
            self.send_response(404)
            self.end_headers()
            return
        if path in AUTH and self.headers.get("Authorization") != AUTH[path]:
            self.send_response(401)
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

    def test_relabelling_auth_file_sd_and_reload(self):
        exporter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=exporter.serve_forever, daemon=True).start()
        port = exporter.server_address[1]
        tmp = tempfile.mkdtemp(prefix="zw-scrape-it-")
        cfg = os.path.join(tmp, "zw.yml")
        sd = os.path.join(tmp, "targets.json")
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write("s3cret\n")

        def write_sd(shards):
            tmp_path = sd + ".tmp"
            with open(tmp_path, "w") as f:
                json.dump([{"targets": ["127.0.0.1:%d" % port], "labels": {"shard": s}} for s in shards], f)
            os.replace(tmp_path, sd)

        def write_cfg(extra=""):
            with open(cfg, "w") as f:
                f.write("""scrape_configs:
  - job_name: relabel
    scrape_interval: 1s
    static_configs: [{targets: ['127.0.0.1:%(port)d', 'localhost:%(port)d']}]
    relabel_configs:
      - {source_labels: [__address__], regex: 'localhost:.*', action: drop}
      - {target_label: team, replacement: core}
      - {source_labels: [__address__], regex: '(.*):.*', target_label: host}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: demo_temperature, action: drop}
      - {source_labels: [code], regex: '5..', target_label: failed, replacement: 'yes'}
  - job_name: bearer
    scrape_interval: 1s
    metrics_path: /bearer
    authorization: {credentials_file: %(tmp)s/token}
    static_configs: [{targets: ['127.0.0.1:%(port)d']}]
  - job_name: basic
    scrape_interval: 1s
    metrics_path: /basic
    basic_auth: {username: scraper, password: 'pa ss'}
    static_configs: [{targets: ['127.0.0.1:%(port)d']}]
  - job_name: files
    scrape_interval: 1s
    file_sd_configs: [{files: ['%(tmp)s/*.json'], refresh_interval: 500ms}]
""" % {"port": port, "tmp": tmp} + extra)

        def targets():
            status, body = srv.get_json("/api/v1/targets")
            self.assertEqual(status, 200)
            return body["data"]["activeTargets"]

        def wait_targets(pred, what):
            deadline = time.time() + 20
            ts = []
            while time.time() < deadline:
                ts = targets()
                if pred(ts):
                    return ts
                time.sleep(0.2)
            self.fail("%s: %s" % (what, json.dumps(ts, indent=1)))

        def query(q):
            status, body = srv.get_json("/api/v1/query", {"query": q})
            self.assertEqual(status, 200, body)
            return body["data"]["result"]

        write_sd(["a", "b"])
        write_cfg()
        srv = Server(extra_args=["--config", cfg]).start()
        try:
            ts = wait_targets(lambda ts: sum(t["health"] == "up" for t in ts) == 6,
                              "relabel, bearer, basic, files a and b, zenwatch up")
            relabel = [t for t in ts if t["scrapePool"] == "relabel"]
            self.assertEqual(len(relabel), 1)  # localhost was dropped
            self.assertEqual(relabel[0]["labels"], {"host": "127.0.0.1", "instance": "127.0.0.1:%d" % port,
                                                    "job": "relabel", "team": "core"})
            self.assertEqual(relabel[0]["discoveredLabels"]["__scrape_interval__"], "1s")
            files = sorted(t["labels"]["shard"] for t in ts if t["scrapePool"] == "files")
            self.assertEqual(files, ["a", "b"])
            # metric_relabel_configs: demo_temperature dropped, 5xx marked.
            self.assertEqual(query('demo_temperature{job="relabel"}'), [])
            failed = query('demo_requests_total{job="relabel",failed="yes"}')
            self.assertEqual(len(failed), 1)
            self.assertEqual(failed[0]["metric"]["code"], "500")
            post = query('scrape_samples_post_metric_relabeling{job="relabel"}')
            self.assertEqual(post[0]["value"][1], "2")
            scraped = query('scrape_samples_scraped{job="relabel"}')
            self.assertEqual(scraped[0]["value"][1], "3")

            # file_sd: shard b goes away; its series get staleness markers and vanish from
            # instant queries, shard c appears.
            self.assertEqual(len(query('demo_temperature{job="files",shard="b"}')), 1)
            write_sd(["a", "c"])
            wait_targets(lambda ts: sorted(t["labels"]["shard"] for t in ts if t["scrapePool"] == "files"
                                           and t["health"] == "up") == ["a", "c"], "files a and c")
            deadline = time.time() + 10
            while time.time() < deadline and query('demo_temperature{job="files",shard="b"}'):
                time.sleep(0.2)
            self.assertEqual(query('demo_temperature{job="files",shard="b"}'), [])
            self.assertEqual(query('up{job="files",shard="b"}'), [])
            self.assertEqual(len(query('demo_temperature{job="files",shard="a"}')), 1)

            # An invalid configuration is refused and the running one stays.
            before = sorted(t["scrapeUrl"] + t["scrapePool"] for t in targets())
            with open(cfg, "a") as f:
                f.write("    scrape_timeout: 5s\n")  # greater than the 1s interval
            status, _, body = srv.request("POST", "/-/reload")
            self.assertEqual(status, 400, body)
            self.assertIn("greater than scrape_interval", body.decode())
            self.assertEqual(sorted(t["scrapeUrl"] + t["scrapePool"] for t in targets()), before)
            self.assertIn("reload rejected", srv.output())

            # A valid change: job basic removed, job relabel unchanged keeps its loop.
            last_scrape = [t for t in targets() if t["scrapePool"] == "relabel"][0]["lastScrape"]
            write_cfg()
            with open(cfg) as f:
                text = f.read()
            start = text.index("  - job_name: basic")
            end = text.index("  - job_name: files")
            with open(cfg, "w") as f:
                f.write(text[:start] + text[end:])
            status, _, body = srv.request("POST", "/-/reload")
            self.assertEqual(status, 200, body)
            ts = targets()
            self.assertNotIn("basic", {t["scrapePool"] for t in ts})
            kept = [t for t in ts if t["scrapePool"] == "relabel"][0]
            self.assertEqual(kept["health"], "up")  # not restarted: state kept
            self.assertNotEqual(kept["lastScrape"], "0001-01-01T00:00:00Z")
            self.assertGreaterEqual(kept["lastScrape"], last_scrape)
            deadline = time.time() + 10
            while time.time() < deadline and query('up{job="basic"}'):
                time.sleep(0.2)
            self.assertEqual(query('up{job="basic"}'), [])  # stale after removal

            # SIGHUP reloads too.
            write_cfg()
            srv.proc.send_signal(signal.SIGHUP)
            wait_targets(lambda ts: any(t["scrapePool"] == "basic" for t in ts), "basic back after SIGHUP")
        finally:
            srv.stop()
            srv.cleanup()
            exporter.shutdown()
            exporter.server_close()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_https_targets(self):
        if not shutil.which("openssl"):
            self.skipTest("the openssl command is not installed")
        tmp = tempfile.mkdtemp(prefix="zw-tls-it-")
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        exporter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        exporter.socket = ctx.wrap_socket(exporter.socket, server_side=True)
        threading.Thread(target=exporter.serve_forever, daemon=True).start()
        port = exporter.server_address[1]
        cfg = os.path.join(tmp, "zw.yml")
        with open(cfg, "w") as f:
            f.write("""scrape_configs:
  - {job_name: verified, scheme: https, scrape_interval: 1s, tls_config: {ca_file: '%(cert)s'},
     static_configs: [{targets: ['127.0.0.1:%(port)d']}]}
  - {job_name: by_name, scheme: https, scrape_interval: 1s,
     tls_config: {ca_file: '%(cert)s', server_name: localhost},
     static_configs: [{targets: ['127.0.0.1:%(port)d']}]}
  - {job_name: wrong_name, scheme: https, scrape_interval: 1s,
     tls_config: {ca_file: '%(cert)s', server_name: other.example},
     static_configs: [{targets: ['127.0.0.1:%(port)d']}]}
  - {job_name: insecure, scheme: https, scrape_interval: 1s, tls_config: {insecure_skip_verify: true},
     static_configs: [{targets: ['127.0.0.1:%(port)d']}]}
  - {job_name: untrusted, scheme: https, scrape_interval: 1s,
     static_configs: [{targets: ['127.0.0.1:%(port)d']}]}
""" % {"cert": cert, "port": port})
        srv = Server(extra_args=["--config", cfg]).start()
        try:
            deadline = time.time() + 20
            targets = {}
            while time.time() < deadline:
                _, body = srv.get_json("/api/v1/targets")
                targets = {t["scrapePool"]: t for t in body["data"]["activeTargets"]}
                if all(t["health"] != "unknown" for t in targets.values()):
                    break
                time.sleep(0.2)
            for job in ("verified", "by_name", "insecure"):
                self.assertEqual(targets[job]["health"], "up", targets[job])
                self.assertEqual(targets[job]["scrapeUrl"], "https://127.0.0.1:%d/metrics" % port)
            for job in ("wrong_name", "untrusted"):
                self.assertEqual(targets[job]["health"], "down", targets[job])
                self.assertIn("certificate verify failed", targets[job]["lastError"])
            _, body = srv.get_json("/api/v1/series", {"match[]": 'demo_temperature{job="verified"}'})
            self.assertEqual(len(body["data"]), 1)
        finally:
            srv.stop()
            srv.cleanup()
            exporter.shutdown()
            exporter.server_close()
            shutil.rmtree(tmp, ignore_errors=True)

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
