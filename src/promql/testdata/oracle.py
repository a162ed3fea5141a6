#!/usr/bin/env python3
"""Fills in the expected results of our PromQL test scripts from the real Prometheus.

Usage: oracle.py FILE.test [...]   (rewrites each file in place; needs promtool 2.42)

Each script is split into sections at `clear`; a section holds one or more `load <step>`
blocks with the same step and then `eval ...` statements. For every section the tool
writes a `promtool test rules` file whose input series are the loaded series and whose
tests are the evals, with no expected samples: promtool then reports what Prometheus
actually returns ("got: ...") or the error it raised. The tool:

- replaces the expected lines of every `eval instant` / `eval_ordered instant` with
  Prometheus's result (labels as given, values in shortest round-trip form);
- writes a bare number when the expression is a scalar (asked of Prometheus too: a scalar
  expression is one that `vector(...)` accepts);
- checks that every `eval_fail` fails in Prometheus, and stops with an error otherwise
  (and when an `eval` fails in Prometheus).

So the expected values in the scripts come from Prometheus 2.42, never from zenwatch.
Comments and blank lines are kept. promtool sorts what it reports, so `eval_ordered`
statements keep their hand-written lines (in the order reasoned out by hand) and only
their count is checked against Prometheus.
"""
import os
import re
import subprocess
import sys
import tempfile

EVAL_RE = re.compile(r"^eval(_ordered|_fail)?\s+instant\s+at\s+(\S+)\s+(.+)$")


def parse(path):
    """Returns a list of items: ('raw', line) | ('load', step, [lines]) | ('clear',) |
    ('eval', kind, at, expr, comment_lines_after)."""
    with open(path) as f:
        lines = f.read().split("\n")
    items = []
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if s.startswith("load "):
            step = s.split()[1]
            body = []
            i += 1
            while i < len(lines) and lines[i].startswith((" ", "\t")) and lines[i].strip():
                body.append(lines[i].strip())
                i += 1
            items.append(("load", step, body))
            continue
        if s == "clear":
            items.append(("clear",))
            i += 1
            continue
        m = EVAL_RE.match(s)
        if m:
            i += 1
            # The old expected lines (indented, non-empty): replaced, except for eval_ordered.
            old = []
            while i < len(lines) and lines[i].startswith((" ", "\t")) and lines[i].strip():
                old.append(lines[i])
                i += 1
            items.append(("eval", m.group(1) or "", m.group(2), m.group(3), old))
            continue
        items.append(("raw", line))
        i += 1
    return items


def yaml_str(s):
    return "'" + s.replace("'", "''") + "'"


GOT_RE = re.compile(r"^\s*expr: (\".*\"), time: (\S+),\s*$")


def parse_samples(text):
    """Parses promtool's `{a="b"} 1E+00, {...} 2E+00` into [(labels, value)]."""
    out = []
    i = 0
    while i < len(text):
        if text[i] in " ,":
            i += 1
            continue
        if text.startswith("nil", i) or text.startswith("[]", i):
            break
        assert text[i] == "{", text[i:]
        j = i + 1
        in_str = False
        while True:
            c = text[j]
            if in_str:
                if c == "\\":
                    j += 2
                    continue
                if c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
            elif c == "}":
                break
            j += 1
        labels = text[i:j + 1]
        k = j + 2
        end = k
        while end < len(text) and text[end] not in ",":
            end += 1
        out.append((labels, text[k:end].strip()))
        i = end + 1
    return out


def run_promtool(step, loads, tests):
    """tests: [(at, expr)]. Returns per test ('ok', [(labels, value)]) or ('err', msg)."""
    doc = ["evaluation_interval: 1m", "tests:", "  - interval: " + step, "    input_series:"]
    for series, values in loads:
        doc.append("      - series: " + yaml_str(series))
        doc.append("        values: " + yaml_str(values))
    doc.append("    promql_expr_test:")
    for at, expr in tests:
        doc.append("      - expr: " + yaml_str(expr))
        doc.append("        eval_time: " + at)
        doc.append("        exp_samples: []")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(doc) + "\n")
        name = f.name
    try:
        p = subprocess.run(["promtool", "test", "rules", name], capture_output=True, text=True,
                           timeout=120)
    finally:
        os.unlink(name)
    out = p.stdout + p.stderr
    results = {}
    lines = out.split("\n")
    idx = 0
    # promtool reports only the tests whose result differs from the (empty) expectation,
    # in order; those returning nothing are missing from the output.
    k = 0
    while k < len(lines):
        line = lines[k]
        m = re.match(r"^\s*expr: (\".*\"), time: ([^,]+), err: (.*)$", line)
        if m:
            results.setdefault((duration_ms(m.group(2)), eval_unquote(m.group(1))), []).append(("err", m.group(3)))
            k += 1
            continue
        m = GOT_RE.match(line)
        if m:
            got = lines[k + 2].strip()
            assert got.startswith("got: "), got
            results.setdefault((duration_ms(m.group(2)), eval_unquote(m.group(1))), []).append(
                ("ok", parse_samples(got[5:])))
            k += 3
            continue
        k += 1
    if p.returncode != 0 and not results:
        raise SystemExit("promtool failed:\n" + out)
    res = []
    for at, expr in tests:
        key = (duration_ms(at), expr)
        if key in results and results[key]:
            res.append(results[key].pop(0))
        else:
            res.append(("ok", []))
        idx += 1
    return res


UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000,
         "y": 31536000000}


def duration_ms(s):
    """Parses a Prometheus or Go duration (10m, 1h30m0s, 0s) into milliseconds."""
    total = 0
    for num, unit in re.findall(r"([0-9.]+)(ms|s|m|h|d|w|y)", s):
        total += float(num) * UNITS[unit]
    return int(round(total))


def eval_unquote(s):
    return bytes(s[1:-1], "utf-8").decode("unicode_escape")


def fmt_value(v):
    f = float(v)
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    r = repr(f)
    if r.endswith(".0"):
        r = r[:-2]
    return r


def split_series(line):
    # 'name{a="b"} 1+1x5' -> ('name{a="b"}', '1+1x5')
    if "}" in line:
        j = line.rindex("}")
        return line[:j + 1], line[j + 1:].strip()
    parts = line.split(None, 1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def expected_lines(kind, status, payload, is_scalar, old, where, problems):
    """The expected-result lines of one statement from Prometheus's answer."""
    if kind == "_fail":
        if status != "err":
            problems.append(where + ": Prometheus does not fail")
        return []
    if status == "err":
        problems.append(where + ": Prometheus fails: " + payload)
        return []
    if kind == "_ordered":
        # promtool sorts what it reports: keep the hand-written order, check the count.
        if len(old) != len(payload):
            problems.append(f"{where}: eval_ordered has {len(old)} lines, Prometheus "
                            f"returns {len(payload)}")
        return old
    if is_scalar:
        assert len(payload) == 1, (where, payload)
        return ["    " + fmt_value(payload[0][1])]
    return ["    " + labels + " " + fmt_value(v) for labels, v in payload]


def fill(path):
    problems = []
    items = parse(path)
    # Sections: split at clear.
    sections = [[]]
    for it in items:
        sections[-1].append(it)
        if it[0] == "clear":
            sections.append([])
    answers = {}
    for sec in sections:
        loads = []
        step = None
        evals = []
        for n, it in enumerate(sec):
            if it[0] == "load":
                if step is not None and step != it[1]:
                    raise SystemExit(f"{path}: one load step per section, got {step} and {it[1]}")
                step = it[1]
                loads.extend(split_series(l) for l in it[2])
            elif it[0] == "eval":
                evals.append(it)
        if not evals:
            continue
        tests = []
        for it in evals:
            tests.append((it[2], it[3]))
            expr = it[3]
            if "#" in expr and '"' not in expr and "'" not in expr:
                expr = expr[:expr.index("#")]  # a trailing comment would swallow the "))"
            tests.append((it[2], "vector((" + expr + "))"))
        got = run_promtool(step or "1m", loads, tests)
        for k, it in enumerate(evals):
            answers[id(it)] = (got[2 * k], got[2 * k + 1][0] == "ok")
    out = []
    for it in items:
        if it[0] == "raw":
            out.append(it[1])
        elif it[0] == "clear":
            out.append("clear")
        elif it[0] == "load":
            out.append("load " + it[1])
            out.extend("    " + l for l in it[2])
        else:
            kind, at, expr = it[1], it[2], it[3]
            (status, payload), is_scalar = answers[id(it)]
            out.append(f"eval{kind} instant at {at} {expr}")
            out.extend(expected_lines(kind, status, payload, is_scalar, it[4],
                                      f"{path}: {expr} at {at}", problems))
            out.append("")
    if problems:
        raise SystemExit("\n".join(problems))
    # A statement ends at a blank line: keep exactly one after each.
    tidy = []
    for line in out:
        if line == "" and tidy and tidy[-1] == "":
            continue
        tidy.append(line)
    out = tidy
    with open(path, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    for p in sys.argv[1:]:
        fill(p)
        print("filled", p)
