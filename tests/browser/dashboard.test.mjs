// The dashboard in a real browser (Debian's Chromium, headless, through playwright-core)
// against the real binary: pages render pushed data, live updates arrive, Explore shows graphs
// and parse errors where they are, the page reconnects after a restart, and no page logs an
// error. Screenshots of each page, light and dark, go to $ZW_ARTIFACTS.
// Run: ZW_BINARY=build/src/cli/zenwatch node tests/browser/dashboard.test.mjs (exit 77: skipped)
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Server, httpRequest, launchBrowser, missingPrerequisite, sleep } from "./lib.mjs";

const why = missingPrerequisite();
if (why) {
  console.log(`SKIPPED: ${why}`);
  process.exit(77);
}

const artifacts = process.env.ZW_ARTIFACTS || join(tmpdir(), "zw-browser-artifacts");
mkdirSync(artifacts, { recursive: true });

let server;
let browser;
// Network errors the browser itself logs for dashboard endpoints this server lacks (the app
// falls back to the query API for them); anything else on the console fails the test.
const tolerated = [];

function streamAvailable(port) {
  return new Promise((resolve) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/api/v1/stream",
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      resolve(true);
    });
    req.on("response", (res) => {
      res.resume();
      resolve(false);
    });
    req.on("error", () => resolve(false));
    req.end();
  });
}

function pushRound(value) {
  return server.push([
    { source: "browser-test", domain: "database", type: "timer", name: "query", value: 12.5 + value, labels: { adapter: "sqlite" } },
    { source: "browser-test", domain: "database", type: "counter", name: "ops", value: 2, labels: { adapter: "sqlite" } },
    { source: "browser-test", domain: "interfaces", type: "timer", name: "request", value: 40, labels: { endpoint: "/v1/run" } },
    { source: "browser-test", domain: "neural", type: "counter", name: "inferences", value: 5 },
  ]);
}

async function openPage(hash, { colorScheme = "light", width = 1400, height = 900, onPage = null } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = `${msg.text()} (${msg.location().url})`;
    if (!tolerated.some((t) => text.includes(t))) errors.push(text);
  });
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  await page.addInitScript(() => {
    window.__draws = [];
    document.addEventListener("zw:draw", (e) => window.__draws.push({ ...e.detail, at: performance.now() }));
  });
  if (onPage) onPage(page);
  await page.goto(`${server.url}/${hash}`);
  return { page, context, errors };
}

async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

// Waits until a draw shows `value` as the newest point of some series.
function waitForValue(page, value, timeout = 10000) {
  return page.waitForFunction((v) => window.__draws.some((d) => d.last.includes(v)), value, { timeout, polling: 50 });
}

before(async () => {
  server = await new Server().start();
  if ((await server.getJson("/api/health")).status === 404) tolerated.push("/api/health", "/api/performance");
  if (!(await streamAvailable(server.port))) tolerated.push("/api/v1/stream");
  for (let i = 0; i < 3; i++) {
    const r = await pushRound(i);
    assert.ok(r.status >= 200 && r.status < 300, `push: ${r.status} ${r.body}`);
    await sleep(1100);
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
});

describe("dashboard", () => {
  test("serves the app with an index that revalidates and immutable assets", async () => {
    const index = await httpRequest(server.port, "GET", "/");
    assert.equal(index.status, 200);
    assert.match(index.headers["content-type"], /text\/html/);
    assert.equal(index.headers["cache-control"], "no-cache");
    const js = /\/assets\/[^"]+\.js/.exec(index.body)[0];
    const asset = await httpRequest(server.port, "GET", js);
    assert.equal(asset.status, 200);
    assert.match(asset.headers["cache-control"], /immutable/);
    const again = await httpRequest(server.port, "GET", js, null, { "If-None-Match": asset.headers.etag });
    assert.equal(again.status, 304);
  });

  for (const scheme of ["light", "dark"]) {
    test(`overview renders a card per domain with the pushed data (${scheme})`, async () => {
      const { page, context, errors } = await openPage("#/overview", { colorScheme: scheme });
      const card = page.locator('.card[data-domain="database"]');
      await card.waitFor({ timeout: 15000 });
      await page.waitForFunction(() => document.querySelector('.card[data-domain="database"]')?.dataset.status === "healthy", null, { timeout: 15000 });
      for (const d of ["neural", "coordination", "database", "memory", "interfaces"]) {
        assert.equal(await page.locator(`.card[data-domain="${d}"]`).count(), 1, `card for ${d}`);
      }
      const rate = await card.locator(".metric-value").first().textContent();
      assert.notEqual(rate, "–", "database request rate is shown");
      const p95 = await card.locator(".metric-value").nth(2).textContent();
      assert.match(p95, /ms|s/, "database p95 latency is shown");
      assert.equal(await page.locator('.card[data-domain="memory"]').getAttribute("data-status"), "unknown");
      assert.notEqual(await page.locator("#total-series").textContent(), "0");
      await screenshot(page, `overview-${scheme}`);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }

  for (const scheme of ["light", "dark"]) {
    test(`domain page draws rate, errors and latency charts (${scheme})`, async () => {
      await pushRound(3);
      const { page, context, errors } = await openPage("#/domain/database?range=15m", { colorScheme: scheme });
      await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length >= 3, null, { timeout: 15000 });
      await page.locator(".top-series table").waitFor({ timeout: 15000 });
      await page.waitForFunction(() => window.__draws.some((d) => d.chart === "Latency" && d.last.some((v) => v !== null)), null, { timeout: 15000 });
      await screenshot(page, `domain-${scheme}`);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }

  for (const scheme of ["light", "dark"]) {
    test(`explore runs a query and shows a graph (${scheme})`, async () => {
      const { page, context, errors } = await openPage("#/explore?q=database_ops_total&range=15m", { colorScheme: scheme });
      await page.waitForFunction(() => /^1 series/.test(document.getElementById("result-info")?.textContent ?? ""), null, { timeout: 15000 });
      assert.equal(await page.locator("#result canvas").count(), 1);
      await page.waitForFunction(() => window.__draws.some((d) => d.chart === "database_ops_total" && d.last.length === 1));
      await screenshot(page, `explore-${scheme}`);
      await page.locator("#tab-table").click();
      await page.locator(".result-table tbody tr").first().waitFor();
      assert.match(await page.locator(".result-table").textContent(), /database_ops_total\{adapter="sqlite"/);
      assert.match(page.url(), /view=table/);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }

  test("explore shows a parse error at the column the server names", async () => {
    const bad = "rate(database_ops_total[5m]) foo";
    const api = await server.getJson(`/api/v1/query?query=${encodeURIComponent(bad)}`);
    assert.equal(api.status, 400);
    const column = Number(/\b1:(\d+): parse error/.exec(api.body.error)[1]);
    assert.equal(column, 30, api.body.error);
    const { page, context, errors } = await openPage("#/explore?range=15m");
    await page.locator("#query").fill(bad);
    await page.locator("#query").press("Escape");
    await page.locator("#query").press("Enter");
    const box = page.locator("#query-error");
    await box.waitFor({ state: "visible" });
    assert.equal(await box.getAttribute("data-column"), String(column));
    const caret = await box.locator(".caret").textContent();
    assert.equal(caret.indexOf("^"), column - 1);
    assert.equal(bad[caret.indexOf("^")], "f");
    assert.match(await box.textContent(), /parse error/);
    assert.equal(await page.locator("#query").getAttribute("aria-invalid"), "true");
    await screenshot(page, "explore-parse-error");
    // Errors come from the API, which the browser logs as a failed request: not an app error.
    assert.deepEqual(errors.filter((e) => !e.includes("status of 400")), []);
    await context.close();
  });

  test("the editor completes metric names, label names and label values", async () => {
    const { page, context, errors } = await openPage("#/explore");
    const input = page.locator("#query");
    await input.pressSequentially("database_op");
    await page.locator('#completions li:has-text("database_ops_total")').waitFor();
    await input.press("ArrowDown");
    await input.press("Enter");
    assert.equal(await input.inputValue(), "database_ops_total");
    await input.pressSequentially("{ada");
    await page.locator('#completions li:has-text("adapter")').waitFor();
    await input.press("Tab");
    await input.pressSequentially('="sq');
    await page.locator('#completions li:has-text("sqlite")').waitFor();
    await input.press("Tab");
    assert.equal(await input.inputValue(), 'database_ops_total{adapter="sqlite"');
    await input.fill("histogram_qu");
    await input.dispatchEvent("input");
    await page.locator('#completions li:has-text("histogram_quantile")').waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a pushed sample appears on a live chart", async () => {
    await server.push({ source: "browser-test", domain: "database", type: "gauge", name: "live", value: 1 });
    const q = 'database_live{source="browser-test"}';
    const { page, context, errors } = await openPage(`#/explore?q=${encodeURIComponent(q)}&range=5m`);
    await page.waitForFunction(() => /^1 series/.test(document.getElementById("result-info")?.textContent ?? ""), null, { timeout: 15000 });
    await page.waitForFunction(() => ["live", "polling"].includes(document.getElementById("live-indicator").dataset.state), null, { timeout: 15000 });
    await sleep(300); // let the subscription's first update land
    const t0 = Date.now();
    const r = await server.push({ source: "browser-test", domain: "database", type: "gauge", name: "live", value: 777.25 });
    assert.ok(r.status >= 200 && r.status < 300, `push: ${r.status}`);
    await waitForValue(page, 777.25);
    console.log(`# live: pushed sample drawn ${Date.now() - t0} ms after the push (${await page.locator("#live-indicator").textContent()})`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("query_range answers layout=columns with shared timestamps, and rejects other layouts", async () => {
    const t0 = Math.floor(Date.now() / 1000) - 600;
    const events = [];
    for (let k = 0; k < 10; k++) {
      events.push({ source: "browser-test", domain: "memory", type: "gauge", name: "cols", value: k / 4, labels: { s: "x" }, timestamp: (t0 + k * 10) * 1000 });
      if (k >= 5) events.push({ source: "browser-test", domain: "memory", type: "gauge", name: "cols", value: 100 + k, labels: { s: "y" }, timestamp: (t0 + k * 10) * 1000 });
    }
    const r = await server.push(events);
    assert.ok(r.status >= 200 && r.status < 300, `push: ${r.status} ${r.body}`);
    const path = (extra) => `/api/v1/query_range?query=memory_cols&start=${t0}&end=${t0 + 90}&step=10${extra}`;
    const prom = await server.getJson(path(""));
    const cols = await server.getJson(path("&layout=columns"));
    assert.equal(cols.status, 200, JSON.stringify(cols.body));
    const d = cols.body.data;
    assert.equal(d.resultType, "matrix");
    assert.equal(d.layout, "columns");
    assert.deepEqual(d.timestamps, Array.from({ length: 10 }, (_, k) => t0 + k * 10));
    // The same samples as Prometheus's shape, one value per timestamp (null: no sample then).
    for (const s of prom.body.data.result) {
      const c = d.result.find((x) => x.metric.s === s.metric.s);
      assert.deepEqual(c.metric, s.metric);
      const back = c.values.map((v, i) => [d.timestamps[i], v]).filter(([, v]) => v !== null).map(([t, v]) => [t, String(v)]);
      assert.deepEqual(back, s.values);
    }
    assert.deepEqual(d.result.find((x) => x.metric.s === "y").values.slice(0, 6), [null, null, null, null, null, 105]);
    const bad = await server.getJson(path("&layout=rows"));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errorType, "bad_data");
    assert.match(bad.body.error, /layout/);
  });

  test("a board draws every panel from columns-layout range queries and stays live", async () => {
    const now = Date.now();
    const events = [];
    for (let k = 0; k < 40; k++)
      for (const s of ["a", "b", "c"]) events.push({ source: "browser-test", domain: "memory", type: "gauge", name: "board", value: k + (s === "b" ? 100 : 0), labels: { s }, timestamp: now - (40 - k) * 15000 });
    const r = await server.push(events);
    assert.ok(r.status >= 200 && r.status < 300, `push: ${r.status} ${r.body}`);
    const queries = ["memory_board", 'max(memory_board{s!="c"})'];
    const { page, context, errors } = await openPage(`#/board?range=15m&${queries.map((q) => `q=${encodeURIComponent(q)}`).join("&")}`);
    await page.waitForFunction(() => new Set(window.__draws.filter((d) => d.last.length > 0).map((d) => d.chart)).size === 2, null, { timeout: 15000 });
    const drawn = await page.evaluate(() => Object.fromEntries(window.__draws.map((d) => [d.chart, d.last])));
    assert.equal(drawn.memory_board.length, 3);
    assert.ok(drawn.memory_board.includes(139), JSON.stringify(drawn));
    assert.deepEqual(drawn['max(memory_board{s!="c"})'], [139]);
    // Each panel asked for columns, and for no more points than it has pixels.
    const own = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.includes("/api/v1/query_range")));
    assert.ok(own.length >= 2, own.join("\n"));
    for (const u of own.map((n) => new URL(n))) {
      assert.equal(u.searchParams.get("layout"), "columns");
      const width = Number(u.searchParams.get("max_points"));
      const span = Number(u.searchParams.get("end")) - Number(u.searchParams.get("start"));
      assert.ok(width > 100 && Number(u.searchParams.get("step")) >= span / width, u.href);
    }
    await page.waitForFunction(() => ["live", "polling"].includes(document.getElementById("live-indicator").dataset.state), null, { timeout: 15000 });
    await sleep(1500); // the subscriptions start once both panels have their data
    const pushed = await server.push({ source: "browser-test", domain: "memory", type: "gauge", name: "board", value: 4242.5, labels: { s: "a" } });
    assert.ok(pushed.status >= 200 && pushed.status < 300, `push: ${pushed.status}`);
    await page.waitForFunction((v) => window.__draws.filter((d) => d.last.includes(v)).length >= 2, 4242.5, { timeout: 15000, polling: 50 });
    await screenshot(page, "board");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a board whose panels' full ranges exceed the stream's send queue keeps every panel live", async () => {
    // 6 panels x 50 series x 15 min every 2 s: a panel's whole range is about 0.5 MB of
    // expr_update, the six together well over the connection's 1 MiB send queue.
    const panels = 6;
    const now = Date.now();
    for (let k0 = 0; k0 < 450; k0 += 30) {
      const events = [];
      for (let k = k0; k < k0 + 30; k++)
        for (let c = 0; c < panels; c++)
          for (let s = 0; s < 50; s++)
            events.push({ source: "browser-test", domain: "memory", type: "gauge", name: `wide_${c}`, value: Math.sin(k / 9 + s) * 10 + s, labels: { s: String(s) }, timestamp: now - (450 - k) * 2000 });
      const r = await server.push(events);
      assert.ok(r.status >= 200 && r.status < 300, `push: ${r.status} ${r.body}`);
    }
    const queries = Array.from({ length: panels }, (_, c) => `memory_wide_${c}`);
    const exprUpdates = []; // sizes of the expr_update messages the page received
    const onPage = (p) =>
      p.on("websocket", (ws) =>
        ws.on("framereceived", (f) => {
          if (typeof f.payload !== "string") return;
          // A frame holds one message or an array of the messages of one round.
          const parsed = JSON.parse(f.payload);
          for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
            if (m.type === "expr_update") exprUpdates.push(JSON.stringify(m).length);
          }
        }),
      );
    const { page, context, errors } = await openPage(`#/board?range=15m&${queries.map((q) => `q=${q}`).join("&")}`, { onPage });
    await page.waitForFunction((n) => new Set(window.__draws.filter((d) => d.last.length === 50).map((d) => d.chart)).size === n, panels, { timeout: 30000 });
    await page.waitForFunction(() => ["live", "polling"].includes(document.getElementById("live-indicator").dataset.state), null, { timeout: 15000 });
    await sleep(2000); // the subscriptions start once every panel has its data
    // A new sample for one series of every panel: each panel must draw its own.
    const events = queries.map((_, c) => ({ source: "browser-test", domain: "memory", type: "gauge", name: `wide_${c}`, value: 9000.5 + c, labels: { s: "7" } }));
    const pushed = await server.push(events);
    assert.ok(pushed.status >= 200 && pushed.status < 300, `push: ${pushed.status}`);
    await page
      .waitForFunction((qs) => qs.every((q, c) => window.__draws.some((d) => d.chart === q && d.last.includes(9000.5 + c))), queries, { timeout: 20000, polling: 100 })
      .catch(async (e) => {
        const seen = await page.evaluate((qs) => qs.filter((q, c) => window.__draws.some((d) => d.chart === q && d.last.includes(9000.5 + c))), queries);
        const state = await page.evaluate(() => document.getElementById("live-indicator").dataset.state);
        throw new Error(`panels that drew their new sample: ${JSON.stringify(seen)} of ${panels}; live state ${state}: ${e.message}`);
      });
    // Every panel still shows all its series, and the connection never fell back to snapshots.
    const last = await page.evaluate((qs) => qs.map((q) => window.__draws.filter((d) => d.chart === q).at(-1).last.length), queries);
    assert.deepEqual(last, queries.map(() => 50));
    assert.notEqual(await page.evaluate(() => document.getElementById("live-indicator").dataset.state), "snapshot");
    // Live updates carry the panels' last steps, not their whole range again.
    const url = new URL(await page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name).find((n) => n.includes("query=memory_wide_0"))));
    const whole = await server.getJson(`/api/v1/query_range?query=memory_wide_0&start=${url.searchParams.get("start")}&end=${url.searchParams.get("end")}&step=${url.searchParams.get("step")}`);
    const wholeBytes = JSON.stringify(whole.body.data).length;
    assert.ok(wholeBytes > 200000, `a panel's whole range is ${wholeBytes} bytes`);
    assert.ok(exprUpdates.length >= panels, `expr_update frames: ${exprUpdates.length}`);
    assert.ok(Math.max(...exprUpdates) * 5 < wholeBytes, `largest expr_update ${Math.max(...exprUpdates)} bytes vs a panel's whole range ${wholeBytes}`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a chart with many series has a compact legend: every series listed, values on hover, keyboard toggles", async () => {
    const n = 14; // above the compact legend's threshold (COMPACT_LEGEND_MIN_SERIES in web/src/chart.ts)
    const now = Date.now();
    const events = [];
    for (let k = 0; k < 30; k++)
      for (let s = 0; s < n; s++) events.push({ source: "browser-test", domain: "memory", type: "gauge", name: "legend", value: 100 + s, labels: { s: String(s) }, timestamp: now - (30 - k) * 15000 });
    const r = await server.push(events);
    assert.ok(r.status >= 200 && r.status < 300, `push: ${r.status} ${r.body}`);
    const { page, context, errors } = await openPage("#/board?range=10m&q=memory_legend");
    await page.waitForFunction((n) => window.__draws.some((d) => d.chart === "memory_legend" && d.last.length === n), n, { timeout: 15000 });
    const chart = page.locator('figure.chart[aria-label="memory_legend"]');
    const items = chart.locator(".legend-list li");
    assert.equal(await items.count(), n);
    assert.equal(await chart.locator(".u-legend").count(), 0, "uPlot's own legend is not built");
    // Every series is listed: the shared labels once, each item its own label, the full name as its title.
    assert.match(await chart.locator(".legend-common").textContent(), /^memory_legend\{.*source="browser-test"/);
    const titles = await items.evaluateAll((lis) => lis.map((li) => li.title));
    const shown = await items.locator(".n").allTextContents();
    for (let s = 0; s < n; s++) {
      assert.ok(titles.some((t) => t.startsWith("memory_legend{") && t.includes(`s="${s}"`)), `series s=${s} in ${titles.join(" | ")}`);
      assert.ok(shown.includes(`{s="${s}"}`), `item for s=${s} in ${shown.join(" ")}`);
    }
    // No values until the plot is hovered; then each item shows its series' value there.
    assert.deepEqual(await items.locator(".v").allTextContents(), new Array(n).fill(""));
    const box = await chart.locator(".u-over").boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await page.waitForFunction(() => document.querySelector('figure[aria-label="memory_legend"] .legend-list .v')?.textContent !== "", null, { timeout: 5000 });
    const pairs = await items.evaluateAll((lis) => lis.map((li) => [li.querySelector(".n").textContent, li.querySelector(".v").textContent]));
    for (const [name, value] of pairs) assert.equal(value, String(100 + Number(/s="(\d+)"/.exec(name)[1])), `${name} shows ${value}`);
    assert.match(await chart.locator(".legend-readout").textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await page.mouse.move(2, 2);
    await page.waitForFunction(() => document.querySelector('figure[aria-label="memory_legend"] .legend-list .v')?.textContent === "", null, { timeout: 5000 });
    // One tab stop; arrows choose a series (its newest value shown), Enter hides and shows it.
    const list = chart.locator(".legend-list");
    assert.equal(await chart.locator(".legend-compact [tabindex]").count(), 1);
    await list.focus();
    await page.keyboard.press("ArrowDown"); // the first series
    assert.equal(await page.locator(`[id="${await list.getAttribute("aria-activedescendant")}"] .n`).textContent(), shown[0]);
    await page.keyboard.press("ArrowDown"); // the second
    const active = await list.getAttribute("aria-activedescendant");
    const item = page.locator(`[id="${active}"]`);
    assert.equal(await item.locator(".n").textContent(), shown[1]);
    await page.waitForFunction((id) => document.getElementById(id).querySelector(".v").textContent !== "", active, { timeout: 5000 });
    assert.match(await chart.locator(".legend-readout").textContent(), /\(newest\)$/);
    const drawsBefore = await page.evaluate(() => window.__draws.length);
    await page.keyboard.press("Enter");
    assert.equal(await item.getAttribute("aria-selected"), "false");
    await page.waitForFunction((k) => window.__draws.length > k, drawsBefore, { timeout: 5000 }); // redrawn without it
    await page.keyboard.press(" ");
    assert.equal(await item.getAttribute("aria-selected"), "true");
    await item.click();
    assert.equal(await item.getAttribute("aria-selected"), "false");
    await screenshot(page, "board-compact-legend");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("status page shows build, runtime, flags, targets and TSDB stats (light and dark)", async () => {
    for (const scheme of ["light", "dark"]) {
      const { page, context, errors } = await openPage("#/status", { colorScheme: scheme });
      for (const id of ["#buildinfo", "#runtimeinfo", "#flags", "#targets", "#tsdb-head"]) await page.locator(id).waitFor({ timeout: 15000 });
      assert.match(await page.locator("#flags").textContent(), /data-dir/);
      assert.match(await page.locator("#tsdb-head").textContent(), /numSeries/);
      await screenshot(page, `status-${scheme}`);
      assert.deepEqual(errors, []);
      await context.close();
    }
  });

  test("the theme toggle switches and remembers the theme", async () => {
    const { page, context, errors } = await openPage("#/overview", { colorScheme: "light" });
    await page.locator("#theme-toggle").click(); // auto -> light
    await page.locator("#theme-toggle").click(); // light -> dark
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.reload();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, "rgb(13, 17, 23)");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("after a server restart on the same port the page reconnects by itself", async () => {
    const q = 'database_live{source="browser-test"}';
    const { page, context, errors } = await openPage(`#/explore?q=${encodeURIComponent(q)}&range=5m`);
    const state = () => page.evaluate(() => document.getElementById("live-indicator").dataset.state);
    await page.waitForFunction(() => ["live", "polling"].includes(document.getElementById("live-indicator").dataset.state), null, { timeout: 15000 });
    const port = server.port;
    tolerated.push("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE", "WebSocket connection");
    await server.stop();
    await page.waitForFunction(() => document.getElementById("live-indicator").dataset.state === "reconnecting", null, { timeout: 15000 });
    await server.start(port);
    await page.waitForFunction(() => ["live", "polling"].includes(document.getElementById("live-indicator").dataset.state), null, { timeout: 30000 });
    tolerated.splice(tolerated.length - 4, 4);
    const r = await server.push({ source: "browser-test", domain: "database", type: "gauge", name: "live", value: 888.5 });
    assert.ok(r.status >= 200 && r.status < 300, `push: ${r.status}`);
    await waitForValue(page, 888.5, 15000);
    console.log(`# reconnect: indicator back to "${await state()}"`);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
