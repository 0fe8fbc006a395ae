// The selected actor: its context as data, its machine's states with the current ones
// highlighted, and its recent events.
import { brief, h, stateText, time } from "./dom.ts";
import type { ActorView, Model, StateNodeView } from "./model.ts";

const RECENT = 30;

export function renderDetail(el: HTMLElement, model: Model, id: string | null): void {
  const a = id ? model.actors.get(id) : undefined;
  if (!a) {
    el.replaceChildren(h("p", { class: "hint" }, id ? `${id} is gone.` : "Select an actor in the tree."));
    return;
  }
  const machine = model.machines[a.kind];
  const recent = model.events.filter((e) => e.to === a.id || e.from === a.id).slice(-RECENT).reverse();
  el.replaceChildren(
    h("h2", {}, a.id),
    h("table", { class: "kv", id: "actor-summary" },
      h("tr", {}, h("th", {}, "kind"), h("td", {}, a.kind)),
      h("tr", {}, h("th", {}, "status"), h("td", {}, a.status)),
      h("tr", {}, h("th", {}, "state"), h("td", { id: "actor-state" }, stateText(a.value))),
      a.parent ? h("tr", {}, h("th", {}, "parent"), h("td", {}, a.parent)) : null),
    h("h2", {}, "Context"),
    contextTable(a),
    h("h2", {}, "Machine"),
    machine ? h("div", { class: "machine", id: "machine" }, ...Object.values(machine.states).map((s) => stateBox(s, a.value))) : h("p", { class: "empty" }, "no definition for this kind"),
    h("h2", {}, "Recent events"),
    recent.length
      ? h("table", { class: "kv", id: "actor-events" }, ...recent.map((e) =>
        h("tr", {}, h("th", {}, time(e.t)), h("td", {}, `${e.from && e.from !== a.id ? `${e.from} → ` : ""}${e.type}${e.data ? ` ${brief(e.data, 120)}` : ""}`))))
      : h("p", { class: "empty" }, "none sampled yet"),
  );
}

function contextTable(a: ActorView): HTMLElement {
  const ctx = a.context;
  if (ctx === null || typeof ctx !== "object" || Array.isArray(ctx)) return h("pre", {}, JSON.stringify(ctx, null, 2));
  const rows = Object.entries(ctx as Record<string, unknown>).map(([k, v]) =>
    h("tr", { "data-key": k }, h("th", {}, k), h("td", {}, typeof v === "object" && v !== null ? JSON.stringify(v, null, 1) : String(v))));
  return h("table", { class: "kv", id: "context" }, ...rows);
}

/** Is this state (by its key path) active in a state value? */
function active(value: unknown, path: string[]): boolean {
  let v = value;
  for (const key of path) {
    if (typeof v === "string") return v === key && path[path.length - 1] === key;
    if (!v || typeof v !== "object" || !(key in v)) return false;
    v = (v as Record<string, unknown>)[key];
  }
  return true;
}

function stateBox(node: StateNodeView, value: unknown, path: string[] = []): HTMLElement {
  const here = [...path, node.key];
  const on = node.on.map(([event, target]) => `${event}${target ? ` → ${target}` : ""}`);
  return h("div", { class: `state${active(value, here) ? " current" : ""}`, "data-state": here.join(".") },
    h("span", { class: "name" }, node.key + (node.type !== "atomic" ? ` (${node.type})` : "")),
    on.length ? h("div", { class: "on" }, on.join(" · ")) : null,
    ...Object.values(node.states).map((s) => stateBox(s, value, here)));
}
