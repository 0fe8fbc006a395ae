// The inspect op's wire shapes: what the broker sends an inspector and what the page draws.
import type { topicKind } from "./topics.ts";

/** One actor as the inspector shows it: never a message body (actors never hold one). */
export interface ActorView {
  id: string;
  kind: string;
  parent: string | null;
  status: string;
  value: unknown;
  context: unknown;
}

/** One sampled event: when, to and from which actor, its type and its (trimmed) payload. */
export interface EventView {
  t: number;
  to: string;
  from: string | null;
  type: string;
  data?: unknown;
}

/** A machine's states, for drawing it with the current state highlighted. */
export interface StateNodeView {
  key: string;
  type: string;
  initial?: string;
  on: [event: string, targets: string][];
  states: Record<string, StateNodeView>;
}

/**
 * What the console's overview shows, computed by the broker about once a second (in inspect
 * frames, and answered by the `overview` op): the broker's health, every topic's size and
 * counters, every consumer group's members and lag per queue. Counters are cumulative; a
 * reader derives rates from two of them.
 */
export interface OverviewView {
  /** The broker's clock when this was taken (ms since the epoch). */
  now: number;
  broker: BrokerHealthView;
  /** All but the broker's own topics: [msgsIn, bytesIn, msgsOut, bytesOut] since start. */
  totals: [number, number, number, number];
  topics: TopicRowView[];
  groups: GroupRowView[];
}

export interface BrokerHealthView {
  name: string;
  /** The broker's WebSocket address. */
  address: string;
  /** "ok", or "closing" while it shuts down. */
  status: string;
  version: string;
  runtime: string;
  startedAt: number;
  connections: number;
  /** Inspect subscribers (console pages) among the connections. */
  inspectors: number;
  actors: number;
  memory: { rss: number; heapUsed: number };
  /** The CommitLog's first and last byte offsets: max - min is what it holds on disk. */
  commitLog: { min: number; max: number };
  /** The data directory's file system, null where the platform cannot say. */
  disk: { free: number; total: number } | null;
  dataDir: string;
  /** A replicated group's member (docs/REPLICATION.md): its id, role, epochs, SyncStateSet and lag. */
  replication?: ReplicaInfo;
}

/**
 * A replicated group member's role and replication, as clusterList, registrations and the
 * console's overview show it (runtime/ha/replica-node.ts). A type rather than an interface: a
 * registration carries it as a plain map (Record<string, unknown>).
 */
export type ReplicaInfo = {
  brokerId: number;
  role: "master" | "slave";
  /** The epoch of its last epoch entry, and the group's master epoch as the controller last said. */
  epoch: number;
  masterEpoch: number;
  /** The group's master as the controller last said (-1: none). */
  masterId: number;
  syncStateSet: number[];
  maxOffset: number;
  replication: "async" | "sync";
  /** A master's: what every in-sync member holds, and each connected slave. */
  confirmOffset?: number;
  /** Every slave that connected to this master (`connected`: now). */
  replicas?: { brokerId: number; address: string; ackOffset: number; lagBytes: number; inSync: boolean; connected: boolean }[];
  /** A slave's: its master and how far behind it is. */
  master?: string;
  connected?: boolean;
  lagBytes?: number;
};

export type TopicKind = ReturnType<typeof topicKind>;

export interface TopicRowView {
  topic: string;
  kind: TopicKind;
  queues: number;
  perm: number;
  /** Messages stored now (each queue's max offset minus min offset, summed). */
  messages: number;
  /** The newest store time of any of its queues, 0 when empty. */
  lastStoreTimestamp: number;
  /** [msgsIn, bytesIn, msgsOut, bytesOut] since the broker started. */
  counters: [number, number, number, number];
}

/** "no members": nobody heartbeats for the group; "stalled": lag but no commit for a while. */
export type GroupState = "consuming" | "stalled" | "no members";

export interface GroupRowView {
  group: string;
  state: GroupState;
  members: { clientId: string; model: string; lastHeartbeat: number; topics: string[] }[];
  /** Per queue the group has committed on: [topic, queueId, committed offset, max offset, lag]. */
  queues: [string, number, number, number, number][];
  lag: number;
  /** Committed offsets summed: their growth over time is the group's consume rate. */
  committed: number;
  /** When a committed offset last moved (as far as the broker watched), 0 when not seen. */
  lastCommitAt: number;
  /** Messages in the group's %RETRY% and %DLQ% topics. */
  retry: number;
  dlq: number;
}
