// The console's overview of one broker: health, topics, consumer groups (protocol/inspect.ts's
// OverviewView). Read from the store, the group actors' snapshots and the metrics counters,
// never from message bodies; it costs a walk over the topics' queues and the groups' committed
// offsets, so the inspector sends it about once a second, not every frame, and the `overview`
// op answers it on demand (the cluster view asks each broker every few seconds).
import type { AnyActorRef } from "xstate";
import { DLQ_PREFIX, type GroupRowView, type GroupState, type OverviewView, RETRY_PREFIX, type TopicRowView, topicKind } from "../../protocol/mod.ts";
import type { GroupContext } from "../../actors/group.machine.ts";
import { GROUPS_ID } from "../../actors/groups.logic.ts";
import { TOPICS_ID } from "../../actors/topics.logic.ts";
import type { BrokerFacts, Clock, MessageStore, Topics } from "../context.ts";
import pkg from "../../package.json" with { type: "json" };

/** A group with lag whose committed offsets have not moved for this long is "stalled". */
export const STALL_MS = 10_000;

export interface OverviewDeps {
  clock: Clock;
  facts: BrokerFacts;
  dataDir: string;
  store: Pick<MessageStore, "maxOffset" | "minOffset" | "lastStoreTimestamp" | "minCommitLogOffset" | "maxCommitLogOffset">;
  topics: Pick<Topics, "all">;
  /** Cumulative counters per topic (Metrics.topics). */
  topicCounters(): Map<string, { msgsIn: number; bytesIn: number; msgsOut: number; bytesOut: number }>;
  /** The root actor: the group actors' members and offsets are read from its children. */
  root(): AnyActorRef;
  connections(): number;
  inspectors(): number;
  transactionsInFlight(): number;
  memory(): { rss: number; heapUsed: number };
  disk(): { free: number; total: number } | null;
}

export class OverviewService {
  /** Per group: its committed offsets' sum when last seen, since when it has been that, and whether it ever moved while watched. */
  private progress = new Map<string, { committed: number; since: number; moved: boolean }>();

  constructor(private readonly deps: OverviewDeps) {}

  build(): OverviewView {
    const { store, clock, facts } = this.deps;
    const now = clock.now();
    const counters = this.deps.topicCounters();
    const topics: TopicRowView[] = [];
    const stored = new Map<string, number>();
    const totals: [number, number, number, number] = [0, 0, 0, 0];
    for (const [topic, t] of Object.entries(this.deps.topics.all())) {
      let messages = 0;
      let last = 0;
      for (let q = 0; q < t.queues; q++) {
        messages += Math.max(0, store.maxOffset(topic, q) - store.minOffset(topic, q));
        last = Math.max(last, store.lastStoreTimestamp(topic, q));
      }
      stored.set(topic, messages);
      const c = counters.get(topic);
      const row: TopicRowView["counters"] = c ? [c.msgsIn, c.bytesIn, c.msgsOut, c.bytesOut] : [0, 0, 0, 0];
      const kind = topicKind(topic);
      // The broker's own traffic (offset commits, schedule progress) is not what people sent.
      if (kind !== "system") for (let i = 0; i < 4; i++) totals[i] += row[i];
      topics.push({ topic, kind, queues: t.queues, perm: t.perm, messages, lastStoreTimestamp: last, counters: row });
    }

    const groups: GroupRowView[] = [];
    const root = this.deps.root();
    const childrenOf = (ref: AnyActorRef | undefined) => (ref?.getSnapshot().children ?? {}) as Record<string, AnyActorRef | undefined>;
    const children = childrenOf(root);
    // Queues and groups are children of the topics and groups actors.
    const groupActors = childrenOf(children[GROUPS_ID]);
    const seen = new Set<string>();
    for (const [id, child] of Object.entries(groupActors)) {
      if (!id.startsWith("group:") || !child) continue;
      const group = id.slice("group:".length);
      seen.add(group);
      groups.push(this.group(group, child.getSnapshot().context as GroupContext, now, stored));
    }
    for (const group of this.progress.keys()) if (!seen.has(group)) this.progress.delete(group);

    return {
      now,
      broker: {
        name: facts.brokerName,
        address: facts.address,
        status: facts.isClosing ? "closing" : "ok",
        version: pkg.version,
        runtime: facts.runtime,
        startedAt: facts.startedAt,
        connections: this.deps.connections(),
        inspectors: this.deps.inspectors(),
        // The root, its children, the queues and groups (children of `topics` and `groups`) and the transactions in flight (children of `txs`).
        actors: 1 + Object.keys(children).length + Object.keys(childrenOf(children[TOPICS_ID])).length + Object.keys(groupActors).length + this.deps.transactionsInFlight(),
        memory: this.deps.memory(),
        commitLog: { min: store.minCommitLogOffset, max: store.maxCommitLogOffset },
        disk: this.deps.disk(),
        dataDir: this.deps.dataDir,
        ...(facts.groupInfo ? { replication: facts.groupInfo() } : {}),
      },
      totals,
      topics,
      groups,
    };
  }

  private group(group: string, ctx: GroupContext, now: number, stored: Map<string, number>): GroupRowView {
    const { store } = this.deps;
    const queues: GroupRowView["queues"] = [];
    let lag = 0;
    let committed = 0;
    for (const [key, offset] of Object.entries(ctx.offsets)) {
      const at = key.lastIndexOf(":");
      const topic = key.slice(0, at);
      const queueId = Number(key.slice(at + 1));
      const max = store.maxOffset(topic, queueId);
      const l = Math.max(0, max - Math.max(0, offset));
      queues.push([topic, queueId, offset, max, l]);
      lag += l;
      committed += Math.max(0, offset);
    }
    queues.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    // First sight of a group: it gets STALL_MS from now to show that it moves.
    const before = this.progress.get(group);
    const p = !before ? { committed, since: now, moved: false } : before.committed !== committed ? { committed, since: now, moved: true } : before;
    this.progress.set(group, p);
    const members = Object.entries(ctx.members).map(([clientId, m]) => ({ clientId, model: m.model, lastHeartbeat: m.lastHeartbeat, topics: Object.keys(m.subscriptions).sort() }));
    const state: GroupState = members.length === 0 ? "no members" : lag > 0 && now - p.since >= STALL_MS ? "stalled" : "consuming";
    return { group, state, members, queues, lag, committed, lastCommitAt: p.moved ? p.since : 0, retry: stored.get(RETRY_PREFIX + group) ?? 0, dlq: stored.get(DLQ_PREFIX + group) ?? 0 };
  }
}
