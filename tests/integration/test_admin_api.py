"""The TSDB admin API and the cardinality report, against the real binary."""
import os
import time
import unittest

from zwtest import Server

NOW_MS = int(time.time() * 1000)


def gauge(name, value, labels, t):
    return {"source": "admin", "domain": "memory", "type": "gauge", "name": name, "value": value,
            "labels": labels, "timestamp": t}


class AdminApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(extra_args=["--web.enable-admin-api"]).start()
        body = []
        for i in range(5):
            for k in range(10):
                body.append(gauge("heap", i * 10 + k, {"pod": "p%d" % i}, NOW_MS - (10 - k) * 15000))
        status, resp = cls.srv.push(body)
        assert status == 204, resp

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def count(self, selector):
        status, body = self.srv.get_json("/api/v1/query", {"query": "count(%s)" % selector,
                                                           "time": "%.3f" % (NOW_MS / 1000)})
        self.assertEqual(status, 200, body)
        r = body["data"]["result"]
        return int(float(r[0]["value"][1])) if r else 0

    def test_status_tsdb_reports_cardinality(self):
        status, body = self.srv.get_json("/api/v1/status/tsdb", {"limit": "3"})
        self.assertEqual(status, 200, body)
        data = body["data"]
        self.assertGreaterEqual(data["headStats"]["numSeries"], 5)
        names = {e["name"]: e["value"] for e in data["seriesCountByMetricName"]}
        self.assertLessEqual(len(names), 3)
        pairs = {e["name"] for e in data["seriesCountByLabelValuePair"]}
        self.assertTrue(pairs)
        status, body = self.srv.get_json("/api/v1/status/tsdb", {"limit": "x"})
        self.assertEqual(status, 400)
        self.assertIn("limit", body["error"])

    def test_delete_series_hides_the_samples(self):
        self.assertEqual(self.count('memory_heap{pod="p4"}'), 1)
        status, _, _ = self.srv.request("POST", "/api/v1/admin/tsdb/delete_series",
                                        params={"match[]": 'memory_heap{pod="p4"}'})
        self.assertEqual(status, 204)
        self.assertEqual(self.count('memory_heap{pod="p4"}'), 0)
        self.assertEqual(self.count('memory_heap{pod="p3"}'), 1)
        status, _, body = self.srv.request("POST", "/api/v1/admin/tsdb/delete_series")
        self.assertEqual(status, 400)
        self.assertIn(b"match[]", body)

    def test_snapshot_creates_a_directory(self):
        status, _, body = self.srv.request("POST", "/api/v1/admin/tsdb/snapshot")
        self.assertEqual(status, 200, body)
        import json
        name = json.loads(body)["data"]["name"]
        snap = os.path.join(self.srv.data_dir, "snapshots", name)
        self.assertTrue(os.path.isdir(snap))
        blocks = [d for d in os.listdir(snap) if os.path.exists(os.path.join(snap, d, "meta.json"))]
        self.assertEqual(len(blocks), 1, "the head is written as one block")


class AdminApiDisabledTest(unittest.TestCase):
    def test_admin_endpoints_need_the_flag(self):
        srv = Server().start()
        try:
            status, _, body = srv.request("POST", "/api/v1/admin/tsdb/snapshot")
            self.assertEqual(status, 503)
            self.assertIn(b"--web.enable-admin-api", body)
            status, _ = srv.get_json("/api/v1/status/tsdb")
            self.assertEqual(status, 200)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
