"""The HTTP API of a real zenwatch process: push, Prometheus series/labels APIs, the
aggregated metrics view, self-metrics, health, errors, graceful shutdown and restart."""
import json
import random
import signal
import time
import unittest
import urllib.parse

from zwtest import Server

NOW_MS = int(time.time() * 1000)


def event(**kw):
    e = {"source": "swarm-1", "domain": "coordination", "type": "gauge", "name": "queue_depth", "value": 1}
    e.update(kw)
    return e


class HttpApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def series(self, selector, **params):
        params["match[]"] = selector
        status, body = self.srv.get_json("/api/v1/series", params)
        self.assertEqual(status, 200, body)
        return body["data"]

    def test_push_single_array_and_ndjson(self):
        self.assertEqual(self.srv.push(event(name="single", timestamp=NOW_MS))[0], 204)
        self.assertEqual(self.srv.push([event(name="arr", timestamp=NOW_MS), event(name="arr2")])[0], 204)
        nd = "\n".join(json.dumps(event(name="nd", labels={"i": str(i)}, timestamp=NOW_MS)) for i in range(3))
        self.assertEqual(self.srv.push(nd)[0], 204)
        got = self.series('{__name__=~"coordination_(single|arr|arr2|nd)"}')
        names = sorted((s["__name__"], s.get("i", "")) for s in got)
        self.assertEqual(names, [("coordination_arr", ""), ("coordination_arr2", ""), ("coordination_nd", "0"),
                                 ("coordination_nd", "1"), ("coordination_nd", "2"), ("coordination_single", "")])
        self.assertEqual(got[0]["domain"], "coordination")
        self.assertEqual(got[0]["source"], "swarm-1")

    def test_bad_push_is_400_with_prometheus_error_shape_and_stores_nothing(self):
        bad = [event(name="atomic_a", timestamp=NOW_MS), event(name="atomic_b", value="x")]
        status, body = self.srv.push(bad)
        self.assertEqual(status, 400)
        self.assertEqual(body["status"], "error")
        self.assertEqual(body["errorType"], "bad_data")
        self.assertIn("item 1", body["error"])
        self.assertIn("value", body["error"])
        self.assertEqual(self.series('{__name__=~"coordination_atomic_.*"}'), [])
        for raw in ["not json", "[", '{"source":1}', "[]x", ""]:
            status, body = self.srv.push(raw)
            self.assertEqual(status, 400, raw)
            self.assertEqual(body["errorType"], "bad_data")

    def test_out_of_order_within_the_window_is_accepted_older_is_rejected(self):
        self.assertEqual(self.srv.push(event(name="ooo", timestamp=NOW_MS))[0], 204)
        # Within --ooo.window (30m by default): accepted and returned in time order.
        self.assertEqual(self.srv.push(event(name="ooo", timestamp=NOW_MS - 60000))[0], 204)
        status, body = self.srv.get_json("/api/v1/query", {
            "query": 'coordination_ooo[5m]', "time": "%.3f" % (NOW_MS / 1000)})
        self.assertEqual(status, 200)
        times = [float(t) for t, _ in body["data"]["result"][0]["values"]]
        self.assertEqual(times, [(NOW_MS - 60000) / 1000, NOW_MS / 1000])
        # Older than the window: rejected with an error naming the problem.
        status, body = self.srv.push(event(name="ooo", timestamp=NOW_MS - 45 * 60000))
        self.assertEqual(status, 400)
        self.assertIn("out-of-order", body["error"])
        # Counters keep a running total, which only means something in time order.
        self.assertEqual(self.srv.push(event(name="ooo_c", type="counter", timestamp=NOW_MS))[0], 204)
        status, body = self.srv.push(event(name="ooo_c", type="counter", timestamp=NOW_MS - 60000))
        self.assertEqual(status, 400)
        self.assertIn("out-of-order", body["error"])

    def test_series_labels_and_values(self):
        self.srv.push([event(name="lv", labels={"level": lvl}, timestamp=NOW_MS) for lvl in ("portfolio", "program", "swarm")])
        status, body = self.srv.get_json("/api/v1/label/level/values")
        self.assertEqual(status, 200)
        self.assertTrue({"portfolio", "program", "swarm"} <= set(body["data"]))
        status, body = self.srv.get_json("/api/v1/labels", {"match[]": "coordination_lv"})
        self.assertEqual(body["data"], ["__name__", "domain", "level", "source"])
        # start/end filter by sample time.
        self.assertEqual(len(self.series("coordination_lv", start=(NOW_MS - 10000) / 1000, end=NOW_MS / 1000 + 1)), 3)
        self.assertEqual(self.series("coordination_lv", start="2001-01-01T00:00:00Z", end="2001-01-02T00:00:00Z"), [])
        # POST form-encoded, as Grafana sends it.
        status, _, data = self.srv.request("POST", "/api/v1/series", body="match%5B%5D=coordination_lv",
                                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(data)["data"]), 3)

    def test_series_errors(self):
        status, body = self.srv.get_json("/api/v1/series")
        self.assertEqual((status, body["error"]), (400, "no match[] parameter provided"))
        status, body = self.srv.get_json("/api/v1/series", {"match[]": "up{job="})
        self.assertEqual(status, 400)
        self.assertIn("parse error", body["error"])
        status, body = self.srv.get_json("/api/v1/series", {"match[]": "up", "start": "yesterday"})
        self.assertEqual(status, 400)
        self.assertIn('invalid parameter "start"', body["error"])
        status, body = self.srv.get_json("/api/v1/label/bad-name/values")
        self.assertEqual(status, 400)
        self.assertIn("invalid label name", body["error"])
        status, body = self.srv.get_json("/api/v1/nope")
        self.assertEqual(status, 404)

    def test_metrics_view_counters_gauges_timers(self):
        t0 = NOW_MS - 30000
        events = [event(domain="database", type="counter", name="ops", value=1, timestamp=t0 + i) for i in range(10)]
        events.append(event(domain="database", type="gauge", name="connections", value=7, timestamp=t0))
        rng = random.Random(1)
        durations = [rng.lognormvariate(3, 1) for _ in range(2000)]  # ms
        events += [event(domain="database", type="timer", name="query", value=d, labels={"adapter": "sqlite"},
                         timestamp=t0 + 100 + i // 10) for i, d in enumerate(durations)]
        status, body = self.srv.push(events)
        self.assertEqual(status, 204, body)
        status, body = self.srv.get_json("/api/metrics/database", {"timeWindow": 600000})
        self.assertEqual(status, 200, body)
        data = body["data"]
        counter = [c for c in data["counters"] if c["name"] == "database_ops_total"][0]
        self.assertEqual(counter["increase"], 10)
        self.assertEqual(counter["key"], "database.ops_total")
        gauge = [g for g in data["gauges"] if g["name"] == "database_connections"][0]
        self.assertEqual(gauge["value"], 7)
        timer = [t for t in data["timers"] if t["name"] == "database_query_seconds"][0]
        self.assertEqual(timer["count"], 2000)
        exact = sorted(d / 1000 for d in durations)
        self.assertAlmostEqual(timer["sum"], sum(exact), places=6)
        for q, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
            want = exact[int(q * len(exact)) - 1]
            self.assertLess(abs(timer[key] - want) / want, 0.05, (key, timer[key], want))
        self.assertLessEqual(timer["min"], exact[0])
        self.assertGreaterEqual(timer["max"], exact[-1])
        self.assertLess(exact[-1] / timer["max"], 1.0444 + 1e-9)
        status, body = self.srv.get_json("/api/metrics/database", {"timeWindow": "abc"})
        self.assertEqual(status, 400)

    def test_self_metrics_and_health(self):
        self.srv.push(event(name="selfcheck", timestamp=NOW_MS))
        status, headers, body = self.srv.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        text = body.decode()
        for name in ("zenwatch_samples_ingested_total", "zenwatch_head_series", "zenwatch_wal_bytes_written_total",
                     "zenwatch_wal_fsync_duration_seconds", "zenwatch_http_request_duration_seconds_bucket"):
            self.assertIn(name, text)
        self.assertRegex(text, r'zenwatch_http_request_duration_seconds_count\{route="/api/v1/push",code="204"\} \d+')
        self.assertEqual(self.srv.request("GET", "/-/healthy")[0], 200)
        self.assertEqual(self.srv.request("GET", "/-/ready")[0], 200)

    def test_metadata_and_status(self):
        self.srv.push(event(type="counter", name="meta_probe", value=1, timestamp=NOW_MS))
        status, body = self.srv.get_json("/api/v1/metadata", {"metric": "coordination_meta_probe_total"})
        self.assertEqual(status, 200)
        self.assertEqual(body["data"], {"coordination_meta_probe_total": [{"type": "counter", "help": "", "unit": ""}]})
        status, body = self.srv.get_json("/api/v1/metadata", {"limit": "1"})
        self.assertEqual(len(body["data"]), 1)
        self.assertEqual(self.srv.get_json("/api/v1/metadata", {"limit": "x"})[0], 400)
        status, body = self.srv.get_json("/api/v1/status/buildinfo")
        self.assertRegex(body["data"]["version"], r"^\d+\.\d+\.\d+$")
        status, body = self.srv.get_json("/api/v1/status/runtimeinfo")
        self.assertEqual(body["data"]["corruptionCount"], 0)
        self.assertRegex(body["data"]["startTime"], r"^\d{4}-\d\d-\d\dT")
        status, body = self.srv.get_json("/api/v1/status/flags")
        self.assertEqual(body["data"]["listen"], "127.0.0.1:0")
        self.assertEqual(body["data"]["data-dir"], self.srv.data_dir)
        status, body = self.srv.get_json("/api/v1/status/config")
        self.assertEqual(body["data"], {"yaml": ""})
        status, body = self.srv.get_json("/api/v1/query_exemplars", {"query": "up"})
        self.assertEqual((status, body["data"]), (200, []))

    def test_promql_instant_and_range_queries(self):
        t0 = (NOW_MS // 1000 - 600) * 1000
        self.srv.push([event(type="counter", name="q_requests", value=10, labels={"path": p}, timestamp=t0 + i * 15000)
                       for i in range(20) for p in ("/a", "/b")])
        status, body = self.srv.get_json("/api/v1/query", {"query": "1+1"})  # Grafana's health check
        self.assertEqual((status, body["data"]), (200, {"resultType": "scalar", "result": body["data"]["result"]}))
        self.assertEqual(body["data"]["result"][1], "2")
        end = (t0 + 19 * 15000) / 1000
        status, body = self.srv.get_json("/api/v1/query", {
            "query": 'sum by (domain) (rate(coordination_q_requests_total[5m]))', "time": end})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["data"]["resultType"], "vector")
        [sample] = body["data"]["result"]
        self.assertEqual(sample["metric"], {"domain": "coordination"})
        self.assertAlmostEqual(float(sample["value"][1]), 2 * 10 / 15, places=6)  # two paths, +10 every 15 s
        self.assertEqual(sample["value"][0], end)
        status, body = self.srv.get_json("/api/v1/query_range", {
            "query": 'coordination_q_requests_total{path="/a"}', "start": t0 / 1000, "end": end, "step": "60s"})
        self.assertEqual(status, 200, body)
        [series] = body["data"]["result"]
        self.assertEqual([v[1] for v in series["values"]], ["10", "50", "90", "130", "170"])
        status, body = self.srv.get_json("/api/v1/query", {"query": "sum(rate(x[5m])"})
        self.assertEqual((status, body["errorType"]), (400, "bad_data"))
        self.assertIn("parse error", body["error"])
        status, body = self.srv.get_json("/api/v1/query_range", {"query": "up", "start": 0, "end": 100000, "step": 1})
        self.assertEqual(status, 400)
        self.assertIn("11,000 points", body["error"])
        status, body = self.srv.get_json("/api/v1/query_range", {"query": "up", "start": 10, "end": 0, "step": 1})
        self.assertEqual(status, 400)
        status, body = self.srv.get_json("/api/v1/format_query", {"query": "sum(rate(x[5m]))by(job)"})
        self.assertEqual(body["data"], "sum by (job) (rate(x[5m]))")

    def test_query_stats(self):
        t0 = (NOW_MS // 1000 - 300) * 1000
        self.srv.push([event(name="stats_g", value=i, labels={"k": str(k)}, timestamp=t0 + i * 15000)
                       for i in range(10) for k in range(3)])
        end = (t0 + 9 * 15000) / 1000
        status, body = self.srv.get_json("/api/v1/query", {
            "query": "sum_over_time(coordination_stats_g[1m])", "time": end, "stats": "all"})
        self.assertEqual(status, 200, body)
        st = body["data"]["stats"]
        self.assertEqual(sorted(st["timings"]), sorted([
            "evalTotalTime", "resultSortTime", "queryPreparationTime", "innerEvalTime", "execQueueTime",
            "execTotalTime"]))
        self.assertGreaterEqual(st["timings"]["execTotalTime"], st["timings"]["evalTotalTime"])
        # [end-1m, end] holds 5 samples (closed range) of each of the 3 series. Streamed, the
        # evaluator holds one series' window (5) plus the outputs of the series before it (2).
        self.assertEqual(st["samples"], {"totalQueryableSamples": 15, "peakSamples": 7})
        status, body = self.srv.get_json("/api/v1/query_range", {
            "query": "coordination_stats_g", "start": end - 60, "end": end, "step": 30, "stats": "all"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["data"]["stats"]["samples"]["totalQueryableSamples"], 9)  # 3 steps x 3 series
        status, body = self.srv.get_json("/api/v1/query", {"query": "1", "time": end})
        self.assertNotIn("stats", body["data"])
        # A range query of one step is still a matrix, as in Prometheus.
        status, body = self.srv.get_json("/api/v1/query_range", {
            "query": "coordination_stats_g", "start": end, "end": end, "step": 15})
        self.assertEqual(body["data"]["resultType"], "matrix")
        self.assertEqual(len(body["data"]["result"]), 3)

    def test_keep_alive_reuses_connection(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
        for _ in range(3):
            status, _, _ = self.srv.request("GET", "/-/healthy", conn=conn)
            self.assertEqual(status, 200)
        conn.close()


class LifecycleTest(unittest.TestCase):
    def test_sigterm_exits_zero_and_data_survives_restart(self):
        srv = Server(extra_args=["--wal.sync", "always"]).start()
        try:
            ts = NOW_MS
            self.assertEqual(srv.push([event(type="counter", name="restarts", value=2, timestamp=ts)])[0], 204)
            self.assertEqual(srv.stop(signal.SIGTERM), 0)
            self.assertIn("WAL flushed", srv.output())
            again = Server(data_dir=srv.data_dir).start()
            try:
                self.assertEqual(again.push([event(type="counter", name="restarts", value=3, timestamp=ts + 1)])[0], 204)
                status, body = again.get_json("/api/metrics/coordination", {"timeWindow": 3600000})
                c = [c for c in body["data"]["counters"] if c["name"] == "coordination_restarts_total"][0]
                self.assertEqual(c["value"], 5)  # the running total continued from storage
            finally:
                again.stop()
                again.cleanup()
        finally:
            srv.cleanup()

    def test_query_max_samples_limits_a_query(self):
        srv = Server(extra_args=["--query.max-samples", "5"]).start()
        try:
            srv.push([event(name="many", labels={"i": str(i)}, timestamp=NOW_MS) for i in range(10)])
            status, body = srv.get_json("/api/v1/query", {"query": "coordination_many", "time": NOW_MS / 1000})
            self.assertEqual(status, 422, body)
            self.assertEqual(body["errorType"], "execution")
            status, body = srv.get_json("/api/v1/query", {"query": 'coordination_many{i="1"}', "time": NOW_MS / 1000})
            self.assertEqual(status, 200, body)
            self.assertEqual(len(body["data"]["result"]), 1)
        finally:
            srv.stop()
            srv.cleanup()

    # Endless without a limit: three nested subqueries of one-second steps over an hour.
    SLOW_QUERY = "max_over_time(max_over_time(max_over_time(vector(1)[1h:1s])[1h:1s])[1h:1s])"

    def test_query_timeout_is_503_timeout(self):
        srv = Server(extra_args=["--query.timeout", "1s"]).start()
        try:
            started = time.time()
            status, body = srv.get_json("/api/v1/query", {"query": self.SLOW_QUERY})
            self.assertEqual((status, body["errorType"]), (503, "timeout"), body)
            self.assertEqual(body["error"], "query timed out in expression evaluation")
            self.assertLess(time.time() - started, 20)
            status, body = srv.get_json("/api/v1/query", {"query": "1+1"})
            self.assertEqual(status, 200, body)
        finally:
            srv.stop()
            srv.cleanup()

    def test_queries_over_the_concurrency_limit_wait_and_time_out_in_the_queue(self):
        import http.client
        srv = Server(extra_args=["--query.timeout", "3s", "--query.max-concurrency", "1"]).start()
        try:
            busy = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            busy.request("GET", "/api/v1/query?query=" + urllib.parse.quote(self.SLOW_QUERY))
            time.sleep(0.3)  # the slow query holds the only slot
            # Its own timeout (the `timeout` parameter) passes while it waits for the slot.
            status, body = srv.get_json("/api/v1/query", {"query": "1+1", "timeout": "500ms"})
            self.assertEqual((status, body.get("errorType")), (503, "timeout"), body)
            self.assertEqual(body["error"], "query timed out in query queue")
            status, body = srv.get_json("/api/v1/query", {"query": "1+1", "timeout": "soon"})
            self.assertEqual((status, body.get("errorType")), (400, "bad_data"), body)
            r = busy.getresponse()
            self.assertEqual(r.status, 503)
            busy.close()
            status, body = srv.get_json("/api/v1/query", {"query": "1+1"})  # the slot is free again
            self.assertEqual(status, 200, body)
        finally:
            srv.stop()
            srv.cleanup()

    def test_client_disconnect_cancels_the_query(self):
        import socket
        srv = Server(extra_args=["--query.max-concurrency", "1"]).start()
        try:
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            sock.sendall(("GET /api/v1/query?query=%s HTTP/1.1\r\nHost: x\r\n\r\n"
                          % urllib.parse.quote(self.SLOW_QUERY)).encode())
            time.sleep(0.5)
            sock.close()  # the client gives up while the query runs
            deadline = time.time() + 10
            while "query cancelled" not in srv.output() and time.time() < deadline:
                time.sleep(0.05)
            self.assertIn("query cancelled, the client closed the connection", srv.output())
            # The only query slot was given back at once: a new query is answered (the default
            # 2m timeout would otherwise keep it waiting).
            started = time.time()
            status, body = srv.get_json("/api/v1/query", {"query": "1+1"})
            self.assertEqual(status, 200, body)
            self.assertLess(time.time() - started, 5)
            self.assertEqual(srv.request("GET", "/-/healthy")[0], 200)
        finally:
            srv.stop()
            srv.cleanup()

    def test_bad_flags_fail_with_a_message(self):
        import subprocess
        from zwtest import BINARY
        r = subprocess.run([BINARY, "serve", "--listen", "nope"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--listen", r.stdout + r.stderr)
        r = subprocess.run([BINARY, "serve", "--query.lookback-delta", "never"], capture_output=True, text=True,
                           timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--query.lookback-delta", r.stdout + r.stderr)
        r = subprocess.run([BINARY, "serve", "--query.timeout", "soon"], capture_output=True, text=True,
                           timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--query.timeout", r.stdout + r.stderr)
        r = subprocess.run([BINARY, "version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"zenwatch \d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
