"""StatsD from real client libraries: the `statsd` package (python3-statsd) sends counters,
gauges, timers and sets; `aiodogstatsd` (python3-aiodogstatsd) sends DogStatsD metrics with
tags. What they send is read back through PromQL after a flush (docs/statsd.md).

Both libraries come from Debian (scripts/setup installs them into the system Python). When
the interpreter running the tests is another one (pyenv), the system's dist-packages
directory is appended to its path; the libraries are pure Python.
"""
import asyncio
import sys
import time
import unittest

try:
    import statsd
    import aiodogstatsd
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    import statsd  # python3-statsd: scripts/setup installs it
    import aiodogstatsd  # python3-aiodogstatsd

from test_statsd import ReadBack, start_server

FLUSH = "200ms"


class StatsdClientTest(ReadBack, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server(["--statsd.flush-interval", FLUSH])
        cls.client = statsd.StatsClient("127.0.0.1", cls.server.statsd_port, prefix="lib")

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.stop()
        cls.server.cleanup()

    def test_counters(self):
        self.client.incr("orders")
        self.client.incr("orders", 4)
        # decr sends "lib.orders:-2|c": refused and counted, a counter only goes up.
        self.client.decr("orders", 2)
        r = self.wait_value('lib_orders_total{job="statsd"}', 5)
        self.assertEqual(r["metric"], {"__name__": "lib_orders_total", "job": "statsd"})
        self.client.incr("orders", 10)
        self.wait_value("lib_orders_total", 15)
        self.assertGreaterEqual(self.self_metric("zenwatch_statsd_bad_lines_total"), 1)  # decr

    def test_gauges_absolute_and_delta(self):
        self.client.gauge("queue.depth", 40)
        self.wait_value("lib_queue_depth", 40)
        self.client.gauge("queue.depth", 5, delta=True)
        self.client.gauge("queue.depth", -15, delta=True)
        self.wait_value("lib_queue_depth", 30)
        # A negative absolute value: the library sends "0" first, then "-7".
        self.client.gauge("queue.depth", -7)
        self.wait_value("lib_queue_depth", -7)

    def test_timers(self):
        for ms in range(1, 101):
            self.client.timing("db.query", ms)
        with self.client.timer("db.query"):
            time.sleep(0.01)
        self.wait_value("lib_db_query_seconds_count", 101)
        # 1..100 ms plus the timed block (10 ms or a little more).
        sum_s = float(self.wait_value("lib_db_query_seconds_sum > bool 5.06", 1) and
                      self.query("lib_db_query_seconds_sum")[0]["value"][1])
        self.assertLess(sum_s, 5.06 + 1.0)
        self.wait_value("histogram_quantile(0.5, lib_db_query_seconds_bucket)", 0.051, rel=0.06)

    def test_sets(self):
        for user in ["ann", "bob", "ann", "cid", "bob"]:
            self.client.set("users", user)
        self.wait_value("max_over_time(lib_users[5s])", 3)

    def test_pipeline_sends_several_lines_per_packet(self):
        with self.client.pipeline() as pipe:
            pipe.incr("batch.hits", 3)
            pipe.gauge("batch.size", 12)
            pipe.timing("batch.latency", 250)
        self.wait_value("lib_batch_hits_total", 3)
        self.wait_value("lib_batch_size", 12)
        self.wait_value("lib_batch_latency_seconds_sum", 0.25, rel=1e-9)

    def test_dogstatsd_tags_with_aiodogstatsd(self):
        async def send():
            client = aiodogstatsd.Client(host="127.0.0.1", port=self.server.statsd_port,
                                         namespace="dd", constant_tags={"env": "test"})
            await client.connect()
            client.increment("requests", value=3, tags={"route": "/api", "code": 200})
            client.increment("requests", tags={"route": "/api", "code": 500})
            client.gauge("temperature", value=21.5, tags={"room": "lab"})
            for v in (100, 200, 300, 400):
                client.histogram("payload", value=v, tags={"kind": "json"})
            client.distribution("payload_dist", value=7, tags={"kind": "json"})
            client.timing("handler", value=120, tags={"route": "/api"})
            await client.close()  # flushes its queue

        asyncio.run(send())
        r = self.wait_value('dd_requests_total{code="200"}', 3)
        self.assertEqual(r["metric"], {"__name__": "dd_requests_total", "job": "statsd",
                                       "env": "test", "route": "/api", "code": "200"})
        self.wait_value('dd_requests_total{code="500",route="/api",env="test"}', 1)
        r = self.wait_value('dd_temperature{room="lab"}', 21.5)
        self.assertEqual(r["metric"]["env"], "test")
        self.wait_value('dd_payload_count{kind="json"}', 4)
        self.wait_value('dd_payload_sum{kind="json"}', 1000)
        self.wait_value('dd_payload_dist_count{kind="json"}', 1)
        self.wait_value('dd_handler_seconds_sum{route="/api",env="test"}', 0.12, rel=1e-9)


if __name__ == "__main__":
    unittest.main()
