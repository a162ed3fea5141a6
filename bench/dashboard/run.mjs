// Browser performance of the dashboard, in Debian's headless Chromium against the real binary
// (see README.md). Bounded: every phase has a sample count or a time limit.
//   node bench/dashboard/run.mjs --binary build/test/src/cli/zenwatch [--samples 40]
//        [--heap-minutes 10] [--hours 6] [--charts 24] [--series 50] [--runs 3] [--page-only]
//        [--json out.json] [--profile DIR] [--web-dist DIR] [--board-params "legend=0"]
// --page-only skips the latency and heap phases: only the page of charts is measured.
// --profile DIR records a Chrome trace and a CPU profile of each page run into DIR and prints
// where the main thread's time went (see README.md). --web-dist DIR[,DIR2...] serves the app
// from `node web/build.mjs --outdir DIR` bundles instead of the one in the binary, the runs
// taking turns (an A/B of web code in one run, without relinking; "-" is the binary's own).
// --board-params appends to the board's address (e.g. legend=0).
import { performance as perf } from "node:perf_hooks";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { Server, launchBrowser, missingPrerequisite, sleep } from "../../tests/browser/lib.mjs";

const args = { samples: 40, heapMinutes: 10, hours: 6, charts: 24, series: 50, runs: 3, pageOnly: false, json: "", profile: "", webDists: [], boardParams: "" };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--page-only") {
    args.pageOnly = true;
    continue;
  }
  const v = process.argv[++i];
  if (a === "--binary") process.env.ZW_BINARY = v;
  else if (a === "--samples") args.samples = Number(v);
  else if (a === "--heap-minutes") args.heapMinutes = Number(v);
  else if (a === "--hours") args.hours = Number(v);
  else if (a === "--charts") args.charts = Number(v);
  else if (a === "--series") args.series = Number(v);
  else if (a === "--runs") args.runs = Math.max(1, Number(v));
  else if (a === "--json") args.json = v;
  else if (a === "--profile") args.profile = v;
  else if (a === "--web-dist") args.webDists = v.split(",");
  else if (a === "--board-params") args.boardParams = v;
  else throw new Error(`unknown argument ${a}`);
}
const why = missingPrerequisite();
if (why) {
  console.error(`cannot run: ${why}`);
  process.exit(2);
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const summary = (xs) => ({ n: xs.length, p50: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: Math.max(...xs) });
const report = { load_before: loadavg()[0], cpus: cpus().length };

// The head accepts samples back to the start of its first block range; a range longer than
// the page's history lets the page's data be written with past timestamps.
const server = await new Server({ extraArgs: ["--tsdb.block-ranges", `${Math.max(2, Math.ceil(args.hours * 2))}h`] }).start();
const browser = await launchBrowser();

// Serves index.html and /assets/* from a bundle directory instead of the binary.
async function routeWebDist(context, dir) {
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
  await context.route(/\/(index\.html)?(#.*)?$|\/assets\//, (route) => {
    const path = new URL(route.request().url()).pathname;
    const file = path === "/" ? "index.html" : path.slice(1);
    const body = readFileSync(join(dir, file));
    route.fulfill({ status: 200, body, headers: { "Content-Type": types[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream" } });
  });
}

async function newPage(hash, { before, dist = args.webDists[0] } = {}) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  if (dist && dist !== "-") await routeWebDist(context, dist);
  const page = await context.newPage();
  await page.addInitScript((timing) => {
    window.__draws = [];
    window.__zwTiming = timing; // the app records its phases as User Timing measures (zw:*)
    window.__drawCount = 0;
    window.__keepDraws = true; // the heap phase only counts draws: a log of them would be heap growth of its own
    document.addEventListener("zw:draw", (e) => {
      window.__drawCount++;
      if (window.__keepDraws) window.__draws.push({ ...e.detail, at: performance.now() });
    });
  }, Boolean(args.profile));
  if (before) await before(page, context);
  await page.goto(`${server.url}/${hash}`);
  return { page, context };
}

// Self time per trace event name on the renderer's main thread, between navigation start and
// `untilMs` after it (nested events are subtracted from their parents).
function traceSummary(trace, untilMs) {
  const events = trace.traceEvents;
  // The board's renderer: the thread whose navigation loaded the board's address.
  const nav = events.find((e) => e.name === "navigationStart" && /#\/board/.test(e.args?.data?.documentLoaderURL ?? ""));
  if (!nav) return { error: "no navigation to the board in the trace" };
  const main = `${nav.pid}:${nav.tid}`;
  const t0 = nav.ts;
  const t1 = t0 + untilMs * 1000;
  const xs = events
    .filter((e) => e.ph === "X" && `${e.pid}:${e.tid}` === main && e.dur > 0 && e.ts >= t0 && e.ts < t1)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const self = new Map();
  const stack = [];
  for (const e of xs) {
    while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - Math.min(e.dur, parent.ts + parent.dur - e.ts));
    self.set(e.name, (self.get(e.name) ?? 0) + e.dur);
    stack.push(e);
  }
  const groups = {
    script: ["FunctionCall", "EvaluateScript", "v8.compile", "v8.compileModule", "v8.evaluateModule", "TimerFire", "EventDispatch", "FireAnimationFrame", "RunMicrotasks", "v8.run", "V8.Execute", "v8.callFunction", "RunTask", "HandlePostMessage", "ResizeObserverController::DeliverObservations", "IntersectionObserverController::computeIntersections"],
    layout: ["Layout", "UpdateLayout", "LocalFrameView::layout"],
    style: ["UpdateLayoutTree", "RecalculateStyles", "ParseAuthorStyleSheet", "ScheduleStyleRecalculation", "InvalidateLayout"],
    paint: ["Paint", "PrePaint", "Layerize", "UpdateLayer", "CompositeLayers", "Commit", "PaintImage", "UpdateLayerTree", "Decode Image"],
    gc: ["MinorGC", "MajorGC", "V8.GC_SCAVENGER", "V8.GCScavenger", "V8.GC_MARK_COMPACTOR", "BlinkGC.AtomicPhase", "ThreadState::performIdleLazySweep", "V8.GCFinalizeMC", "V8.GCIncrementalMarking", "CppGC.IncrementalSweep"],
    html: ["ParseHTML"],
  };
  const out = {};
  const known = new Set();
  for (const [g, ns] of Object.entries(groups)) {
    out[g] = 0;
    for (const n of ns) {
      known.add(n);
      out[g] += (self.get(n) ?? 0) / 1000;
    }
  }
  out.other = [...self].filter(([n]) => !known.has(n)).reduce((a, [, v]) => a + v / 1000, 0);
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([n, v]) => `${n} ${(v / 1000).toFixed(1)}`);
  for (const k of Object.keys(out)) out[k] = Math.round(out[k] * 10) / 10;
  return { ...out, top };
}

// Self time per function in a CPU profile, the largest first.
function profileSummary(profile, n = 15) {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / 1000).toFixed(1)} ms ${k}`);
}

// Push-acknowledged -> chart-redrawn, measured inside the page on one clock: the page pushes a
// unique value and waits for the draw whose newest point is that value.
async function latency(hash, name) {
  const { page, context } = await newPage(hash);
  await page.waitForFunction(() => /series/.test(document.getElementById("result-info")?.textContent ?? ""), null, { timeout: 30000 });
  await page.waitForFunction(() => ["live", "polling"].includes(document.getElementById("live-indicator").dataset.state), null, { timeout: 30000 });
  await sleep(1500);
  const mode = await page.evaluate(() => document.getElementById("live-indicator").dataset.state);
  const out = [];
  const fromSend = [];
  for (let i = 0; i < args.samples; i++) {
    const value = 1000 + i; // exact in any float formatting the server uses
    // The stream may deliver (and the chart redraw) before the push's response arrives: then
    // ack -> redraw counts as 0; send -> redraw is reported beside it.
    const ms = await page.evaluate(
      async ({ value, name }) => {
        const sent = performance.now();
        const r = await fetch("/api/v1/push", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ source: "bench", domain: "bench", type: "gauge", name, value }),
        });
        if (!r.ok) throw new Error(`push: ${r.status}`);
        const acked = performance.now();
        const seen = () => window.__draws.find((d) => d.at >= sent && d.last.includes(value));
        while (!seen() && performance.now() - acked < 20000) await new Promise((res) => setTimeout(res, 2));
        const d = seen();
        return d ? { ack: Math.max(0, d.at - acked), send: d.at - sent } : null;
      },
      { value, name },
    );
    if (ms === null) throw new Error(`${name}: sample ${i} was not drawn within 20 s`);
    out.push(ms.ack);
    fromSend.push(ms.send);
    await sleep(150 + Math.random() * 100);
  }
  await context.close();
  return { mode, ...summary(out), send_to_draw: summary(fromSend) };
}

if (!args.pageOnly) {
  await server.push({ source: "bench", domain: "bench", type: "gauge", name: "raw", value: 1 });
  await server.push({ source: "bench", domain: "bench", type: "gauge", name: "expr", value: 1 });
  report.raw_latency_ms = await latency(`#/explore?q=${encodeURIComponent('bench_raw{source="bench"}')}&range=5m`, "raw");
  console.log("raw series panel, push ack -> redraw (ms):", report.raw_latency_ms);
  report.expr_latency_ms = await latency(`#/explore?q=${encodeURIComponent("max by (domain) (bench_expr)")}&range=5m`, "expr");
  console.log("expression panel, push ack -> redraw (ms):", report.expr_latency_ms);
}

// A page of charts x series x hours at 15 s, written with past timestamps in time order.
const step = 15000;
const points = Math.floor((args.hours * 3600000) / step);
const end = Math.floor(Date.now() / step) * step;
const tLoad = perf.now();
const perRequest = Math.max(1, Math.floor(40000 / (args.charts * args.series)));
for (let p = 0; p < points; p += perRequest) {
  const events = [];
  for (let k = p; k < Math.min(points, p + perRequest); k++) {
    const ts = end - (points - 1 - k) * step;
    for (let c = 0; c < args.charts; c++)
      for (let s = 0; s < args.series; s++)
        events.push({ source: "bench", domain: "bench", type: "gauge", name: `page_${c}`, value: Math.sin(k / 40 + s) * 10 + s, labels: { s: String(s) }, timestamp: ts });
  }
  const r = await server.push(events);
  if (r.status < 200 || r.status >= 300) throw new Error(`push: ${r.status} ${r.body}`);
}
report.page_data = { charts: args.charts, series: args.series, points_per_series: points, load_seconds: (perf.now() - tLoad) / 1000 };
console.log("page data:", report.page_data);

const board =
  `#/board?range=${args.hours}h&step=15s&` + (args.boardParams ? `${args.boardParams}&` : "") + Array.from({ length: args.charts }, (_, c) => `q=bench_page_${c}`).join("&");
const renders = [];
const variants = args.webDists.length > 1 ? args.webDists : [args.webDists[0] ?? "-"];
const byVariant = new Map(variants.map((v) => [v, []]));
if (args.profile) mkdirSync(args.profile, { recursive: true });
for (let i = 0; i < args.runs; i++) {
  let cdp = null;
  const dist = variants[i % variants.length];
  const { page, context } = await newPage(board, {
    dist,
    before: args.profile
      ? async (p, ctx) => {
          await browser.startTracing(p, { categories: ["devtools.timeline", "blink.user_timing", "v8.execute", "disabled-by-default-devtools.timeline", "blink", "loading"] });
          cdp = await ctx.newCDPSession(p);
          await cdp.send("Profiler.enable");
          await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
          await cdp.send("Profiler.start");
        }
      : undefined,
  });
  // From navigation start to the moment every chart has drawn all of its series.
  const ms = await page.evaluate(
    ({ charts, series }) =>
      new Promise((resolve) => {
        const check = () => {
          const done = new Set(window.__draws.filter((d) => d.last.length === series).map((d) => d.chart));
          if (done.size >= charts) resolve(Math.max(...window.__draws.filter((d) => d.last.length === series).map((d) => d.at)));
          else setTimeout(check, 10);
        };
        check();
      }),
    { charts: args.charts, series: args.series },
  );
  renders.push(ms);
  byVariant.get(dist).push(ms);
  // Also: when the charts in the first screen (the viewport, unscrolled) had all drawn.
  const firstScreen = await page.evaluate((series) => {
    const inView = [...document.querySelectorAll("figure.chart")].filter((f) => f.getBoundingClientRect().top < innerHeight).map((f) => f.getAttribute("aria-label"));
    const first = (c) => Math.min(...window.__draws.filter((d) => d.chart === c && d.last.length === series).map((d) => d.at));
    return { charts: inView.length, drawn_ms: Math.max(...inView.map(first)) };
  }, args.series);
  // Where the time went: the page's range queries from the Resource Timing API (wait is
  // request sent -> first byte, i.e. server time plus queueing on the connection).
  // Only the requests sent before the page counted as drawn (not the live updates after it).
  const net = await page.evaluate(
    (until) =>
      performance
        .getEntriesByType("resource")
        .filter((e) => e.name.includes("/api/v1/query_range") && e.startTime <= until)
        .map((e) => ({ start: e.startTime, sent: e.requestStart, first: e.responseStart, end: e.responseEnd, wire: e.encodedBodySize, body: e.decodedBodySize })),
    ms,
  );
  const concurrency = Math.max(0, ...net.map((a) => net.filter((b) => b.sent <= a.sent && b.end > a.sent).length));
  const breakdown = {
    requests: net.length,
    first_sent_ms: Math.min(...net.map((e) => e.sent)),
    last_received_ms: Math.max(...net.map((e) => e.end)),
    wait_ms: summary(net.map((e) => e.first - e.sent)),
    download_ms: summary(net.map((e) => e.end - e.first)),
    queued_ms: summary(net.map((e) => e.sent - e.start)),
    max_in_flight: concurrency,
    wire_mb: net.reduce((a, e) => a + e.wire, 0) / 1048576,
    json_mb: net.reduce((a, e) => a + e.body, 0) / 1048576,
    drawn_ms: ms,
    first_screen: firstScreen,
    web_dist: dist,
  };
  if (args.profile) {
    const { profile } = await cdp.send("Profiler.stop");
    const trace = JSON.parse((await browser.stopTracing()).toString());
    writeFileSync(join(args.profile, `page-${i}.cpuprofile`), JSON.stringify(profile));
    writeFileSync(join(args.profile, `page-${i}.trace.json`), JSON.stringify(trace));
    // The app's own phases (User Timing, recorded when window.__zwTiming is set).
    const marks = await page.evaluate(
      (until) => performance.getEntriesByType("measure").filter((m) => m.name.startsWith("zw:") && m.startTime <= until).map((m) => ({ name: m.name, start: m.startTime, dur: m.duration })),
      ms,
    );
    const phases = {};
    for (const m of marks) {
      const p = (phases[m.name] ??= { n: 0, ms: 0, first_ms: Infinity, last_end_ms: 0 });
      p.n++;
      p.ms += m.dur;
      p.first_ms = Math.min(p.first_ms, m.start);
      p.last_end_ms = Math.max(p.last_end_ms, m.start + m.dur);
    }
    for (const p of Object.values(phases)) for (const k of ["ms", "first_ms", "last_end_ms"]) p[k] = Math.round(p[k] * 10) / 10;
    breakdown.app_phases = phases;
    breakdown.main_thread_ms = traceSummary(trace, ms);
    breakdown.cpu_top = profileSummary(profile);
  }
  console.log(`page run ${i + 1}:`, breakdown);
  (report.page_breakdown ??= []).push(breakdown);
  const last = i === args.runs - 1;
  if (last) {
    report.page_render_ms = { ...summary(renders), runs: renders, canvases: await page.evaluate(() => document.querySelectorAll(".chart canvas").length) };
    if (variants.length > 1) report.page_render_by_web_dist = Object.fromEntries([...byVariant].map(([v, xs]) => [v, { ...summary(xs), runs: xs }]));
  }
  if (!last || args.pageOnly) await context.close();
  else {
    // Heap over live updates: every series gets a new sample each second.
    const cdp = await context.newCDPSession(page);
    const heap = async () => {
      await cdp.send("HeapProfiler.collectGarbage");
      return (await cdp.send("Runtime.getHeapUsage")).usedSize;
    };
    const pushLoop = async (ms) => {
      const stopAt = perf.now() + ms;
      while (perf.now() < stopAt) {
        const t0 = perf.now();
        const events = [];
        for (let c = 0; c < args.charts; c++)
          for (let s = 0; s < args.series; s++) events.push({ source: "bench", domain: "bench", type: "gauge", name: `page_${c}`, value: Math.random() * 10 + s, labels: { s: String(s) } });
        await server.push(events);
        await sleep(Math.max(0, 1000 - (perf.now() - t0)));
      }
    };
    await page.evaluate(() => {
      window.__keepDraws = false;
      window.__draws = [];
    });
    await pushLoop(30000); // warm-up: caches, JIT, the first re-evaluations
    const h0 = await heap();
    const samples = [];
    const minutes = args.heapMinutes;
    for (let m = 0; m < minutes; m++) {
      await pushLoop(60000);
      samples.push(await heap());
    }
    const h1 = samples[samples.length - 1] ?? h0;
    const draws = await page.evaluate(() => window.__drawCount);
    report.heap = { minutes, start_mb: h0 / 1048576, end_mb: h1 / 1048576, growth_pct: ((h1 - h0) / h0) * 100, per_minute_mb: samples.map((x) => x / 1048576), draws, mode: await page.evaluate(() => document.getElementById("live-indicator").dataset.state) };
    await context.close();
  }
}
console.log("24-chart page render (ms from navigation start):", report.page_render_ms);
if (report.page_render_by_web_dist) console.log("by web bundle:", report.page_render_by_web_dist);
console.log("JS heap over live updates:", report.heap);
report.load_after = loadavg()[0];
await browser.close();
await server.cleanup();
if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
console.log(JSON.stringify(report));
