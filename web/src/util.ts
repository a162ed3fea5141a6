// Small DOM and formatting helpers shared by the pages.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

// Creates an element: h("a", {href: "#/x", class: "nav"}, "text"). Attributes starting with
// "on" become event listeners; false/null/undefined attributes are left out.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  append(e, ...children);
  return e;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function clear(e: Element): void {
  while (e.firstChild) e.removeChild(e.firstChild);
}

const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

// "1h30m", "15s", "250ms", or plain seconds "30" -> seconds; null when malformed.
export function parseDuration(s: string): number | null {
  const t = s.trim();
  if (t === "") return null;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+)(ms|s|m|h|d|w|y)/y;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) return null;
    total += Number(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  return total;
}

// Seconds -> the shortest Prometheus duration ("90" -> "1m30s").
export function formatDuration(sec: number): string {
  if (sec <= 0) return "0s";
  if (sec < 1) return `${Math.round(sec * 1000)}ms`;
  let rest = Math.round(sec);
  let out = "";
  for (const [u, n] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return out;
}

// A compact number for axes, legends and cards: 1.23k, 4.5M, 12.3m (milli), 0.
export function formatValue(v: number | null | undefined, unit = ""): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  if (unit === "s") return formatSeconds(v);
  if (unit === "%") return `${(v * 100).toFixed(v < 0.01 && v > 0 ? 2 : 1)}%`;
  const a = Math.abs(v);
  if (a === 0) return "0" + (unit ? ` ${unit}` : "");
  // Below 1 plain decimals ("0.292"): a rate of "292m" would read as minutes.
  if (a >= 1e-4 && a < 1) return `${trim(v)}${unit ? ` ${unit}` : ""}`;
  const prefixes: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-6, "µ"], [1e-9, "n"]];
  for (const [n, p] of prefixes) {
    if (a >= n) return `${trim(v / n)}${p}${unit ? ` ${unit}` : ""}`;
  }
  return v.toExponential(2);
}

function trim(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

export function formatSeconds(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0 s";
  if (a < 1e-3) return `${trim(v * 1e6)} µs`;
  if (a < 1) return `${trim(v * 1e3)} ms`;
  if (a < 120) return `${trim(v)} s`;
  return formatDuration(v);
}

export function formatTime(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// Prometheus sample values are strings ("1.5", "NaN", "+Inf").
export function parseSample(v: string): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  return Number(v);
}

// {__name__="up", job="x"} -> up{job="x"}
export function seriesName(metric: Record<string, string>): string {
  const name = metric.__name__ ?? "";
  const labels = Object.keys(metric)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  if (labels.length === 0) return name || "{}";
  return `${name}{${labels.join(", ")}}`;
}

// Phase timing for bench/dashboard: User Timing measures named "zw:<phase>", recorded only when
// the page has set window.__zwTiming (the benchmark's profile mode does), so that an ordinary
// page, live for days, never fills the browser's timing buffer.
export const timingOn = (): boolean => (window as { __zwTiming?: boolean }).__zwTiming === true;

export function timed<T>(name: string, fn: () => T): T {
  if (!timingOn()) return fn();
  const start = performance.now();
  try {
    return fn();
  } finally {
    performance.measure(name, { start, end: performance.now() });
  }
}

export function nowSec(): number {
  return Date.now() / 1000;
}
