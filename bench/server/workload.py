"""The benchmark's dataset: a realistic remote_write workload, pre-encoded.

Series come from simulated scrape targets of 100 series each: 40 counter series, 40 gauge
series (random walks with noise, rounded as exporters send them: memory in whole 4 KiB pages,
temperatures in millidegrees, integer queue lengths, and one family of full-precision
load averages that do not compress trivially) and 20 classic
histogram buckets, labelled job / instance / env / region plus a per-family label, sampled
every 15 s. The series are split into `shards` (one sender connection each, as Prometheus's
remote-write shards do, so every series' samples go in time order over one connection);
each shard's samples are cut, in time order, into requests of ~2,500 samples with one
TimeSeries per sample, as Prometheus sends them. Requests are grouped into rounds of
`round_minutes` of data so senders can keep in step (Prometheus refuses samples more than
an hour older than its newest).

Bodies are snappy-compressed through the system libsnappy (ctypes) when it is there, else
in literal-only snappy (valid, uncompressed); they are cached on disk under `cache_dir`
keyed by the parameters, so repeated runs replay identical bytes.
"""
import ctypes
import hashlib
import json
import os
import random
import struct
import time

import rwproto

SERIES_PER_TARGET = 100
INTERVAL_MS = 15000
JOBS = ["api", "web", "db", "cache", "queue", "auth", "search", "billing", "mail", "node"]
REGIONS = ["eu-west-1", "us-east-1", "ap-south-1"]
LE = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]

# (family, kind, label name, label values)
FAMILIES = [
    ("bench_http_requests_total", "counter", "handler", [f"/api/v{i}" for i in range(10)]),
    ("bench_errors_total", "counter", "code", ["400", "401", "403", "404", "409", "429", "500",
                                               "502", "503", "504"]),
    ("bench_network_bytes_total", "counter", "device", [f"eth{i}" for i in range(10)]),
    ("bench_cpu_seconds_total", "counter", "mode", ["user", "system", "idle", "iowait", "irq",
                                                   "softirq", "steal", "nice", "guest", "nice2"]),
    ("bench_memory_bytes", "gauge", "area", [f"area{i}" for i in range(10)]),
    ("bench_temperature_celsius", "gauge", "sensor", [f"sensor{i}" for i in range(10)]),
    ("bench_queue_length", "gauge", "queue", [f"q{i}" for i in range(10)]),
    ("bench_load", "gauge", "window", [f"{i}m" for i in range(1, 11)]),
    ("bench_request_duration_seconds_bucket", "bucket", "le", LE),
    ("bench_response_size_bytes_bucket", "bucket", "le", LE),
]
assert sum(len(f[3]) for f in FAMILIES) == SERIES_PER_TARGET


def _snappy_compressor():
    try:
        lib = ctypes.CDLL("libsnappy.so.1")
    except OSError:
        return None, "literal-only snappy (libsnappy.so.1 not found)"
    lib.snappy_max_compressed_length.restype = ctypes.c_size_t
    lib.snappy_max_compressed_length.argtypes = [ctypes.c_size_t]
    lib.snappy_compress.restype = ctypes.c_int
    lib.snappy_compress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                    ctypes.POINTER(ctypes.c_size_t)]

    def compress(data):
        out_len = ctypes.c_size_t(lib.snappy_max_compressed_length(len(data)))
        buf = ctypes.create_string_buffer(out_len.value)
        if lib.snappy_compress(data, len(data), buf, ctypes.byref(out_len)) != 0:
            raise RuntimeError("snappy_compress failed")
        return buf.raw[:out_len.value]
    return compress, "libsnappy"


class Series:
    __slots__ = ("labels", "encoded_labels", "kind", "value", "rate", "bucket", "group")

    def __init__(self, labels, kind, rng):
        self.labels = labels
        self.encoded_labels = b"".join(
            rwproto.length_delimited(1, rwproto.encode_label(n, v)) for n, v in labels)
        self.kind = kind
        self.value = 0.0 if kind != "gauge" else rng.uniform(10, 1000)
        if labels and dict(labels)["__name__"] == "bench_memory_bytes":
            self.value = rng.uniform(1e8, 4e9)
        self.rate = rng.uniform(0.5, 50)
        self.bucket = LE.index(dict(labels)["le"]) if kind == "bucket" else 0
        self.group = None  # for buckets: (instance, family), the histogram they belong to


def make_series(n_series, seed=1):
    rng = random.Random(seed)
    out = []
    n_targets = max(1, (n_series + SERIES_PER_TARGET - 1) // SERIES_PER_TARGET)
    for target in range(n_targets):
        job = JOBS[target % len(JOBS)]
        common = [("env", "prod" if target % 4 else "staging"), ("instance", f"host-{target}:9100"),
                  ("job", job), ("region", REGIONS[target % len(REGIONS)])]
        for family, kind, lname, lvalues in FAMILIES:
            for lv in lvalues:
                if len(out) >= n_series:
                    return out
                labels = sorted([("__name__", family), (lname, lv)] + common)
                out.append(Series(labels, kind, rng))
                if kind == "bucket":
                    out[-1].group = (target, family)
    return out


def _next_value(s, rng, histograms):
    if s.kind == "counter":
        s.value += float(int(rng.expovariate(1 / s.rate)))
    elif s.kind == "gauge":
        s.value = max(0.0, s.value + rng.gauss(0, s.value * 0.01 + 0.1))
        # What exporters really send: whole bytes in pages, sensors in millidegrees, integer
        # queue lengths; load stays a full-precision float (an EWMA computed in doubles).
        name = s.labels[0][1]
        if name == "bench_memory_bytes":
            s.value = float(round(s.value / 4096) * 4096)
        elif name == "bench_temperature_celsius":
            s.value = round(s.value, 3)
        elif name == "bench_queue_length":
            s.value = float(round(s.value))
    else:
        s.value = float(histograms[s.group].cumulative[s.bucket])
    return s.value


class Histogram:
    """One classic histogram's state: observations per bucket, cumulative over `le`, so
    every bucket series is monotonic in time and in le, as real ones are."""
    __slots__ = ("rate", "weights", "totals", "cumulative")

    def __init__(self, rng):
        self.rate = rng.uniform(1, 40)  # observations per interval
        centre = rng.uniform(2, 7)       # the bucket most observations fall in
        self.weights = [1 / (1 + (i - centre) ** 2) for i in range(len(LE))]
        total = sum(self.weights)
        self.weights = [w / total for w in self.weights]
        self.totals = [0] * len(LE)
        self.cumulative = [0] * len(LE)

    def step(self, rng):
        acc = 0
        for i, w in enumerate(self.weights):
            self.totals[i] += int(rng.expovariate(1 / (self.rate * w + 1e-9)))
            acc += self.totals[i]
            self.cumulative[i] = acc


class Workload:
    def __init__(self, n_series, hours, shards=4, samples_per_request=2500, round_minutes=15,
                 end_ms=None, seed=1, cache_dir=None):
        self.n_series = n_series
        self.hours = hours
        self.shards = shards
        self.samples_per_request = samples_per_request
        self.round_minutes = round_minutes
        self.seed = seed
        # The data ends on a whole hour at least an hour before now; fixed per day so
        # the cache is reused, yet recent enough for every server's "too old" checks.
        if end_ms is None:
            end_ms = (int(time.time()) // 3600 - 1) * 3600 * 1000
        self.end_ms = end_ms
        self.start_ms = end_ms - int(hours * 3600 * 1000) + INTERVAL_MS
        self.steps = int(hours * 3600 * 1000) // INTERVAL_MS
        self.cache_dir = cache_dir or os.path.join(
            os.environ.get("TMPDIR", "/tmp"), "zw-bench-server-cache")
        key = json.dumps([n_series, hours, shards, samples_per_request, round_minutes, end_ms,
                          seed, 4])
        self.path = os.path.join(self.cache_dir, hashlib.sha1(key.encode()).hexdigest()[:16])
        self.total_samples = n_series * self.steps
        self.compression = None

    def describe(self):
        return {"series": self.n_series, "hours": self.hours, "interval_s": INTERVAL_MS // 1000,
                "samples": self.total_samples, "shards": self.shards,
                "samples_per_request": self.samples_per_request,
                "start_ms": self.start_ms, "end_ms": self.end_ms, "compression": self.compression}

    def prepare(self, log=print):
        """Generates and caches the request bodies (once); returns self."""
        meta_path = os.path.join(self.path, "meta.json")
        if os.path.exists(meta_path):
            with open(meta_path) as f:
                self.compression = json.load(f)["compression"]
            return self
        os.makedirs(self.path, exist_ok=True)
        compress, self.compression = _snappy_compressor()
        compress = compress or rwproto.snappy_block
        t0 = time.time()
        rng = random.Random(self.seed)
        series = make_series(self.n_series, self.seed)
        histograms = {s.group: Histogram(rng) for s in series if s.group is not None}
        shard_series = [series[i::self.shards] for i in range(self.shards)]
        files = [open(os.path.join(self.path, f"shard{i}.bin"), "wb") for i in range(self.shards)]
        pending = [[] for _ in range(self.shards)]  # encoded TimeSeries of the open request
        steps_per_round = max(1, self.round_minutes * 60000 // INTERVAL_MS)
        requests = 0
        raw_bytes = body_bytes = 0
        pack_d = struct.Struct("<d").pack
        varint = rwproto.varint

        def flush(shard, rnd):
            nonlocal requests, raw_bytes, body_bytes
            raw = b"".join(pending[shard])
            pending[shard].clear()
            body = compress(raw)
            # Record: round (4 bytes), samples (4), body length (4), body.
            files[shard].write(struct.pack("<III", rnd, len_samples[shard], len(body)) + body)
            len_samples[shard] = 0
            requests += 1
            raw_bytes += len(raw)
            body_bytes += len(body)

        len_samples = [0] * self.shards
        for step in range(self.steps):
            t = self.start_ms + step * INTERVAL_MS
            rnd = step // steps_per_round
            ts_bytes = varint(t)
            for h in histograms.values():
                h.step(rng)
            for shard, members in enumerate(shard_series):
                buf = pending[shard]
                for s in members:
                    sample = b"\x09" + pack_d(_next_value(s, rng, histograms)) + b"\x10" + ts_bytes
                    ts = s.encoded_labels + b"\x12" + varint(len(sample)) + sample
                    buf.append(b"\x0a" + varint(len(ts)) + ts)
                    len_samples[shard] += 1
                    if len_samples[shard] >= self.samples_per_request:
                        flush(shard, rnd)
                last_of_round = (step + 1) % steps_per_round == 0 or step + 1 == self.steps
                if last_of_round and len_samples[shard]:
                    flush(shard, rnd)
            if step % 40 == 0:
                log(f"  generating: step {step}/{self.steps}, {requests} requests, "
                    f"{time.time() - t0:.0f}s")
        for f in files:
            f.close()
        with open(meta_path, "w") as f:
            json.dump({"compression": self.compression, "requests": requests,
                       "raw_bytes": raw_bytes, "body_bytes": body_bytes,
                       "seconds": time.time() - t0, **self.describe()}, f)
        log(f"  generated {requests} requests ({raw_bytes / 1e6:.0f} MB raw, "
            f"{body_bytes / 1e6:.0f} MB {self.compression}) in {time.time() - t0:.0f}s")
        return self

    def shard_requests(self, shard):
        """[(round, samples, body)] of one shard, in send order."""
        out = []
        with open(os.path.join(self.path, f"shard{shard}.bin"), "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            rnd, n, size = struct.unpack_from("<III", data, pos)
            pos += 12
            out.append((rnd, n, data[pos:pos + size]))
            pos += size
        return out

    def series_labels(self):
        return [s.labels for s in make_series(self.n_series, self.seed)]
