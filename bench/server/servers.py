"""The three servers under test, each a real binary on 127.0.0.1 with a temp data dir.

Every server is started pinned to one core (`taskset -c <core>`), is measured through
/proc/<pid> (CPU = utime + stime, RSS = VmRSS) and `du` of its data dir, and is stopped by
its PID (SIGTERM, then SIGKILL after a grace period). `ALL_STARTED` tracks every process
so the harness can stop them whatever happens.
"""
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL_STARTED = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=60):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


class Server:
    name = "?"
    write_path = "/api/v1/write"
    env_env = None  # names the variable with extra environment for the server

    def __init__(self, core=0, binary=None):
        self.core = core
        self.binary = binary or self.default_binary
        self.tmp = tempfile.mkdtemp(prefix=f"zw-bench-{self.name}-")
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.tmp, "log.txt")
        self.extra_args = []  # flags added after ZW_BENCH_ARGS' (zenwatch only)

    def command(self):
        raise NotImplementedError

    def start(self, timeout=60):
        self.port = free_port()
        self.log = open(self.log_path, "w")
        cmd = ["taskset", "-c", str(self.core)] + self.command()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.environment())
        ALL_STARTED.append(self)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output()[-3000:]}")
            try:
                status, _ = http("GET", self.url(self.ready_path), timeout=2)
                if status == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready:\n{self.output()[-3000:]}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def environment(self):
        """The server's environment: ours, plus `NAME=value` words from the variable named
        by env_env (zenwatch: ZW_BENCH_ENV, e.g. "MALLOC_ARENA_MAX=2")."""
        env = dict(os.environ)
        for word in shlex.split(os.environ.get(self.env_env, "")) if self.env_env else []:
            name, _, value = word.partition("=")
            env[name] = value
        return env

    def rss_split(self):
        """Resident memory split by kind, from /proc/<pid>/smaps_rollup: {"anon", "file"}
        bytes (file: mapped files, e.g. memory-mapped chunks and blocks; anon: heap,
        stacks). Empty where smaps_rollup is missing."""
        fields = {}
        try:
            with open(f"/proc/{self.proc.pid}/smaps_rollup") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 3 and parts[2] == "kB":
                        fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
        except OSError:
            return {}
        if "Rss" not in fields or "Anonymous" not in fields:
            return {}
        anon = fields["Anonymous"]
        return {"anon": anon, "file": fields["Rss"] - anon }

    def flush(self):
        """Makes what was ingested durable on disk, where the server offers a way."""

    def disk_bytes(self):
        return dir_bytes(self.data_dir)

    def compacted_bytes(self, workload):
        """Bytes on disk of everything ingested once it is all in the server's long-term
        format (blocks, parts), without write-ahead logs; None where the server has no way
        to get there on demand."""
        return None

    def snapshot_bytes(self):
        """Size of a snapshot that includes the head, written as a block: the blocks already
        on disk (hard links, counted once) plus the head's samples in block form. The
        snapshot is removed afterwards so it does not count in disk_bytes."""
        status, body = http("POST", self.url("/api/v1/admin/tsdb/snapshot"), b"", timeout=600)
        if status != 200:
            raise RuntimeError(f"{self.name}: snapshot: {status} {body[:300]!r}")
        path = os.path.join(self.data_dir, "snapshots", json.loads(body)["data"]["name"])
        size = dir_bytes(path)
        shutil.rmtree(path, ignore_errors=True)
        return size

    def query(self, promql, at_s):
        status, body = http("GET", self.url("/api/v1/query?" + urllib.parse.urlencode(
            {"query": promql, "time": f"{at_s:.3f}"})))
        if status != 200:
            raise RuntimeError(f"{self.name}: query {promql}: {status} {body[:300]!r}")
        return json.loads(body)["data"]["result"]

    def query_range(self, promql, start_s, end_s, step_s):
        status, body = http("GET", self.url("/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": promql, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}",
             "step": f"{step_s:g}"})), timeout=600)
        if status != 200:
            raise RuntimeError(f"{self.name}: query_range {promql}: {status} {body[:300]!r}")
        return json.loads(body)["data"]["result"]

    def peak_rss_bytes(self):
        """VmHWM: the most resident memory since start or since reset_peak_rss()."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def reset_peak_rss(self):
        """Resets VmHWM to the current RSS (Linux >= 4.0); False where not permitted."""
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def stop(self, grace=60):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def cleanup(self):
        self.stop(grace=10)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self in ALL_STARTED:
            ALL_STARTED.remove(self)


class Zenwatch(Server):
    name = "zenwatch"
    default_binary = os.environ.get("ZW_BINARY", "")
    ready_path = "/-/ready"
    args_env = "ZW_BENCH_ARGS"
    env_env = "ZW_BENCH_ENV"

    def command(self):
        if not self.binary or not os.path.exists(self.binary):
            raise RuntimeError("zenwatch binary not found: pass --zenwatch or set ZW_BINARY")
        # An empty scrape config keeps the server from scraping itself during the run.
        cfg = os.path.join(self.tmp, "zenwatch.yml")
        with open(cfg, "w") as f:
            f.write("scrape_configs:\n  - job_name: zenwatch\n    static_configs: []\n")
        # ZW_BENCH_ARGS adds flags, e.g. "--tsdb.block-ranges 30m,90m,3h --ooo.window 10m" so
        # that a 3 h workload is cut into blocks and compacted within the run.
        # The admin API is on for compacted_bytes' snapshot.
        return [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir",
                self.data_dir, "--config", cfg, "--web.enable-admin-api"] + shlex.split(
                    os.environ.get(self.args_env, "")) + self.extra_args

    def compacted_bytes(self, workload):
        # The compacted blocks plus the head written as one more block.
        return self.snapshot_bytes()


class VictoriaMetrics(Server):
    name = "victoriametrics"
    default_binary = "/usr/bin/victoria-metrics"
    ready_path = "/health"

    def command(self):
        return [self.binary, "-storageDataPath", self.data_dir, "-httpListenAddr",
                f"127.0.0.1:{self.port}", "-retentionPeriod", "100y", "-loggerLevel", "WARN"]

    def flush(self):
        http("GET", self.url("/internal/force_flush"))

    def compacted_bytes(self, workload):
        # Everything flushed to parts, then each monthly partition the data touches merged
        # (the call returns when the merge is done); the whole data dir, index included.
        self.flush()
        months = sorted({time.strftime("%Y_%m", time.gmtime(ms / 1000))
                         for ms in (workload.start_ms, workload.end_ms)})
        for m in months:
            status, body = http("GET", self.url(f"/internal/force_merge?partition_prefix={m}"),
                                timeout=600)
            if status != 200:
                raise RuntimeError(f"{self.name}: force_merge {m}: {status} {body[:300]!r}")
        return dir_bytes(self.data_dir)


class Prometheus(Server):
    name = "prometheus"
    default_binary = "/usr/bin/prometheus"
    ready_path = "/-/ready"

    def command(self):
        cfg = os.path.join(self.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1m\n")  # no scrape jobs
        return [self.binary, "--config.file", cfg, "--storage.tsdb.path", self.data_dir,
                "--web.listen-address", f"127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver", "--web.enable-admin-api",
                "--log.level", "warn"]

    def compacted_bytes(self, workload):
        # Its blocks plus the head written as a block, as for zenwatch.
        return self.snapshot_bytes()


class ZenwatchBaseline(Zenwatch):
    """A second zenwatch measured in the same run: another binary (e.g. one built before a
    change; default: the same one) and/or other flags (ZW_BASELINE_ARGS)."""
    name = "zenwatch_baseline"
    default_binary = os.environ.get("ZW_BASELINE_BINARY", "")
    args_env = "ZW_BASELINE_ARGS"
    env_env = "ZW_BASELINE_ENV"


SERVERS = {"zenwatch": Zenwatch, "zenwatch_baseline": ZenwatchBaseline,
           "victoriametrics": VictoriaMetrics, "prometheus": Prometheus}


def stop_all():
    for s in list(ALL_STARTED):
        try:
            s.cleanup()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
