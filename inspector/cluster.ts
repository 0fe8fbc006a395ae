// The cluster view, for the page a name server serves: its brokers (from clusterList), each
// one's health from its own `overview` (asked every few seconds over a socket to that broker),
// and the topics across brokers. Each broker links to its own console.
import { Transport } from "../client/transport.ts";
import { storedCredentials } from "./signin.ts";
import type { WebSocketConstructor } from "../client/websocket-class.ts";
import type { OverviewView, ReplicaInfo } from "../protocol/inspect.ts";
import { h } from "./dom.ts";
import { ago, bytes, count, duration, percent, rate } from "./human-units.ts";
import { setCard } from "./overview.ts";
import { roleText } from "./replication.ts";
import { type Column, DataTable } from "./table.ts";

const POLL_MS = 2000;

interface BrokerEntry {
  name: string;
  address: string;
  topicNames: string[];
  version: string;
  runtime: string;
  startedAt: number;
  lastUpdate: number;
  /** A replicated group's member: its role, epoch and lag as of its last registration. */
  group?: ReplicaInfo;
}

/** A broker's row: its name, or name#id for a member of a replicated group (they share the name). */
const entryKey = (e: BrokerEntry) => (e.group ? `${e.name}#${e.group.brokerId}` : e.name);

interface BrokerState {
  entry: BrokerEntry;
  transport: Transport;
  overview: OverviewView | null;
  previous: OverviewView | null;
  error: string | null;
}

interface TopicAcross {
  topic: string;
  brokers: string[];
  queues: number;
  messages: number;
  inRate: number;
}

/** http://host:port/inspector/ for a broker's ws://host:port/ws. */
export function consoleUrl(address: string): string {
  return address.replace(/^ws(s?):\/\//, "http$1://").replace(/\/ws$/, "/inspector/");
}

export class ClusterView {
  private readonly brokers = new Map<string, BrokerState>();
  private readonly brokerTable: DataTable<BrokerState>;
  private readonly topicTable: DataTable<TopicAcross>;
  private readonly summary = h("div", { class: "cards", id: "cluster-health" });
  private error: string | null = null;

  constructor(readonly el: HTMLElement, private readonly ask: (op: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>) {
    const healthOf = (b: BrokerState) => (b.error ? "unreachable" : b.overview ? b.overview.broker.status : "…");
    const columns: Column<BrokerState>[] = [
      { key: "name", label: "broker", value: (b) => b.entry.name, render: (b) => h("a", { href: consoleUrl(b.entry.address), class: "broker-link" }, b.entry.name) },
      { key: "health", label: "health", value: healthOf, render: (b) => h("span", { class: `badge health-${healthOf(b)}`, title: b.error ?? "" }, healthOf(b)) },
      { key: "address", label: "address", value: (b) => b.entry.address },
      { key: "role", label: "replication", value: (b) => (b.entry.group ? `#${b.entry.group.brokerId} ${roleText(b.entry.group)}` : ""), title: "a replicated group's member: its id, role and the master epoch" },
      { key: "inSync", label: "in sync", value: (b) => this.inSync(b), title: "in its group's SyncStateSet, as the master last registered it" },
      { key: "behind", label: "behind", numeric: true, value: (b) => b.entry.group?.lagBytes ?? -1, render: (b) => (b.entry.group?.role === "slave" ? bytes(b.entry.group.lagBytes ?? 0) : ""), title: "a slave's CommitLog bytes behind its master, as of its last registration" },
      { key: "uptime", label: "up", numeric: true, value: (b) => b.entry.startedAt, render: (b) => (b.entry.startedAt ? duration(Date.now() - b.entry.startedAt) : "–") },
      { key: "in", label: "in/s", numeric: true, value: (b) => this.rate(b, 0), render: (b) => rate(this.rate(b, 0)) },
      { key: "out", label: "out/s", numeric: true, value: (b) => this.rate(b, 2), render: (b) => rate(this.rate(b, 2)) },
      { key: "topics", label: "topics", numeric: true, value: (b) => b.entry.topicNames.length },
      { key: "connections", label: "connections", numeric: true, value: (b) => b.overview?.broker.connections ?? 0 },
      { key: "disk", label: "disk free", numeric: true, value: (b) => b.overview?.broker.disk?.free ?? 0, render: (b) => (b.overview?.broker.disk ? `${bytes(b.overview.broker.disk.free)} (${percent(b.overview.broker.disk.free, b.overview.broker.disk.total)})` : "–") },
      { key: "registered", label: "registered", numeric: true, value: (b) => b.entry.lastUpdate, render: (b) => ago(b.entry.lastUpdate) },
    ];
    this.brokerTable = new DataTable({ id: "cluster-brokers", columns, rowKey: (b) => entryKey(b.entry), filterLabel: "filter brokers", empty: "no broker has registered yet" });
    this.topicTable = new DataTable({
      id: "cluster-topics",
      columns: [
        { key: "topic", label: "topic", value: (t) => t.topic },
        { key: "brokers", label: "brokers", value: (t) => t.brokers.join(", ") },
        { key: "queues", label: "queues", numeric: true, value: (t) => t.queues },
        { key: "messages", label: "messages", numeric: true, value: (t) => t.messages, render: (t) => count(t.messages) },
        { key: "in", label: "in/s", numeric: true, value: (t) => t.inRate, render: (t) => rate(t.inRate) },
      ],
      rowKey: (t) => t.topic,
      filterLabel: "filter topics",
      empty: "no topics",
    });
    el.replaceChildren(h("h2", {}, "Cluster"), this.summary, h("h2", {}, "Brokers"), this.brokerTable.el, h("h2", {}, "Topics across brokers"), this.topicTable.el);
  }

  start(onChange: () => void): void {
    const tick = async () => {
      try {
        const r = await this.ask("clusterList", {});
        this.error = null;
        const entries = (r.brokers as BrokerEntry[]) ?? [];
        for (const e of entries) {
          const known = this.brokers.get(entryKey(e));
          if (known && known.entry.address === e.address) known.entry = e;
          else {
            known?.transport.close();
            this.brokers.set(entryKey(e), { entry: e, transport: new Transport(e.address, { WebSocket: (globalThis as unknown as { WebSocket: WebSocketConstructor }).WebSocket, minBackoffMs: 500, maxBackoffMs: 5000, credentials: storedCredentials() }), overview: null, previous: null, error: null });
          }
        }
        for (const [key, b] of this.brokers) if (!entries.some((e) => entryKey(e) === key)) (b.transport.close(), this.brokers.delete(key));
        await Promise.all([...this.brokers.values()].map(async (b) => {
          try {
            const o = (await b.transport.request("overview", {}, POLL_MS)) as unknown as { overview: OverviewView };
            b.previous = b.overview;
            b.overview = o.overview;
            b.error = null;
          } catch (e) {
            b.error = (e as Error).message;
          }
        }));
      } catch (e) {
        this.error = (e as Error).message;
      }
      onChange();
      setTimeout(tick, POLL_MS);
    };
    void tick();
  }

  /** "yes"/"no" for a group's member: whether its group's master (registered) has it in the SyncStateSet. */
  private inSync(b: BrokerState): string {
    const g = b.entry.group;
    if (!g) return "";
    const master = [...this.brokers.values()].find((m) => m.entry.name === b.entry.name && m.entry.group?.role === "master");
    return (master?.entry.group ?? g).syncStateSet.includes(g.brokerId) ? "yes" : "no";
  }

  /** Messages per second from a broker's last two overviews: totals[0] in, totals[2] out. */
  private rate(b: BrokerState, i: 0 | 2): number {
    const [p, o] = [b.previous, b.overview];
    if (!p || !o || o.broker.startedAt !== p.broker.startedAt || o.now <= p.now) return 0;
    return Math.max(0, o.totals[i] - p.totals[i]) / ((o.now - p.now) / 1000);
  }

  render(): void {
    const brokers = [...this.brokers.values()];
    const healthy = brokers.filter((b) => !b.error && b.overview?.broker.status === "ok").length;
    const card = (key: string, label: string, value: string, sub: string, tone = "") => setCard(this.summary, key, label, value, sub, tone);
    this.summary.querySelector('[data-figure="namesrv"]')?.remove();
    card("brokers", "brokers", `${healthy} of ${brokers.length}`, "healthy", healthy === brokers.length && brokers.length ? "good" : "warn");
    card("in", "in", rate(brokers.reduce((n, b) => n + this.rate(b, 0), 0)), "all brokers");
    card("out", "out", rate(brokers.reduce((n, b) => n + this.rate(b, 2), 0)), "all brokers");
    if (this.error) card("namesrv", "name server", "error", this.error, "bad");
    this.brokerTable.update(brokers);
    const topics = new Map<string, TopicAcross>();
    // A replicated group's slaves hold copies of its master's topics: the group counts once.
    const copies = (b: BrokerState) => b.entry.group?.role === "slave" && brokers.some((m) => m.entry.name === b.entry.name && m.entry.group?.role === "master");
    for (const b of brokers) {
      if (copies(b)) continue;
      for (const name of b.entry.topicNames) {
        const t = topics.get(name) ?? { topic: name, brokers: [], queues: 0, messages: 0, inRate: 0 };
        t.brokers.push(b.entry.name);
        const row = b.overview?.topics.find((x) => x.topic === name);
        const before = b.previous?.topics.find((x) => x.topic === name);
        if (row) {
          t.queues += row.queues;
          t.messages += row.messages;
          if (before && b.previous && b.overview!.now > b.previous.now) t.inRate += Math.max(0, row.counters[0] - before.counters[0]) / ((b.overview!.now - b.previous.now) / 1000);
        }
        topics.set(name, t);
      }
    }
    this.topicTable.update([...topics.values()]);
  }
}
