// Time-series charts on uPlot. A chart holds its data as aligned columns (one x array, one y
// array per series) so live samples append in place; it asks for no more points than it has
// pixels (see maxPoints) and redraws only what changed.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { type Columns, type Labels, type MatrixSeries, type Point, matrixToColumns } from "./api";
import { CompactLegend, shortNames } from "./legend";
import { formatTime, formatValue, h, parseSample, seriesName, timed, timingOn } from "./util";

const palette = ["#3274d9", "#e0752d", "#37872d", "#c4162a", "#8f3bb8", "#0a8f8f", "#b8860b", "#d63384", "#5a6e8c", "#6c9a00"];

export function seriesColor(i: number): string {
  if (i < palette.length) return palette[i];
  return `hsl(${(i * 137.508) % 360}, 60%, 50%)`;
}

// The series' colour at a quarter opacity, for stacked areas.
function seriesFill(i: number): string {
  if (i < palette.length) return palette[i] + "40";
  return `hsla(${(i * 137.508) % 360}, 60%, 50%, 0.25)`;
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

// Charts with this many series or more get the compact legend (legend.ts) instead of uPlot's
// live table, and 1 px lines (which the canvas draws as hairlines, much cheaper than wider
// strokes; with that many series thinner lines also read better).
export const COMPACT_LEGEND_MIN_SERIES = 11;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

// The theme's chart colours. getComputedStyle on a page whose DOM just changed forces a style
// recalculation, so on a page of charts being built one after another they are read once per
// theme (the page is rebuilt when the theme changes).
const darkQuery = matchMedia("(prefers-color-scheme: dark)");
let themeCache: { key: string; fg: string; grid: string } | null = null;
function themeColors(): { fg: string; grid: string } {
  const key = `${document.documentElement.dataset.theme ?? "auto"}:${darkQuery.matches}`;
  if (themeCache?.key !== key) themeCache = { key, fg: cssVar("--fg-muted"), grid: cssVar("--grid") };
  return themeCache;
}

// Runs fn in the next animation frame together with every other function queued before it:
// charts whose data arrived within one frame are built one after another and drawn in the
// same frame, rather than each forcing its own style and layout pass.
let frameQueue: (() => void)[] = [];
let frameRequested = false;
// Plots built in the current batch, put into the page once all of them have drawn.
let attachQueue: (() => void)[] | null = null;
export function inNextFrame<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    frameQueue.push(() => {
      try {
        resolve(fn());
      } catch (e) {
        reject(e);
      }
    });
    if (!frameRequested) {
      frameRequested = true;
      requestAnimationFrame(() => {
        frameRequested = false;
        const fns = frameQueue;
        frameQueue = [];
        const attach: (() => void)[] = [];
        attachQueue = attach;
        try {
          for (const f of fns) f();
        } finally {
          attachQueue = null;
        }
        // Queued after every plot's first draw (uPlot draws in a microtask of its own).
        queueMicrotask(() => attach.forEach((a) => a()));
      });
    }
  });
}

// Puts a newly built plot into the page after its first draw: a plot drawn while detached
// does not make the canvas resolve its fonts against the page's (dirty) styles, which on a
// page of charts built in one go cost a style recalculation per chart.
function attachAfterDraw(attach: () => void): void {
  if (attachQueue) attachQueue.push(attach);
  else queueMicrotask(attach);
}

export class TimeChart {
  readonly el: HTMLElement;
  private readonly plotEl: HTMLElement;
  private readonly emptyEl: HTMLElement;
  private u: uPlot | null = null;
  private keys: string[] = [];
  private names: string[] = [];
  private metrics: Labels[] = [];
  private legend: CompactLegend | null = null;
  private xs: number[] = [];
  private ys: (number | null)[][] = [];
  private resize: ResizeObserver;
  private lastWidth = 0;
  private measured = 0; // 0: not measured yet
  private drawStart = 0;

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
    this.metrics = cols.series.map((s) => s.metric);
    this.ys = cols.series.map((s) => s.values);
    // The same series as drawn: new data only, no new plot (live updates take this path).
    if (same) {
      this.emptyEl.hidden = this.hasData();
      this.u!.setData(this.plotData());
      this.legend?.dataChanged();
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
        this.metrics.push(s.metric);
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
    else {
      this.u.setData(this.plotData());
      this.legend?.dataChanged();
    }
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
    this.legend?.destroy();
    this.legend = null;
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

  // A compact legend under the plot for a chart with many series (null: uPlot's own or none).
  private buildLegend(): CompactLegend | null {
    if (this.opts.legend === false || this.names.length < COMPACT_LEGEND_MIN_SERIES) return null;
    const short = this.opts.label ? { common: "", names: this.names } : shortNames(this.metrics);
    const unit = this.opts.unit ?? "";
    const legend = new CompactLegend(
      this.opts.title,
      this.names,
      short.names,
      short.common,
      this.names.map((_, i) => seriesColor(i)),
      {
        focus: (i) => this.u?.setSeries(i === null ? null : i + 1, { focus: i !== null }),
        toggle: (i) => {
          const s = this.u?.series[i + 1];
          if (!s || !this.u) return true;
          this.u.setSeries(i + 1, { show: !s.show });
          return this.u.series[i + 1].show !== false;
        },
        value: (i, idx) => formatValue(this.ys[i]?.[idx] ?? null, unit),
        time: (idx) => (idx < this.xs.length ? formatTime(this.xs[idx]) : "–"),
        lastIndex: () => (this.xs.length ? this.xs.length - 1 : null),
      },
    );
    this.plotEl.after(legend.el);
    return legend;
  }

  private rebuild(): void {
    this.u?.destroy();
    this.u = null;
    this.legend?.destroy();
    this.legend = null;
    this.emptyEl.hidden = this.hasData();
    const { fg, grid } = themeColors();
    const unit = this.opts.unit ?? "";
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const legend = timed("zw:legend", () => this.buildLegend());
    this.legend = legend;
    const lineWidth = this.names.length >= COMPACT_LEGEND_MIN_SERIES ? 1 : 1.5;
    const opts: uPlot.Options = {
      width: this.width(),
      height: this.height(),
      series: [
        { value: (_u, v) => (v === null ? "–" : formatTime(v)) },
        ...this.names.map((name, i) => ({
          label: name,
          stroke: seriesColor(i),
          width: lineWidth,
          fill: this.opts.stacked ? seriesFill(i) : undefined,
          points: { show: false },
          spanGaps: false,
          value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) =>
            idx === null ? "–" : formatValue(this.ys[i]?.[idx] ?? null, unit),
        })),
      ],
      axes: [axis, { ...axis, size: 64, values: (_u, vals) => vals.map((v) => formatValue(v, unit)) }],
      scales: { x: { time: true }, y: this.opts.log ? { distr: 3 } : {} },
      legend: { show: !legend && this.opts.legend !== false && this.names.length > 0, live: true },
      cursor: { focus: { prox: 16 } },
      focus: { alpha: 0.4 },
      hooks: {
        setCursor: [(u) => legend?.hover(u.cursor.idx ?? null)],
        setSeries: [
          (_u, si, o) => {
            // uPlot passes the setSeries options ({show?, focus?}), typed as a Series.
            const focus = (o as { focus?: boolean }).focus;
            if (legend && focus !== undefined) legend.focusedOnPlot(si === null || !focus ? null : si - 1);
          },
        ],
        drawClear: [
          () => {
            if (timingOn()) this.drawStart = performance.now();
          },
        ],
        draw: [
          // Announces each redraw (tests and bench/dashboard measure latency with it).
          () => {
            if (timingOn()) performance.measure("zw:draw", { start: this.drawStart, end: performance.now() });
            const n = this.xs.length;
            const last = n && this.ys.length ? this.ys.map((r) => r[n - 1]) : [];
            document.dispatchEvent(new CustomEvent("zw:draw", { detail: { chart: this.opts.title, maxX: n ? this.xs[n - 1] : 0, last } }));
          },
        ],
      },
    };
    this.lastWidth = opts.width;
    const u = timed("zw:build", () => new uPlot(opts, this.plotData()));
    this.u = u;
    attachAfterDraw(() => {
      if (this.u === u) this.plotEl.append(u.root);
    });
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
