// One consumer group: its members (client id, model, subscriptions, last heartbeat) and its
// committed offsets per queue. Commits reach it only after they are recorded in the CommitLog,
// so replaying RMQ_SYS_CONSUMER_OFFSETS from a snapshot's offset rebuilds the offsets exactly.
// Member expiry is an absolute time derived from the heartbeats in context, so a restored
// group re-arms it (XState does not persist timers).
import { assign, enqueueActions, setup } from "xstate";

/** "pop": a POP consumer (RocketMQ 5 clients, SimpleConsumer): a member that takes no queues of its own. */
export type ConsumeModel = "clustering" | "broadcasting" | "pop";

export interface Member {
  model: ConsumeModel;
  /** topic -> subscription expression */
  subscriptions: Record<string, string>;
  lastHeartbeat: number;
}

export interface GroupContext {
  group: string;
  members: Record<string, Member>;
  /** "topic:queueId" -> the next offset the group will consume. */
  offsets: Record<string, number>;
}

export interface GroupDeps {
  now(): number;
  /** A member silent this long is removed (RocketMQ: 120 s). */
  memberExpiryMs: number;
  /**
   * Membership changed: tell every member to rebalance now rather than at its 20 s timer, and
   * free the order locks departed members held on the queues of `topics` (what the members
   * before the change subscribed to).
   */
  membersChanged(group: string, clientIds: string[], topics: string[]): void;
}

export type GroupEvent =
  | { type: "HEARTBEAT"; clientId: string; model: ConsumeModel; subscriptions: Record<string, string> }
  | { type: "UNREGISTER"; clientId: string }
  | { type: "COMMIT_OFFSET"; topic: string; queueId: number; offset: number }
  | { type: "RESET_OFFSET"; topic: string; offsets: Record<number, number> }
  | { type: "REARM" };

export const offsetKey = (topic: string, queueId: number) => `${topic}:${queueId}`;

export function createGroupMachine(deps: GroupDeps) {
  const changed = (context: GroupContext, members: Record<string, Member>) =>
    deps.membersChanged(context.group, Object.keys(members).sort(), subscribedTopics(context.members));
  return setup({
    types: {} as { context: GroupContext; events: GroupEvent; input: { group: string } & Partial<GroupContext> },
    guards: {
      hasMembers: ({ context }) => Object.keys(context.members).length > 0,
    },
    delays: {
      untilExpiry: ({ context }) => {
        const oldest = Math.min(...Object.values(context.members).map((m) => m.lastHeartbeat));
        return Number.isFinite(oldest) ? Math.max(0, oldest + deps.memberExpiryMs - deps.now()) : 0;
      },
    },
    actions: {
      heartbeat: enqueueActions(({ context, event, enqueue }) => {
        const e = event as Extract<GroupEvent, { type: "HEARTBEAT" }>;
        const before = context.members[e.clientId];
        const member: Member = { model: e.model, subscriptions: e.subscriptions, lastHeartbeat: deps.now() };
        const members = { ...context.members, [e.clientId]: member };
        enqueue.assign({ members });
        // A new member, or one whose subscriptions changed, changes everyone's allocation.
        if (!before || JSON.stringify(before.subscriptions) !== JSON.stringify(e.subscriptions)) enqueue(() => changed(context, members));
      }),
      unregister: enqueueActions(({ context, event, enqueue }) => {
        const id = (event as Extract<GroupEvent, { type: "UNREGISTER" }>).clientId;
        if (!context.members[id]) return;
        const { [id]: _, ...members } = context.members;
        enqueue.assign({ members });
        enqueue(() => changed(context, members));
      }),
      expire: enqueueActions(({ context, enqueue }) => {
        const cutoff = deps.now() - deps.memberExpiryMs;
        const members = Object.fromEntries(Object.entries(context.members).filter(([, m]) => m.lastHeartbeat > cutoff));
        if (Object.keys(members).length === Object.keys(context.members).length) return;
        enqueue.assign({ members });
        enqueue(() => changed(context, members));
      }),
      commit: assign({
        offsets: ({ context, event }) => {
          const e = event as Extract<GroupEvent, { type: "COMMIT_OFFSET" }>;
          return { ...context.offsets, [offsetKey(e.topic, e.queueId)]: e.offset };
        },
      }),
      reset: assign({
        offsets: ({ context, event }) => {
          const e = event as Extract<GroupEvent, { type: "RESET_OFFSET" }>;
          const next = { ...context.offsets };
          for (const [q, o] of Object.entries(e.offsets)) next[offsetKey(e.topic, Number(q))] = o;
          return next;
        },
      }),
    },
  }).createMachine({
    id: "group",
    context: ({ input }) => ({ members: {}, offsets: {}, ...input }),
    initial: "idle",
    on: {
      COMMIT_OFFSET: { actions: "commit" },
      RESET_OFFSET: { actions: "reset" },
      HEARTBEAT: { target: ".active", actions: "heartbeat" },
    },
    states: {
      idle: {
        always: { guard: "hasMembers", target: "active" },
      },
      active: {
        always: { guard: ({ context }) => Object.keys(context.members).length === 0, target: "idle" },
        after: { untilExpiry: { target: "active", reenter: true, actions: "expire" } },
        on: {
          UNREGISTER: { actions: "unregister" },
          REARM: { target: "active", reenter: true },
        },
      },
    },
  });
}

/** Every topic some member subscribes to. */
function subscribedTopics(members: Record<string, Member>): string[] {
  const topics = new Set<string>();
  for (const m of Object.values(members)) for (const t of Object.keys(m.subscriptions)) topics.add(t);
  return [...topics];
}
