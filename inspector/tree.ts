// The actor tree: the root, then one branch per kind; queues grouped by topic; kinds this page
// does not know (transactions, the name server, whatever comes next) listed by their id prefix.
import { topicKind } from "../protocol/topics.ts";
import { h, stateText } from "./dom.ts";
import { rate } from "./human-units.ts";
import type { ActorView, Model } from "./model.ts";

/** Kinds in the order the tree shows them; any other kind follows, alphabetically. */
const ORDER = ["broker", "namesrv", "queue", "group", "delay", "timer", "txs", "tx"];
const LABEL: Record<string, string> = {
  broker: "broker (root)",
  namesrv: "name server",
  queue: "queues",
  group: "consumer groups",
  delay: "delay levels",
  timer: "timer",
  txs: "transactions actor",
  tx: "transactions in flight",
};

/** Branches the user opened (false) or folded (true). */
const folded = new Map<string, boolean>();
/** Internals start folded: system topics, delay levels, the timer, transactions. */
const FOLDED_AT_FIRST = new Set(["system-topics", "delay", "timer", "txs", "tx"]);

export function renderCounts(el: HTMLElement, model: Model): void {
  const counts = countByKind(model);
  el.replaceChildren(...sortKinds([...counts.keys()]).map((k) => h("span", { "data-kind": k }, `${k} `, h("b", {}, counts.get(k)!))));
}

/** What the tree last drew: redrawing only on a change keeps clicks and hovers steady. */
let drawn = "";

export function renderTree(el: HTMLElement, model: Model, selected: string | null, select: (id: string) => void): void {
  let signature = `${selected}\n`;
  for (const a of model.actors.values()) signature += `${a.id}=${stateText(a.value)}:${queueFigures(a)}\n`;
  for (const [topic, r] of model.history.at(-1)?.topics ?? []) signature += `${topic}:${rate(r[0])}\n`;
  if (signature === drawn && el.childElementCount > 0) return;
  drawn = signature;
  const byKind = new Map<string, ActorView[]>();
  for (const a of model.actors.values()) {
    const kind = a.origin === "external" ? "external" : a.kind;
    if (!byKind.has(kind)) byKind.set(kind, []);
    byKind.get(kind)!.push(a);
  }
  const item = (a: ActorView, label = a.id) => {
    const figures = queueFigures(a);
    const row = h("div", { class: `actor${a.id === selected ? " selected" : ""}`, "data-actor": a.id, title: a.id, role: "button", tabindex: 0 },
      h("span", { class: "name" }, label), h("span", { class: "value" }, stateText(a.value), figures ? h("span", { class: "figures" }, ` · ${figures}`) : null));
    row.addEventListener("keydown", (e) => e.key === "Enter" && select(a.id));
    row.addEventListener("click", () => select(a.id));
    return row;
  };
  const branch = (key: string, summary: string, children: Node[]) => {
    const open = folded.has(key) ? !folded.get(key) : !FOLDED_AT_FIRST.has(key);
    const d = h("details", { "data-branch": key, open }, h("summary", {}, summary));
    d.addEventListener("toggle", () => folded.set(key, !(d as HTMLDetailsElement).open));
    d.append(...children);
    return d;
  };
  const out: Node[] = [];
  for (const kind of sortKinds([...byKind.keys()])) {
    const actors = byKind.get(kind)!.sort((a, b) => compareIds(a.id, b.id));
    if (kind === "queue") {
      const byTopic = new Map<string, ActorView[]>();
      for (const a of actors) {
        const topic = String((a.context as { topic?: string })?.topic ?? a.id.slice(6, a.id.lastIndexOf(":")));
        if (!byTopic.has(topic)) byTopic.set(topic, []);
        byTopic.get(topic)!.push(a);
      }
      const topicBranch = ([topic, qs]: [string, ActorView[]]) => {
        const r = model.latest("topics", topic);
        return branch(`topic:${topic}`, `${topic} (${qs.length})${r && r[0] > 0 ? ` · in ${rate(r[0])}` : ""}`, qs.map((a) => item(a, `queue ${a.id.slice(a.id.lastIndexOf(":") + 1)}`)));
      };
      const user = [...byTopic].filter(([t]) => topicKind(t) === "user").sort(([a], [b]) => compareIds(a, b));
      const internal = [...byTopic].filter(([t]) => topicKind(t) !== "user").sort(([a], [b]) => compareIds(a, b));
      out.push(branch("queue", `${LABEL.queue} (${actors.length})`, [
        ...user.map(topicBranch),
        internal.length ? branch("system-topics", `retry, DLQ and system topics (${internal.length})`, internal.map(topicBranch)) : null,
      ].filter((x): x is HTMLElement => x !== null)));
    } else if (kind === "broker") {
      out.push(...actors.map((a) => item(a, LABEL.broker)));
    } else {
      out.push(branch(kind, `${LABEL[kind] ?? kind} (${actors.length})`, actors.map((a) => item(a))));
    }
  }
  el.replaceChildren(...out);
}

/** What a queue holds, beside its state: "5 stored, 2 waiting" (waiting: long polls held). */
function queueFigures(a: ActorView): string {
  if (a.kind !== "queue") return "";
  const c = a.context as { minOffset?: number; maxOffset?: number; holds?: unknown[] } | null;
  const stored = (c?.maxOffset ?? 0) - (c?.minOffset ?? 0);
  const waiting = c?.holds?.length ?? 0;
  return `${stored.toLocaleString("en-US")} stored${waiting ? `, ${waiting} waiting` : ""}`;
}

function countByKind(model: Model): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of model.actors.values()) {
    const kind = a.origin === "external" ? "external" : a.kind;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

function sortKinds(kinds: string[]): string[] {
  const rank = (k: string) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  return kinds.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
}

/** "delay:2" before "delay:10": numbers compared as numbers. */
function compareIds(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}
