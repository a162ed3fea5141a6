// Overview: one health card per domain (status, reason, request rate / error ratio / p95
// sparklines) and the totals. Refreshed by the stream's summary_update (every 5 s); fetched
// over HTTP while the stream is not live.
import { ApiError, DomainHealth, Health, health } from "../api";
import { sparkline } from "../chart";
import { live } from "../live";
import type { Route } from "../route";
import { routeHref } from "../route";
import { clear, formatTime, formatValue, h } from "../util";

const statusText: Record<DomainHealth["status"], string> = {
  healthy: "Healthy",
  degraded: "Degraded",
  unhealthy: "Unhealthy",
  unknown: "Unknown",
};

function metric(label: string, value: string, spark: SVGSVGElement): HTMLElement {
  return h("div", { class: "metric" }, h("span", { class: "metric-label" }, label), h("span", { class: "metric-value" }, value), spark);
}

function card(d: DomainHealth): HTMLElement {
  return h(
    "article",
    { class: "card health", "data-status": d.status, "data-domain": d.name, "aria-labelledby": `card-${d.name}` },
    h(
      "header",
      {},
      h("h2", { id: `card-${d.name}` }, h("a", { href: routeHref(["domain", d.name], { range: "1h" }) }, d.name)),
      h("span", { class: "badge", "data-status": d.status }, statusText[d.status]),
    ),
    h("p", { class: "reason" }, d.reason),
    h(
      "div",
      { class: "metrics" },
      metric("Requests/s", formatValue(d.request_rate), sparkline(d.sparklines.request_rate ?? [], `${d.name} request rate, last 30 minutes`)),
      metric("Error ratio", formatValue(d.error_ratio, "%"), sparkline(d.sparklines.error_ratio ?? [], `${d.name} error ratio, last 30 minutes`)),
      metric("p95 latency", formatValue(d.latency_p95_seconds, "s"), sparkline(d.sparklines.latency_p95_seconds ?? [], `${d.name} p95 latency, last 30 minutes`)),
    ),
    h("p", { class: "last" }, d.last_sample ? `Last sample ${formatTime(d.last_sample)}` : d.status === "unknown" ? "No recent samples" : "Samples in the last 5 minutes"),
  );
}

export function renderOverview(root: HTMLElement, _route: Route): () => void {
  const totals = h("section", { class: "totals", "aria-label": "Totals" });
  const cards = h("section", { class: "cards", "aria-label": "Domains" });
  const note = h("p", { class: "note", hidden: true });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  root.append(h("h1", {}, "Overview"), error, totals, cards, note);

  let disposed = false;
  const show = (data: Health) => {
    if (disposed) return;
    error.hidden = true;
    clear(totals);
    totals.append(
      h("div", { class: "total" }, h("span", { class: "total-label" }, "Active series"), h("span", { class: "total-value", id: "total-series" }, formatValue(data.totals.active_series))),
      h("div", { class: "total" }, h("span", { class: "total-label" }, "Ingest rate"), h("span", { class: "total-value" }, `${formatValue(data.totals.ingest_rate)} samples/s`)),
      h("div", { class: "total" }, h("span", { class: "total-label" }, "Firing alerts"), h("span", { class: "total-value" }, String(data.totals.firing_alerts))),
    );
    clear(cards);
    for (const d of data.domains) cards.appendChild(card(d));
    note.hidden = !data.computed;
    note.textContent = data.computed ? "Health computed in the browser: this server has no /api/health." : "";
  };
  const fetchOnce = async () => {
    try {
      show(await health());
    } catch (e) {
      if (disposed) return;
      error.hidden = false;
      error.textContent = `Cannot load health: ${(e as ApiError).message}`;
    }
  };
  void fetchOnce();
  const offSummary = live.onSummary(show);
  // The stream sends a summary every 5 s; without it, ask for one as often.
  const timer = window.setInterval(() => {
    if (live.state !== "live" && live.state !== "snapshot") void fetchOnce();
  }, 5000);
  return () => {
    disposed = true;
    offSummary();
    window.clearInterval(timer);
  };
}
