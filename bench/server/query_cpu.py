#!/usr/bin/env python3
"""Server CPU per query, for A/B comparisons of two zenwatch builds on a shared machine.

Wall times on a busy machine move with everything else that runs; the CPU time the server
process spends on a query (user + system, from /proc/<pid>/stat) moves much less. This runs
query_bench.py's queries against an already running server, each `--reps` times after one
warm-up, and prints the server's CPU milliseconds and the client's wall milliseconds per
query:

    taskset -c 0 build/test/src/cli/zenwatch serve --listen 127.0.0.1:19411 --data-dir D &
    taskset -c 1 python3 bench/server/query_cpu.py --port 19411 --pid $! \\
        --only sum_by_job_rate,histogram_quantile --range 86400 --step 60 --end 1795536000

Run the base and the new build on copies of one data dir, alternately, several rounds, and
compare medians. Resolution: the kernel's clock tick (10 ms) over all repetitions.
"""
import argparse
import os
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from query_bench import QUERIES  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the server's process id")
    ap.add_argument("--only", help="comma-separated query names (default: all)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--range", type=int, default=86400, help="seconds; 0: instant queries")
    ap.add_argument("--step", type=int, default=60, help="seconds")
    ap.add_argument("--end", type=float, required=True, help="the queries' end, Unix seconds")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else [q[0] for q in QUERIES]
    promql = {q[0]: q[1] for q in QUERIES}
    for name in names:
        if name not in promql:
            sys.exit(f"unknown query {name!r}; known: {', '.join(promql)}")
        if args.range == 0:
            params = {"query": promql[name], "time": args.end}
            path = "/api/v1/query"
        else:
            params = {"query": promql[name], "start": args.end - args.range, "end": args.end,
                      "step": args.step}
            path = "/api/v1/query_range"
        url = f"http://127.0.0.1:{args.port}{path}?" + urllib.parse.urlencode(params)
        urllib.request.urlopen(url, timeout=300).read()  # warm-up
        c0, t0 = cpu_seconds(args.pid), time.perf_counter()
        for _ in range(args.reps):
            urllib.request.urlopen(url, timeout=300).read()
        cpu_ms = (cpu_seconds(args.pid) - c0) / args.reps * 1000
        wall_ms = (time.perf_counter() - t0) / args.reps * 1000
        print(f"{name}: cpu {cpu_ms:.1f} ms/query  wall {wall_ms:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
