// The PromQL editor: a textarea with completion of metric names, label names, label values and
// functions (a listbox under it, driven by the keyboard), and an error marker under the
// position a parse error names.
import { api, labelNames, labelValues } from "./api";
import { aggregations, completionContext, errorPosition, functions, keywords, offsetOf, rank } from "./promql";
import { clear, h } from "./util";

const cache = new Map<string, Promise<string[]>>();
function cached(key: string, load: () => Promise<string[]>): Promise<string[]> {
  let p = cache.get(key);
  if (!p) {
    p = load().catch(() => {
      cache.delete(key);
      return [];
    });
    cache.set(key, p);
  }
  return p;
}

export class QueryEditor {
  readonly el: HTMLElement;
  readonly input: HTMLTextAreaElement;
  private readonly list: HTMLUListElement;
  private readonly errorEl: HTMLElement;
  private items: { text: string; kind: string }[] = [];
  private active = -1;
  private replaceFrom = 0;
  private seq = 0;

  constructor(initial: string, private readonly onRun: () => void) {
    this.input = h("textarea", {
      id: "query",
      class: "query-input mono",
      rows: 2,
      spellcheck: "false",
      autocomplete: "off",
      autocapitalize: "off",
      role: "combobox",
      "aria-label": "PromQL query",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": "completions",
      "aria-describedby": "query-help",
      placeholder: "Expression, e.g. sum by (domain) (rate(interfaces_request_duration_seconds_count[5m]))",
    });
    this.input.value = initial;
    this.list = h("ul", { id: "completions", class: "completions", role: "listbox", "aria-label": "Completions", hidden: true });
    this.errorEl = h("div", { id: "query-error", class: "query-error", role: "alert", hidden: true });
    this.el = h(
      "div",
      { class: "editor" },
      this.input,
      this.list,
      h("p", { id: "query-help", class: "hint" }, "Enter runs the query, Shift+Enter adds a line, Ctrl+Space completes, Escape closes the list."),
      this.errorEl,
    );
    this.input.addEventListener("input", () => {
      this.autosize();
      void this.complete(false);
    });
    this.input.addEventListener("keydown", (e) => this.key(e));
    this.input.addEventListener("blur", () => window.setTimeout(() => this.close(), 150));
    this.list.addEventListener("mousedown", (e) => {
      const li = (e.target as HTMLElement).closest("li");
      if (!li) return;
      e.preventDefault();
      this.accept(Number(li.dataset.index));
    });
    queueMicrotask(() => this.autosize());
  }

  get value(): string {
    return this.input.value;
  }

  private autosize(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.max(this.input.scrollHeight, 40)}px`;
  }

  private key(e: KeyboardEvent): void {
    const open = !this.list.hidden && this.items.length > 0;
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      const n = this.items.length;
      this.setActive((this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
    } else if (open && (e.key === "Tab" || (e.key === "Enter" && this.active >= 0))) {
      e.preventDefault();
      this.accept(this.active >= 0 ? this.active : 0);
    } else if (open && e.key === "Escape") {
      e.preventDefault();
      this.close();
    } else if (e.key === " " && e.ctrlKey) {
      e.preventDefault();
      void this.complete(true);
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      this.close();
      this.onRun();
    }
  }

  private async complete(explicit: boolean): Promise<void> {
    const seq = ++this.seq;
    const pos = this.input.selectionStart ?? this.input.value.length;
    const ctx = completionContext(this.input.value, pos);
    let items: { text: string; kind: string }[] = [];
    if (ctx.kind === "metric") {
      if (!explicit && ctx.prefix.length < 1) return this.close();
      const metrics = await cached("__name__", () => labelValues("__name__"));
      const words = [
        ...rank(metrics, ctx.prefix, 40).map((t) => ({ text: t, kind: "metric" })),
        ...rank(functions, ctx.prefix, 20).map((t) => ({ text: t, kind: "function" })),
        ...rank(aggregations, ctx.prefix, 10).map((t) => ({ text: t, kind: "aggregation" })),
        ...rank(keywords, ctx.prefix, 5).map((t) => ({ text: t, kind: "keyword" })),
      ];
      items = words.sort((a, b) => Number(!a.text.startsWith(ctx.prefix)) - Number(!b.text.startsWith(ctx.prefix))).slice(0, 50);
    } else if (ctx.kind === "labelName") {
      const names = await cached(`labels:${ctx.metric}`, () => (ctx.metric ? labelNamesFor(ctx.metric) : labelNames()));
      items = rank(names.filter((n) => n !== "__name__"), ctx.prefix).map((t) => ({ text: t, kind: "label" }));
    } else if (ctx.kind === "labelValue") {
      const match = ctx.metric ? [ctx.metric] : undefined;
      const values = await cached(`values:${ctx.label}:${ctx.metric}`, () => labelValues(ctx.label, match));
      items = rank(values, ctx.prefix).map((t) => ({ text: t, kind: "value" }));
    }
    if (seq !== this.seq) return;
    if (ctx.kind === "none" || items.length === 0) return this.close();
    this.replaceFrom = ctx.start;
    this.items = items;
    clear(this.list);
    items.forEach((it, i) =>
      this.list.append(
        h("li", { id: `completion-${i}`, role: "option", "data-index": i, "aria-selected": "false" }, h("span", { class: "mono" }, it.text), h("span", { class: "kind" }, it.kind)),
      ),
    );
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.setActive(explicit ? 0 : -1);
  }

  private setActive(i: number): void {
    this.active = i;
    this.list.querySelectorAll("li").forEach((li, j) => li.setAttribute("aria-selected", String(i === j)));
    if (i >= 0) {
      this.input.setAttribute("aria-activedescendant", `completion-${i}`);
      this.list.children[i]?.scrollIntoView({ block: "nearest" });
    } else this.input.removeAttribute("aria-activedescendant");
  }

  private accept(i: number): void {
    const item = this.items[i];
    if (!item) return;
    const pos = this.input.selectionStart ?? this.input.value.length;
    const v = this.input.value;
    let insert = item.text;
    if (item.kind === "function" || item.kind === "aggregation") insert += "(";
    else if (item.kind === "value") {
      insert = insert.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
      if (v[pos] !== '"') insert += '"';
    }
    this.input.value = v.slice(0, this.replaceFrom) + insert + v.slice(pos);
    const caret = this.replaceFrom + insert.length;
    this.input.setSelectionRange(caret, caret);
    this.close();
    this.input.focus();
    this.autosize();
  }

  close(): void {
    this.list.hidden = true;
    this.items = [];
    this.active = -1;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  // Shows an error; one that names a line:column gets a caret under that spot of the query.
  showError(message: string | null): void {
    clear(this.errorEl);
    this.input.removeAttribute("aria-invalid");
    if (!message) {
      this.errorEl.hidden = true;
      return;
    }
    this.errorEl.hidden = false;
    const pos = errorPosition(message);
    if (pos) {
      const text = this.input.value;
      const offset = offsetOf(text, pos.line, pos.column);
      const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
      const lineEnd = text.indexOf("\n", offset);
      const line = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd);
      const col = offset - lineStart;
      this.errorEl.dataset.line = String(pos.line);
      this.errorEl.dataset.column = String(pos.column);
      this.errorEl.append(
        h("pre", { class: "error-pointer mono", "aria-hidden": "true" }, line, "\n", h("span", { class: "caret" }, " ".repeat(col) + "^")),
      );
      this.input.setAttribute("aria-invalid", "true");
      this.input.setSelectionRange(offset, offset);
    } else {
      delete this.errorEl.dataset.line;
      delete this.errorEl.dataset.column;
    }
    this.errorEl.append(h("p", { class: "error-message" }, message));
  }
}

function labelNamesFor(metric: string): Promise<string[]> {
  return api<string[]>("/api/v1/labels", { "match[]": [metric] });
}
