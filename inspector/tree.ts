// The actor tree: the root, then one branch per kind; queues grouped by topic; kinds this page
// does not know (transactions, the name server, whatever comes next) listed by their id prefix.
import { isSystemTopic } from "../protocol/topics.ts";
import { h, stateText } from "./dom.ts";
import type { ActorView, Model } from "./model.ts";

/** Kinds in the order the tree shows them; any other kind follows, alphabetically. */
const ORDER = ["broker", "namesrv", "queue", "group", "delay", "timer", "tx"];
const LABEL: Record<string, string> = {
  broker: "broker (root)",
  namesrv: "name server",
  queue: "queues",
  group: "consumer groups",
  delay: "delay levels",
  timer: "timer",
  tx: "transactions",
};

/** Branches the user opened (false) or folded (true); system topics start folded. */
const folded = new Map<string, boolean>();

export function renderCounts(el: HTMLElement, model: Model): void {
  const counts = countByKind(model);
  el.replaceChildren(...sortKinds([...counts.keys()]).map((k) => h("span", { "data-kind": k }, `${k} `, h("b", {}, counts.get(k)!))));
}

/** What the tree last drew: redrawing only on a change keeps clicks and hovers steady. */
let drawn = "";

export function renderTree(el: HTMLElement, model: Model, selected: string | null, select: (id: string) => void): void {
  let signature = `${selected}\n`;
  for (const a of model.actors.values()) signature += `${a.id}=${stateText(a.value)}\n`;
  if (signature === drawn && el.childElementCount > 0) return;
  drawn = signature;
  const byKind = new Map<string, ActorView[]>();
  for (const a of model.actors.values()) {
    const kind = a.origin === "external" ? "external" : a.kind;
    if (!byKind.has(kind)) byKind.set(kind, []);
    byKind.get(kind)!.push(a);
  }
  const item = (a: ActorView, label = a.id) => {
    const row = h("div", { class: `actor${a.id === selected ? " selected" : ""}`, "data-actor": a.id, title: a.id }, h("span", { class: "name" }, label), h("span", { class: "value" }, stateText(a.value)));
    row.addEventListener("click", () => select(a.id));
    return row;
  };
  const branch = (key: string, summary: string, children: Node[]) => {
    const d = h("details", { "data-branch": key, open: folded.get(key) !== true && !(folded.get(key) === undefined && key.startsWith("topic:") && isSystemTopic(key.slice(6))) }, h("summary", {}, summary));
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
      out.push(branch("queue", `${LABEL.queue} (${actors.length})`, [...byTopic].map(([topic, qs]) =>
        branch(`topic:${topic}`, `${topic} (${qs.length})`, qs.map((a) => item(a, `queue ${a.id.slice(a.id.lastIndexOf(":") + 1)}`))))));
    } else if (kind === "broker") {
      out.push(...actors.map((a) => item(a, LABEL.broker)));
    } else {
      out.push(branch(kind, `${LABEL[kind] ?? kind} (${actors.length})`, actors.map((a) => item(a))));
    }
  }
  el.replaceChildren(...out);
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
