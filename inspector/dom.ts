// A tiny element builder: plain DOM, no framework.

type Child = Node | string | number | null | undefined | false;

export function h(tag: string, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
  return el;
}

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

/** Compact one-line JSON for cells. */
export function brief(v: unknown, max = 160): string {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A state value as text: "idle", or "a.b" for nested states. */
export function stateText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    return Object.entries(value).map(([k, v]) => (v && (typeof v !== "object" || Object.keys(v).length) ? `${k}.${stateText(v)}` : k)).join(", ");
  }
  return value === null || value === undefined ? "" : String(value);
}
