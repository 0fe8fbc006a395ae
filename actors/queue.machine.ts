// One queue of one topic: its offsets, permission and the long-poll pulls it holds.
// Bodies never come here: the actor learns of appends as one APPENDED per batch, and a held
// pull is plain data naming the session and request; releasing it is an injected effect.
import { assign, setup } from "xstate";
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
    },
    delays: {
      // Re-armed from the absolute deadlines every time the state is entered.
      nextDeadline: ({ context }) =>
        context.holds.length === 0 ? 0 : Math.max(0, Math.min(...context.holds.map((h) => h.deadline)) - deps.now()),
    },
    actions: {
      recordAppend: assign(({ context, event }) => {
        const e = event as Extract<QueueEvent, { type: "APPENDED" }>;
        const maxOffset = Math.max(context.maxOffset, e.maxOffset);
        const woken = context.holds.filter((h) => h.offset < maxOffset);
        if (woken.length === 0) return { maxOffset, lastStoreTimestamp: e.lastStoreTimestamp };
        deps.releaseHolds(context.topic, context.queueId, woken, "wake");
        return { maxOffset, lastStoreTimestamp: e.lastStoreTimestamp, holds: context.holds.filter((h) => h.offset >= maxOffset) };
      }),
      addHold: assign({
        holds: ({ context, event }) => [...context.holds, (event as Extract<QueueEvent, { type: "PULL" }>).hold],
      }),
      lock: assign(({ context, event }) => {
        const e = event as Extract<QueueEvent, { type: "LOCK" }>;
        const locks = tryLock(context.locks ?? {}, e.group, e.clientId, e.members, e.now, e.expiresAt);
        return locks ? { locks } : {};
      }),
      // After `lock`: the context says who holds it now.
      answerLock: ({ context, event }) => {
        const e = event as Extract<QueueEvent, { type: "LOCK" }>;
        e.reply?.(lockHolder(context.locks, e.group, e.now) === e.clientId);
      },
      // Before `unlock`: the context says whether this client held it.
      answerUnlock: ({ context, event }) => {
        const e = event as Extract<QueueEvent, { type: "UNLOCK" }>;
        e.reply?.(context.locks?.[e.group]?.clientId === e.clientId);
      },
      unlock: assign(({ context, event }) => {
        const e = event as Extract<QueueEvent, { type: "UNLOCK" }>;
        const locks = unlock(context.locks ?? {}, e.group, e.clientId);
        return locks ? { locks } : {};
      }),
      releaseLeft: assign(({ context, event }) => {
        const e = event as Extract<QueueEvent, { type: "RELEASE_LEFT" }>;
        const locks = releaseLeft(context.locks ?? {}, e.group, e.members);
        return locks ? { locks } : {};
      }),
      expireHolds: assign(({ context }) => {
        const now = deps.now();
        const expired = context.holds.filter((h) => h.deadline <= now);
        if (expired.length) deps.releaseHolds(context.topic, context.queueId, expired, "timeout");
        return { holds: context.holds.filter((h) => h.deadline > now) };
      }),
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
      APPENDED: { actions: "recordAppend" },
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
        after: { nextDeadline: { target: "holding", reenter: true, actions: "expireHolds" } },
        on: {
          // A new hold may be due sooner than the armed timer: re-enter to re-arm.
          PULL: { target: "holding", reenter: true, actions: "addHold" },
          REARM: { target: "holding", reenter: true },
        },
      },
    },
  });
}
