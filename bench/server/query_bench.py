#!/usr/bin/env python3
"""PromQL query latency, side by side: zenwatch, VictoriaMetrics and Prometheus hold the same
remote-written dataset (workload.py) and answer the same queries (issue 4's list).

    python3 bench/server/query_bench.py --zenwatch build/src/cli/zenwatch --size 10k --runs 5
    python3 bench/server/query_bench.py --zenwatch build/src/cli/zenwatch --size 100k --runs 5

Each server runs pinned to one core (--server-core), the client on another; servers are
queried in turn within each repetition so that machine noise hits them alike. A warm-up
repetition is discarded. Before the first query each server in turn must be quiet (under
--idle-share of a core for --idle-seconds, waiting at most --idle-max; the wait is reported),
so that its background work after the load is not timed. VictoriaMetrics runs with its result
cache off (-search.disableCache), so every answer is computed. Reported per query and mode: median
wall time per server, the ratios zenwatch/VictoriaMetrics and zenwatch/Prometheus, and the
result's series count per server (the same work must have been done). Bounded by --timeout;
every process started is stopped by PID.
"""
import argparse
import json
import os
import signal
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import servers  # noqa: E402
from workload import Workload  # noqa: E402

# (name, PromQL, [modes]); modes: instant, 1h (step 15 s), 24h (step 60 s).
QUERIES = [
    ("selector_all", '{job!=""}', ["instant", "1h", "24h"]),
    ("rate", "rate(bench_http_requests_total[5m])", ["instant", "1h", "24h"]),
    ("sum_by_job_rate", "sum by (job) (rate(bench_http_requests_total[5m]))",
     ["instant", "1h", "24h"]),
    ("histogram_quantile",
     "histogram_quantile(0.99, sum by (le) (rate(bench_request_duration_seconds_bucket[5m])))",
     ["instant", "1h", "24h"]),
    ("topk", "topk(10, rate(bench_http_requests_total[5m]))", ["instant", "1h", "24h"]),
    ("avg_over_time", "avg_over_time(bench_temperature_celsius[1h])", ["instant", "1h", "24h"]),
    ("regex_selector", 'bench_http_requests_total{handler=~"/api/v[0-4]"}',
     ["instant", "1h", "24h"]),
    ("count_by_name", 'count by (__name__) ({__name__=~".+"})', ["instant", "1h", "24h"]),
]
MODES = {"instant": None, "1h": (3600, 15), "24h": (86400, 60)}


class VictoriaMetricsNoCache(servers.VictoriaMetrics):
    def command(self):
        return super().command() + ["-search.disableCache"]


def wait_until_idle(srv, share=0.05, quiet_s=5.0, max_s=600.0, poll_s=0.5):
    """Waits until the server's process has used under `share` of a core (user + system time
    from /proc/<pid>/stat) over the last `quiet_s` seconds, at most `max_s`: its background
    work after the load (zenwatch's head cuts and compactions of the backfill,
    VictoriaMetrics' and Prometheus's merges) must not land in the timings. Returns (seconds
    waited, settled, share of a core over the last window)."""
    t0 = time.monotonic()
    history = [(t0, srv.cpu_seconds())]
    last_share = float("nan")
    while True:
        time.sleep(poll_s)
        now = time.monotonic()
        history.append((now, srv.cpu_seconds()))
        # The oldest sample at least quiet_s back.
        while len(history) > 2 and now - history[1][0] >= quiet_s:
            history.pop(0)
        span = now - history[0][0]
        if span >= quiet_s:
            last_share = (history[-1][1] - history[0][1]) / span
            if last_share < share:
                return now - t0, True, last_share
        if now - t0 >= max_s:
            return now - t0, False, last_share


def run_query(srv, promql, mode, end_s):
    if MODES[mode] is None:
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": promql, "time": f"{end_s:.3f}"})
    else:
        span, step = MODES[mode]
        path = "/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": promql, "start": f"{end_s - span:.3f}", "end": f"{end_s:.3f}",
             "step": str(step)})
    t0 = time.perf_counter()
    status, body = servers.http("GET", srv.url(path), timeout=300)
    elapsed = time.perf_counter() - t0
    if status != 200:
        return elapsed, None, f"{status} {body[:200]!r}"
    data = json.loads(body)["data"]
    result = data["result"]
    points = sum(len(s.get("values", [])) or 1 for s in result) if isinstance(result, list) else 1
    return elapsed, (len(result), points), None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zenwatch", default=os.environ.get("ZW_BINARY", ""))
    ap.add_argument("--size", choices=["10k", "100k"], default="10k")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the series count")
    ap.add_argument("--hours", type=float, help="default: 25 for 10k (24 h queries), 1.5 for 100k")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--end-ms", type=int, help="the data's end (default: a whole hour at least "
                    "an hour ago); pass a cached dataset's end to reuse it")
    ap.add_argument("--servers", default="zenwatch,victoriametrics,prometheus")
    ap.add_argument("--only", help="comma-separated query names")
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--client-core", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=5400)
    ap.add_argument("--idle-share", type=float, default=0.05,
                    help="before timing, wait until each server uses under this share of a core")
    ap.add_argument("--idle-seconds", type=float, default=5.0, help="... for this long")
    ap.add_argument("--idle-max", type=float, default=600.0, help="... waiting at most this long")
    ap.add_argument("--json")
    args = ap.parse_args()

    n_series = int((10_000 if args.size == "10k" else 100_000) * args.scale)
    hours = args.hours or (25 if args.size == "10k" else 1.5)
    kinds = args.servers.split(",")
    servers.SERVERS["victoriametrics"] = VictoriaMetricsNoCache
    harness.pin_self(args.client_core)

    def on_signal(signum, _):
        servers.stop_all()
        sys.exit(128 + signum)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.time()
    try:
        wl = Workload(n_series, hours, end_ms=args.end_ms)
        print(f"dataset: {wl.describe()}", flush=True)
        loaded = harness.load_dataset(wl, kinds=kinds, binaries={"zenwatch": args.zenwatch},
                                      core=args.server_core, timeout_s=args.timeout)
        for kind, (res, _) in loaded.items():
            print(f"  loaded {kind}: {res['samples_per_s']:,} samples/s, series {res['series_found']}, "
                  f"errors {res['errors']}", flush=True)
        idle = {}
        for kind in kinds:
            waited, settled, share = wait_until_idle(loaded[kind][1], args.idle_share,
                                                     args.idle_seconds, args.idle_max)
            idle[kind] = {"waited_s": round(waited, 1), "settled": settled,
                          "cpu_share": round(share, 3)}
            print(f"  idle {kind}: waited {waited:.1f} s, " +
                  (f"{share * 100:.1f} % of a core over the last {args.idle_seconds:g} s" if settled
                   else f"DID NOT SETTLE within {args.idle_max:g} s "
                        f"({share * 100:.1f} % of a core over the last {args.idle_seconds:g} s)"),
                  flush=True)
        end_s = wl.end_ms / 1000
        queries = [q for q in QUERIES if not args.only or q[0] in args.only.split(",")]
        rows = []
        for name, promql, modes in queries:
            for mode in modes:
                if MODES[mode] and MODES[mode][0] > hours * 3600:
                    continue
                if time.time() - started > args.timeout:
                    raise TimeoutError("--timeout reached")
                times = {k: [] for k in kinds}
                shape = {}
                errors = {}
                for rep in range(args.runs + 1):
                    for kind in kinds:
                        elapsed, sh, err = run_query(loaded[kind][1], promql, mode, end_s)
                        if err:
                            errors[kind] = err
                            continue
                        shape[kind] = sh
                        if rep > 0:  # the first repetition warms caches and is discarded
                            times[kind].append(elapsed)
                row = {"query": name, "promql": promql, "mode": mode,
                       "median_ms": {k: round(statistics.median(v) * 1000, 2)
                                     for k, v in times.items() if v},
                       "series_points": shape, "errors": errors}
                med = row["median_ms"]
                for peer in ("victoriametrics", "prometheus"):
                    if "zenwatch" in med and peer in med and med[peer] > 0:
                        row[f"zw_over_{peer}"] = round(med["zenwatch"] / med[peer], 3)
                rows.append(row)
                print(f"{name:20s} {mode:7s} " + "  ".join(
                    f"{k[:4]} {med.get(k, float('nan')):9.2f} ms" for k in kinds) +
                    "".join(f"  zw/{p[:4]} {row[f'zw_over_{p}']:.2f}" for p in
                            ("victoriametrics", "prometheus") if f"zw_over_{p}" in row) +
                    f"  {shape}" + (f"  ERR {errors}" if errors else ""), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"dataset": wl.describe(), "runs": args.runs, "rows": rows,
                           "load": {k: v[0] for k, v in loaded.items()}, "idle": idle}, f,
                          indent=1)
    finally:
        servers.stop_all()


if __name__ == "__main__":
    main()
