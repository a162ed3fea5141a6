"""The remote_write sender: zenwatch forwards what it ingests to the real VictoriaMetrics
and the real Prometheus (--web.enable-remote-write-receiver), both from Debian, and they hold
exactly what zenwatch ingested, once per timestamp:

  1. samples written into zenwatch (its own remote_write receiver) arrive at both;
  2. both receivers stop, more samples are written, the receivers start again on the same
     port and data directory: the sender retried, nothing is lost;
  3. zenwatch is killed (SIGKILL) right after a write, before its batch deadline: after the
     restart the sender resumes from its saved progress and sends the rest from the WAL;
  4. zenwatch stops with SIGTERM (flushes) and restarts: nothing sent twice, nothing lost.

Skips when a peer binary is missing.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import zwtest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "bench", "server"))
import rwproto  # noqa: E402

VM = os.environ.get("ZW_VICTORIA_METRICS", "/usr/bin/victoria-metrics")
PROMETHEUS = os.environ.get("ZW_PROMETHEUS", "/usr/bin/prometheus")
SERIES = 12
STEP_MS = 5000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def wait_until(what, pred, timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last is True:
                return
        except Exception as e:  # a peer still starting
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last}")


class Peer:
    """A receiver process on a fixed port and data dir, restartable."""

    def __init__(self, name, argv, ready_url):
        self.name, self.argv, self.ready_url = name, argv, ready_url
        self.proc = None
        fd, self.log_path = tempfile.mkstemp(prefix=f"zw-{name}-", suffix=".log")
        self.log = os.fdopen(fd, "w")

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(f"{self.name} to start", lambda: http_get(self.ready_url)[0] == 200, 30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        self.log.close()
        os.unlink(self.log_path)


class RemoteWriteSenderTest(unittest.TestCase):
    def setUp(self):
        for binary in (VM, PROMETHEUS):
            if not os.path.exists(binary):
                self.skipTest(f"{binary} is not installed")
        if not zwtest.BINARY or not os.path.exists(zwtest.BINARY):
            self.skipTest("ZW_BINARY does not point at the zenwatch binary")
        self.tmp = tempfile.mkdtemp(prefix="zw-rwsend-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        vm_port, prom_port = free_port(), free_port()
        self.vm_url = f"http://127.0.0.1:{vm_port}"
        self.prom_url = f"http://127.0.0.1:{prom_port}"
        self.vm = Peer("vm", [VM, "-storageDataPath", os.path.join(self.tmp, "vm"),
                              "-httpListenAddr", f"127.0.0.1:{vm_port}", "-loggerLevel", "ERROR"],
                       self.vm_url + "/health")
        prom_cfg = os.path.join(self.tmp, "prometheus.yml")
        with open(prom_cfg, "w") as f:
            f.write("global: {scrape_interval: 1h}\n")
        self.prom = Peer("prometheus",
                         [PROMETHEUS, f"--config.file={prom_cfg}",
                          f"--storage.tsdb.path={os.path.join(self.tmp, 'prom')}",
                          f"--web.listen-address=127.0.0.1:{prom_port}",
                          "--web.enable-remote-write-receiver", "--log.level=warn"],
                         self.prom_url + "/-/ready")
        for p in (self.vm, self.prom):
            self.addCleanup(p.cleanup)
            p.start()
        self.config = os.path.join(self.tmp, "zenwatch.yml")
        with open(self.config, "w") as f:
            f.write(f"""
scrape_configs:
  - job_name: zenwatch
    static_configs: [{{targets: ["127.0.0.1:1"]}}]
remote_write:
  - url: {self.vm_url}/api/v1/write
    name: vm
    write_relabel_configs: [{{source_labels: [__name__], regex: "rwsend_.*", action: keep}}]
    queue_config: {{batch_send_deadline: 300ms, min_backoff: 50ms, max_backoff: 500ms,
                    max_samples_per_send: 500, min_shards: 2}}
  - url: {self.prom_url}/api/v1/write
    name: prom
    write_relabel_configs: [{{source_labels: [__name__], regex: "rwsend_.*", action: keep}}]
    queue_config: {{batch_send_deadline: 300ms, min_backoff: 50ms, max_backoff: 500ms}}
""")
        self.zw_dir = os.path.join(self.tmp, "zw")
        os.makedirs(self.zw_dir)
        self.zw = None
        self.addCleanup(self.stop_zenwatch)
        self.expected = {}  # series name -> {t: v}
        self.t0 = (int(time.time()) - 3000) * 1000
        self.next_step = 0

    def start_zenwatch(self):
        self.zw = zwtest.Server(data_dir=self.zw_dir, extra_args=["--config", self.config]).start()

    def stop_zenwatch(self, sig=signal.SIGTERM):
        if self.zw:
            self.zw.stop(sig)
            self.zw.cleanup()
            self.zw = None

    def write(self, steps):
        """Writes `steps` new timestamps for every series into zenwatch."""
        series = []
        for i in range(SERIES):
            name = f"rwsend_m{i}"
            samples = []
            for k in range(self.next_step, self.next_step + steps):
                t, v = self.t0 + k * STEP_MS, i * 1000 + k + 0.25
                samples.append((t, v))
                self.expected.setdefault(name, {})[t] = v
            series.append(([("__name__", name), ("job", "rwsend")], samples))
        self.next_step += steps
        status, _, resp = self.zw.request("POST", "/api/v1/write",
                                          body=rwproto.snappy_block(rwproto.encode_write_request(series)),
                                          headers=rwproto.HEADERS)
        self.assertEqual(status, 204, resp)

    def vm_holds(self):
        http_get(self.vm_url + "/internal/force_flush")
        q = urllib.parse.urlencode({"match[]": '{__name__=~"rwsend_.*"}'})
        _, body = http_get(f"{self.vm_url}/api/v1/export?{q}")
        got = {}
        for line in body.decode().splitlines():
            row = json.loads(line)
            name = row["metric"]["__name__"]
            self.assertEqual(row["metric"].get("job"), "rwsend")
            pairs = got.setdefault(name, [])
            pairs.extend(zip(row["timestamps"], row["values"]))
        return {n: sorted(p) for n, p in got.items()}

    def prom_holds(self):
        q = urllib.parse.urlencode({"query": '{__name__=~"rwsend_.*"}[2h]',
                                    "time": str(time.time())})
        _, body = http_get(f"{self.prom_url}/api/v1/query?{q}")
        got = {}
        for s in json.loads(body)["data"]["result"]:
            got[s["metric"]["__name__"]] = sorted(
                (round(float(t) * 1000), float(v)) for t, v in s["values"])
        return got

    def expected_pairs(self):
        return {n: sorted(m.items()) for n, m in self.expected.items()}

    def wait_for_all(self, what):
        want = self.expected_pairs()
        for name, holds in (("VictoriaMetrics", self.vm_holds), ("Prometheus", self.prom_holds)):
            def check():
                got = holds()
                if got == want:
                    return True
                missing = sum(len(v) for v in want.values()) - sum(len(v) for v in got.values())
                return f"{name}: {missing} samples short of {what}"
            wait_until(f"{name} to hold {what}", check, 25)
            # Exactly once per timestamp (VictoriaMetrics' export keeps duplicates).
            for series, pairs in holds().items():
                ts = [t for t, _ in pairs]
                self.assertEqual(len(ts), len(set(ts)), f"{name} {series} has duplicates")

    def metric(self, name, remote):
        _, _, body = self.zw.request("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + "{") and f'remote_name="{remote}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return None

    def test_forwards_exactly_through_receiver_and_sender_restarts(self):
        self.start_zenwatch()
        # 1. Plain forwarding.
        self.write(20)
        self.write(20)
        self.wait_for_all("the first writes")
        sent = self.metric("zenwatch_remote_storage_samples_total", "vm")
        self.assertEqual(sent, 40 * SERIES)
        self.assertEqual(self.metric("zenwatch_remote_storage_samples_pending", "prom"), 0)
        # Shards: within the configured bounds, the computed need exposed.
        self.assertEqual(self.metric("zenwatch_remote_storage_shards_min", "vm"), 2)
        self.assertEqual(self.metric("zenwatch_remote_storage_shards_max", "vm"), 50)
        self.assertGreaterEqual(self.metric("zenwatch_remote_storage_shards", "vm"), 2)
        self.assertLessEqual(self.metric("zenwatch_remote_storage_shards", "prom"), 50)
        self.assertIsNotNone(self.metric("zenwatch_remote_storage_shards_desired", "prom"))
        self.assertEqual(self.metric("zenwatch_remote_storage_samples_lost_total", "prom"), 0)
        # 2. Both receivers down for a while, then back on the same port and data.
        self.vm.stop()
        self.prom.stop()
        self.write(30)
        time.sleep(1.5)  # requests fail and are retried meanwhile
        self.assertGreater(self.metric("zenwatch_remote_storage_samples_retried_total", "vm"), 0)
        self.assertGreater(self.metric("zenwatch_remote_storage_samples_pending", "prom"), 0)
        self.vm.start()
        self.prom.start()
        self.wait_for_all("the writes made during the outage")
        # 3. zenwatch killed before its batch deadline: the rest comes from the WAL after restart.
        self.write(25)
        self.stop_zenwatch(signal.SIGKILL)
        self.start_zenwatch()
        self.write(10)
        self.wait_for_all("the writes around a SIGKILL")
        # 4. A graceful stop flushes and saves progress; nothing is sent twice.
        self.write(5)
        self.stop_zenwatch(signal.SIGTERM)
        self.start_zenwatch()
        self.write(5)
        self.wait_for_all("the writes around a SIGTERM")
        for remote in ("vm", "prom"):
            self.assertEqual(self.metric("zenwatch_remote_storage_samples_failed_total", remote), 0)
        self.assertTrue(os.path.exists(os.path.join(self.zw_dir, "remote_write", "vm", "progress")))


if __name__ == "__main__":
    unittest.main()
