// Explore: a PromQL editor, graph (uPlot) and table views, a relative or absolute time range,
// step, stacked and log-scale options. The URL carries the state:
//   #/explore?q=...&range=1h&step=15s&stacked=1&log=0&view=graph   (or start=&end= for absolute)
// A relative range stays live: a plain series selector subscribes to its raw samples, any
// other expression to its re-evaluated result.
import { ApiError, MatrixSeries, QueryResult, chartStep, query, queryRange } from "../api";
import { TimeChart } from "../chart";
import { QueryEditor } from "../editor";
import { live } from "../live";
import { Route, replaceParams } from "../route";
import { clear, formatDuration, formatTime, h, parseDuration, seriesName } from "../util";

const relativeRanges = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d"];

const selectorRe = /^\s*(?:[a-zA-Z_:][a-zA-Z0-9_:]*\s*(?:\{[^{}]*\})?|\{[^{}]*\})\s*$/;

function toLocalInput(sec: number): string {
  const d = new Date(sec * 1000 - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}
function fromLocalInput(v: string): number | null {
  if (!v) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? null : t / 1000;
}

export function renderExplore(root: HTMLElement, route: Route): () => void {
  const p = route.params;
  const state = {
    q: p.get("q") ?? "",
    range: p.get("range") ?? "1h",
    start: p.get("start") ? Number(p.get("start")) : null,
    end: p.get("end") ? Number(p.get("end")) : null,
    step: p.get("step") ?? "",
    stacked: p.get("stacked") === "1",
    log: p.get("log") === "1",
    view: p.get("view") === "table" ? "table" : "graph",
  };
  const absolute = state.start !== null && state.end !== null;

  const editor = new QueryEditor(state.q, () => void run());
  const runButton = h("button", { type: "button", class: "primary", id: "run" }, "Run query");
  runButton.addEventListener("click", () => void run());

  const rangeSelect = h("select", { id: "range" });
  for (const r of relativeRanges) rangeSelect.append(h("option", { value: r }, `Last ${r}`));
  rangeSelect.append(h("option", { value: "absolute" }, "Absolute…"));
  if (!relativeRanges.includes(state.range) && parseDuration(state.range)) rangeSelect.prepend(h("option", { value: state.range }, `Last ${state.range}`));
  rangeSelect.value = absolute ? "absolute" : state.range;
  const now = Date.now() / 1000;
  const startInput = h("input", { type: "datetime-local", id: "start", step: 1, value: toLocalInput(state.start ?? now - 3600) });
  const endInput = h("input", { type: "datetime-local", id: "end", step: 1, value: toLocalInput(state.end ?? now) });
  const absoluteBox = h("span", { class: "absolute", hidden: !absolute }, h("label", { for: "start" }, "From"), startInput, h("label", { for: "end" }, "To"), endInput);
  rangeSelect.addEventListener("change", () => {
    absoluteBox.hidden = rangeSelect.value !== "absolute";
    void run();
  });
  startInput.addEventListener("change", () => void run());
  endInput.addEventListener("change", () => void run());
  const stepInput = h("input", { type: "text", id: "step", size: 6, value: state.step, placeholder: "auto", class: "mono" });
  stepInput.addEventListener("change", () => void run());
  const stackedBox = h("input", { type: "checkbox", id: "stacked", checked: state.stacked });
  const logBox = h("input", { type: "checkbox", id: "log", checked: state.log });
  const graphTab = h("button", { type: "button", role: "tab", id: "tab-graph", "aria-controls": "result" }, "Graph");
  const tableTab = h("button", { type: "button", role: "tab", id: "tab-table", "aria-controls": "result" }, "Table");
  const setView = (v: "graph" | "table") => {
    state.view = v;
    graphTab.setAttribute("aria-selected", String(v === "graph"));
    tableTab.setAttribute("aria-selected", String(v === "table"));
    graphTab.tabIndex = v === "graph" ? 0 : -1;
    tableTab.tabIndex = v === "table" ? 0 : -1;
  };
  setView(state.view as "graph" | "table");
  graphTab.addEventListener("click", () => (setView("graph"), void run()));
  tableTab.addEventListener("click", () => (setView("table"), void run()));
  const tabs = h("div", { role: "tablist", "aria-label": "Result view", class: "tabs" }, graphTab, tableTab);
  tabs.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const next = state.view === "graph" ? tableTab : graphTab;
    next.focus();
    next.click();
  });
  stackedBox.addEventListener("change", () => chart?.setOptions({ stacked: stackedBox.checked }) ?? void run());
  logBox.addEventListener("change", () => chart?.setOptions({ log: logBox.checked }) ?? void run());

  const info = h("p", { class: "hint", id: "result-info", "aria-live": "polite" });
  const result = h("section", { id: "result", role: "tabpanel", class: "result" });
  root.append(
    h("h1", {}, "Explore"),
    editor.el,
    h(
      "div",
      { class: "toolbar" },
      runButton,
      h("label", { for: "range" }, "Range"),
      rangeSelect,
      absoluteBox,
      h("label", { for: "step" }, "Step"),
      stepInput,
      h("label", { class: "check" }, stackedBox, "Stacked"),
      h("label", { class: "check" }, logBox, "Log scale"),
      tabs,
    ),
    info,
    result,
  );

  let chart: TimeChart | null = null;
  let unsubscribe: (() => void) | null = null;
  let controller: AbortController | null = null;
  let disposed = false;

  const stop = () => {
    unsubscribe?.();
    unsubscribe = null;
    controller?.abort();
    controller = null;
  };

  async function run(): Promise<void> {
    stop();
    const q = editor.value.trim();
    const isAbsolute = rangeSelect.value === "absolute";
    const range = isAbsolute ? null : rangeSelect.value;
    let start: number;
    let end: number;
    if (isAbsolute) {
      const s = fromLocalInput(startInput.value);
      const e = fromLocalInput(endInput.value);
      if (s === null || e === null || e <= s) {
        editor.showError("The absolute range needs a start before its end.");
        return;
      }
      start = s;
      end = e;
    } else {
      end = Date.now() / 1000;
      start = end - (parseDuration(range!) ?? 3600);
    }
    const userStep = stepInput.value.trim() ? parseDuration(stepInput.value) : null;
    if (stepInput.value.trim() && (userStep === null || userStep <= 0)) {
      editor.showError(`Step "${stepInput.value}" is not a duration (e.g. 15s, 1m, or seconds).`);
      return;
    }
    replaceParams({
      q,
      range: range ?? undefined,
      start: isAbsolute ? start.toFixed(0) : undefined,
      end: isAbsolute ? end.toFixed(0) : undefined,
      step: stepInput.value.trim() || undefined,
      stacked: stackedBox.checked ? "1" : undefined,
      log: logBox.checked ? "1" : undefined,
      view: state.view === "table" ? "table" : undefined,
    });
    editor.showError(null);
    if (!q) {
      clear(result);
      chart = null;
      info.textContent = "Type an expression and press Enter.";
      return;
    }
    controller = new AbortController();
    const signal = controller.signal;
    if (state.view === "table") {
      chart?.destroy();
      chart = null;
      try {
        const r = await query(q, end, signal);
        if (disposed || signal.aborted) return;
        showTable(r);
      } catch (e) {
        if (!signal.aborted) failed(e);
      }
      return;
    }
    if (!chart) {
      clear(result);
      chart = new TimeChart(result, { title: q, height: 360, stacked: stackedBox.checked, log: logBox.checked });
    }
    const width = chart.width();
    const step = chartStep(end - start, width, userStep);
    const t0 = performance.now();
    try {
      const series = await queryRange(q, start, end, step, width, signal);
      if (disposed || signal.aborted) return;
      chart.setOptions({ title: q, stacked: stackedBox.checked, log: logBox.checked, window: isAbsolute ? 0 : end - start });
      chart.setSeries(series);
      info.textContent = `${series.length} series, step ${formatDuration(step)}, ${Math.round(performance.now() - t0)} ms${isAbsolute ? "" : " · live"}`;
      if (!isAbsolute) subscribe(q, end - start, step);
    } catch (e) {
      if (!signal.aborted) failed(e);
    }
  }

  function subscribe(q: string, rangeSec: number, step: number): void {
    const c = chart;
    if (!c) return;
    const onError = (e: { error: string }) => editor.showError(e.error);
    if (selectorRe.test(q)) {
      unsubscribe = live.subscribe({ kind: "selector", selector: q, range: Math.min(rangeSec, 300), onSeries: (s: MatrixSeries[]) => c.appendSeries(s) }, onError);
    } else {
      unsubscribe = live.subscribe(
        {
          kind: "expr",
          expr: q,
          range: rangeSec,
          step,
          onResult: (r: QueryResult) => {
            if (r.resultType === "matrix") c.setSeries(r.result);
          },
        },
        onError,
      );
    }
  }

  function failed(e: unknown): void {
    if (disposed) return;
    const msg = e instanceof ApiError ? e.message : String(e);
    editor.showError(msg);
    info.textContent = "";
    chart?.destroy();
    chart = null;
    clear(result);
  }

  function showTable(r: QueryResult): void {
    clear(result);
    const tbody = h("tbody");
    let rows = 0;
    if (r.resultType === "vector") {
      for (const s of r.result) {
        tbody.append(h("tr", {}, h("td", { class: "mono" }, seriesName(s.metric)), h("td", { class: "num" }, s.value[1])));
        rows++;
      }
    } else if (r.resultType === "matrix") {
      for (const s of r.result) {
        tbody.append(h("tr", {}, h("td", { class: "mono" }, seriesName(s.metric)), h("td", { class: "mono" }, s.values.map((v) => `${v[1]} @${v[0]}`).join("\n"))));
        rows++;
      }
    } else {
      tbody.append(h("tr", {}, h("td", { class: "mono" }, r.resultType), h("td", { class: "num" }, r.result[1])));
      rows = 1;
    }
    result.append(h("table", { class: "result-table" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Series"), h("th", { scope: "col" }, "Value"))), tbody));
    info.textContent = `${rows} result${rows === 1 ? "" : "s"} at ${formatTime(Date.now() / 1000)}`;
  }

  if (state.q) void run();
  else info.textContent = "Type an expression and press Enter.";
  queueMicrotask(() => editor.input.focus());

  return () => {
    disposed = true;
    stop();
    chart?.destroy();
  };
}
