// Browser performance of the dashboard, in Debian's headless Chromium against the real binary
// (see README.md). Bounded: every phase has a sample count or a time limit.
//   node bench/dashboard/run.mjs --binary build/test/src/cli/zenwatch [--samples 40]
//        [--heap-minutes 10] [--hours 6] [--charts 24] [--series 50] [--runs 3] [--page-only]
//        [--json out.json]
// --page-only skips the latency and heap phases: only the page of charts is measured.
import { performance as perf } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Server, launchBrowser, missingPrerequisite, sleep } from "../../tests/browser/lib.mjs";

const args = { samples: 40, heapMinutes: 10, hours: 6, charts: 24, series: 50, runs: 3, pageOnly: false, json: "" };
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

async function newPage(hash) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__draws = [];
    document.addEventListener("zw:draw", (e) => window.__draws.push({ ...e.detail, at: performance.now() }));
  });
  await page.goto(`${server.url}/${hash}`);
  return { page, context };
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

const board = `#/board?range=${args.hours}h&step=15s&` + Array.from({ length: args.charts }, (_, c) => `q=bench_page_${c}`).join("&");
const renders = [];
for (let i = 0; i < args.runs; i++) {
  const { page, context } = await newPage(board);
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
  // Where the time went: the page's range queries from the Resource Timing API (wait is
  // request sent -> first byte, i.e. server time plus queueing on the connection).
  const net = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .filter((e) => e.name.includes("/api/v1/query_range"))
      .map((e) => ({ start: e.startTime, sent: e.requestStart, first: e.responseStart, end: e.responseEnd, wire: e.encodedBodySize, body: e.decodedBodySize })),
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
  };
  console.log(`page run ${i + 1}:`, breakdown);
  (report.page_breakdown ??= []).push(breakdown);
  const last = i === args.runs - 1;
  if (last) report.page_render_ms = { ...summary(renders), runs: renders, canvases: await page.evaluate(() => document.querySelectorAll(".chart canvas").length) };
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
    await pushLoop(30000); // warm-up: caches, JIT, the first re-evaluations
    const h0 = await heap();
    const samples = [];
    const minutes = args.heapMinutes;
    for (let m = 0; m < minutes; m++) {
      await pushLoop(60000);
      samples.push(await heap());
    }
    const h1 = samples[samples.length - 1] ?? h0;
    const draws = await page.evaluate(() => window.__draws.length);
    report.heap = { minutes, start_mb: h0 / 1048576, end_mb: h1 / 1048576, growth_pct: ((h1 - h0) / h0) * 100, per_minute_mb: samples.map((x) => x / 1048576), draws, mode: await page.evaluate(() => document.getElementById("live-indicator").dataset.state) };
    await context.close();
  }
}
console.log("24-chart page render (ms from navigation start):", report.page_render_ms);
console.log("JS heap over live updates:", report.heap);
report.load_after = loadavg()[0];
await browser.close();
await server.cleanup();
if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
console.log(JSON.stringify(report));
