// The name server (RocketMQ's NameSrv RouteInfoManager): a table of brokers, each with its
// address, its topics (queue count and permission) and its last registration. Brokers register
// on start, on every topic change and every 30 s; one silent for `brokerExpiryMs` is dropped.
// Expiry is an absolute time kept in context (`expiresAt`), so a snapshot or a restart re-arms
// it from the data alone (XState does not persist timers). Those who ask send VIEW with a `reply`
// the actor calls with its table, and read it through the pure functions below; what a change
// did (a new or moved broker, one dropped) it tells through its injected deps. It never does I/O.
import { assertEvent, assign, enqueueActions, setup } from "xstate";

export interface NamesrvTopic {
  queues: number;
  perm: number;
}

export interface BrokerEntry {
  brokerName: string;
  /** The broker's WebSocket URL as it advertises it. */
  address: string;
  topics: Record<string, NamesrvTopic>;
  /** When it last registered (the name server's clock). */
  lastUpdate: number;
  /** When it is dropped unless it registers again: lastUpdate + brokerExpiryMs. */
  expiresAt: number;
  /** Queues of a topic it creates on a first send (RocketMQ's autoCreateTopicEnable); absent: it creates none. */
  autoCreateQueues?: number;
  /** Its gRPC endpoint for RocketMQ 5 clients ("host:port"), when it serves one. */
  grpcAddress?: string;
  /**
   * A member of a replicated group (docs/REPLICATION.md): its id in the group named brokerName,
   * its role and its master epoch. The group's route is its master's (the newest epoch's), or,
   * with no master registered, a slave's, read-only (RocketMQ's slaveReadEnable).
   */
  brokerId?: number;
  role?: "master" | "slave";
  epoch?: number;
}

export interface NamesrvContext {
  brokers: Record<string, BrokerEntry>;
}

export interface NamesrvDeps {
  now(): number;
  /** A broker silent this long leaves every route (RocketMQ: 120 s). */
  brokerExpiryMs: number;
  /** Told when a broker was dropped for silence (for the log). */
  brokerExpired?(brokerName: string, address: string): void;
  /** Told when a registration is new or moved (another address, or a group member's new role or epoch), not on a refresh (for the log). */
  brokerRegistered?(entry: BrokerEntry): void;
  /** Told when a group member was dropped because its registration connection closed (for the log). */
  brokerDisconnected?(entry: BrokerEntry): void;
}

export type NamesrvEvent =
  | { type: "REGISTER_BROKER"; brokerName: string; address: string; topics: Record<string, NamesrvTopic>; autoCreateQueues?: number; grpcAddress?: string; brokerId?: number; role?: "master" | "slave"; epoch?: number }
  /**
   * Registration connections closed, with the keys registered on them: each that is a replicated
   * group's member leaves the routes at once (RocketMQ's BrokerHousekeepingService); a broker alone waits for its expiry.
   */
  | { type: "CONNECTION_CLOSED"; keys: string[] }
  /** What the table holds, for those who ask (routes, clusterList, the forwarding ops). */
  | { type: "VIEW"; reply: (view: NamesrvContext) => void }
  /** A topic was created on a broker through the name server: visible before the broker's own registration arrives. */
  | { type: "TOPIC_CREATED"; brokerName: string; topic: string; queues: number; perm: number }
  /** A topic was deleted on a broker through the name server: out of its routes before the broker's next registration. */
  | { type: "TOPIC_DELETED"; brokerName: string; topic: string }
  | { type: "REARM" };

export function createNamesrvMachine(deps: NamesrvDeps) {
  return setup({
    types: {} as { context: NamesrvContext; events: NamesrvEvent; input: Partial<NamesrvContext> | undefined },
    guards: {
      hasBrokers: ({ context }) => Object.keys(context.brokers).length > 0,
      noBrokers: ({ context }) => Object.keys(context.brokers).length === 0,
    },
    delays: {
      untilExpiry: ({ context }) => {
        const first = Math.min(...Object.values(context.brokers).map((b) => b.expiresAt));
        return Number.isFinite(first) ? Math.max(0, first - deps.now()) : 0;
      },
    },
    actions: {
      register: enqueueActions(({ context, event, enqueue }) => {
        assertEvent(event, "REGISTER_BROKER");
        const now = deps.now();
        const entry: BrokerEntry = { brokerName: event.brokerName, address: event.address, topics: event.topics, lastUpdate: now, expiresAt: now + deps.brokerExpiryMs };
        if (event.autoCreateQueues !== undefined) entry.autoCreateQueues = event.autoCreateQueues;
        if (event.grpcAddress !== undefined) entry.grpcAddress = event.grpcAddress;
        if (event.brokerId !== undefined) Object.assign(entry, { brokerId: event.brokerId, role: event.role ?? "slave", epoch: event.epoch ?? 0 });
        const key = memberKey(event.brokerName, event.brokerId);
        const known = context.brokers[key];
        enqueue.assign({ brokers: { ...context.brokers, [key]: entry } });
        if (!known || known.address !== entry.address || known.role !== entry.role || known.epoch !== entry.epoch) enqueue(() => deps.brokerRegistered?.(entry));
      }),
      topicCreated: assign(({ context, event }) => {
        assertEvent(event, "TOPIC_CREATED");
        const key = Object.keys(context.brokers).find((k) => context.brokers[k].brokerName === event.brokerName && context.brokers[k].role !== "slave");
        if (key === undefined) return {};
        const b = context.brokers[key];
        const topics = { ...b.topics, [event.topic]: { queues: event.queues, perm: event.perm } };
        return { brokers: { ...context.brokers, [key]: { ...b, topics } } };
      }),
      topicDeleted: assign(({ context, event }) => {
        assertEvent(event, "TOPIC_DELETED");
        const key = Object.keys(context.brokers).find((k) => context.brokers[k].brokerName === event.brokerName && context.brokers[k].role !== "slave");
        if (key === undefined || !context.brokers[key].topics[event.topic]) return {};
        const b = context.brokers[key];
        const { [event.topic]: _, ...topics } = b.topics;
        return { brokers: { ...context.brokers, [key]: { ...b, topics } } };
      }),
      connectionClosed: enqueueActions(({ context, event, enqueue }) => {
        assertEvent(event, "CONNECTION_CLOSED");
        const gone = event.keys.filter((k) => Object.hasOwn(context.brokers, k) && context.brokers[k].brokerId !== undefined);
        if (gone.length === 0) return;
        enqueue.assign({ brokers: Object.fromEntries(Object.entries(context.brokers).filter(([k]) => !gone.includes(k))) });
        for (const k of gone) {
          const b = context.brokers[k];
          enqueue(() => deps.brokerDisconnected?.(b));
        }
      }),
      answer: ({ context, event }) => {
        assertEvent(event, "VIEW");
        event.reply(context);
      },
      brokerExpired: (_, p: { brokerName: string; address: string }) => deps.brokerExpired?.(p.brokerName, p.address),
    },
  }).createMachine({
    id: "namesrv",
    context: ({ input }) => ({ brokers: {}, ...input }),
    initial: "idle",
    on: {
      REGISTER_BROKER: { target: ".active", actions: "register" },
      TOPIC_CREATED: { actions: "topicCreated" },
      TOPIC_DELETED: { actions: "topicDeleted" },
      CONNECTION_CLOSED: { actions: "connectionClosed" },
      VIEW: { actions: "answer" },
    },
    states: {
      idle: {
        always: { guard: "hasBrokers", target: "active" },
      },
      active: {
        always: { guard: "noBrokers", target: "idle" },
        // Re-entered on every registration, so the delay is recomputed from the new expiresAt.
        after: {
          untilExpiry: {
            target: "active",
            reenter: true,
            actions: enqueueActions(({ context, enqueue }) => {
              const now = deps.now();
              const gone = Object.values(context.brokers).filter((b) => b.expiresAt <= now);
              if (gone.length === 0) return;
              enqueue.assign({ brokers: Object.fromEntries(Object.entries(context.brokers).filter(([, b]) => b.expiresAt > now)) });
              for (const b of gone) enqueue({ type: "brokerExpired", params: { brokerName: b.brokerName, address: b.address } });
            }),
          },
        },
        on: {
          REARM: { target: "active", reenter: true },
        },
      },
    },
  });
}

/** One broker's part of a topic's route. */
export interface RouteBroker {
  name: string;
  address: string;
  queues: number;
  perm: number;
  /** Its gRPC endpoint ("host:port"), when it serves one: RocketMQ 5 clients are routed there. */
  grpcAddress?: string;
  /** A replicated group's live members, broker id -> address (RocketMQ's BrokerData.brokerAddrs): where a pull answer's suggestWhichBrokerId points. */
  brokerAddrs?: Record<string, string>;
}

const grpcOf = (b: BrokerEntry) => (b.grpcAddress ? { grpcAddress: b.grpcAddress } : {});

type ServingBroker = BrokerEntry & { readOnly?: boolean; brokerAddrs?: Record<string, string> };

/** The table key of a broker: its name, or name#id for a replicated group's member. */
export function memberKey(brokerName: string, brokerId?: number): string {
  return brokerId === undefined ? brokerName : `${brokerName}#${brokerId}`;
}

/**
 * Each group's entry that serves it: a broker alone, or a group's master (of the newest epoch if
 * a deposed one is still registered); a group with no master registered is served by a slave
 * (the newest epoch's, then the lowest id) for reads only. A group's entry lists its live
 * members' addresses (brokerAddrs). Sorted by name.
 */
export function servingBrokers(context: NamesrvContext, now: number): ServingBroker[] {
  const groups = new Map<string, BrokerEntry[]>();
  for (const b of liveBrokers(context, now)) {
    const list = groups.get(b.brokerName);
    if (list) list.push(b);
    else groups.set(b.brokerName, [b]);
  }
  const out: ServingBroker[] = [];
  for (const members of groups.values()) {
    const best = (list: BrokerEntry[]) => list.sort((a, b) => (b.epoch ?? 0) - (a.epoch ?? 0) || (a.brokerId ?? 0) - (b.brokerId ?? 0))[0];
    const master = best(members.filter((b) => b.role !== "slave"));
    const serving = master ?? best(members);
    if (serving.brokerId === undefined) out.push(serving); // a broker alone
    else out.push({ ...serving, ...(master ? {} : { readOnly: true }), brokerAddrs: Object.fromEntries(members.map((m) => [String(m.brokerId), m.address])) });
  }
  return out;
}

/**
 * The route a producer may use for a topic no broker holds yet (RocketMQ's TBW102 route): every
 * live broker that creates topics on a first send, with the queue count it would create.
 */
export function autoCreateRoute(context: NamesrvContext, now: number): RouteBroker[] {
  return servingBrokers(context, now)
    .filter((b) => b.autoCreateQueues !== undefined && !b.readOnly)
    .map((b) => ({ name: b.brokerName, address: b.address, queues: b.autoCreateQueues!, perm: 6, ...grpcOf(b) }));
}

/** Brokers still within their expiry, sorted by name (and a group's members by id). */
export function liveBrokers(context: NamesrvContext, now: number): BrokerEntry[] {
  return Object.values(context.brokers)
    .filter((b) => b.expiresAt > now)
    .sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : (a.brokerId ?? 0) - (b.brokerId ?? 0)));
}

/** The brokers holding a topic, with its queue count and permission on each; [] when none does. */
export function topicRoute(context: NamesrvContext, topic: string, now: number): RouteBroker[] {
  const out: RouteBroker[] = [];
  for (const b of servingBrokers(context, now)) {
    const t = Object.hasOwn(b.topics, topic) ? b.topics[topic] : undefined;
    // A slave standing in for its group's lost master is read, never written (PERM_READ = 4).
    if (t) out.push({ name: b.brokerName, address: b.address, queues: t.queues, perm: b.readOnly ? t.perm & 4 : t.perm, ...grpcOf(b), ...(b.brokerAddrs ? { brokerAddrs: b.brokerAddrs } : {}) });
  }
  return out;
}
