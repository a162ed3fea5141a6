import { parseDuration, parseSample, timed } from "./util";

// The HTTP API as the pages use it: Prometheus's endpoints, and the dashboard's /api/health and
// /api/performance (docs/dashboard_api.md). When the server has no dashboard endpoints (an
// older zenwatch, or Prometheus itself), health and performance are computed here with PromQL.

export type Labels = Record<string, string>;
export type Point = [number, string];
export interface MatrixSeries {
  metric: Labels;
  values: Point[];
}
export interface VectorSample {
  metric: Labels;
  value: Point;
}
export type QueryResult =
  | { resultType: "matrix"; result: MatrixSeries[] }
  | { resultType: "vector"; result: VectorSample[] }
  | { resultType: "scalar"; result: Point }
  | { resultType: "string"; result: Point };

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorType: string,
  ) {
    super(message);
  }
}

type Params = Record<string, string | number | undefined | null | string[]>;

function encode(params: Params): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else p.set(k, String(v));
  }
  return p.toString();
}

// GET (or POST as a form, for long queries) and unwrap the Prometheus envelope.
export async function api<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const body = encode(params);
  const usePost = body.length > 1500;
  let resp: Response;
  try {
    resp = usePost
      ? await fetch(path, {
          method: "POST",
          body,
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          signal,
        })
      : await fetch(body ? `${path}?${body}` : path, { signal });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(`cannot reach the server (${(e as Error).message})`, 0, "network");
  }
  let json: { status?: string; data?: T; error?: string; errorType?: string };
  try {
    const text = await resp.text();
    json = timed("zw:parse", () => JSON.parse(text));
  } catch {
    throw new ApiError(`${path}: HTTP ${resp.status} with a body that is not JSON`, resp.status, "bad_response");
  }
  if (!resp.ok || json.status !== "success") {
    throw new ApiError(json.error ?? `${path}: HTTP ${resp.status}`, resp.status, json.errorType ?? "unknown");
  }
  return json.data as T;
}

export function query(q: string, time?: number, signal?: AbortSignal): Promise<QueryResult> {
  return api<QueryResult>("/api/v1/query", { query: q, time }, signal);
}

export async function queryRange(
  q: string,
  start: number,
  end: number,
  step: number,
  maxPoints?: number,
  signal?: AbortSignal,
): Promise<MatrixSeries[]> {
  const r = await api<QueryResult>(
    "/api/v1/query_range",
    { query: q, start: start.toFixed(3), end: end.toFixed(3), step, max_points: maxPoints ? Math.round(maxPoints) : undefined },
    signal,
  );
  return r.resultType === "matrix" ? r.result : [];
}

// A range result in the columns layout (docs/dashboard_api.md): one ascending timestamps
// array shared by every series, each series' values in that order (null: no point there),
// exactly uPlot's data layout.
export interface Columns {
  timestamps: number[];
  series: { metric: Labels; values: (number | null)[] }[];
}

interface ColumnsData {
  resultType: string;
  layout?: string;
  timestamps?: number[];
  result: { metric: Labels; values: (number | string | null)[] }[] | MatrixSeries[];
}

const sampleNumber = (v: number | string | null): number | null => (v === null ? null : typeof v === "number" ? v : parseSample(v));

// Prometheus's matrix as columns, for servers that ignore layout=columns.
export function matrixToColumns(series: MatrixSeries[]): Columns {
  const set = new Set<number>();
  for (const s of series) for (const p of s.values) set.add(p[0]);
  const timestamps = [...set].sort((a, b) => a - b);
  const col = new Map<number, number>();
  timestamps.forEach((t, i) => col.set(t, i));
  return {
    timestamps,
    series: series.map((s) => {
      const values: (number | null)[] = new Array(timestamps.length).fill(null);
      for (const [t, v] of s.values) values[col.get(t)!] = parseSample(v);
      return { metric: s.metric, values };
    }),
  };
}

// query_range with max_points, answered in the columns layout: a quarter of the bytes of
// Prometheus's [t, "v"] pairs, and no per-point work in the browser.
export async function queryRangeColumns(
  q: string,
  start: number,
  end: number,
  step: number,
  maxPoints: number,
  signal?: AbortSignal,
): Promise<Columns> {
  const r = await api<ColumnsData>(
    "/api/v1/query_range",
    { query: q, start: start.toFixed(3), end: end.toFixed(3), step, max_points: Math.round(maxPoints), layout: "columns" },
    signal,
  );
  if (r.resultType !== "matrix") return { timestamps: [], series: [] };
  if (r.layout !== "columns" || !r.timestamps) return matrixToColumns(r.result as MatrixSeries[]);
  const result = r.result as { metric: Labels; values: (number | string | null)[] }[];
  // Non-finite values come as strings ("NaN", "+Inf", "-Inf"); the rest are already numbers.
  for (const s of result) {
    const vs = s.values;
    for (let i = 0; i < vs.length; i++) if (typeof vs[i] === "string") vs[i] = sampleNumber(vs[i]);
  }
  return { timestamps: r.timestamps, series: result as Columns["series"] };
}

// The step for a chart: the user's step, but never more points than the chart has pixels,
// and within the server's 11,000 points per series.
export function chartStep(rangeSec: number, widthPx: number, userStep?: number | null): number {
  const byWidth = rangeSec / Math.max(20, widthPx);
  const byLimit = rangeSec / 10000;
  const step = Math.max(userStep ?? 1, byWidth, byLimit, 0.001);
  return step >= 1 ? Math.ceil(step) : Number(step.toFixed(3));
}

export const labelValues = (name: string, match?: string[]) =>
  api<string[]>(`/api/v1/label/${encodeURIComponent(name)}/values`, { "match[]": match });
export const labelNames = () => api<string[]>("/api/v1/labels");

// ---- dashboard API -------------------------------------------------------------------------

export const defaultDomains = ["neural", "coordination", "database", "memory", "interfaces"];

export interface DomainHealth {
  name: string;
  status: "healthy" | "degraded" | "unhealthy" | "unknown";
  reason: string;
  last_sample: number | null;
  request_rate: number | null;
  error_ratio: number | null;
  latency_p95_seconds: number | null;
  sparklines: { request_rate: Point[]; error_ratio: Point[]; latency_p95_seconds: Point[] };
}
export interface Health {
  time: number;
  domains: DomainHealth[];
  totals: { active_series: number; ingest_rate: number; firing_alerts: number };
  computed?: boolean; // true when computed in the browser (no /api/health on the server)
}
export interface Performance {
  domain: string;
  start: number;
  end: number;
  step: number;
  series: Record<
    "request_rate" | "error_rate" | "error_ratio" | "latency_p50_seconds" | "latency_p95_seconds" | "latency_p99_seconds",
    Point[]
  >;
  top_series: { metric: Labels; value: string }[];
  computed?: boolean;
}

// A route the server does not have: the router's 404 ("not_found"), not a handler's 404.
function missingEndpoint(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404 && e.errorType === "not_found";
}

let healthEndpoint = true;
let performanceEndpoint = true;

export async function health(): Promise<Health> {
  if (healthEndpoint) {
    try {
      return await api<Health>("/api/health");
    } catch (e) {
      if (!missingEndpoint(e)) throw e;
      healthEndpoint = false;
    }
  }
  return computeHealth();
}

export async function performance(domain: string, range: string, maxPoints: number): Promise<Performance> {
  if (performanceEndpoint) {
    try {
      return await api<Performance>("/api/performance", { domain, range, max_points: maxPoints });
    } catch (e) {
      if (!missingEndpoint(e)) throw e;
      performanceEndpoint = false;
    }
  }
  return computePerformance(domain, range, maxPoints);
}

// PromQL for the browser-side fallback. A domain's requests are its counters and histogram
// counts; its errors the part of them marked as failed; its latency its *_seconds histograms.
// rate() drops metric names, so two metrics with the same labels would collide: the name is
// copied into a label first (label_replace needs an instant vector, hence the subquery).
function rateOf(sel: string, w: string, res: string): string {
  return `rate(label_replace({${sel}}, "metric_name", "$1", "__name__", "(.+)")[${w}:${res}])`;
}
const counts = (sel: string, extra = "") => `${sel},__name__=~".+_(count|total)"${extra}`;
function requests(sel: string, w: string, res: string) {
  return `sum by (domain) (${rateOf(counts(sel), w, res)})`;
}
function errors(sel: string, w: string, res: string) {
  const failed = [',success="false"', ',status=~"5.."', ',__name__=~".*error.*"'];
  return `sum by (domain) (${failed.map((f) => rateOf(counts(sel, f), w, res)).join(" or ")})`;
}
function latency(q: number, sel: string, w: string, res: string) {
  return `histogram_quantile(${q}, sum by (domain, le) (${rateOf(`${sel},__name__=~".+_seconds_bucket"`, w, res)}))`;
}

const byDomain = (r: QueryResult): Map<string, number> => {
  const m = new Map<string, number>();
  if (r.resultType === "vector") for (const s of r.result) m.set(s.metric.domain ?? "", Number(s.value[1]));
  return m;
};
const seriesByDomain = (r: MatrixSeries[]): Map<string, Point[]> => new Map(r.map((s) => [s.metric.domain ?? "", s.values]));

// count by (domain) -> NaN per fresh domain: present, time unknown.
function freshOnly(r: QueryResult): QueryResult {
  return r.resultType === "vector" ? { resultType: "vector", result: r.result.map((x) => ({ metric: x.metric, value: [x.value[0], "NaN"] })) } : r;
}

async function computeHealth(): Promise<Health> {
  const now = Date.now() / 1000;
  const sel = 'domain!=""';
  const [known, req, err, p95, last, reqS, errS, p95S, tsdb, ingest] = await Promise.all([
    labelValues("domain").catch(() => [] as string[]),
    query(requests(sel, "5m", "15s"), now),
    query(errors(sel, "5m", "15s"), now),
    query(latency(0.95, sel, "5m", "15s"), now),
    // Whether a domain has a sample within the lookback (5 m); its exact time is not asked
    // for: timestamp() fails when two of a domain's metrics share their other labels.
    query(`count by (domain) ({${sel}})`, now).then(freshOnly),
    queryRange(requests(sel, "2m", "15s"), now - 1800, now, 30),
    queryRange(`(${errors(sel, "2m", "15s")}) / (${requests(sel, "2m", "15s")})`, now - 1800, now, 30),
    queryRange(latency(0.95, sel, "2m", "15s"), now - 1800, now, 30),
    api<{ headStats?: { numSeries?: number } }>("/api/v1/status/tsdb").catch(() => ({ headStats: { numSeries: 0 } })),
    query("sum(rate(zenwatch_samples_ingested_total[1m]))", now).catch(() => null),
  ]);
  const reqM = byDomain(req), errM = byDomain(err), p95M = byDomain(p95), lastM = byDomain(last);
  const reqSM = seriesByDomain(reqS), errSM = seriesByDomain(errS), p95SM = seriesByDomain(p95S);
  const names = [...defaultDomains, ...known.filter((d) => !defaultDomains.includes(d))];
  const domains = names.map((name): DomainHealth => {
    const seen = lastM.get(name);
    const lastSample = seen === undefined || Number.isNaN(seen) ? null : seen;
    const rate = reqM.get(name) ?? null;
    const ratio = rate && rate > 0 ? (errM.get(name) ?? 0) / rate : rate === null ? null : 0;
    const lat = p95M.get(name);
    const latency95 = lat === undefined || Number.isNaN(lat) ? null : lat;
    let status: DomainHealth["status"] = "healthy";
    let reason = "samples are fresh; error ratio and p95 latency within limits";
    if (seen === undefined || (lastSample !== null && now - lastSample > 300)) {
      status = "unknown";
      reason = "no sample in the last 5 minutes";
    } else if (ratio !== null && ratio > 0.2) {
      status = "unhealthy";
      reason = `error ratio ${(ratio * 100).toFixed(1)}% is above 20%`;
    } else if (latency95 !== null && latency95 > 2) {
      status = "unhealthy";
      reason = `p95 latency ${latency95.toFixed(2)} s is above 2 s`;
    } else if (ratio !== null && ratio > 0.05) {
      status = "degraded";
      reason = `error ratio ${(ratio * 100).toFixed(1)}% is above 5%`;
    } else if (latency95 !== null && latency95 > 0.5) {
      status = "degraded";
      reason = `p95 latency ${latency95.toFixed(2)} s is above 0.5 s`;
    }
    return {
      name,
      status,
      reason,
      last_sample: lastSample,
      request_rate: rate,
      error_ratio: ratio,
      latency_p95_seconds: latency95,
      sparklines: {
        request_rate: reqSM.get(name) ?? [],
        error_ratio: errSM.get(name) ?? [],
        latency_p95_seconds: p95SM.get(name) ?? [],
      },
    };
  });
  const ingestRate = ingest && ingest.resultType === "vector" && ingest.result[0] ? Number(ingest.result[0].value[1]) : 0;
  return {
    time: now,
    domains,
    totals: { active_series: tsdb.headStats?.numSeries ?? 0, ingest_rate: ingestRate, firing_alerts: 0 },
    computed: true,
  };
}

async function computePerformance(domain: string, range: string, maxPoints: number): Promise<Performance> {
  const rangeSec = parseDuration(range) ?? 3600;
  const end = Date.now() / 1000;
  const start = end - rangeSec;
  const step = chartStep(rangeSec, maxPoints);
  const w = `${Math.max(60, Math.ceil(step * 4))}s`;
  const res = `${Math.max(15, Math.min(300, Math.ceil(step)))}s`;
  const sel = `domain=${JSON.stringify(domain)}`;
  const one = (q: string) => queryRange(q, start, end, step, maxPoints).then((r) => r[0]?.values ?? []);
  const [rate, errRate, ratio, p50, p95, p99, top] = await Promise.all([
    one(requests(sel, w, res)),
    one(errors(sel, w, res)),
    one(`(${errors(sel, w, res)}) / (${requests(sel, w, res)})`),
    one(latency(0.5, sel, w, res)),
    one(latency(0.95, sel, w, res)),
    one(latency(0.99, sel, w, res)),
    query(`topk(10, ${rateOf(counts(sel), "5m", "15s")})`, end),
  ]);
  return {
    domain,
    start,
    end,
    step,
    series: {
      request_rate: rate,
      error_rate: errRate,
      error_ratio: ratio,
      latency_p50_seconds: p50,
      latency_p95_seconds: p95,
      latency_p99_seconds: p99,
    },
    top_series:
      top.resultType === "vector"
        ? top.result.map(({ metric: { metric_name, ...rest }, value }) => ({ metric: { __name__: metric_name, ...rest }, value: value[1] }))
        : [],
    computed: true,
  };
}
