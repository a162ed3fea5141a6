// Time-series charts on uPlot. A chart holds its data as aligned columns (one x array, one y
// array per series) so live samples append in place; it asks for no more points than it has
// pixels (see maxPoints) and redraws only what changed.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { type Columns, type MatrixSeries, type Point, matrixToColumns } from "./api";
import { formatTime, formatValue, h, parseSample, seriesName } from "./util";

const palette = ["#3274d9", "#e0752d", "#37872d", "#c4162a", "#8f3bb8", "#0a8f8f", "#b8860b", "#d63384", "#5a6e8c", "#6c9a00"];

export function seriesColor(i: number): string {
  if (i < palette.length) return palette[i];
  return `hsl(${(i * 137.508) % 360}, 60%, 50%)`;
}

export interface ChartOptions {
  title: string;
  unit?: string; // "s", "%", or free text
  height?: number;
  stacked?: boolean;
  log?: boolean;
  legend?: boolean;
  window?: number; // seconds of history kept when samples are appended; 0 keeps everything
  label?: (metric: Record<string, string>) => string;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

export class TimeChart {
  readonly el: HTMLElement;
  private readonly plotEl: HTMLElement;
  private readonly emptyEl: HTMLElement;
  private u: uPlot | null = null;
  private keys: string[] = [];
  private names: string[] = [];
  private xs: number[] = [];
  private ys: (number | null)[][] = [];
  private resize: ResizeObserver;
  private lastWidth = 0;
  private measured = 0; // 0: not measured yet

  constructor(
    parent: HTMLElement,
    private opts: ChartOptions,
  ) {
    this.plotEl = h("div", { class: "plot" });
    this.emptyEl = h("p", { class: "chart-empty", hidden: true }, "No data in this range.");
    this.el = h("figure", { class: "chart", "aria-label": opts.title }, h("figcaption", {}, opts.title), this.plotEl, this.emptyEl);
    parent.appendChild(this.el);
    this.resize = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]?.contentRect.width ?? 0;
      this.measured = box > 0 ? Math.max(100, Math.floor(box)) : 0;
      const w = this.width();
      if (this.u && Math.abs(w - this.lastWidth) >= 1) {
        this.lastWidth = w;
        this.u.setSize({ width: w, height: this.height() });
      }
    });
    this.resize.observe(this.plotEl);
  }

  // The plot's width in CSS pixels: what a query should ask for as max_points. Measured once
  // and then kept current by the ResizeObserver: reading clientWidth forces a layout, which on
  // a page of many charts being built one after another costs more than drawing them.
  width(): number {
    if (this.measured === 0) {
      const w = this.plotEl.clientWidth || this.el.clientWidth;
      if (w === 0) return 600; // not laid out (hidden): measured again next time
      this.measured = Math.max(100, Math.floor(w));
    }
    return this.measured;
  }

  private height(): number {
    return this.opts.height ?? 240;
  }

  get seriesCount(): number {
    return this.keys.length;
  }

  // Replaces all data.
  setSeries(series: MatrixSeries[]): void {
    this.setColumns(matrixToColumns(series));
  }

  // Replaces all data with columns (the chart keeps the arrays: the caller must not change
  // them afterwards).
  setColumns(cols: Columns): void {
    const keys = cols.series.map((s) => seriesName(s.metric));
    const same = this.u !== null && keys.length === this.keys.length && keys.every((k, i) => k === this.keys[i]);
    this.xs = cols.timestamps;
    this.keys = keys;
    this.names = cols.series.map((s, i) => (this.opts.label ? this.opts.label(s.metric) : keys[i]));
    this.ys = cols.series.map((s) => s.values);
    // The same series as drawn: new data only, no new plot (live updates take this path).
    if (same) {
      this.emptyEl.hidden = this.hasData();
      this.u!.setData(this.plotData());
    } else this.rebuild();
  }

  // Adds newer samples (a live update); unknown series are added, and columns older than the
  // window are dropped.
  appendSeries(series: MatrixSeries[]): void {
    let structural = false;
    for (const s of series) {
      const key = seriesName(s.metric);
      let row = this.keys.indexOf(key);
      if (row < 0) {
        row = this.keys.length;
        this.keys.push(key);
        this.names.push(this.opts.label ? this.opts.label(s.metric) : key);
        this.ys.push(new Array(this.xs.length).fill(null));
        structural = true;
      }
      for (const p of s.values) this.put(row, p);
    }
    if (this.opts.window && this.xs.length) {
      const cut = this.xs[this.xs.length - 1] - this.opts.window;
      let n = 0;
      while (n < this.xs.length && this.xs[n] < cut) n++;
      if (n > 0) {
        this.xs.splice(0, n);
        for (const r of this.ys) r.splice(0, n);
      }
    }
    if (structural || !this.u) this.rebuild();
    else this.u.setData(this.plotData());
    this.emptyEl.hidden = this.hasData();
  }

  private put(row: number, [t, v]: Point): void {
    const value = parseSample(v);
    const xs = this.xs;
    if (xs.length === 0 || t > xs[xs.length - 1]) {
      xs.push(t);
      for (let r = 0; r < this.ys.length; r++) this.ys[r].push(r === row ? value : null);
      return;
    }
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (xs[lo] === t) {
      this.ys[row][lo] = value;
      return;
    }
    xs.splice(lo, 0, t);
    for (let r = 0; r < this.ys.length; r++) this.ys[r].splice(lo, 0, r === row ? value : null);
  }

  private hasData(): boolean {
    return this.ys.some((r) => r.some((v) => v !== null));
  }

  setOptions(o: Partial<ChartOptions>): void {
    this.opts = { ...this.opts, ...o };
    this.rebuild();
  }

  destroy(): void {
    this.resize.disconnect();
    this.u?.destroy();
    this.u = null;
    this.el.remove();
  }

  private plotData(): uPlot.AlignedData {
    let ys = this.ys;
    if (this.opts.stacked) {
      const acc: number[] = new Array(this.xs.length).fill(0);
      ys = this.ys.map((r) =>
        r.map((v, i) => {
          if (v === null || !Number.isFinite(v)) return null;
          acc[i] += v;
          return acc[i];
        }),
      );
    }
    if (this.opts.log) ys = ys.map((r) => r.map((v) => (v !== null && v > 0 ? v : null)));
    return [this.xs, ...ys] as uPlot.AlignedData;
  }

  private rebuild(): void {
    this.u?.destroy();
    this.u = null;
    this.emptyEl.hidden = this.hasData();
    const fg = cssVar("--fg-muted");
    const grid = cssVar("--grid");
    const unit = this.opts.unit ?? "";
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: this.width(),
      height: this.height(),
      series: [
        { value: (_u, v) => (v === null ? "–" : formatTime(v)) },
        ...this.names.map((name, i) => ({
          label: name,
          stroke: seriesColor(i),
          width: 1.5,
          fill: this.opts.stacked ? seriesColor(i) + "40" : undefined,
          points: { show: false },
          spanGaps: false,
          value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) =>
            idx === null ? "–" : formatValue(this.ys[i]?.[idx] ?? null, unit),
        })),
      ],
      axes: [axis, { ...axis, size: 64, values: (_u, vals) => vals.map((v) => formatValue(v, unit)) }],
      scales: { x: { time: true }, y: this.opts.log ? { distr: 3 } : {} },
      legend: { show: this.opts.legend !== false && this.names.length > 0, live: true },
      cursor: { focus: { prox: 16 } },
      focus: { alpha: 0.4 },
      hooks: {
        draw: [
          // Announces each redraw (tests and bench/dashboard measure latency with it).
          () => {
            const n = this.xs.length;
            const last = n && this.ys.length ? this.ys.map((r) => r[n - 1]) : [];
            document.dispatchEvent(new CustomEvent("zw:draw", { detail: { chart: this.opts.title, maxX: n ? this.xs[n - 1] : 0, last } }));
          },
        ],
      },
    };
    this.lastWidth = opts.width;
    this.u = new uPlot(opts, this.plotData(), this.plotEl);
  }
}

// A small inline SVG line for cards: no axes, scaled to its own min and max.
export function sparkline(points: Point[], label: string, color = "currentColor"): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const w = 120;
  const hgt = 28;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const vals = points.map((p) => [p[0], parseSample(p[1])] as const).filter(([, v]) => Number.isFinite(v));
  if (vals.length >= 2) {
    const t0 = vals[0][0];
    const t1 = vals[vals.length - 1][0];
    let lo = Infinity;
    let hi = -Infinity;
    for (const [, v] of vals) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    const d = vals
      .map(([t, v], i) => `${i ? "L" : "M"}${(((t - t0) / (t1 - t0 || 1)) * w).toFixed(1)},${(hgt - 2 - ((v - lo) / (hi - lo)) * (hgt - 4)).toFixed(1)}`)
      .join("");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", color);
    path.setAttribute("stroke-width", "1.5");
    svg.appendChild(path);
  }
  return svg;
}
