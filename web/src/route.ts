// Hash routes: "#/explore?q=up&range=1h" -> {path: ["explore"], params}. The URL carries each
// page's state, so a copied address reopens the same view.
export interface Route {
  path: string[];
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const q = hash.indexOf("?");
  const pathPart = q < 0 ? hash : hash.slice(0, q);
  const params = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
  const path = pathPart.split("/").filter((s) => s !== "").map(decodeURIComponent);
  return { path: path.length ? path : ["overview"], params };
}

export function routeHref(path: string[], params?: Record<string, string | null | undefined>): string {
  let s = "#/" + path.map(encodeURIComponent).join("/");
  if (params) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") p.set(k, v);
    const qs = p.toString();
    if (qs) s += "?" + qs;
  }
  return s;
}

// Rewrites the URL's state without adding a history entry or re-rendering the page.
export function replaceParams(params: Record<string, string | null | undefined>): void {
  const r = currentRoute();
  history.replaceState(null, "", routeHref(r.path, params));
}
