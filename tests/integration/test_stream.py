"""The live stream: /api/v1/stream over a real WebSocket against the real binary."""
import json
import os
import signal
import socket
import struct
import tempfile
import threading
import time
import unittest

import zwtest
from wsclient import HandshakeError, WebSocket


def event(domain, name, value, kind="counter", ts=None, labels=None):
    e = {"source": "it", "domain": domain, "type": kind, "name": name, "value": value}
    if ts is not None:
        e["timestamp"] = ts
    if labels:
        e["labels"] = labels
    return e


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class StreamTest(unittest.TestCase):
    def setUp(self):
        self.server = zwtest.Server().start()
        self.sockets = []

    def tearDown(self):
        for ws in self.sockets:
            try:
                ws.sock.close()
            except OSError:
                pass
        self.server.cleanup()

    def connect(self, **kw):
        ws = WebSocket(self.server.port, **kw)
        self.sockets.append(ws)
        return ws

    def push(self, events):
        status, body = self.server.push(events)
        self.assertIn(status, (200, 204), body)

    def test_selector_gets_pushed_sample(self):
        ws = self.connect()
        ws.send({"type": "subscribe", "id": "s1", "selector": "neural_requests_total"})
        first = ws.recv_until(lambda m: m["type"] == "metric_update")
        self.assertEqual(first["id"], "s1")
        self.assertEqual(first["series"], [])  # no history yet
        t0 = time.time()
        self.push([event("neural", "requests", 3)])
        msg = ws.recv_until(lambda m: m["type"] == "metric_update" and m["series"])
        self.assertLess(time.time() - t0, 2)
        self.assertEqual(msg["id"], "s1")
        s = msg["series"][0]
        self.assertEqual(s["metric"]["__name__"], "neural_requests_total")
        self.assertEqual(s["metric"]["domain"], "neural")
        self.assertEqual(s["values"][-1][1], "3")
        # A second subscriber gets the history first.
        ws2 = self.connect()
        ws2.send({"type": "subscribe", "id": "h", "selector": "{domain=\"neural\"}", "range": 60})
        hist = ws2.recv_until(lambda m: m["type"] == "metric_update")
        self.assertEqual(hist["series"][0]["values"][-1][1], "3")

    def test_expression_update_after_new_data(self):
        ws = self.connect()
        ws.send({"type": "subscribe", "id": "e", "expr": "sum(database_requests_total)"})
        first = ws.recv_until(lambda m: m["type"] == "expr_update")
        self.assertEqual(first["result"], {"resultType": "vector", "result": []})
        self.push([event("database", "requests", 5)])
        upd = ws.recv_until(lambda m: m["type"] == "expr_update", timeout=5)
        self.assertEqual(upd["id"], "e")
        self.assertEqual(upd["result"]["result"][0]["value"][1], "5")
        # A range expression: a matrix over whole steps up to now (the sample is 20 s old, so
        # the last whole step sees it).
        self.push([event("database", "temp", 21.5, kind="gauge", ts=int(time.time() * 1000) - 20000)])
        ws.send({"type": "subscribe", "id": "r", "expr": "database_temp", "range": 60, "step": 5})
        rng = ws.recv_until(lambda m: m["type"] == "expr_update" and m["id"] == "r")
        self.assertEqual(rng["result"]["resultType"], "matrix")
        values = rng["result"]["result"][0]["values"]
        self.assertGreaterEqual(len(values), 3)
        self.assertEqual(values[-1][1], "21.5")
        self.assertEqual(values[-1][0] % 5, 0)

    def test_many_identical_dashboards_and_self_metrics(self):
        # The same page in several browsers: identical subscriptions, each client gets every
        # live sample; the stream's own figures are on /metrics.
        clients = [self.connect() for _ in range(5)]
        for ws in clients:
            ws.send({"type": "subscribe", "id": "s", "selector": 'memory_used{domain="memory"}'})
            ws.recv_until(lambda m: m["type"] == "metric_update")  # history
        now = int(time.time() * 1000)
        for i in range(3):
            self.push([event("memory", "used", i + 1, kind="gauge", ts=now - 3000 + i * 1000)])
        for ws in clients:
            got = []
            while len(got) < 3:
                m = ws.recv_until(lambda m: m["type"] == "metric_update" and m["series"])
                got += [v[1] for s in m["series"] for v in s["values"]]
            self.assertEqual(got, ["1", "2", "3"])
        status, _, body = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        metrics = {}
        for line in body.decode().splitlines():
            if line.startswith("zenwatch_stream_"):
                name, value = line.rsplit(" ", 1)
                metrics[name] = float(value)
        self.assertEqual(metrics.get("zenwatch_stream_clients"), 5)
        self.assertGreaterEqual(metrics.get("zenwatch_stream_metric_updates_total", 0), 5)
        self.assertIn("zenwatch_stream_queued_bytes", metrics)
        self.assertEqual(metrics.get("zenwatch_stream_dropped_samples_total"), 0)

    def test_bad_expression_error_with_position(self):
        ws = self.connect()
        ws.send({"type": "subscribe", "id": "bad", "expr": "sum(rate(x[5m])"})
        err = ws.recv_until(lambda m: m["type"] == "error")
        self.assertEqual(err["id"], "bad")
        self.assertEqual(err["errorType"], "bad_data")
        self.assertRegex(err["error"], r"^1:\d+: parse error")
        ws.send("{not json")
        err = ws.recv_until(lambda m: m["type"] == "error")
        self.assertIsNone(err["id"])
        # The connection still works.
        ws.send({"type": "subscribe", "id": "ok", "expr": "1"})
        ok = ws.recv_until(lambda m: m["type"] == "expr_update")
        self.assertEqual(ok["result"]["resultType"], "scalar")

    def test_summary_update_every_five_seconds(self):
        ws = self.connect()
        t0 = time.time()
        msg = ws.recv_until(lambda m: m["type"] == "summary_update", timeout=8)
        names = [d["name"] for d in msg["data"]["domains"]]
        self.assertEqual(names, ["neural", "coordination", "database", "memory", "interfaces"])
        self.assertIn("active_series", msg["data"]["totals"])
        ws.recv_until(lambda m: m["type"] == "summary_update", timeout=8)
        self.assertGreater(time.time() - t0, 4)

    def test_ping_pong_and_close_handshake(self):
        ws = self.connect()
        self.assertTrue(ws.ping(b"hello"))
        ws._frame(0x8, struct.pack("!H", 1000))
        ws.closed = True
        while True:
            op, payload = ws.recv_frame()
            if op == 0x8:
                break
        if payload:  # the reply echoes the code, if it carries one
            self.assertEqual(struct.unpack("!H", payload[:2])[0], 1000)

    def test_plain_get_is_told_to_upgrade(self):
        status, headers, body = self.server.request("GET", "/api/v1/stream")
        self.assertEqual(status, 426)
        self.assertEqual(headers.get("upgrade"), "websocket")
        with self.assertRaises(HandshakeError) as cm:
            WebSocket(self.server.port, path="/api/v1/nothing")
        self.assertEqual(cm.exception.status, 404)

    def test_slow_client_gets_snapshots_memory_bounded_ingest_unaffected(self):
        slow = self.connect(rcvbuf=4096)
        slow.send({"type": "subscribe", "id": "all", "selector": "{domain=\"memory\"}"})
        time.sleep(0.3)
        rss_before = rss_kb(self.server.proc.pid)
        # Over 10 MB of metric_update messages that the slow client never reads: live updates
        # are coalesced (each series' labels once per round), so it takes many samples to
        # pass the queue's bound plus what the kernel's socket buffers hold.
        labels = [{"k": "v%03d" % i} for i in range(400)]
        t0 = time.time()
        base = int(time.time() * 1000) - 2000  # one ms apart: no two pushes share a timestamp
        for round_ in range(1000):
            evs = [event("memory", "allocs", 1, kind="counter", ts=base + round_, labels=l) for l in labels]
            status, body = self.server.push(evs)
            self.assertIn(status, (200, 204), body)
        elapsed = time.time() - t0
        growth_mb = (rss_kb(self.server.proc.pid) - rss_before) / 1024
        self.assertLess(growth_mb, 64, "server memory grew by %.1f MB" % growth_mb)
        self.assertLess(elapsed, 60)
        # It reads again: told it was switched to snapshots, then gets a snapshot and goes live.
        mode = slow.recv_until(lambda m: m["type"] == "mode", timeout=20)
        self.assertEqual(mode["mode"], "snapshot")
        snap = slow.recv_until(lambda m: m["type"] == "metric_update", timeout=20)
        self.assertEqual(len(snap["series"]), 400)
        self.assertEqual(snap["series"][0]["values"][-1][1], "1000")
        live = slow.recv_until(lambda m: m["type"] == "mode", timeout=20)
        self.assertEqual(live["mode"], "live")
        self.push([event("memory", "allocs", 1, labels={"k": "v000"})])
        upd = slow.recv_until(lambda m: m["type"] == "metric_update" and
                              any(v[1] == "1001" for s in m["series"] for v in s["values"]), timeout=10)
        self.assertEqual(upd["id"], "all")

    def test_sigterm_closes_connected_clients_promptly(self):
        clients = [self.connect() for _ in range(5)]
        for i, ws in enumerate(clients):
            ws.send({"type": "subscribe", "id": "s", "selector": "up"})
            ws.recv_until(lambda m: m["type"] == "metric_update")
        # One client never reads nor answers: the server must not wait for it for long.
        silent = self.connect(rcvbuf=4096)
        silent.send({"type": "subscribe", "id": "s", "selector": "up"})
        codes = []

        def drain(ws):
            try:
                while ws.recv(timeout=15) is not None:
                    pass
            except (OSError, ConnectionError):
                pass
            codes.append(ws.close_code)

        threads = [threading.Thread(target=drain, args=(ws,)) for ws in clients]
        for t in threads:
            t.start()
        t0 = time.time()
        self.server.proc.send_signal(signal.SIGTERM)
        self.server.proc.wait(timeout=15)
        took = time.time() - t0
        for t in threads:
            t.join(timeout=15)
        self.assertEqual(self.server.proc.returncode, 0, self.server.output())
        self.assertLess(took, 5, "shutdown took %.1f s" % took)
        self.assertEqual(sorted(codes), [1001] * 5)


class DashboardReloadTest(unittest.TestCase):
    """The dashboard: section is re-read with the rest of --config (POST /-/reload, SIGHUP)."""

    def setUp(self):
        fd, self.cfg = tempfile.mkstemp(prefix="zw-dash-", suffix=".yml")
        os.close(fd)
        self.write_config("dashboard:\n  domains: [alpha, beta]\n")
        self.server = zwtest.Server(extra_args=["--config", self.cfg]).start()

    def tearDown(self):
        self.server.cleanup()
        os.unlink(self.cfg)

    def write_config(self, text):
        with open(self.cfg, "w") as f:
            f.write(text)

    def domains(self):
        status, body = self.server.get_json("/api/health")
        self.assertEqual(status, 200)
        return [d["name"] for d in body["data"]["domains"]]

    def test_reload_applies_dashboard_section_and_rejects_a_bad_one(self):
        self.assertEqual(self.domains(), ["alpha", "beta"])
        ws = WebSocket(self.server.port)
        try:
            self.write_config("dashboard:\n  domains:\n    - gamma\n")
            status, _, body = self.server.request("POST", "/-/reload")
            self.assertEqual(status, 200, body)
            self.assertEqual(self.domains(), ["gamma"])
            # The stream's summaries follow (one every 5 s; one computed just before the
            # reload may still name the old domains).
            m = ws.recv_until(lambda m: m["type"] == "summary_update" and
                              [d["name"] for d in m["data"]["domains"]] == ["gamma"], timeout=12)
            self.assertEqual(m["data"]["domains"][0]["status"], "unknown")
        finally:
            ws.close()

        # A bad section is refused with the key named; the running configuration stays.
        self.write_config("dashboard:\n  domains:\n    - name: delta\n      latency: sum(\n")
        status, _, body = self.server.request("POST", "/-/reload")
        self.assertEqual(status, 400, body)
        err = json.loads(body)["error"]
        self.assertIn("dashboard.domains[0].latency", err)
        self.assertIn(self.cfg, err)
        self.assertEqual(self.domains(), ["gamma"])
        self.assertIn("reload rejected", self.server.output())

        # SIGHUP reloads it too.
        self.write_config("dashboard:\n  domains: [delta, epsilon]\n")
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while self.domains() != ["delta", "epsilon"] and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.domains(), ["delta", "epsilon"])
        status, _ = self.server.get_json("/api/performance", {"domain": "gamma"})
        self.assertEqual(status, 404)  # no longer a domain


if __name__ == "__main__":
    unittest.main()
