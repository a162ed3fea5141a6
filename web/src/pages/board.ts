// Board: a grid of charts, one per query, sharing one relative range — a shareable page of
// panels: #/board?range=6h&q=expr1&q=expr2&... Each chart asks for as many points as it is
// wide and stays live through an expression subscription.
import { QueryResult, chartStep, queryRange } from "../api";
import { TimeChart } from "../chart";
import { live } from "../live";
import type { Route } from "../route";
import { h, parseDuration } from "../util";

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
  queries.forEach((q) => {
    const chart = new TimeChart(grid, { title: q, height: 200, legend, window: rangeSec });
    charts.push(chart);
    const end = Date.now() / 1000;
    const width = chart.width();
    const step = chartStep(rangeSec, width, userStep);
    queryRange(q, end - rangeSec, end, step, width)
      .then((series) => {
        if (disposed) return;
        chart.setSeries(series);
        subs.push(
          live.subscribe({
            kind: "expr",
            expr: q,
            range: rangeSec,
            step,
            onResult: (r: QueryResult) => {
              if (r.resultType === "matrix") chart.setSeries(r.result);
            },
          }),
        );
      })
      .catch((e: Error) => {
        if (!disposed) chart.el.append(h("p", { class: "error", role: "alert" }, e.message));
      });
  });
  return () => {
    disposed = true;
    subs.forEach((u) => u());
    charts.forEach((c) => c.destroy());
  };
}
