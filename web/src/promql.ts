// What the editor needs to know about PromQL: the names it can complete and where in a query
// the cursor is (metric position, label name, label value), and the position a parse error
// names ("1:5: parse error: ...", possibly after a prefix such as `invalid parameter "query": `).

export const functions = [
  "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
  "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
  "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor", "histogram_count",
  "histogram_fraction", "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase",
  "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "max_over_time",
  "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad",
  "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time",
  "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
];
export const aggregations = ["avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev", "stdvar", "sum", "topk"];
export const keywords = ["by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless"];

export type CompletionContext =
  | { kind: "metric"; prefix: string; start: number }
  | { kind: "labelName"; prefix: string; start: number; metric: string }
  | { kind: "labelValue"; prefix: string; start: number; label: string; metric: string }
  | { kind: "none" };

// Looks left of `pos` in `text` to decide what is being typed there.
export function completionContext(text: string, pos: number): CompletionContext {
  const before = text.slice(0, pos);
  // Inside a quoted label value: name op "partial
  const value = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(before);
  if (value && insideBraces(before)) {
    return { kind: "labelValue", label: value[1], prefix: value[3], start: pos - value[3].length, metric: metricBeforeBrace(before) };
  }
  const word = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(before);
  const prefix = word ? word[0] : "";
  const start = pos - prefix.length;
  const head = before.slice(0, start);
  if (insideBraces(before)) {
    // After "{" or "," a label name starts; after an operator a value (which needs a quote).
    if (/[{,]\s*$/.test(head)) return { kind: "labelName", prefix, start, metric: metricBeforeBrace(before) };
    return { kind: "none" };
  }
  if (/\b(by|without|on|ignoring|group_left|group_right)\s*\(\s*([a-zA-Z0-9_]+\s*,\s*)*$/.test(head)) {
    return { kind: "labelName", prefix, start, metric: "" };
  }
  if (/\[[^\]]*$/.test(before)) return { kind: "none" }; // a duration
  if (/"[^"]*$/.test(head.replace(/"(?:[^"\\]|\\.)*"/g, ""))) return { kind: "none" }; // a string
  if (!prefix) return { kind: "none" };
  return { kind: "metric", prefix, start };
}

function insideBraces(before: string): boolean {
  const stripped = before.replace(/"(?:[^"\\]|\\.)*"?/g, '""');
  return stripped.lastIndexOf("{") > stripped.lastIndexOf("}");
}

function metricBeforeBrace(before: string): string {
  const brace = before.lastIndexOf("{");
  const m = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(before.slice(0, brace));
  return m ? m[1] : "";
}

// Ranks candidates: prefix matches first, then those containing the text; at most `limit`.
export function rank(candidates: Iterable<string>, prefix: string, limit = 50): string[] {
  const p = prefix.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const c of candidates) {
    const l = c.toLowerCase();
    if (l === p) continue;
    if (l.startsWith(p)) starts.push(c);
    else if (p && l.includes(p)) contains.push(c);
  }
  starts.sort();
  contains.sort();
  return [...starts, ...contains].slice(0, limit);
}

// "1:5: parse error: unexpected ..." -> {line: 1, column: 5} (columns count bytes, 1-based, as
// the server's parser does); null when the message names no position.
export function errorPosition(message: string): { line: number; column: number } | null {
  const m = /(?:^|\s)(\d+):(\d+): /.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

// The character offset in `text` of a 1-based line and byte column.
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  const l = lines[Math.min(line, lines.length) - 1] ?? "";
  const enc = new TextEncoder();
  let bytes = 0;
  let chars = 0;
  for (const ch of l) {
    if (bytes >= column - 1) break;
    bytes += enc.encode(ch).length;
    chars += ch.length;
  }
  return offset + Math.min(chars, l.length);
}
