// One consumer group: its members (client id, model, subscriptions, last heartbeat) and its
// committed offsets per queue. Commits reach it only after they are recorded in the CommitLog,
// so replaying RMQ_SYS_CONSUMER_OFFSETS from a snapshot's offset rebuilds the offsets exactly.
// Member expiry is an absolute time derived from the heartbeats in context, so a restored
// group re-arms it (XState does not persist timers).
import { assertEvent, assign, enqueueActions, setup } from "xstate";

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

/** What a group tells those who ask (VIEW): its members and committed offsets. */
export type GroupView = Pick<GroupContext, "members" | "offsets">;

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
  /** The topic was deleted: its offsets go (a topic created again with the name starts afresh). */
  | { type: "FORGET_TOPIC"; topic: string }
  /** A question: `reply` is told the members and committed offsets (the actor answers for itself). */
  | { type: "VIEW"; reply: (view: GroupView | undefined) => void }
  | { type: "REARM" };

export const offsetKey = (topic: string, queueId: number) => `${topic}:${queueId}`;

export function createGroupMachine(deps: GroupDeps) {
  /** The effect of a membership change: a named action, with what it needs as its params. */
  const changed = (context: GroupContext, members: Record<string, Member>) => ({
    type: "membersChanged" as const,
    params: { group: context.group, clientIds: Object.keys(members).sort(), topics: subscribedTopics(context.members) },
  });
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
      membersChanged: (_, p: { group: string; clientIds: string[]; topics: string[] }) => deps.membersChanged(p.group, p.clientIds, p.topics),
      commit: assign({
        offsets: ({ context, event }) => {
          assertEvent(event, "COMMIT_OFFSET");
          return { ...context.offsets, [offsetKey(event.topic, event.queueId)]: event.offset };
        },
      }),
      reset: assign({
        offsets: ({ context, event }) => {
          assertEvent(event, "RESET_OFFSET");
          const next = { ...context.offsets };
          for (const [q, o] of Object.entries(event.offsets)) next[offsetKey(event.topic, Number(q))] = o;
          return next;
        },
      }),
      answer: ({ context, event }) => {
        assertEvent(event, "VIEW");
        event.reply({ members: context.members, offsets: context.offsets });
      },
    },
  }).createMachine({
    id: "group",
    context: ({ input }) => ({ members: {}, offsets: {}, ...input }),
    initial: "idle",
    on: {
      COMMIT_OFFSET: { actions: "commit" },
      RESET_OFFSET: { actions: "reset" },
      FORGET_TOPIC: {
        actions: assign({
          offsets: ({ context, event }) => {
            const prefix = offsetKey(event.topic, 0).replace(/0$/, "");
            return Object.fromEntries(Object.entries(context.offsets).filter(([key]) => !key.startsWith(prefix)));
          },
        }),
      },
      VIEW: { actions: "answer" },
      HEARTBEAT: {
        target: ".active",
        actions: enqueueActions(({ context, event, enqueue }) => {
          assertEvent(event, "HEARTBEAT");
          const before = context.members[event.clientId];
          const member: Member = { model: event.model, subscriptions: event.subscriptions, lastHeartbeat: deps.now() };
          const members = { ...context.members, [event.clientId]: member };
          enqueue.assign({ members });
          // A new member, or one whose subscriptions changed, changes everyone's allocation.
          if (!before || JSON.stringify(before.subscriptions) !== JSON.stringify(event.subscriptions)) enqueue(changed(context, members));
        }),
      },
    },
    states: {
      idle: {
        always: { guard: "hasMembers", target: "active" },
      },
      active: {
        always: { guard: ({ context }) => Object.keys(context.members).length === 0, target: "idle" },
        after: {
          untilExpiry: {
            target: "active",
            reenter: true,
            actions: enqueueActions(({ context, enqueue }) => {
              const cutoff = deps.now() - deps.memberExpiryMs;
              const members = Object.fromEntries(Object.entries(context.members).filter(([, m]) => m.lastHeartbeat > cutoff));
              if (Object.keys(members).length === Object.keys(context.members).length) return;
              enqueue.assign({ members });
              enqueue(changed(context, members));
            }),
          },
        },
        on: {
          UNREGISTER: {
            actions: enqueueActions(({ context, event, enqueue }) => {
              assertEvent(event, "UNREGISTER");
              if (!context.members[event.clientId]) return;
              const { [event.clientId]: _, ...members } = context.members;
              enqueue.assign({ members });
              enqueue(changed(context, members));
            }),
          },
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
