#!/usr/bin/env python3
"""Whole-server ingest benchmark: the same remote_write workload into zenwatch,
VictoriaMetrics and Prometheus, each pinned to one core, the sender on another.

    python3 bench/server/harness.py --zenwatch build-rw/src/cli/zenwatch --size 10k

See README.md. `load_dataset` is the reusable part: it starts the servers, loads one
workload into each and returns them running (for the PromQL query benchmark).
"""
import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rwproto  # noqa: E402
import servers  # noqa: E402
from workload import Workload, make_series  # noqa: E402

SIZES = {"10k": (10000, 3.0), "100k": (100000, 1.0)}


def pin_self(core):
    try:
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        pass


def send(server, workload, deadline, shard_requests=None):
    """Replays the workload into `server` over one connection per shard, shards kept
    within one round of each other. Returns {"seconds", "samples", "requests", "errors",
    "first_error"}."""
    shard_requests = shard_requests or [workload.shard_requests(i) for i in range(workload.shards)]
    rounds = max((r[-1][0] for r in shard_requests if r), default=0) + 1
    barrier = threading.Barrier(len(shard_requests))
    stats = {"samples": 0, "requests": 0, "errors": 0, "first_error": None}
    lock = threading.Lock()
    abort = threading.Event()

    def worker(reqs):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        samples = requests = errors = 0
        first_error = None
        i = 0
        try:
            for rnd in range(rounds):
                while i < len(reqs) and reqs[i][0] == rnd and not abort.is_set():
                    _, n, body = reqs[i]
                    i += 1
                    if time.time() > deadline:
                        abort.set()
                        break
                    try:
                        conn.request("POST", server.write_path, body=body, headers=rwproto.HEADERS)
                        r = conn.getresponse()
                        data = r.read()
                    except (OSError, http.client.HTTPException) as e:
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                        status, data = 0, str(e).encode()
                    else:
                        status = r.status
                    requests += 1
                    if 200 <= status < 300:
                        samples += n
                    else:
                        errors += 1
                        first_error = first_error or f"{status}: {data[:300]!r}"
                try:
                    barrier.wait(timeout=max(1, deadline - time.time()))
                except threading.BrokenBarrierError:
                    abort.set()
                    break
        finally:
            conn.close()
            with lock:
                stats["samples"] += samples
                stats["requests"] += requests
                stats["errors"] += errors
                stats["first_error"] = stats["first_error"] or first_error
            if abort.is_set():
                barrier.abort()

    threads = [threading.Thread(target=worker, args=(r,)) for r in shard_requests]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats["seconds"] = time.time() - t0
    stats["timed_out"] = abort.is_set()
    return stats


def wait_idle(server, max_seconds=60, quiet_share=0.02, window=2.0):
    """Waits until the server uses under `quiet_share` of a core over `window` seconds
    (background merges and flushes done), at most `max_seconds`."""
    end = time.time() + max_seconds
    prev = server.cpu_seconds()
    while time.time() < end:
        time.sleep(window)
        cur = server.cpu_seconds()
        if cur - prev < quiet_share * window:
            return
        prev = cur


def query_set(workload):
    """The queries whose peak memory is measured: (name, promql), each run as a range query
    over the whole workload at a 60 s step."""
    # A plain selector over about 10k series: every series at the 10k size, the one family
    # of 10 % of them at 100k.
    plain = ('{__name__=~"bench_.+"}' if workload.n_series <= 10000
             else "bench_http_requests_total")
    return [("sum_rate", "sum(rate(bench_http_requests_total[5m]))"),
            ("count_all", 'count({__name__=~"bench_.+"})'),
            ("plain_selector", plain)]


def measure_queries(srv, workload, log=print):
    """Runs each query of query_set once on a running server: wall time, the resident
    memory before it and the peak while it ran (VmHWM, reset before each query)."""
    out = {}
    start_s, end_s = workload.start_ms / 1000, workload.end_ms / 1000
    for name, promql in query_set(workload):
        rss0 = srv.rss_bytes()
        exact = srv.reset_peak_rss()
        t0 = time.time()
        try:
            n = len(srv.query_range(promql, start_s, end_s, 60))
            err = None
        except RuntimeError as e:
            n, err = 0, str(e)[:300]
        secs = time.time() - t0
        peak = srv.peak_rss_bytes() if exact else None
        split = srv.rss_split()
        out[name] = {"query": promql, "seconds": round(secs, 3), "series": n, "error": err,
                     "rss_before": rss0, "peak_rss": peak,
                     "peak_over_before": peak - rss0 if peak else None,
                     # After the query: what stayed, by kind (file: pages of mapped files
                     # the query read, which the kernel may drop; anon: heap).
                     "anon_after": split.get("anon"), "file_after": split.get("file")}
        log(f"    {srv.name} {name}: {secs:.2f} s, {n} series, peak RSS "
            + (f"{peak / 1e6:.0f} MB (+{max(0, peak - rss0) / 1e6:.0f} MB)" if peak else "n/a")
            + (f", after: anon {split['anon'] / 1e6:.0f} MB, file {split['file'] / 1e6:.0f} MB"
               if split else "")
            + (f", error {err}" if err else ""))
    return out


def write_backfill(srv, workload, days, tool, log=print):
    """Writes `days` of history before the workload's first sample for the workload's
    series straight into zenwatch's data dir as blocks (bench/backfill_bench.cc: the
    project's block writer, 24 h blocks cut at UTC midnight) and turns downsampling off, so
    that queries over the history read the raw samples. Call before srv.start()."""
    if not tool or not os.path.exists(tool):
        raise RuntimeError(f"backfill tool not found: {tool!r} (build the backfill_bench target "
                           "or pass --backfill-tool)")
    series_file = os.path.join(srv.tmp, "backfill-series.tsv")
    with open(series_file, "w") as f:
        for s in make_series(workload.n_series):
            f.write("\t".join([s.kind, repr(s.rate), repr(s.value)]
                              + [f"{n}={v}" for n, v in s.labels]) + "\n")
    start_ms = workload.start_ms - int(days * 86400 * 1000)
    t0 = time.time()
    out = subprocess.run([tool, "--series", series_file, "--blocks-dir",
                          os.path.join(srv.data_dir, "blocks"), "--start-ms", str(start_ms),
                          "--end-ms", str(workload.start_ms)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"backfill failed: {out.stderr[-2000:]}")
    log(f"  backfill: {out.stdout.strip().splitlines()[-1]} ({time.time() - t0:.0f} s wall)")
    srv.extra_args += ["--downsample.after", "0"]


def selection_queries(workload, days):
    """(name, promql, range seconds, step seconds) of the selection benchmark: a plain
    selector over every series and sum(rate) over nine in ten of them (rate drops the metric
    name, and the two histogram families' buckets would then collide), over the last 2 h
    and the last `days` days. The 2 h queries run at a 60 s step. At 60 s a 7 d query would
    hold 10k x 10,081 points, over the engine's 50 M sample limit, so the 7 d selector runs
    at a 1 h step (169 points per series, about the 2 h query's 121: both return about as
    much, and the difference is the reading) and the 7 d sum(rate) at 10 min (1,009 steps)."""
    sel = '{__name__=~"bench_.+"}'
    rate_sel = '{__name__=~"bench_.+",__name__!="bench_response_size_bytes_bucket"}'
    long_s = int(days * 86400)
    return [("selector_2h", sel, 7200, 60),
            (f"selector_{days:g}d", sel, long_s, 3600),
            ("sum_rate_2h", f"sum(rate({rate_sel}[5m]))", 7200, 60),
            (f"sum_rate_{days:g}d", f"sum(rate({rate_sel}[5m]))", long_s, 600)]


def measure_selection(srv, workload, days, repeats=3, log=print):
    """Runs each selection query `repeats` times (ending at the workload's end): median
    wall time, points returned and the highest peak over resident memory before it."""
    out = {}
    end_s = workload.end_ms / 1000
    for name, promql, range_s, step_s in selection_queries(workload, days):
        times, peaks, points, err = [], [], 0, None
        for _ in range(repeats):
            rss0 = srv.rss_bytes()
            exact = srv.reset_peak_rss()
            t0 = time.time()
            try:
                res = srv.query_range(promql, end_s - range_s, end_s, step_s)
                points = sum(len(r.get("values", [])) for r in res)
            except RuntimeError as e:
                err = str(e)[:300]
                break
            times.append(time.time() - t0)
            if exact:
                peaks.append(srv.peak_rss_bytes() - rss0)
        split = srv.rss_split()
        out[name] = {"query": promql, "range_s": range_s, "step_s": step_s, "points": points,
                     "seconds": round(statistics.median(times), 3) if times else None,
                     "all_seconds": [round(t, 3) for t in times],
                     "peak_over_before": max(peaks) if peaks else None, "error": err,
                     "rss_anon_after": split.get("anon"), "rss_file_after": split.get("file")}
        log(f"    {name}: {out[name]['seconds']} s (median of {len(times)}: "
            + ", ".join(f"{t:.2f}" for t in times) + f"), {points:,} points"
            + (f", peak +{max(peaks) / 1e6:.0f} MB" if peaks else "")
            + (f", after: anon {split['anon'] / 1e6:.0f} MB, file {split['file'] / 1e6:.0f} MB"
               if split else "")
            + (f", error {err}" if err else ""))
    for short, long in (("selector_2h", f"selector_{days:g}d"),
                        ("sum_rate_2h", f"sum_rate_{days:g}d")):
        a, b = out[short]["seconds"], out[long]["seconds"]
        if a and b:
            out[f"{long}_over_2h"] = round(b / a, 1)
            log(f"    {long} / 2h: {b / a:.1f}x")
    return out


def ingest_one(kind, workload, binary=None, core=0, deadline=None, shard_requests=None,
               keep_running=False, log=print, queries=False, backfill_days=0,
               backfill_tool=None):
    """Starts one server, loads the workload, measures it. Returns (result, server); the
    server is stopped unless keep_running. With backfill_days (zenwatch only), history is
    written as blocks first and the selection queries are measured (measure_selection)."""
    deadline = deadline or time.time() + 3600
    srv = servers.SERVERS[kind](core=core, binary=binary)
    try:
        if backfill_days:
            write_backfill(srv, workload, backfill_days, backfill_tool, log)
        srv.start()
        time.sleep(1.0)
        rss0, cpu0 = srv.rss_bytes(), srv.cpu_seconds()
        sent = send(srv, workload, deadline, shard_requests)
        cpu_ingest = srv.cpu_seconds() - cpu0
        wait_idle(srv, max_seconds=max(1, min(60, deadline - time.time())))
        cpu_total = srv.cpu_seconds() - cpu0
        rss = srv.rss_bytes()
        split = srv.rss_split()
        end_s = workload.end_ms / 1000
        try:
            got_series = int(float(srv.query('count({__name__=~"bench_.+"})', end_s)[0]["value"][1]))
        except (RuntimeError, IndexError, KeyError, ValueError) as e:
            got_series = f"query failed: {e}"
        query_mem = measure_queries(srv, workload, log) if queries else None
        selection = measure_selection(srv, workload, backfill_days, log=log) \
            if backfill_days else None
        srv.flush()
        try:
            # With backfilled history the snapshot would hold far more than was sent.
            compacted = None if backfill_days else srv.compacted_bytes(workload)
        except RuntimeError as e:
            compacted = None
            log(f"  {kind}: compacted size not measured: {e}")
        result = {
            "server": kind,
            "samples_sent": sent["samples"],
            "requests": sent["requests"],
            "errors": sent["errors"],
            "first_error": sent["first_error"],
            "timed_out": sent["timed_out"],
            "seconds": round(sent["seconds"], 3),
            "samples_per_s": round(sent["samples"] / sent["seconds"]) if sent["seconds"] else 0,
            "cpu_s_ingest": round(cpu_ingest, 3),
            "cpu_s_total": round(cpu_total, 3),
            "cpu_s_per_m_samples": round(cpu_ingest / (sent["samples"] / 1e6), 3)
            if sent["samples"] else None,
            "cpu_s_per_m_samples_incl_background": round(cpu_total / (sent["samples"] / 1e6), 3)
            if sent["samples"] else None,
            "samples_per_cpu_s": round(sent["samples"] / cpu_ingest) if cpu_ingest else None,
            # Share of its one core the server used while receiving: below ~0.9 it was
            # waiting (on the sender, on its own pacing), so samples_per_s understates it.
            "core_utilisation": round(cpu_ingest / sent["seconds"], 3) if sent["seconds"] else None,
            "rss_bytes": rss,
            "rss_bytes_before": rss0,
            "rss_bytes_per_series": round((rss - rss0) / workload.n_series, 1),
            # The same RSS split: anonymous (heap, stacks) and file-backed (mapped files).
            "rss_anon_bytes": split.get("anon"),
            "rss_file_bytes": split.get("file"),
            "series_found": got_series,
            # Long-term format only (blocks / merged parts, no WAL), see Server.compacted_bytes.
            "compacted_bytes": compacted,
            "compacted_bytes_per_sample": round(compacted / max(1, sent["samples"]), 3)
            if compacted else None,
        }
        if query_mem:
            result["queries"] = query_mem
            for name, q in query_mem.items():
                result[f"query_{name}_peak_over_rss"] = q["peak_over_before"]
                result[f"query_{name}_peak_rss"] = q["peak_rss"]
                result[f"query_{name}_s"] = q["seconds"]
        if selection:
            result["selection"] = selection
        if keep_running:
            return result, srv
        srv.stop()  # graceful: each flushes what it holds (WAL, parts, head)
        result["disk_bytes_after_stop"] = srv.disk_bytes()
        result["disk_bytes_per_sample"] = round(result["disk_bytes_after_stop"] / max(1, sent["samples"]), 3)
        files = {}
        for root, _, names in os.walk(srv.data_dir):
            rel = os.path.relpath(root, srv.data_dir).split(os.sep)[0]
            files[rel] = files.get(rel, 0) + sum(
                os.lstat(os.path.join(root, n)).st_blocks * 512 for n in names)
        result["disk_by_top_dir"] = files
        log(f"  {kind}: {result['samples_per_s']:,} samples/s, "
            f"{result['cpu_s_per_m_samples']} CPU-s/M samples, RSS {rss / 1e6:.0f} MB "
            f"(anon {(split.get('anon') or 0) / 1e6:.0f}, file {(split.get('file') or 0) / 1e6:.0f}), "
            f"disk {result['disk_bytes_after_stop'] / 1e6:.1f} MB, compacted "
            f"{result['compacted_bytes_per_sample']} B/sample, errors {sent['errors']}"
            + (f" ({sent['first_error']})" if sent["first_error"] else ""))
        return result, None
    finally:
        if not keep_running:
            srv.cleanup()


def load_dataset(workload, kinds=("zenwatch", "victoriametrics", "prometheus"), binaries=None,
                 core=0, timeout_s=3600, log=print):
    """Starts each server in `kinds` (pinned to `core`), loads `workload` into it and
    returns {kind: (ingest result, running Server)}. The caller queries them and must
    call servers.stop_all() (or .cleanup() on each) when done."""
    workload.prepare(log=log)
    reqs = [workload.shard_requests(i) for i in range(workload.shards)]
    deadline = time.time() + timeout_s
    out = {}
    for kind in kinds:
        result, srv = ingest_one(kind, workload, (binaries or {}).get(kind), core, deadline, reqs,
                                 keep_running=True, log=log)
        out[kind] = (result, srv)
    return out


def median_of(results, key):
    vals = [r[key] for r in results if isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), action="append",
                    help="10k (10k series x 3 h) and/or 100k (100k series x 1 h); default 10k")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the series count (e.g. 0.1 for a quick run)")
    ap.add_argument("--hours", type=float, help="override the hours of data")
    ap.add_argument("--end-ms", type=int,
                    help="the data's end (ms since the epoch; default: the last whole hour "
                         "but one), e.g. to reuse a workload generated earlier")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--servers", default="zenwatch,victoriametrics,prometheus")
    ap.add_argument("--zenwatch", default=os.environ.get("ZW_BINARY", ""))
    ap.add_argument("--zenwatch-baseline", default=os.environ.get("ZW_BASELINE_BINARY", ""),
                    help="a second zenwatch binary (e.g. built before a change), measured as "
                         "server zenwatch_baseline when --servers names it")
    ap.add_argument("--victoria-metrics", default="/usr/bin/victoria-metrics")
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--shards", type=int, default=4, help="sender connections")
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--sender-core", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=3600, help="whole-run limit, seconds")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--queries", action="store_true",
                    help="after ingest, measure peak memory and time of range queries over "
                         "the whole workload (see query_set)")
    ap.add_argument("--backfill-days", type=float, default=0,
                    help="zenwatch only: write this many days of history before the workload "
                         "as blocks, then time selections over 2 h and over the whole "
                         "history (see selection_queries)")
    ap.add_argument("--backfill-tool", default="",
                    help="the backfill_bench binary (default: bench/backfill_bench in the "
                         "build dir of --zenwatch)")
    args = ap.parse_args()
    if args.backfill_days and not args.backfill_tool and args.zenwatch:
        # <build>/src/cli/zenwatch -> <build>/bench/backfill_bench
        build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.zenwatch))))
        args.backfill_tool = os.path.join(build, "bench", "backfill_bench")

    pin_self(args.sender_core)
    hard_deadline = time.time() + args.timeout
    binaries = {"zenwatch": os.path.abspath(args.zenwatch) if args.zenwatch else None,
                "zenwatch_baseline": os.path.abspath(args.zenwatch_baseline or args.zenwatch)
                if (args.zenwatch_baseline or args.zenwatch) else None,
                "victoriametrics": args.victoria_metrics, "prometheus": args.prometheus}

    def on_signal(signum, _):
        servers.stop_all()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    report = {"sizes": []}
    try:
        for size in args.size or ["10k"]:
            n, hours = SIZES[size]
            n = max(100, int(n * args.scale))
            w = Workload(n, args.hours or hours, shards=args.shards, end_ms=args.end_ms)
            print(f"== {size}: {n} series x {w.hours} h = {w.total_samples:,} samples")
            w.prepare()
            reqs = [w.shard_requests(i) for i in range(w.shards)]
            runs = {k: [] for k in args.servers.split(",")}
            for run in range(args.runs):
                for kind in runs:
                    if time.time() > hard_deadline:
                        print("  time limit reached; stopping")
                        break
                    print(f"  run {run + 1}/{args.runs}: {kind}")
                    backfill = args.backfill_days if kind.startswith("zenwatch") else 0
                    result, _ = ingest_one(kind, w, binaries.get(kind), args.server_core,
                                           hard_deadline, reqs, queries=args.queries,
                                           backfill_days=backfill,
                                           backfill_tool=args.backfill_tool)
                    runs[kind].append(result)
            summary = {}
            for kind, rs in runs.items():
                summary[kind] = {k: median_of(rs, k) for k in (
                    "samples_per_s", "cpu_s_per_m_samples", "cpu_s_per_m_samples_incl_background",
                    "samples_per_cpu_s", "core_utilisation", "rss_bytes", "rss_bytes_per_series",
                    "rss_anon_bytes", "rss_file_bytes",
                    "disk_bytes_after_stop", "disk_bytes_per_sample", "compacted_bytes",
                    "compacted_bytes_per_sample")}
                for name, _ in query_set(w) if args.queries else []:
                    for key in (f"query_{name}_peak_over_rss", f"query_{name}_peak_rss",
                                f"query_{name}_s"):
                        summary[kind][key] = median_of(rs, key)
                sel = [r["selection"] for r in rs if r.get("selection")]
                for name in sel[0] if sel else []:
                    vals = [x[name]["seconds"] if isinstance(x[name], dict) else x[name]
                            for x in sel]
                    vals = [v for v in vals if isinstance(v, (int, float))]
                    if vals:
                        summary[kind][f"selection_{name}"] = statistics.median(vals)
                summary[kind]["runs"] = len(rs)
                summary[kind]["errors"] = sum(r["errors"] for r in rs)
            zw, vm = summary.get("zenwatch"), summary.get("victoriametrics")
            if zw and vm and zw["samples_per_cpu_s"] and vm["samples_per_cpu_s"]:
                summary["zenwatch_vs_victoriametrics_samples_per_cpu_s"] = round(
                    zw["samples_per_cpu_s"] / vm["samples_per_cpu_s"], 3)
            report["sizes"].append({"size": size, "workload": w.describe(), "runs": runs,
                                    "median": summary})
            print(json.dumps(summary, indent=2))
    finally:
        servers.stop_all()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
