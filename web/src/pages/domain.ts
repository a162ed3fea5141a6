// Domain: request rate, errors, latency p50/p95/p99 and top series for one domain, from
// /api/performance. Charts ask for as many points as they are wide; the page refreshes with
// each summary_update of the stream (every 5 s), or every 5 s by HTTP while it is not live.
import { Performance, Point, defaultDomains, performance } from "../api";
import { TimeChart } from "../chart";
import { live } from "../live";
import { Route, routeHref, replaceParams } from "../route";
import { clear, formatValue, h, seriesName } from "../util";

const ranges = ["15m", "1h", "3h", "6h", "12h", "24h", "7d"];

const one = (name: string, values: Point[]) => ({ metric: { __name__: name }, values });

export function renderDomain(root: HTMLElement, route: Route): () => void {
  const domain = route.path[1] ?? defaultDomains[0];
  let range = route.params.get("range") ?? "1h";
  if (!ranges.includes(range)) ranges.push(range);

  const domainSelect = h("select", { id: "domain-select" });
  for (const d of new Set([...defaultDomains, domain])) domainSelect.append(h("option", { value: d, selected: d === domain }, d));
  domainSelect.addEventListener("change", () => (location.hash = routeHref(["domain", domainSelect.value], { range })));
  const rangeSelect = h("select", { id: "domain-range" });
  for (const r of ranges) rangeSelect.append(h("option", { value: r, selected: r === range }, `Last ${r}`));
  rangeSelect.addEventListener("change", () => {
    range = rangeSelect.value;
    replaceParams({ range });
    void load();
  });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const grid = h("section", { class: "chart-grid" });
  const top = h("section", { class: "top-series", "aria-labelledby": "top-title" });
  root.append(
    h("h1", {}, `Domain: ${domain}`),
    h("div", { class: "toolbar" }, h("label", { for: "domain-select" }, "Domain"), domainSelect, h("label", { for: "domain-range" }, "Range"), rangeSelect),
    error,
    grid,
    top,
  );
  const charts = {
    rate: new TimeChart(grid, { title: "Request rate (/s)", legend: false }),
    errors: new TimeChart(grid, { title: "Error ratio", unit: "%", legend: false }),
    latency: new TimeChart(grid, { title: "Latency", unit: "s", label: (m) => m.__name__ }),
  };

  let disposed = false;
  let inFlight = false;
  const load = async () => {
    if (inFlight) return;
    inFlight = true;
    try {
      const p: Performance = await performance(domain, range, charts.rate.width());
      if (disposed) return;
      error.hidden = true;
      charts.rate.setSeries([one("requests/s", p.series.request_rate)]);
      charts.errors.setSeries([one("error ratio", p.series.error_ratio)]);
      charts.latency.setSeries([
        one("p50", p.series.latency_p50_seconds),
        one("p95", p.series.latency_p95_seconds),
        one("p99", p.series.latency_p99_seconds),
      ]);
      clear(top);
      top.append(h("h2", { id: "top-title" }, "Top series"));
      if (p.top_series.length === 0) top.append(h("p", {}, "No series in this domain yet."));
      else {
        const tbody = h("tbody");
        for (const s of p.top_series) tbody.append(h("tr", {}, h("td", { class: "mono" }, seriesName(s.metric)), h("td", { class: "num" }, formatValue(Number(s.value)))));
        top.append(h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Series"), h("th", { scope: "col" }, "Rate or value"))), tbody));
      }
    } catch (e) {
      if (disposed) return;
      error.hidden = false;
      error.textContent = (e as Error).message;
    } finally {
      inFlight = false;
    }
  };
  void load();
  const offSummary = live.onSummary(() => void load());
  const timer = window.setInterval(() => {
    if (live.state !== "live" && live.state !== "snapshot") void load();
  }, 5000);
  return () => {
    disposed = true;
    offSummary();
    window.clearInterval(timer);
    Object.values(charts).forEach((c) => c.destroy());
  };
}
