// One queue of one topic: its offsets, permission and the long-poll pulls it holds.
// Bodies never come here: the actor learns of appends as one APPENDED per batch, and a held
// pull is plain data naming the session and request; releasing it is an injected effect.
import { assertEvent, assign, enqueueActions, setup } from "xstate";
import { lockHolder, type OrderLocks, releaseLeft, tryLock, unlock } from "./order-lock.ts";

/** A pull the queue holds until a message arrives or its deadline passes. */
export interface Hold {
  /** The session that asked (runtime/session.ts): the answer goes there, if it is still open. */
  sessionId: string;
  reqId: number | string;
  offset: number;
  maxCount: number;
  maxBytes: number;
  expression: string;
  /** Absolute time (ms): XState does not persist timers, so due times live in context. */
  deadline: number;
}

export interface QueueDeps {
  now(): number;
  /** Answer these held pulls: "wake" when messages arrived, "timeout" when their time is up. */
  releaseHolds(topic: string, queueId: number, holds: Hold[], reason: "wake" | "timeout"): void;
}

export interface QueueContext {
  topic: string;
  queueId: number;
  perm: number;
  minOffset: number;
  maxOffset: number;
  lastStoreTimestamp: number;
  holds: Hold[];
  /** Order locks by consumer group (lockQueues); absent in snapshots taken before they existed. */
  locks?: OrderLocks;
}

export type QueueEvent =
  | { type: "APPENDED"; maxOffset: number; lastStoreTimestamp: number }
  | { type: "TRUNCATED"; minOffset: number }
  | { type: "PULL"; hold: Hold }
  | { type: "SET_PERM"; perm: number }
  /**
   * `members`: the group's members now, so a lock held by one that left is free. `reply` is told
   * whether `clientId` holds the lock once the queue has decided.
   */
  | { type: "LOCK"; group: string; clientId: string; members: string[]; now: number; expiresAt: number; reply?: (locked: boolean) => void }
  /** `reply` is told whether `clientId` held the lock (and so freed it). */
  | { type: "UNLOCK"; group: string; clientId: string; reply?: (unlocked: boolean) => void }
  /** The group's membership changed: a lock held by a member not in `members` is freed. */
  | { type: "RELEASE_LEFT"; group: string; members: string[] }
  | { type: "REARM" };

export type QueueInput = Pick<QueueContext, "topic" | "queueId" | "perm"> & Partial<QueueContext>;

export function createQueueMachine(deps: QueueDeps) {
  return setup({
    types: {} as { context: QueueContext; events: QueueEvent; input: QueueInput },
    guards: {
      noHolds: ({ context }) => context.holds.length === 0,
      hasHolds: ({ context }) => context.holds.length > 0,
    },
    delays: {
      // Re-armed from the absolute deadlines every time the state is entered.
      nextDeadline: ({ context }) =>
        context.holds.length === 0 ? 0 : Math.max(0, Math.min(...context.holds.map((h) => h.deadline)) - deps.now()),
    },
    actions: {
      // Before `recordAppend`, on the context it is about to change: the holds the append
      // reaches are answered (the effect), and `recordAppend` drops the same ones.
      wakeHolds: ({ context, event }) => {
        assertEvent(event, "APPENDED");
        const maxOffset = Math.max(context.maxOffset, event.maxOffset);
        const woken = context.holds.filter((h) => h.offset < maxOffset);
        if (woken.length > 0) deps.releaseHolds(context.topic, context.queueId, woken, "wake");
      },
      recordAppend: assign(({ context, event }) => {
        assertEvent(event, "APPENDED");
        const maxOffset = Math.max(context.maxOffset, event.maxOffset);
        if (context.holds.length === 0) return { maxOffset, lastStoreTimestamp: event.lastStoreTimestamp };
        return { maxOffset, lastStoreTimestamp: event.lastStoreTimestamp, holds: context.holds.filter((h) => h.offset >= maxOffset) };
      }),
      addHold: assign({
        holds: ({ context, event }) => {
          assertEvent(event, "PULL");
          return [...context.holds, event.hold];
        },
      }),
      lock: assign(({ context, event }) => {
        assertEvent(event, "LOCK");
        const locks = tryLock(context.locks ?? {}, event.group, event.clientId, event.members, event.now, event.expiresAt);
        return locks ? { locks } : {};
      }),
      // After `lock`: the context says who holds it now.
      answerLock: ({ context, event }) => {
        assertEvent(event, "LOCK");
        event.reply?.(lockHolder(context.locks, event.group, event.now) === event.clientId);
      },
      // Before `unlock`: the context says whether this client held it.
      answerUnlock: ({ context, event }) => {
        assertEvent(event, "UNLOCK");
        event.reply?.(context.locks?.[event.group]?.clientId === event.clientId);
      },
      unlock: assign(({ context, event }) => {
        assertEvent(event, "UNLOCK");
        const locks = unlock(context.locks ?? {}, event.group, event.clientId);
        return locks ? { locks } : {};
      }),
      releaseLeft: assign(({ context, event }) => {
        assertEvent(event, "RELEASE_LEFT");
        const locks = releaseLeft(context.locks ?? {}, event.group, event.members);
        return locks ? { locks } : {};
      }),
      releaseHolds: ({ context }, p: { holds: Hold[]; reason: "wake" | "timeout" }) => deps.releaseHolds(context.topic, context.queueId, p.holds, p.reason),
    },
  }).createMachine({
    id: "queue",
    context: ({ input }) => ({
      minOffset: 0,
      maxOffset: 0,
      lastStoreTimestamp: 0,
      locks: {},
      ...input,
      // Held pulls belong to connections of a previous life: never restored.
      holds: [],
    }),
    initial: "idle",
    on: {
      // Most appends reach a queue nobody waits on: only then is there a hold to wake.
      APPENDED: [{ guard: "hasHolds", actions: ["wakeHolds", "recordAppend"] }, { actions: "recordAppend" }],
      TRUNCATED: { actions: assign({ minOffset: ({ event }) => event.minOffset }) },
      SET_PERM: { actions: assign({ perm: ({ event }) => event.perm }) },
      LOCK: { actions: ["lock", "answerLock"] },
      UNLOCK: { actions: ["answerUnlock", "unlock"] },
      RELEASE_LEFT: { actions: "releaseLeft" },
    },
    states: {
      idle: {
        on: { PULL: { target: "holding", actions: "addHold" } },
      },
      holding: {
        always: { guard: "noHolds", target: "idle" },
        after: {
          nextDeadline: {
            target: "holding",
            reenter: true,
            // One reading of the clock decides both what is answered and what is dropped.
            actions: enqueueActions(({ context, enqueue }) => {
              const now = deps.now();
              const expired = context.holds.filter((h) => h.deadline <= now);
              if (expired.length > 0) enqueue({ type: "releaseHolds", params: { holds: expired, reason: "timeout" } });
              enqueue.assign({ holds: context.holds.filter((h) => h.deadline > now) });
            }),
          },
        },
        on: {
          // A new hold may be due sooner than the armed timer: re-enter to re-arm.
          PULL: { target: "holding", reenter: true, actions: "addHold" },
          REARM: { target: "holding", reenter: true },
        },
      },
    },
  });
}
