#!/usr/bin/env python3
"""Whole-server benchmark of the live stream (bench/stream_bench/README.md).

Starts the real zenwatch on 127.0.0.1 with a temporary data directory and measures:
  1. latency: time from a JSON push being acknowledged to the metric_update carrying its
     sample arriving on a WebSocket subscribed to the series (p50/p95 over many pushes);
  2. ingest throughput (samples/s over a fixed time, concurrent JSON pushes) with 0 and with
     N connected dashboards, each subscribed to a few selectors and expressions. Runs
     alternate (0, N, 0, N, ...) so that load from elsewhere on the machine hits both alike.
Every process it starts is stopped by PID; Python standard library only.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from wsclient import WebSocket  # noqa: E402


class Server:
    def __init__(self, binary, cpus=None):
        self.dir = tempfile.mkdtemp(prefix="zw-stream-bench-")
        self.log = open(os.path.join(self.dir, "log.txt"), "w")
        pin = ["taskset", "-c", cpus] if cpus else []
        self.proc = subprocess.Popen(pin + [binary, "serve", "--listen", "127.0.0.1:0",
                                      "--data-dir", os.path.join(self.dir, "data")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.log.name) as f:
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("zenwatch did not start")

    def rss_mb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0

    def cpu_seconds(self):
        """User + system CPU time the server has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def push(conn, body):
    conn.request("POST", "/api/v1/push", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status // 100 != 2:
        raise RuntimeError("push failed: %d %s" % (r.status, data[:200]))


def stream_counters(port):
    """The server's zenwatch_stream_*_total counters from /metrics."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    out = {}
    for m in re.finditer(r"^zenwatch_stream_(\w+)_total (\S+)$", text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def measure_latency(port, pushes, interval):
    ws = WebSocket(port)
    ws.send({"type": "subscribe", "id": "lat", "selector": 'bench_latency{domain="bench"}'})
    ws.recv_until(lambda m: m["type"] == "metric_update")  # history
    arrivals = {}
    done = threading.Event()

    def reader():
        try:
            while not done.is_set():
                m = ws.recv(timeout=30)
                if m is None:
                    return
                if m.get("type") == "metric_update":
                    now = time.perf_counter()
                    for s in m["series"]:
                        for _, v in s["values"]:
                            arrivals.setdefault(v, now)
        except (OSError, ConnectionError):
            pass

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    for i in range(1, pushes + 1):
        body = json.dumps({"source": "bench", "domain": "bench", "type": "gauge",
                           "name": "latency", "value": i})
        push(conn, body)
        acked = time.perf_counter()
        deadline = acked + 5
        key = str(i)
        while key not in arrivals and time.perf_counter() < deadline:
            time.sleep(0.0002)
        if key in arrivals:
            latencies.append(max(0.0, arrivals[key] - acked) * 1000)
        time.sleep(interval)
    done.set()
    ws.close()
    conn.close()
    latencies.sort()
    return latencies


def _dashboards_main(port, n, ready, stop, received, read_every, kinds="all"):
    """In a process of its own, so that reading what the dashboards are sent does not take
    the pushing threads' interpreter lock."""
    socks = []
    for i in range(n):
        ws = WebSocket(port)
        subs = [
            {"type": "subscribe", "id": "a", "selector": 'bench_m%d_total{k="v%d"}' % (i % 10, i % 100)},
            {"type": "subscribe", "id": "b", "selector": 'bench_m%d_total{k="v%d"}' % ((i + 3) % 10, (i * 7) % 100)},
            {"type": "subscribe", "id": "c", "selector": "up"},
            {"type": "subscribe", "id": "d", "expr": "sum(rate(bench_m%d_total[1m]))" % (i % 10)},
            {"type": "subscribe", "id": "e", "expr": "sum by (k) (rate(bench_m0_total[1m]))",
             "range": 300, "step": 15},
        ]
        for s in subs:
            if kinds == "all" or (kinds == "exprs") == ("expr" in s):
                ws.send(s)
        ws.sock.setblocking(False)
        socks.append(ws)
    ready.set()
    sel = selectors.DefaultSelector()
    for ws in socks:
        sel.register(ws.sock, selectors.EVENT_READ)
    total = 0
    while not stop.is_set():
        # The server sends a subscription at most one update per 250 ms: reading every
        # read_every seconds drains each socket once per pass instead of waking per message,
        # so that the readers take little of the core the pushing threads share with them.
        # The socket buffers hold many passes' worth, so the server never sees a slow client.
        for key, _ in sel.select(timeout=0.2):
            try:
                total += len(key.fileobj.recv(1 << 20))
            except (BlockingIOError, OSError):
                pass
        if read_every:
            stop.wait(read_every)
    received.value = total
    for ws in socks:
        ws.sock.close()


class Dashboards:
    """N WebSocket clients, each subscribed to a few selectors and expressions, in a child
    process that reads and discards what they are sent (so they keep up, as a browser would)."""

    def __init__(self, port, n, read_every=0.0, kinds="all"):
        ctx = multiprocessing.get_context("fork")
        self.ready, self.stop_flag = ctx.Event(), ctx.Event()
        self.received = ctx.Value("q", 0)
        self.proc = ctx.Process(target=_dashboards_main,
                                args=(port, n, self.ready, self.stop_flag, self.received, read_every,
                                      kinds))
        self.proc.start()
        if not self.ready.wait(60):
            self.close()
            raise RuntimeError("dashboards did not connect")

    @property
    def bytes(self):
        return self.received.value

    def cpu_seconds(self):
        """User + system CPU time the reading process has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        self.stop_flag.set()
        self.proc.join(30)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def make_body():
    """Counters bench_m{0..9}_total{k=v0..v99}: 1,000 series, one sample each per body, all
    at one timestamp that each push fills in (TS_PLACEHOLDER)."""
    evs = [{"source": "bench", "domain": "bench", "type": "counter", "name": "m%d" % m,
            "value": 1, "labels": {"k": "v%d" % k}, "timestamp": 1111111111111}
           for m in range(10) for k in range(100)]
    return json.dumps(evs).encode()


TS_PLACEHOLDER = b"1111111111111"
_ts_lock = threading.Lock()
_ts_next = [int(time.time() * 1000) - 3600 * 1000]


def next_ts():
    # Pushes of the same series must not share a timestamp: one ms apart.
    with _ts_lock:
        _ts_next[0] = max(_ts_next[0] + 1, int(time.time() * 1000) - 3600 * 1000)
        return _ts_next[0]


def measure_throughput(port, seconds, senders, body, blocks=1, server=None):
    count = [0] * senders
    stop_at = time.perf_counter() + seconds

    def sender(idx):
        # Each sender has its own series (label s), so its timestamps alone must increase.
        # Bodies cycle over `blocks` sets of 1,000 series (label b), so that each series gets
        # a sample every `blocks` pushes rather than on every push.
        mine = [body.replace(b'"k": "v', b'"s": "%d", "b": "%d", "k": "v' % (idx, b))
                for b in range(blocks)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = 0
        while time.perf_counter() < stop_at:
            push(conn, mine[n % blocks].replace(TS_PLACEHOLDER, str(next_ts()).encode()))
            n += 1
            count[idx] += 1000
        conn.close()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    cpu0 = server.cpu_seconds() if server else 0
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = sum(count) / (time.perf_counter() - t0)
    if server is None:
        return rate
    # Server CPU per sample: what the stream costs the server, whatever share of the machine
    # it gets and however fast the client side pushes.
    return rate, (server.cpu_seconds() - cpu0) * 1e6 / max(1, sum(count))


class CpuGroup:
    """A cgroup of its own (v1 cpu controller, cpu.shares 1024) for a server, so that two
    servers sharing a core get equal shares of it whatever their numbers of runnable threads.
    Without a writable /sys/fs/cgroup/cpu it does nothing (`ok` is False)."""
    ROOT = "/sys/fs/cgroup/cpu"

    def __init__(self, name):
        self.path = os.path.join(self.ROOT, name)
        self.ok = False
        try:
            os.mkdir(self.path)
            with open(os.path.join(self.path, "cpu.shares"), "w") as f:
                f.write("1024")
            self.ok = True
        except OSError:
            self.remove()

    def add(self, pid):
        if self.ok:
            with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def remove(self):
        """After its processes have exited."""
        try:
            os.rmdir(self.path)
        except OSError:
            pass


def _throughput_main(port, seconds, senders, body, blocks, out):
    t0 = time.perf_counter()
    rate = measure_throughput(port, seconds, senders, body, blocks)
    out.put((rate, rate * (time.perf_counter() - t0)))


def side_by_side(args, body, result):
    """Two servers on the same core, pushed to at the same time, the N dashboards on one of
    them (alternating): both see the same machine at every instant, so the ratio of their
    figures is the dashboards' effect with the machine's noise cancelled. Each server has a
    cgroup of its own with equal shares, so the stream's extra threads do not win its server a
    larger share of the core. Each server's senders run in a process of their own."""
    servers = [Server(args.zenwatch, args.server_cpus) for _ in range(2)]
    groups = [CpuGroup("zw-stream-bench-%d-%d" % (os.getpid(), i)) for i in range(2)]
    try:
        for g, srv in zip(groups, servers):
            g.add(srv.proc.pid)
        result["cgroups"] = all(g.ok for g in groups)
        if not result["cgroups"]:
            print("note: no writable %s: the servers share the core by thread, which favours "
                  "the one with more runnable threads" % CpuGroup.ROOT)
        ctx = multiprocessing.get_context("fork")

        def both(seconds):
            out = [ctx.Queue() for _ in servers]
            cpu0 = [srv.cpu_seconds() for srv in servers]
            procs = [ctx.Process(target=_throughput_main,
                                 args=(srv.port, seconds, args.senders, body, args.blocks, q))
                     for srv, q in zip(servers, out)]
            t0 = time.perf_counter()
            for p in procs:
                p.start()
            got = [q.get() for q in out]
            elapsed = time.perf_counter() - t0
            for p in procs:
                p.join()
            cpu = [srv.cpu_seconds() - c for srv, c in zip(servers, cpu0)]
            rates = [rate for rate, _ in got]
            us = [c * 1e6 / max(1, n) for c, (_, n) in zip(cpu, got)]
            return rates, us, sum(cpu) / elapsed

        both(2)  # warm-up
        ratios, cpu_ratios = [], []
        for r in range(args.runs):
            on = r % 2  # the server the dashboards connect to
            dash = Dashboards(servers[on].port, args.dashboards, args.read_every, args.subscriptions)
            time.sleep(1.0)
            rates, us, busy = both(args.seconds)
            dash.close()
            ratio, cpu_ratio = rates[on] / rates[1 - on], us[on] / us[1 - on]
            ratios.append(ratio)
            cpu_ratios.append(cpu_ratio)
            print("run %d: with %d dashboards %9.0f samples/s (%.2f us/sample), without %9.0f "
                  "(%.2f us/sample): throughput %+.1f %%, CPU per sample %+.1f %%; the servers "
                  "used %.0f %% of a core" % (r, args.dashboards, rates[on], us[on], rates[1 - on],
                                            us[1 - on], (ratio - 1) * 100, (cpu_ratio - 1) * 100,
                                            busy * 100))
            result.setdefault("side_by_side_runs", []).append(
                {"dashboards_on": on, "rates": rates, "us_per_sample": us, "core_used": busy})
            time.sleep(0.5)
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        result["side_by_side"] = {"throughput_ratio_median": statistics.median(ratios),
                                  "throughput_ratio_quartiles": [q[0], q[2]],
                                  "cpu_per_sample_ratio_median": statistics.median(cpu_ratios)}
        print("side by side, median of %d runs: throughput with %d dashboards %+.1f %% "
              "(quartiles %+.1f / %+.1f %%), server CPU per sample %+.1f %%"
              % (len(ratios), args.dashboards, (statistics.median(ratios) - 1) * 100,
                 (q[0] - 1) * 100, (q[2] - 1) * 100, (statistics.median(cpu_ratios) - 1) * 100))
    finally:
        for srv in servers:
            srv.stop()
        for g in groups:
            g.remove()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zenwatch", required=True)
    ap.add_argument("--dashboards", type=int, default=100)
    ap.add_argument("--pushes", type=int, default=100, help="latency samples")
    ap.add_argument("--push-interval", type=float, default=0.3,
                    help="seconds between latency pushes after each one arrived; below the "
                         "server's 250 ms update interval this measures the coalescing instead")
    ap.add_argument("--seconds", type=float, default=8, help="per throughput run")
    ap.add_argument("--runs", type=int, default=3, help="runs per configuration")
    ap.add_argument("--senders", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=1,
                    help="sets of 1,000 series the pushes cycle over (1: every push writes every series)")
    ap.add_argument("--server-cpus", help="taskset CPU list for the server, e.g. 0")
    ap.add_argument("--client-cpus", help="CPU list for this script and its dashboards, e.g. 1")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--read-every", type=float, default=0.1,
                    help="seconds between the dashboards' read passes (0: read each message as it comes)")
    ap.add_argument("--side-by-side", action="store_true",
                    help="two servers on the same core pushed to at once, the dashboards on one "
                         "of them (alternating); replaces the 0-vs-N runs")
    ap.add_argument("--subscriptions", choices=["all", "selectors", "exprs"], default="all",
                    help="what each dashboard subscribes to (side by side only): everything, or "
                         "only its selectors, or only its expressions (to tell their costs apart)")
    ap.add_argument("--json")
    args = ap.parse_args()

    if args.client_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})
    if args.side_by_side:
        result = {"uptime": open("/proc/loadavg").read().split()[:3]}
        side_by_side(args, make_body(), result)
        print("load average (1, 5, 15 min) at start:", " ".join(result["uptime"]),
              "at end:", " ".join(open("/proc/loadavg").read().split()[:3]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
        return
    server = Server(args.zenwatch, args.server_cpus)
    try:
        result = {"uptime": open("/proc/loadavg").read().split()[:3]}
        if not args.skip_latency:
            lat = measure_latency(server.port, args.pushes, args.push_interval)
            result["latency_ms"] = {"n": len(lat), "p50": statistics.median(lat),
                                    "p95": lat[int(0.95 * (len(lat) - 1))], "max": lat[-1]}
            print("push ack -> metric_update: n=%d p50=%.2f ms p95=%.2f ms max=%.2f ms" %
                  (len(lat), result["latency_ms"]["p50"], result["latency_ms"]["p95"], lat[-1]))
        body = make_body()
        measure_throughput(server.port, 2, args.senders, body, args.blocks)  # warm-up
        runs = {0: [], args.dashboards: []}
        cpu = {0: [], args.dashboards: []}
        rss = {}
        reader_share = {}
        for r in range(args.runs):
            # 0, N, N, 0, 0, N, ...: a pair's order alternates, so that a drift of the
            # server (its head growing) or of the machine's load favours neither.
            for n in ((0, args.dashboards) if r % 2 == 0 else (args.dashboards, 0)):
                dash = Dashboards(server.port, n, args.read_every) if n else None
                time.sleep(1.0)
                reader0 = dash.cpu_seconds() if dash else 0
                counters0 = stream_counters(server.port)
                t0 = time.perf_counter()
                rate, us = measure_throughput(server.port, args.seconds, args.senders, body,
                                              args.blocks, server)
                reader = (dash.cpu_seconds() - reader0) / (time.perf_counter() - t0) if dash else 0
                cpu[n].append(us)
                rss[n] = server.rss_mb()
                counters1 = stream_counters(server.port)
                # What the stream did during the run: updates sent, evaluations, and any sign
                # that it fell behind (snapshot switches, samples dropped before dispatch).
                stream = {k: int(v - counters0.get(k, 0)) for k, v in counters1.items()
                          if v != counters0.get(k, 0)}
                received = 0
                if dash:
                    dash.close()
                    received = dash.bytes
                runs[n].append(rate)
                reader_share.setdefault(n, []).append(reader)
                print("run %d, %3d dashboards: %9.0f samples/s, server CPU %.2f us/sample "
                      "(dashboards received %.1f MB, their reader used %.0f %% of a core), RSS %.0f MB"
                      % (r, n, rate, us, received / 1e6, reader * 100, rss[n]))
                if n:
                    print("           stream during the run:", " ".join(
                        "%s=%d" % kv for kv in sorted(stream.items())) or "nothing")
                result.setdefault("stream_counters", []).append(stream)
                time.sleep(0.5)
        m0 = statistics.median(runs[0])
        mn = statistics.median(runs[args.dashboards])
        result["throughput"] = {"0": runs[0], str(args.dashboards): runs[args.dashboards],
                                "median_0": m0, "median_n": mn, "ratio": mn / m0}
        c0 = statistics.median(cpu[0])
        cn = statistics.median(cpu[args.dashboards])
        result["server_cpu_us_per_sample"] = {"0": cpu[0], str(args.dashboards): cpu[args.dashboards],
                                              "median_0": c0, "median_n": cn, "ratio": cn / c0}
        result["rss_mb"] = rss
        # Each N run is compared with the 0 run next to it, so that load from elsewhere
        # that drifts during the benchmark cancels out; the median of those ratios is the
        # figure least moved by one disturbed run.
        pair_rate = statistics.median(b / a for a, b in zip(runs[0], runs[args.dashboards]))
        pair_cpu = statistics.median(b / a for a, b in zip(cpu[0], cpu[args.dashboards]))
        result["paired_ratio"] = {"throughput": pair_rate, "server_cpu_us_per_sample": pair_cpu}
        result["reader_core_share"] = statistics.median(reader_share[args.dashboards])
        print("median: 0 dashboards %.0f samples/s, %d dashboards %.0f samples/s: %.1f %% %s"
              % (m0, args.dashboards, mn, abs(1 - mn / m0) * 100, "lower" if mn < m0 else "higher"))
        print("median server CPU per sample: 0 dashboards %.2f us, %d dashboards %.2f us: %+.1f %%"
              % (c0, args.dashboards, cn, (cn / c0 - 1) * 100))
        print("median of paired runs (N / the 0 run next to it): throughput %+.1f %%, server CPU "
              "per sample %+.1f %%; the dashboards' reader used %.0f %% of a core"
              % ((pair_rate - 1) * 100, (pair_cpu - 1) * 100, result["reader_core_share"] * 100))
        print("load average (1, 5, 15 min) at start:", " ".join(result["uptime"]),
              "at end:", " ".join(open("/proc/loadavg").read().split()[:3]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
