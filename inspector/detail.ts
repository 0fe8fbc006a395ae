// The selected actor: what it is in plain words and human units, its machine as a statechart
// with the current state lit, its group's members and lag (for a consumer group), a chart of its
// topic's rates or its group's lag, its context, and its recent events.
import { TimeChart } from "./charts.ts";
import { brief, h, stateText } from "./dom.ts";
import { ago, bytes, clock, clockMs, count, duration, perm, rate } from "./human-units.ts";
import type { ActorView, EventView, Model } from "./model.ts";
import { Statechart } from "./statechart.ts";
import { isInternal } from "./event-log.ts";

const RECENT = 30;

/** What each kind of actor is, for people who have not read the source. */
const ABOUT: Record<string, string> = {
  broker: "The root actor: it holds the topic table, routes every event to the queue, group, delay, timer and transaction actors it supervises, restarts a child that fails, and takes snapshots of the whole tree.",
  queue: "One queue of one topic: its offsets, its permission and the long-poll pulls it holds until a message arrives or their time is up. Message bodies never come here: it hears of appends as one APPENDED per batch.",
  group: "One consumer group: its members (from heartbeats) and its committed offset on each queue. Commits reach it only once they are stored, so it can be rebuilt from the CommitLog.",
  delay: "One delay level: it re-puts messages from the schedule topic into their real topics when they come due.",
  timer: "The timing wheel: messages sent with deliverAt or delayMs wait in it and are re-put when due.",
  txs: "The transactions actor: the parent of every transaction in flight (tx:<message id>). It is hand-written XState actor logic rather than a state machine, so that thousands of transactions cost O(1) each to start and stop; it has no statechart of its own. Select one of its children to see a transaction's machine.",
  tx: "One transaction in flight: its half message is stored; it waits for the producer's commit or rollback, and asks the producer (a check) when none comes in time.",
  namesrv: "The name server: which broker holds which topic, with each broker's registration and when it expires.",
};

const TIME_KEY = /(At|Timestamp|deadline|lastHeartbeat|lastUpdate|born|expires)$/i;
const DURATION_KEY = /Ms$/;
const BYTES_KEY = /bytes$/i;

/** A context value as text in human units, judged by its key. */
export function human(key: string, v: unknown, now = Date.now()): string {
  if (typeof v === "number") {
    if (TIME_KEY.test(key) && v > 1e11) return `${clock(v, now)} (${ago(v, now)})`;
    if (TIME_KEY.test(key) && v === 0) return "never";
    if (DURATION_KEY.test(key)) return duration(v);
    if (BYTES_KEY.test(key)) return bytes(v);
    return Number.isInteger(v) ? v.toLocaleString("en-US") : String(v);
  }
  if (typeof v === "string" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v);
}

/** Nested plain data as a table of tables (two levels), the rest as compact JSON. */
function dataTable(value: unknown, id?: string, depth = 0): HTMLElement {
  if (value === null || typeof value !== "object") return h("span", {}, String(value));
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return h("span", { class: "muted" }, Array.isArray(value) ? "none" : "empty");
  return h("table", { class: "kv", id },
    ...entries.map(([k, v]) => h("tr", { "data-key": k }, h("th", {}, k),
      h("td", {}, v !== null && typeof v === "object" && depth < 1 ? dataTable(v, undefined, depth + 1) : human(k, v)))));
}

function row(k: string, v: Node | string, key = k): HTMLElement {
  return h("tr", { "data-key": key }, h("th", {}, k), h("td", {}, v));
}

export class ActorDetail {
  private readonly charts = new Map<string, Statechart>();
  private chart: TimeChart | null = null;
  private shownId: string | null = null;
  private lastEvent = 0;

  /** `remove`: the confirmed deletion of a queue actor's topic or a group actor's group (the Actions view's). */
  constructor(private readonly el: HTMLElement, private readonly remove?: { topic(topic: string): void; group(group: string): void }) {}

  /** Sections of the detail, built once per selected actor and refilled each frame (so the statechart's animations run on). */
  private parts: Record<"summary" | "machine" | "group" | "chart" | "context" | "events", HTMLElement> | null = null;

  render(model: Model, id: string | null): void {
    const a = id ? model.actors.get(id) : undefined;
    if (!a) {
      this.shownId = null;
      this.parts = null;
      this.el.replaceChildren(h("p", { class: "hint" }, id ? `${id} is gone.` : "Select an actor in the tree."));
      return;
    }
    const recent = model.events.filter((e) => e.to === a.id || e.from === a.id);
    const fresh = this.shownId === a.id ? recent.filter((e) => e.t > this.lastEvent) : [];
    this.lastEvent = recent.at(-1)?.t ?? this.lastEvent;
    if (this.shownId !== a.id || !this.parts) {
      this.shownId = a.id;
      this.chart = null;
      const p = (this.parts = { summary: h("div"), machine: h("div"), group: h("div"), chart: h("div"), context: h("div"), events: h("div") });
      this.el.replaceChildren(
        h("h2", { id: "detail-title" }, a.id),
        h("p", { class: "about" }, ABOUT[a.kind] ?? ""),
        ...this.deleteButton(a),
        p.summary, h("h3", {}, "Machine"), p.machine, p.group, p.chart, h("h3", {}, "Context"), p.context, h("h3", {}, "Recent events"), p.events,
      );
    }
    const p = this.parts;
    p.summary.replaceChildren(h("table", { class: "kv", id: "actor-summary" },
      row("kind", a.kind),
      row("status", a.status),
      row("state", h("span", { id: "actor-state", class: "badge" }, stateText(a.value) || "–")),
      a.parent ? row("parent", a.parent) : null,
      ...this.facts(model, a)));
    const machine = model.machines[a.kind];
    if (machine) {
      let chart = this.charts.get(a.kind);
      if (!chart || chart.machine !== machine) this.charts.set(a.kind, (chart = new Statechart(machine)));
      chart.setValue(a.value);
      for (const e of fresh) if (e.to === a.id) chart.fire(e.type);
      const box = p.machine.firstElementChild as HTMLElement | null;
      if (!box || box.firstElementChild !== chart.el) p.machine.replaceChildren(h("div", { class: "machine scroll-x", id: "machine", "data-kind": a.kind }, chart.el));
    } else if (!p.machine.firstElementChild) {
      p.machine.replaceChildren(h("p", { class: "empty", id: "machine" }, a.kind === "txs" ? "no statechart: hand-written actor logic (see above)" : "no machine definition for this kind"));
    }
    p.group.replaceChildren(...this.groupTables(model, a));
    const chartEl = this.chartFor(model, a);
    if (chartEl && p.chart.firstElementChild !== chartEl) p.chart.replaceChildren(chartEl);
    p.context.replaceChildren(a.context !== null && typeof a.context === "object" ? dataTable(a.context, "context") : h("pre", { id: "context" }, JSON.stringify(a.context, null, 2)));
    p.events.replaceChildren(this.recentEvents(a, recent));
  }

  /** A queue actor's topic, or a group actor's group: Delete (confirmed in the page's dialog). */
  private deleteButton(a: ActorView): HTMLElement[] {
    const c = (a.context ?? {}) as Record<string, unknown>;
    const remove = this.remove;
    if (!remove) return [];
    const [what, name, run] = a.kind === "queue" && typeof c.topic === "string" && !c.topic.startsWith("RMQ_SYS_")
      ? ["topic", c.topic, () => remove.topic(c.topic as string)]
      : a.kind === "group" && typeof c.group === "string" ? ["group", c.group, () => remove.group(c.group as string)] : [null, "", () => {}];
    if (!what) return [];
    const button = h("button", { type: "button", class: "danger", id: `detail-delete-${what}` }, `Delete ${what} ${name}…`);
    button.addEventListener("click", run);
    return [h("p", {}, button)];
  }

  /** The few figures that say what the actor is doing, by kind. */
  private facts(model: Model, a: ActorView): HTMLElement[] {
    const c = (a.context ?? {}) as Record<string, unknown>;
    const n = (k: string) => (typeof c[k] === "number" ? (c[k] as number) : 0);
    if (a.kind === "queue") {
      const holds = Array.isArray(c.holds) ? c.holds.length : 0;
      const rates = model.latest("topics", String(c.topic));
      return [
        row("messages stored", `${count(n("maxOffset") - n("minOffset"))} (offsets ${n("minOffset").toLocaleString("en-US")} to ${n("maxOffset").toLocaleString("en-US")})`, "stored"),
        row("last stored", n("lastStoreTimestamp") ? `${clock(n("lastStoreTimestamp"))} (${ago(n("lastStoreTimestamp"))})` : "never"),
        row("permission", perm(n("perm"))),
        row("held pulls", holds ? `${holds} long polls waiting for messages` : "none: no consumer is waiting here"),
        rates ? row("topic rates", `in ${rate(rates[0])}, out ${rate(rates[1])}`) : null,
      ].filter((x): x is HTMLElement => x !== null);
    }
    if (a.kind === "group") {
      const g = model.overview?.groups.find((x) => `group:${x.group}` === a.id);
      if (!g) return [];
      const r = model.latest("groups", g.group);
      return [
        row("consumption", h("span", { class: `badge state-${g.state.replace(" ", "-")}` }, g.state)),
        row("lag", `${count(g.lag)} messages`),
        row("consume rate", r ? `${rate(r[1])} committed` : "–"),
        row("last commit", g.lastCommitAt ? ago(g.lastCommitAt) : "none seen since the console connected"),
        row("retry / DLQ", `${count(g.retry)} in %RETRY%${g.group}, ${count(g.dlq)} in %DLQ%${g.group}`),
      ];
    }
    if (a.kind === "txs") {
      const children = [...model.actors.values()].filter((x) => x.parent === a.id).length;
      return [row("transactions in flight", count(children))];
    }
    if (a.kind === "delay") return [row("delay", duration(n("delayMs"))), row("next due", n("dueAt") ? `${clock(n("dueAt"))} (${ago(n("dueAt"))})` : "nothing waiting")];
    return [];
  }

  /** A group's members and its lag per queue. */
  private groupTables(model: Model, a: ActorView): HTMLElement[] {
    if (a.kind !== "group") return [];
    const g = model.overview?.groups.find((x) => `group:${x.group}` === a.id);
    if (!g) return [];
    return [
      h("h3", {}, `Members (${g.members.length})`),
      g.members.length
        ? h("div", { class: "scroll-x" }, h("table", { class: "grid", id: "group-members" },
          h("thead", {}, h("tr", {}, h("th", {}, "client"), h("th", {}, "model"), h("th", {}, "topics"), h("th", {}, "last heartbeat"))),
          h("tbody", {}, ...g.members.map((m) => h("tr", { "data-key": m.clientId }, h("td", {}, m.clientId), h("td", {}, m.model), h("td", {}, m.topics.join(", ")), h("td", {}, ago(m.lastHeartbeat)))))))
        : h("p", { class: "empty" }, "no members: nobody heartbeats for this group"),
      h("h3", {}, "Lag per queue"),
      g.queues.length
        ? h("div", { class: "scroll-x" }, h("table", { class: "grid", id: "group-lag" },
          h("thead", {}, h("tr", {}, h("th", {}, "topic"), h("th", { class: "num" }, "queue"), h("th", { class: "num" }, "committed"), h("th", { class: "num" }, "max offset"), h("th", { class: "num" }, "lag"))),
          h("tbody", {}, ...g.queues.map(([topic, q, committed, max, lag]) => h("tr", { "data-key": `${topic}:${q}` }, h("td", {}, topic), h("td", { class: "num" }, q), h("td", { class: "num" }, committed.toLocaleString("en-US")), h("td", { class: "num" }, max.toLocaleString("en-US")), h("td", { class: "num" }, lag.toLocaleString("en-US")))))))
        : h("p", { class: "empty" }, "no committed offsets yet"),
    ];
  }

  /** A queue's topic rates, or a group's lag and consume rate, over time. */
  private chartFor(model: Model, a: ActorView): HTMLElement | null {
    const topic = a.kind === "queue" ? String((a.context as { topic?: string })?.topic ?? "") : null;
    const group = a.kind === "group" ? a.id.slice("group:".length) : null;
    if (!topic && !group) return null;
    const xs = model.history.map((s) => s.t);
    if (topic) {
      this.chart ??= new TimeChart("detail-chart", `Topic ${topic}`, (v) => rate(v));
      const pick = (i: 0 | 1) => model.history.map((s) => (s.in === null ? null : s.topics.get(topic)?.[i] ?? 0));
      this.chart.update(xs, [{ label: "in", values: pick(0) }, { label: "out", values: pick(1) }]);
    } else {
      this.chart ??= new TimeChart("detail-chart", `Lag of ${group}`, (v) => count(v));
      this.chart.update(xs, [{ label: "lag", values: model.history.map((s) => (s.in === null ? null : s.groups.get(group!)?.[0] ?? 0)) }]);
    }
    return this.chart.el;
  }

  private recentEvents(a: ActorView, recent: EventView[]): HTMLElement {
    const shown = recent.filter((e) => !isInternal(e)).slice(-RECENT).reverse();
    if (!shown.length) return h("p", { class: "empty" }, "none sampled yet");
    return h("table", { class: "kv", id: "actor-events" }, ...shown.map((e) =>
      h("tr", {}, h("th", {}, clockMs(e.t)), h("td", {}, `${e.from && e.from !== a.id ? `${e.from} → ` : e.from === a.id ? `→ ${e.to} ` : ""}${e.type}${e.data ? ` ${brief(e.data, 120)}` : ""}`))));
  }
}
