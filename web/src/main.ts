// The dashboard's shell: navigation, theme, live indicator, and the hash router that mounts one
// page at a time. Each page returns a cleanup function that cancels its timers and
// subscriptions when the route changes.
import "./styles.css";
import { live, LiveState } from "./live";
import { currentRoute, Route } from "./route";
import { clear, h } from "./util";
import { renderOverview } from "./pages/overview";
import { renderDomain } from "./pages/domain";
import { renderExplore } from "./pages/explore";
import { renderStatus } from "./pages/status";
import { renderBoard } from "./pages/board";

export type Page = (root: HTMLElement, route: Route) => () => void;

const pages: Record<string, { title: string; render: Page }> = {
  overview: { title: "Overview", render: renderOverview },
  domain: { title: "Domain", render: renderDomain },
  explore: { title: "Explore", render: renderExplore },
  status: { title: "Status", render: renderStatus },
  board: { title: "Board", render: renderBoard },
};

type ThemeChoice = "auto" | "light" | "dark";

function themeChoice(): ThemeChoice {
  try {
    const t = localStorage.getItem("zw-theme");
    if (t === "light" || t === "dark") return t;
  } catch {
    // storage may be unavailable (private mode); fall back to the system's preference
  }
  return "auto";
}

function applyTheme(choice: ThemeChoice): void {
  if (choice === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
  try {
    if (choice === "auto") localStorage.removeItem("zw-theme");
    else localStorage.setItem("zw-theme", choice);
  } catch {
    // not persisted; the choice still holds for this page
  }
}

const liveText: Record<LiveState, string> = {
  connecting: "Connecting…",
  live: "Live",
  polling: "Live (polling)",
  snapshot: "Snapshots (catching up)",
  reconnecting: "Reconnecting…",
};

function shell(): { main: HTMLElement; nav: HTMLElement } {
  const app = document.getElementById("app")!;
  const nav = h("nav", { "aria-label": "Pages" });
  for (const [key, p] of Object.entries(pages)) {
    if (key === "domain" || key === "board") continue;
    nav.appendChild(h("a", { href: `#/${key}`, "data-page": key }, p.title));
  }
  const indicator = h("span", { class: "live", role: "status", "aria-live": "polite", id: "live-indicator" });
  live.onState((s) => {
    indicator.dataset.state = s;
    indicator.textContent = liveText[s];
  });
  const themeButton = h("button", { type: "button", class: "theme-toggle", id: "theme-toggle" });
  const showTheme = () => {
    const c = themeChoice();
    themeButton.textContent = `Theme: ${c}`;
    themeButton.setAttribute("aria-label", `Colour theme: ${c}. Activate to change.`);
  };
  themeButton.addEventListener("click", () => {
    const order: ThemeChoice[] = ["auto", "light", "dark"];
    applyTheme(order[(order.indexOf(themeChoice()) + 1) % order.length]);
    showTheme();
    window.dispatchEvent(new Event("zw:theme"));
  });
  showTheme();
  const main = h("main", { id: "main", tabindex: "-1" });
  clear(app);
  app.append(
    h("a", { class: "skip", href: "#main", onclick: ((e: Event) => { e.preventDefault(); main.focus(); }) as EventListener }, "Skip to content"),
    h("header", { class: "top" }, h("a", { class: "brand", href: "#/overview" }, "zenwatch"), nav, h("div", { class: "top-right" }, indicator, themeButton)),
    main,
  );
  return { main, nav };
}

function start(): void {
  const { main, nav } = shell();
  let cleanup: (() => void) | null = null;
  let mountedKey = "";
  const mount = (force = false) => {
    const route = currentRoute();
    const key = route.path[0] in pages ? route.path[0] : "overview";
    const full = location.hash;
    if (!force && full === mountedKey) return;
    mountedKey = full;
    cleanup?.();
    clear(main);
    for (const a of nav.querySelectorAll("a")) {
      if (a.dataset.page === key) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    document.title = `${pages[key].title} · zenwatch`;
    cleanup = pages[key].render(main, route);
  };
  window.addEventListener("hashchange", () => mount());
  window.addEventListener("zw:theme", () => mount(true));
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (themeChoice() === "auto") mount(true);
  });
  live.start();
  mount(true);
}

start();
