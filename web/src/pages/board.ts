// Board: a grid of charts, one per query, sharing one relative range — a shareable page of
// panels: #/board?range=6h&q=expr1&q=expr2&... Each chart asks for as many points as it is
// wide and stays live through an expression subscription over its last few steps only.
import { QueryResult, chartStep, queryRangeColumns } from "../api";
import { TimeChart, inNextFrame } from "../chart";
import { live } from "../live";
import type { Route } from "../route";
import { h, parseDuration } from "../util";

// Steps of history a panel's live subscription asks for: enough to bridge a late evaluation or
// a short reconnection, few enough that every panel's update is a few KB.
const LIVE_STEPS = 10;

export function renderBoard(root: HTMLElement, route: Route): () => void {
  const queries = route.params.getAll("q").filter((q) => q.trim() !== "");
  const range = route.params.get("range") ?? "1h";
  const rangeSec = parseDuration(range) ?? 3600;
  const userStep = route.params.get("step") ? parseDuration(route.params.get("step")!) : null;
  const legend = route.params.get("legend") !== "0";
  const grid = h("section", { class: "chart-grid board" });
  root.append(h("h1", {}, `Board · last ${range}`), queries.length ? grid : h("p", { class: "hint" }, "Add panels with q=<expression> in the address: #/board?range=1h&q=up&q=rate(x[5m])."));
  const charts: TimeChart[] = [];
  const subs: (() => void)[] = [];
  let disposed = false;
  // Every panel's first data comes over HTTP in the columns layout; the live subscriptions
  // start once every panel has it, so that their first (full-range) evaluations do not compete
  // with the page's first draw for the server and the browser.
  // Every chart is in the page before the first is measured: one layout for all their widths.
  for (const q of queries) charts.push(new TimeChart(grid, { title: q, height: 200, legend, window: rangeSec }));
  const loads = queries.map((q, i) => {
    const chart = charts[i];
    const width = chart.width();
    const step = chartStep(rangeSec, width, userStep);
    // On the grid of multiples of the step, which the server's range subscriptions use too:
    // their steps then land on the chart's columns instead of between them.
    let end = Date.now() / 1000;
    let start = end - rangeSec;
    if (Number.isInteger(step)) {
      end = Math.floor(end / step) * step;
      start = end - Math.floor(rangeSec / step) * step;
    }
    return queryRangeColumns(q, start, end, step, width)
      .then((cols) =>
        // Charts whose data arrived within one frame are built and drawn together.
        inNextFrame(() => {
          if (disposed) return;
          chart.setColumns(cols);
          return { q, chart, step };
        }),
      )
      .catch((e: Error) => {
        if (!disposed) chart.el.append(h("p", { class: "error", role: "alert" }, e.message));
      });
  });
  // A panel's subscription covers only its last LIVE_STEPS steps, whose results are merged into
  // the chart (newer columns added, the oldest beyond the range dropped): the whole range would
  // be re-sent on every change (a 6 h panel of 50 series is about 1 MB a message), and a board
  // of such panels overflows the connection's send queue, which leaves it in snapshot mode with
  // most panels never updated.
  void Promise.all(loads).then((panels) => {
    if (disposed) return;
    for (const p of panels) {
      if (!p) continue;
      subs.push(
        live.subscribe({
          kind: "expr",
          expr: p.q,
          range: Math.min(rangeSec, LIVE_STEPS * p.step),
          step: p.step,
          onResult: (r: QueryResult) => {
            if (r.resultType === "matrix") p.chart.appendSeries(r.result);
          },
        }),
      );
    }
  });
  return () => {
    disposed = true;
    subs.forEach((u) => u());
    charts.forEach((c) => c.destroy());
  };
}
