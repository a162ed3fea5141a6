// A compact legend for charts with many series. uPlot's own legend is a live table: a row per
// series with its own listeners and styles, every value rewritten on each cursor move, and a
// tall table to lay out and paint; with 50 series on each of 24 charts that is most of a page's
// DOM and a good part of its load time. This one is a single list built once from one HTML
// string, with one set of delegated listeners:
// - it lists every series (swatch and name; labels shared by all series are shown once above,
//   the full name is the item's title);
// - values appear only while the plot is hovered (or a series is active from the keyboard);
// - it is one tab stop: a listbox whose arrow keys move the active series (highlighted on the
//   plot, its value shown), Enter or Space shows or hides it; a click does the same.
import { seriesName } from "./util";

export interface LegendHost {
  // Highlights series i (0-based) on the plot, or none.
  focus(i: number | null): void;
  // Shows or hides series i; returns whether it is shown now.
  toggle(i: number): boolean;
  // Series i's value at data index idx, formatted.
  value(i: number, idx: number): string;
  // The time at data index idx, formatted.
  time(idx: number): string;
  // The newest data index, or null when there is no data.
  lastIndex(): number | null;
}

let nextLegendId = 1;

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

// Display names: the labels every series has with the same value are left out of each item
// (and returned as `common`), so that 50 items read s="0", s="1", ... rather than 50 copies of
// the metric name and its constant labels.
export function shortNames(metrics: Record<string, string>[]): { common: string; names: string[] } {
  if (metrics.length < 2) return { common: "", names: metrics.map(seriesName) };
  const shared = new Map<string, string>(Object.entries(metrics[0]));
  // A label one series lacks (undefined) or has with another value is not shared.
  for (const m of metrics.slice(1)) {
    for (const [k, v] of shared) if (m[k] !== v) shared.delete(k);
  }
  const names = metrics.map((m) => {
    const rest: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) if (!shared.has(k)) rest[k] = v;
    const n = seriesName(rest);
    return n === "{}" ? seriesName(m) : n;
  });
  const common = shared.size ? seriesName(Object.fromEntries(shared)) : "";
  return { common, names };
}

export class CompactLegend {
  readonly el: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly readout: HTMLElement;
  private readonly items: HTMLLIElement[];
  private readonly values: HTMLElement[];
  private readonly baseId: string;
  private active = -1; // the keyboard's series, -1: none
  private hoverIdx: number | null = null; // the data index under the cursor
  private shownIdx: number | null = null; // the data index whose values are written
  private written = false; // some item shows a value
  private frame = 0;
  private focused = -1; // the series highlighted on the plot (from the plot or the legend)
  private readoutText = "";

  constructor(
    title: string,
    fullNames: string[],
    shown: string[], // display names (see shortNames)
    common: string,
    colors: string[],
    private readonly host: LegendHost,
  ) {
    this.baseId = `lg${nextLegendId++}`;
    const items = shown
      .map(
        (name, i) =>
          `<li role="option" id="${this.baseId}-${i}" data-i="${i}" aria-selected="true" title="${escapeHtml(fullNames[i])}">` +
          `<span class="sw" style="background:${colors[i]}"></span><span class="n">${escapeHtml(name)}</span><span class="v"></span></li>`,
      )
      .join("");
    const el = document.createElement("div");
    el.className = "legend-compact";
    el.innerHTML =
      `<div class="legend-head"><span class="legend-common">${escapeHtml(common)}</span>` +
      `<span class="legend-readout">${shown.length} series · hover for values</span></div>` +
      `<ul class="legend-list" role="listbox" tabindex="0" aria-multiselectable="true" aria-label="${escapeHtml(`Series of ${title}: arrow keys choose, Enter shows or hides`)}">${items}</ul>`;
    this.el = el;
    this.list = el.querySelector("ul")!;
    this.readout = el.querySelector(".legend-readout")!;
    this.readoutText = this.readout.textContent ?? "";
    this.items = Array.from(this.list.children) as HTMLLIElement[];
    this.values = this.items.map((li) => li.lastElementChild as HTMLElement);
    this.list.addEventListener("click", (e) => {
      const i = this.itemOf(e.target);
      if (i >= 0) this.toggle(i);
    });
    this.list.addEventListener("mouseover", (e) => {
      const i = this.itemOf(e.target);
      if (i >= 0) this.host.focus(i);
    });
    this.list.addEventListener("mouseleave", () => this.host.focus(this.active >= 0 ? this.active : null));
    this.list.addEventListener("keydown", (e) => this.key(e));
    this.list.addEventListener("blur", () => this.setActive(-1));
  }

  // The cursor moved over the plot (idx: the data index under it, null: it left). Values are
  // written at most once a frame.
  hover(idx: number | null): void {
    this.hoverIdx = idx;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.paintValues());
  }

  // The data changed: values shown for the hovered index are stale.
  dataChanged(): void {
    this.shownIdx = null;
    if (this.written && !this.frame) this.frame = requestAnimationFrame(() => this.paintValues());
  }

  // The plot highlighted series i (null: none).
  focusedOnPlot(i: number | null): void {
    const next = i ?? -1;
    if (next === this.focused) return;
    if (this.focused >= 0) this.items[this.focused]?.classList.remove("focus");
    this.focused = next;
    if (next >= 0) this.items[next]?.classList.add("focus");
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.el.remove();
  }

  private itemOf(target: EventTarget | null): number {
    const li = (target as Element | null)?.closest?.("li[data-i]");
    return li ? Number((li as HTMLElement).dataset.i) : -1;
  }

  private toggle(i: number): void {
    const shown = this.host.toggle(i);
    this.items[i].setAttribute("aria-selected", String(shown));
  }

  private key(e: KeyboardEvent): void {
    const n = this.items.length;
    if (!n) return;
    let next = this.active;
    // The first arrow press chooses the first series (focus alone chooses none).
    if (e.key === "ArrowDown" || e.key === "ArrowRight") next = Math.min(n - 1, this.active + 1);
    else if (e.key === "ArrowUp" || e.key === "ArrowLeft") next = Math.max(0, this.active - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = n - 1;
    else if ((e.key === "Enter" || e.key === " ") && this.active >= 0) {
      e.preventDefault();
      this.toggle(this.active);
      return;
    } else if (e.key === "Escape") next = -1;
    else return;
    e.preventDefault();
    this.setActive(next);
  }

  private setActive(i: number): void {
    if (this.active >= 0) this.items[this.active]?.classList.remove("active");
    this.active = i;
    if (i >= 0) {
      const li = this.items[i];
      li.classList.add("active");
      this.list.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    } else this.list.removeAttribute("aria-activedescendant");
    this.host.focus(i >= 0 ? i : null);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.paintValues());
  }

  // Writes the values at the hovered index into every item, or, without a cursor, the active
  // series' newest value into its item; clears them otherwise.
  private paintValues(): void {
    this.frame = 0;
    const idx = this.hoverIdx;
    if (idx !== null) {
      if (idx !== this.shownIdx) {
        for (let i = 0; i < this.values.length; i++) this.values[i].textContent = this.host.value(i, idx);
        this.shownIdx = idx;
        this.written = true;
      }
      this.setReadout(this.host.time(idx));
      return;
    }
    if (this.written) {
      for (const v of this.values) v.textContent = "";
      this.shownIdx = null;
      this.written = false;
    }
    const last = this.host.lastIndex();
    if (this.active >= 0 && last !== null) {
      this.values[this.active].textContent = this.host.value(this.active, last);
      this.written = true;
      this.setReadout(`${this.host.time(last)} (newest)`);
    } else this.setReadout(this.idleText());
  }

  private idleText(): string {
    return `${this.items.length} series · hover for values`;
  }

  // Live updates call paintValues every second: the page is only touched when the text changes.
  private setReadout(text: string): void {
    if (text === this.readoutText) return;
    this.readoutText = text;
    this.readout.textContent = text;
  }
}
