// Compatibility with @statelyai/inspect: this page accepts the inspection events that package
// emits, so an app that already inspects its machines with Stately's tools can show them here,
// beside the broker's actors. Point its browser inspector at this page:
//   createBrowserInspector({ url: "http://127.0.0.1:9876/inspector" })
// It opens the page, waits for "@statelyai.connected", then posts StatelyInspectionEvents
// (@xstate.actor, @xstate.snapshot, @xstate.event) with postMessage.
import type { Model, StateNodeView } from "./model.ts";

export const CONNECTION_EVENT = "@statelyai.connected";

interface StatelyEvent {
  type: string;
  sessionId: string;
  createdAt?: string;
  name?: string;
  parentId?: string;
  sourceId?: string;
  definition?: string;
  snapshot?: { status?: string; value?: unknown; context?: unknown };
  event?: { type: string; [k: string]: unknown };
}

const idOf = (sessionId: string) => `ext:${sessionId}`;

export function isStatelyEvent(data: unknown): data is StatelyEvent {
  const d = data as StatelyEvent;
  return d !== null && typeof d === "object" && typeof d.type === "string" && d.type.startsWith("@xstate.") && typeof d.sessionId === "string";
}

/** Applies one @statelyai/inspect event to the model; false if it is not one. */
export function ingestStately(model: Model, data: unknown): boolean {
  if (!isStatelyEvent(data)) return false;
  const id = idOf(data.sessionId);
  const t = Date.parse(data.createdAt ?? "") || Date.now();
  const existing = model.actors.get(id);
  if (data.type === "@xstate.actor") {
    model.actors.set(id, {
      id,
      kind: id,
      parent: data.parentId ? idOf(data.parentId) : null,
      status: data.snapshot?.status ?? "active",
      value: data.snapshot?.value ?? null,
      context: data.snapshot?.context ?? null,
      origin: "external",
    });
    const def = parseDefinition(data.definition);
    if (def) model.machines[id] = def;
  } else if (data.type === "@xstate.snapshot" && data.snapshot) {
    model.actors.set(id, {
      ...(existing ?? { id, kind: id, parent: null, origin: "external" as const }),
      status: data.snapshot.status ?? "active",
      value: data.snapshot.value ?? null,
      context: data.snapshot.context ?? null,
    });
  } else if (data.type === "@xstate.event" && data.event) {
    const { type, ...rest } = data.event;
    model.addEvents([{ t, to: id, from: data.sourceId ? idOf(data.sourceId) : null, type, ...(Object.keys(rest).length ? { data: rest } : {}) }]);
    model.counts.set(type, (model.counts.get(type) ?? 0) + 1);
  } else return false;
  return true;
}

/** Listens for posted events and tells the opener (the inspected app) that the page is ready. */
export function listenForStately(model: Model, win: Window): void {
  win.addEventListener("message", (ev: MessageEvent) => {
    if (ingestStately(model, ev.data)) model.changed();
  });
  win.opener?.postMessage({ type: CONNECTION_EVENT }, "*");
}

/** XState's machine.definition (JSON): states, their initial state and transitions by event. */
function parseDefinition(json: string | undefined): StateNodeView | null {
  if (!json || json.startsWith("http")) return null;
  try {
    return toView(JSON.parse(json));
  } catch {
    return null;
  }
}

interface DefinitionNode {
  key?: string;
  type?: string;
  initial?: { target?: string[] } | string;
  on?: Record<string, { target?: string[] }[] | { target?: string[] }>;
  states?: Record<string, DefinitionNode>;
}

function toView(node: DefinitionNode, key = node.key ?? "(machine)"): StateNodeView {
  const last = (s: string) => s.slice(s.lastIndexOf(".") + 1);
  const on: [string, string][] = [];
  for (const [event, ts] of Object.entries(node.on ?? {})) {
    for (const t of Array.isArray(ts) ? ts : [ts]) on.push([event, (t?.target ?? []).map(last).join(",")]);
  }
  const states: Record<string, StateNodeView> = {};
  for (const [k, child] of Object.entries(node.states ?? {})) states[k] = toView(child, k);
  const initial = typeof node.initial === "string" ? node.initial : node.initial?.target?.[0];
  return { key, type: node.type ?? "atomic", on, states, ...(initial ? { initial: last(initial) } : {}) };
}
