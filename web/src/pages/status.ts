// Status: build and runtime information, flags, the configuration file, scrape targets and
// TSDB/cardinality statistics, each from its /api/v1/status or /api/v1/targets endpoint.
import { api } from "../api";
import type { Route } from "../route";
import { clear, formatTime, formatValue, h } from "../util";

type Dict = Record<string, unknown>;

function kvTable(id: string, rows: [string, unknown][]): HTMLTableElement {
  const tbody = h("tbody");
  for (const [k, v] of rows) tbody.append(h("tr", {}, h("th", { scope: "row" }, k), h("td", { class: "mono" }, typeof v === "object" ? JSON.stringify(v) : String(v ?? ""))));
  return h("table", { id, class: "kv" }, tbody);
}

function countTable(title: string, rows: { name: string; value: number }[] | undefined): HTMLElement {
  const tbody = h("tbody");
  for (const r of rows ?? []) tbody.append(h("tr", {}, h("td", { class: "mono" }, r.name), h("td", { class: "num" }, formatValue(r.value))));
  return h("div", { class: "count-table" }, h("h3", {}, title), h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Count"))), tbody));
}

function section(root: HTMLElement, title: string, id: string): HTMLElement {
  const body = h("div", { class: "section-body" }, h("p", { class: "hint" }, "Loading…"));
  root.append(h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), body));
  return body;
}

async function fill(body: HTMLElement, load: () => Promise<Node>): Promise<void> {
  try {
    const node = await load();
    clear(body);
    body.append(node);
  } catch (e) {
    clear(body);
    body.append(h("p", { class: "error", role: "alert" }, (e as Error).message));
  }
}

export function renderStatus(root: HTMLElement, _route: Route): () => void {
  root.append(h("h1", {}, "Status"));
  const build = section(root, "Build", "st-build");
  const runtime = section(root, "Runtime", "st-runtime");
  const tsdb = section(root, "TSDB and cardinality", "st-tsdb");
  const targets = section(root, "Scrape targets", "st-targets");
  const flags = section(root, "Flags", "st-flags");
  const config = section(root, "Configuration", "st-config");

  void fill(build, async () => kvTable("buildinfo", Object.entries(await api<Dict>("/api/v1/status/buildinfo"))));
  void fill(runtime, async () => {
    const r = await api<Dict>("/api/v1/status/runtimeinfo");
    const rows = Object.entries(r).map(([k, v]): [string, unknown] => [k, k === "startTime" && typeof v === "string" ? `${v} (${formatTime(Date.parse(v) / 1000)} local)` : v]);
    return kvTable("runtimeinfo", rows);
  });
  void fill(flags, async () => kvTable("flags", Object.entries(await api<Dict>("/api/v1/status/flags"))));
  void fill(config, async () => {
    const c = await api<{ yaml: string }>("/api/v1/status/config");
    return c.yaml.trim() ? h("pre", { class: "mono config", tabindex: "0", "aria-label": "Configuration file" }, c.yaml) : h("p", {}, "No configuration file: built-in defaults.");
  });
  void fill(targets, async () => {
    const t = await api<{ activeTargets: Dict[] }>("/api/v1/targets");
    const tbody = h("tbody");
    for (const x of t.activeTargets) {
      const health = String(x.health ?? "unknown");
      tbody.append(
        h(
          "tr",
          {},
          h("td", { class: "mono" }, String(x.scrapeUrl ?? "")),
          h("td", {}, h("span", { class: "badge", "data-status": health === "up" ? "healthy" : health === "down" ? "unhealthy" : "unknown" }, health)),
          h("td", { class: "mono" }, String((x.labels as Dict | undefined)?.job ?? "")),
          h("td", {}, x.lastScrape ? formatTime(Date.parse(String(x.lastScrape)) / 1000) : "never"),
          h("td", { class: "num" }, x.lastScrapeDuration !== undefined ? `${formatValue(Number(x.lastScrapeDuration), "s")}` : ""),
          h("td", { class: "error-cell" }, String(x.lastError ?? "")),
        ),
      );
    }
    const head = ["Endpoint", "State", "Job", "Last scrape", "Duration", "Error"].map((c) => h("th", { scope: "col" }, c));
    return h("table", { id: "targets" }, h("thead", {}, h("tr", {}, ...head)), tbody);
  });
  void fill(tsdb, async () => {
    type Count = { name: string; value: number };
    const s = await api<{
      headStats: Dict;
      seriesCountByMetricName?: Count[];
      labelValueCountByLabelName?: Count[];
      memoryInBytesByLabelName?: Count[];
      seriesCountByLabelValuePair?: Count[];
    }>("/api/v1/status/tsdb");
    const hs = s.headStats;
    const rows: [string, unknown][] = Object.entries(hs).map(([k, v]) => [k, (k === "minTime" || k === "maxTime") && typeof v === "number" && v > 0 ? `${v} (${formatTime(v / 1000)})` : v]);
    return h(
      "div",
      {},
      kvTable("tsdb-head", rows),
      h(
        "div",
        { class: "count-grid" },
        countTable("Series by metric name", s.seriesCountByMetricName),
        countTable("Values by label name", s.labelValueCountByLabelName),
        countTable("Memory (bytes) by label name", s.memoryInBytesByLabelName),
        countTable("Series by label pair", s.seriesCountByLabelValuePair),
      ),
    );
  });
  return () => {};
}
