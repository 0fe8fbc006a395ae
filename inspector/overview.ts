// The landing view: the broker's health at a glance, its traffic and lag over time, and tables of
// topics and consumer groups (user topics first; retry, dead-letter and system topics folded
// below). Every figure comes from the broker's overview (see runtime/overview.ts); rates are
// the growth of its counters between two overviews.
import type { GroupRowView, TopicRowView } from "../protocol/inspect.ts";
import { TimeChart } from "./charts.ts";
import { h } from "./dom.ts";
import { ago, bytes, clock, count, duration, percent, perm, rate } from "./human-units.ts";
import type { Model } from "./model.ts";
import { ReplicationView } from "./replication.ts";
import { type Column, DataTable } from "./table.ts";

export interface OverviewActions {
  openTopic(topic: string): void;
  openGroup(group: string): void;
}

/** How many series a chart draws at most: the busiest. */
const TOP_SERIES = 6;

export class OverviewView {
  private readonly cards = h("div", { class: "cards", id: "health" });
  private readonly traffic = new TimeChart("chart-traffic", "Messages per second", rate);
  private readonly lag = new TimeChart("chart-lag", "Consumer lag", count);
  private readonly topics: DataTable<TopicRowView>;
  private readonly internalTopics: DataTable<TopicRowView>;
  private readonly groups: DataTable<GroupRowView>;
  private readonly internalSummary = h("summary", {}, "retry, dead-letter and system topics");
  private readonly replication = new ReplicationView();
  private model!: Model;

  constructor(readonly el: HTMLElement, actions: OverviewActions) {
    const topicColumns = (withKind: boolean): Column<TopicRowView>[] => [
      { key: "topic", label: "topic", value: (t) => t.topic, render: (t) => h("a", { href: `#messages?topic=${encodeURIComponent(t.topic)}`, class: "topic-link" }, t.topic) },
      ...(withKind ? [{ key: "kind", label: "kind", value: (t: TopicRowView) => t.kind }] : []),
      { key: "queues", label: "queues", numeric: true, value: (t) => t.queues },
      { key: "messages", label: "messages", numeric: true, value: (t) => t.messages, render: (t) => count(t.messages), title: "messages stored now" },
      { key: "in", label: "in/s", numeric: true, value: (t) => this.rates("topics", t.topic)[0], render: (t) => rate(this.rates("topics", t.topic)[0]) },
      { key: "out", label: "out/s", numeric: true, value: (t) => this.rates("topics", t.topic)[1], render: (t) => rate(this.rates("topics", t.topic)[1]), title: "messages delivered to consumers per second" },
      { key: "totalIn", label: "in since start", numeric: true, value: (t) => t.counters[0], render: (t) => count(t.counters[0]) },
      { key: "bytes", label: "bytes in", numeric: true, value: (t) => t.counters[1], render: (t) => bytes(t.counters[1]) },
      { key: "last", label: "last stored", numeric: true, value: (t) => t.lastStoreTimestamp, render: (t) => ago(t.lastStoreTimestamp, this.model.overview?.now) },
      { key: "perm", label: "permission", value: (t) => perm(t.perm) },
    ];
    this.topics = new DataTable({ id: "topics", columns: topicColumns(false), rowKey: (t) => t.topic, sort: { key: "topic", descending: false }, filterLabel: "filter topics", empty: "no topics yet: send a message or create one", onRowClick: (t) => actions.openTopic(t.topic) });
    this.internalTopics = new DataTable({ id: "system-topics", columns: topicColumns(true), rowKey: (t) => t.topic, sort: { key: "topic", descending: false }, filterLabel: "filter topics", onRowClick: (t) => actions.openTopic(t.topic) });
    this.groups = new DataTable({
      id: "groups",
      columns: [
        { key: "group", label: "group", value: (g) => g.group },
        { key: "state", label: "state", value: (g) => g.state, render: (g) => h("span", { class: `badge state-${g.state.replace(" ", "-")}` }, g.state) },
        { key: "members", label: "members", numeric: true, value: (g) => g.members.length },
        { key: "lag", label: "lag", numeric: true, value: (g) => g.lag, render: (g) => count(g.lag), title: "messages stored but not yet committed by the group" },
        { key: "rate", label: "consume/s", numeric: true, value: (g) => this.rates("groups", g.group)[1], render: (g) => rate(this.rates("groups", g.group)[1]), title: "committed offsets' growth per second" },
        { key: "queues", label: "lag per queue", value: (g) => g.queues.length, render: (g) => lagBars(g) },
        { key: "retry", label: "retry", numeric: true, value: (g) => g.retry, render: (g) => count(g.retry), title: "messages in the group's %RETRY% topic" },
        { key: "dlq", label: "DLQ", numeric: true, value: (g) => g.dlq, render: (g) => (g.dlq ? h("a", { href: `#messages?topic=${encodeURIComponent(`%DLQ%${g.group}`)}`, class: "dlq-link" }, count(g.dlq)) : "0"), title: "messages in the group's dead-letter topic" },
        { key: "commit", label: "last commit", numeric: true, value: (g) => g.lastCommitAt, render: (g) => (g.lastCommitAt ? ago(g.lastCommitAt, this.model.overview?.now) : "–") },
      ],
      rowKey: (g) => g.group,
      sort: { key: "lag", descending: true },
      filterLabel: "filter groups",
      empty: "no consumer groups yet",
      onRowClick: (g) => actions.openGroup(g.group),
      rowClass: (g) => `state-${g.state.replace(" ", "-")}`,
    });
    el.replaceChildren(
      this.cards,
      h("div", { class: "chart-row" }, this.traffic.el, this.lag.el),
      h("h2", {}, "Topics"),
      this.topics.el,
      h("details", { class: "folded", id: "system-topics-box" }, this.internalSummary, this.internalTopics.el),
      h("h2", {}, "Consumer groups"),
      this.groups.el,
      this.replication.el,
    );
  }

  private rates(kind: "topics" | "groups", name: string): [number, number] {
    return this.model.latest(kind, name) ?? [0, 0];
  }

  render(model: Model): void {
    this.model = model;
    const o = model.overview;
    if (!o) {
      this.cards.replaceChildren(h("p", { class: "hint" }, "waiting for the broker's first overview…"));
      return;
    }
    const b = o.broker;
    const last = model.history.at(-1);
    const stalled = o.groups.filter((g) => g.state === "stalled").length;
    const dlq = o.groups.reduce((n, g) => n + g.dlq, 0);
    const user = o.topics.filter((t) => t.kind === "user");
    const card = (key: string, label: string, value: string, sub: string, tone = "") => setCard(this.cards, key, label, value, sub, tone);
    this.cards.querySelector(".hint")?.remove();
    if (model.disconnectedAt !== null) card("status", "broker", "unreachable", `${b.name} · no answer since ${clock(model.disconnectedAt)}`, "bad");
    else card("status", "broker", b.status === "ok" ? "healthy" : b.status, `${b.name} · up ${duration(o.now - b.startedAt)} · ${b.runtime} · v${b.version}`, b.status === "ok" ? "good" : "bad");
    card("in", "in", last?.in == null ? "–" : rate(last.in), `${count(o.totals[0])} messages since start`);
    card("out", "out", last?.out == null ? "–" : rate(last.out), `${count(o.totals[2])} delivered since start`);
    card("stored", "stored", bytes(b.commitLog.max - b.commitLog.min), `CommitLog, ${user.length} user topics`);
    card("disk", "disk free", b.disk ? bytes(b.disk.free) : "–", b.disk ? `${percent(b.disk.free, b.disk.total)} of ${bytes(b.disk.total)}` : "unknown", b.disk && b.disk.free / b.disk.total < 0.1 ? "bad" : "");
    card("connections", "connections", count(b.connections), `${b.inspectors} of them consoles · ${count(b.actors)} actors`);
    card("groups", "consumer groups", count(o.groups.length), stalled ? `${stalled} stalled` : "none stalled", stalled ? "warn" : "");
    card("dlq", "dead letters", count(dlq), dlq ? "in %DLQ% topics: see Messages" : "none", dlq ? "warn" : "");
    card("memory", "memory", bytes(b.memory.rss), `heap ${bytes(b.memory.heapUsed)}`);
    const r = b.replication;
    if (r) card("replication", "replication", r.role, `#${r.brokerId} · epoch ${r.masterEpoch} · ${r.syncStateSet.length} in sync`, r.role === "slave" && !r.connected ? "warn" : "");
    this.replication.render(r, b.address);
    const xs = model.history.map((s) => s.t);
    this.traffic.update(xs, [{ label: "in", values: model.history.map((s) => s.in) }, { label: "out", values: model.history.map((s) => s.out) }]);
    const busiest = [...o.groups].sort((a, c) => c.lag - a.lag || (a.group < c.group ? -1 : 1)).slice(0, TOP_SERIES);
    this.lag.update(xs, busiest.map((g) => ({ label: g.group, values: model.history.map((s) => (s.in === null ? null : s.groups.get(g.group)?.[0] ?? 0)) })));
    this.topics.update(user);
    const internal = o.topics.filter((t) => t.kind !== "user");
    this.internalSummary.textContent = `retry, dead-letter and system topics (${internal.length})`;
    this.internalTopics.update(internal);
    this.groups.update(o.groups);
  }
}

/** Updates a figure card in place (kept across frames, so it can be selected and does not flicker), adding it the first time. */
export function setCard(box: HTMLElement, key: string, label: string, value: string, sub: string, tone = ""): HTMLElement {
  let el = box.querySelector<HTMLElement>(`[data-figure="${key}"]`);
  if (!el) box.append((el = h("div", { "data-figure": key }, h("div", { class: "label" }, label), h("div", { class: "value" }), h("div", { class: "sub" }))));
  el.className = `card ${tone}`;
  el.querySelector(".value")!.textContent = value;
  el.querySelector(".sub")!.textContent = sub;
  return el;
}

/** A group's lag per queue as a row of small bars (the tallest is the most behind). */
function lagBars(g: GroupRowView): HTMLElement {
  const max = Math.max(1, ...g.queues.map((q) => q[4]));
  return h("span", { class: "lag-bars", title: g.queues.map(([t, q, , , lag]) => `${t}:${q} lag ${lag}`).join("\n") },
    ...g.queues.slice(0, 32).map((q) => h("i", { style: `height:${Math.max(2, Math.round((q[4] / max) * 16))}px` })));
}
