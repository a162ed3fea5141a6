// The live connection: one WebSocket to /api/v1/stream (docs/dashboard_api.md) shared by every
// visible panel. It reconnects by itself with exponential backoff and re-sends the panels'
// subscriptions. If the server has no stream endpoint, or while the socket is down, panels are
// kept current by polling the query API once a second, delivered as the same messages.
import { MatrixSeries, QueryResult, query, queryRange } from "./api";
import type { Health } from "./api";

export type LiveState = "connecting" | "live" | "polling" | "snapshot" | "reconnecting";

export interface SelectorSub {
  kind: "selector";
  selector: string;
  range: number; // seconds of history wanted with the first update
  onSeries: (series: MatrixSeries[]) => void;
}
export interface ExprSub {
  kind: "expr";
  expr: string;
  range?: number; // seconds; absent: instant vector
  step?: number;
  onResult: (result: QueryResult) => void;
}
export type Subscription = SelectorSub | ExprSub;
export interface SubError {
  error: string;
}

// One server → client message (docs/dashboard_api.md, "Live stream").
interface StreamMessage {
  type?: string;
  id?: string | null;
  series?: MatrixSeries[];
  result?: QueryResult;
  data?: Health;
  error?: string;
  mode?: string;
}

interface Entry {
  sub: Subscription;
  onError: (e: SubError) => void;
  polledUntil: number; // newest sample time delivered by polling (selector subscriptions)
}

const POLL_MS = 1000;

export class LiveClient {
  private ws: WebSocket | null = null;
  private entries = new Map<string, Entry>();
  private nextId = 1;
  private attempt = 0;
  private everOpened = false;
  private reconnectTimer = 0;
  private pollTimer = 0;
  private polling = false;
  private stateValue: LiveState = "connecting";
  private stateListeners = new Set<(s: LiveState) => void>();
  private summaryListeners = new Set<(h: Health) => void>();

  constructor(private readonly url = LiveClient.defaultUrl()) {}

  static defaultUrl(): string {
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/stream`;
  }

  get state(): LiveState {
    return this.stateValue;
  }

  start(): void {
    this.connect();
  }

  onState(f: (s: LiveState) => void): () => void {
    this.stateListeners.add(f);
    f(this.stateValue);
    return () => this.stateListeners.delete(f);
  }

  onSummary(f: (h: Health) => void): () => void {
    this.summaryListeners.add(f);
    return () => this.summaryListeners.delete(f);
  }

  // Returns the unsubscribe function.
  subscribe(sub: Subscription, onError: (e: SubError) => void = () => {}): () => void {
    const id = `p${this.nextId++}`;
    this.entries.set(id, { sub, onError, polledUntil: 0 });
    this.send(subscribeMessage(id, sub));
    if (this.polling) void this.pollOne(id);
    return () => {
      if (this.entries.delete(id)) this.send({ type: "unsubscribe", id });
    };
  }

  private setState(s: LiveState): void {
    if (s === this.stateValue) return;
    this.stateValue = s;
    for (const f of this.stateListeners) f(s);
  }

  private send(msg: object): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private connect(): void {
    window.clearTimeout(this.reconnectTimer);
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.everOpened = true;
      this.stopPolling();
      this.setState("live");
      for (const [id, e] of this.entries) this.send(subscribeMessage(id, e.sub));
    };
    ws.onmessage = (ev) => this.dispatch(typeof ev.data === "string" ? ev.data : "");
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.scheduleReconnect();
    };
    // onerror is always followed by onclose, which does the work.
    ws.onerror = () => {};
  }

  private scheduleReconnect(): void {
    this.attempt++;
    // Without a stream (never opened after two tries) or while it is down, poll meanwhile.
    if (this.attempt >= 2 || this.everOpened) this.startPolling();
    if (!this.polling) this.setState("reconnecting");
    const base = Math.min(10000, 250 * 2 ** Math.min(this.attempt - 1, 6));
    const delay = base / 2 + Math.random() * (base / 2);
    this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
  }

  // A frame holds one message or, when a round sent several, a JSON array of them in order.
  private dispatch(text: string): void {
    let parsed: StreamMessage | StreamMessage[];
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (Array.isArray(parsed)) {
      for (const msg of parsed) this.handle(msg);
    } else {
      this.handle(parsed);
    }
  }

  private handle(msg: StreamMessage): void {
    const entry = msg.id ? this.entries.get(msg.id) : undefined;
    switch (msg.type) {
      case "metric_update":
        if (entry && entry.sub.kind === "selector" && msg.series) entry.sub.onSeries(msg.series);
        break;
      case "expr_update":
        if (entry && entry.sub.kind === "expr" && msg.result) entry.sub.onResult(msg.result);
        break;
      case "summary_update":
        if (msg.data) for (const f of this.summaryListeners) f(msg.data);
        break;
      case "error":
        if (entry) entry.onError({ error: msg.error ?? "subscription failed" });
        break;
      case "mode":
        this.setState(msg.mode === "snapshot" ? "snapshot" : "live");
        break;
    }
  }

  private startPolling(): void {
    if (this.polling) return;
    this.polling = true;
    const tick = async () => {
      if (!this.polling) return;
      const ids = [...this.entries.keys()];
      const results = await Promise.all(ids.map((id) => this.pollOne(id)));
      if (!this.polling) return;
      // An empty page still probes the server so the indicator tells the truth.
      const ok = ids.length ? results.every((r) => r) : await probe();
      this.setState(ok ? "polling" : "reconnecting");
      this.pollTimer = window.setTimeout(tick, POLL_MS);
    };
    void tick();
  }

  private stopPolling(): void {
    this.polling = false;
    window.clearTimeout(this.pollTimer);
  }

  // One HTTP round for one subscription; false when the server could not be reached.
  private async pollOne(id: string): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e) return true;
    const now = Date.now() / 1000;
    try {
      if (e.sub.kind === "selector") {
        const since = e.polledUntil > 0 ? Math.max(1, Math.ceil(now - e.polledUntil + 1)) : Math.ceil(e.sub.range);
        const r = await query(`${e.sub.selector}[${since}s]`, now);
        if (!this.entries.has(id)) return true;
        if (r.resultType === "matrix") {
          for (const s of r.result) {
            const t = s.values.length ? s.values[s.values.length - 1][0] : 0;
            if (t > e.polledUntil) e.polledUntil = t;
          }
          const fresh = r.result.filter((s) => s.values.length > 0);
          if (fresh.length) e.sub.onSeries(fresh);
        }
      } else if (e.sub.range) {
        const step = e.sub.step ?? Math.max(1, Math.ceil(e.sub.range / 250));
        // On the grid of multiples of the step, as the server's subscriptions: a panel that
        // merges results (the board) then gets the same columns from polling as from the stream.
        const end = Number.isInteger(step) ? Math.floor(now / step) * step : now;
        const m = await queryRange(e.sub.expr, end - e.sub.range, end, step);
        if (this.entries.has(id)) e.sub.onResult({ resultType: "matrix", result: m });
      } else {
        const r = await query(e.sub.expr, now);
        if (this.entries.has(id)) e.sub.onResult(r);
      }
      return true;
    } catch (err) {
      const status = (err as { status?: number }).status ?? 0;
      if (status === 0 || status >= 500) return false;
      e.onError({ error: (err as Error).message });
      return true;
    }
  }
}

async function probe(): Promise<boolean> {
  try {
    const r = await fetch("/-/healthy", { cache: "no-store" });
    return r.ok;
  } catch {
    return false;
  }
}

function subscribeMessage(id: string, sub: Subscription): object {
  return sub.kind === "selector"
    ? { type: "subscribe", id, selector: sub.selector, range: Math.round(sub.range) }
    : { type: "subscribe", id, expr: sub.expr, range: sub.range, step: sub.step };
}

export const live = new LiveClient();
