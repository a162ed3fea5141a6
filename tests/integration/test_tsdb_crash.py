"""Crash-safety harness for the TSDB: push batches, let the server cut blocks and compact
them, SIGKILL it at random moments, restart, and check that every acknowledged sample is
there exactly once and nothing that was never acknowledged appears (a request in flight at
the kill is all there or all absent).

Seeded and bounded: ZW_CRASH_SEED (default 20261124) and ZW_CRASH_ITERATIONS (default 50).
Block ranges are shrunk to minutes so that a second of pushing crosses several blocks and
the kills land before, during and after head compactions and block compactions."""
import json
import os
import random
import shutil
import tempfile
import threading
import time
import unittest

from zwtest import Server

SEED = int(os.environ.get("ZW_CRASH_SEED", "20261124"))
ITERATIONS = int(os.environ.get("ZW_CRASH_ITERATIONS", "50"))
SERIES = 12
STEPS_PER_BATCH = 5
MAX_BATCHES_PER_ITERATION = 40
STEP_MS = 15000
# Data starts an hour before now. Only the pushed data moves the head: the configuration has
# a "zenwatch" job without targets, so no self-scrape sample at the wall clock makes the head
# cut blocks ahead of the data (pushes would then be out of bounds, depending on timing).
BASE_MS = (int(time.time()) // 60) * 60000 - 3600 * 1000
NO_SELF_SCRAPE = "scrape_configs:\n  - job_name: zenwatch\n    static_configs:\n      - targets: []\n"


def value(series, step):
    return series * 1_000_000 + step


def batch_body(first_step):
    events = []
    for step in range(first_step, first_step + STEPS_PER_BATCH):
        for s in range(SERIES):
            events.append({"source": "crash", "domain": "memory", "type": "gauge", "name": "crash",
                           "value": value(s, step), "labels": {"s": str(s)},
                           "timestamp": BASE_MS + step * STEP_MS})
    return json.dumps(events)


def blocks_on_disk(data_dir):
    """(ulid, level, min_time, max_time) of every finished block."""
    out = []
    blocks = os.path.join(data_dir, "blocks")
    if not os.path.isdir(blocks):
        return out
    for name in sorted(os.listdir(blocks)):
        meta = os.path.join(blocks, name, "meta.json")
        if name.endswith(".tmp") or not os.path.exists(meta):
            continue
        with open(meta) as f:
            m = json.load(f)
        out.append((m["ulid"], m["compaction"]["level"], m["minTime"], m["maxTime"]))
    return out


class TsdbCrashTest(unittest.TestCase):
    def stored_steps(self, srv, last_step):
        """{series: [steps]} of everything stored, checking values on the way."""
        end_ms = BASE_MS + last_step * STEP_MS
        span_s = (end_ms - BASE_MS) // 1000 + 1
        status, body = srv.get_json("/api/v1/query", {
            "query": 'memory_crash{source="crash"}[%ds]' % span_s, "time": "%.3f" % (end_ms / 1000)})
        self.assertEqual(status, 200, body)
        stored = {}
        for r in body["data"]["result"]:
            s = int(r["metric"]["s"])
            steps = []
            for t, v in r["values"]:
                step = (round(float(t) * 1000) - BASE_MS) // STEP_MS
                self.assertEqual(float(v), value(s, step),
                                 "series %d step %d holds a value that was never sent" % (s, step))
                steps.append(step)
            self.assertEqual(len(steps), len(set(steps)), "series %d has duplicate samples" % s)
            self.assertEqual(steps, sorted(steps))
            stored[s] = steps
        return stored

    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="zw-crash-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        config = os.path.join(self.data_dir, "zenwatch.yml")
        with open(config, "w") as f:
            f.write(NO_SELF_SCRAPE)
        self.flags = ["--tsdb.block-ranges", "10m,30m,2h", "--ooo.window", "1m",
                      "--config", config]

    def start(self):
        srv = Server(data_dir=os.path.join(self.data_dir, "db"), extra_args=self.flags).start()
        self.addCleanup(srv.cleanup)
        return srv

    def test_acknowledged_samples_survive_kills_during_compaction(self):
        rng = random.Random(SEED)
        srv = self.start()
        next_step = 0
        acked_until = 0  # steps [0, acked_until) were acknowledged
        kills_with_blocks_changing = 0
        for it in range(ITERATIONS):
            before = blocks_on_disk(srv.data_dir)
            inflight = []
            stop = threading.Event()
            state = {"next": next_step, "acked": acked_until}

            def pusher():
                for _ in range(MAX_BATCHES_PER_ITERATION):
                    if stop.is_set():
                        return
                    first = state["next"]
                    inflight[:] = [first]
                    try:
                        status, body = srv.push(batch_body(first))
                    except OSError:
                        return  # killed mid-request: not acknowledged
                    if status != 204:
                        state["error"] = "push answered %d: %s" % (status, body)
                        return
                    inflight[:] = []
                    state["next"] = first + STEPS_PER_BATCH
                    state["acked"] = state["next"]

            t = threading.Thread(target=pusher)
            t.start()
            time.sleep(rng.random() * 0.6)
            srv.kill()
            stop.set()
            t.join()
            self.assertNotIn("error", state, state.get("error"))
            after = blocks_on_disk(srv.data_dir)
            if before != after:
                kills_with_blocks_changing += 1

            srv = self.start()
            acked_until = state["acked"]
            last = acked_until + STEPS_PER_BATCH
            stored = self.stored_steps(srv, last)
            want = list(range(0, acked_until))
            maybe = list(range(acked_until, acked_until + STEPS_PER_BATCH)) if inflight else []
            for s in range(SERIES):
                got = stored.get(s, [])
                if got != want:
                    self.assertEqual(got, want + maybe,
                                     "iteration %d, series %d: acknowledged steps [0,%d) "
                                     "expected (in flight: %s)" % (it, s, acked_until, maybe))
            # An in-flight request is atomic: every series has it, or none does.
            lens = {len(stored.get(s, [])) for s in range(SERIES)}
            self.assertEqual(len(lens), 1, "in-flight request partly applied: %s" % lens)
            n = lens.pop()
            next_step = n  # the in-flight batch, if it landed, counts as stored
            acked_until = n
            leftovers = [d for d in os.listdir(os.path.join(srv.data_dir, "blocks"))
                         if d.endswith(".tmp")] if os.path.isdir(
                             os.path.join(srv.data_dir, "blocks")) else []
            self.assertEqual(leftovers, [], "unfinished block directories visible after start")

        blocks = blocks_on_disk(srv.data_dir)
        levels = {b[1] for b in blocks}
        print("crash harness: %d iterations, %d steps (%.1f h of data), %d blocks, levels %s, "
              "%d kills while blocks changed" % (ITERATIONS, acked_until,
                                                 acked_until * STEP_MS / 3.6e6, len(blocks),
                                                 sorted(levels), kills_with_blocks_changing))
        self.assertTrue(blocks, "no block was ever cut")
        self.assertGreater(max(levels), 1, "no compaction ever happened")


if __name__ == "__main__":
    unittest.main()
