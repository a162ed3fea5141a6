"""Builds Prometheus remote_write 1.0 request bodies with the standard library only.

`encode_write_request` writes the protobuf `prometheus.WriteRequest` by hand and `snappy_block`
compresses it in snappy's block format using literal elements only, which every snappy
decoder accepts (it is valid, just not smaller). Used by the whole-server benchmark here and
by tests/integration/test_remote_write.py.
"""
import struct

# MetricMetadata.MetricType as numbered on the wire.
METRIC_TYPES = {"unknown": 0, "counter": 1, "gauge": 2, "histogram": 3, "gaugehistogram": 4,
                "summary": 5, "info": 6, "stateset": 7}


def varint(v):
    if v < 0:
        v += 1 << 64  # int64 fields: two's complement in ten bytes
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def tag(field, wire_type):
    return varint(field << 3 | wire_type)


def length_delimited(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return tag(field, 2) + varint(len(payload)) + payload


def encode_label(name, value):
    return length_delimited(1, name) + length_delimited(2, value)


def encode_sample(value, timestamp_ms):
    return tag(1, 1) + struct.pack("<d", value) + tag(2, 0) + varint(timestamp_ms)


def encode_series(labels, samples):
    """labels: iterable of (name, value) in the order to send; samples: [(t_ms, value)]."""
    out = bytearray()
    for name, value in labels:
        out += length_delimited(1, encode_label(name, value))
    for t, v in samples:
        out += length_delimited(2, encode_sample(v, t))
    return bytes(out)


def encode_metadata(family, type_name, help_text="", unit=""):
    return (tag(1, 0) + varint(METRIC_TYPES[type_name]) + length_delimited(2, family) +
            length_delimited(4, help_text) + length_delimited(5, unit))


def encode_write_request(series=(), metadata=()):
    """series: [(labels, samples)] as for encode_series; metadata: [(family, type, help, unit)]."""
    out = bytearray()
    for labels, samples in series:
        out += length_delimited(1, encode_series(labels, samples))
    for md in metadata:
        out += length_delimited(3, encode_metadata(*md))
    return bytes(out)


def snappy_block(data):
    """Snappy block format, literals only: the uncompressed length, then literal elements."""
    out = bytearray(varint(len(data)))
    pos = 0
    while pos < len(data):
        n = min(len(data) - pos, 65536)
        if n <= 60:
            out.append((n - 1) << 2)
        else:
            size = (n - 1).to_bytes(4, "little").rstrip(b"\0") or b"\0"
            out.append((59 + len(size)) << 2)
            out += size
        out += data[pos:pos + n]
        pos += n
    return bytes(out)


HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
