// One consumer group that consumes by POP (RocketMQ 5's model, which the v5 clients and
// ActorMQ's SimpleConsumer use): the broker picks the queue, hands messages out with a receipt
// handle and hides them until they are acked or their invisibility ends.
//
// What a POP group needs beyond its consumer-group actor (which keeps the committed offsets,
// here the next offset to pop of each queue) is held here, as plain data, and only here (the
// POP service asks for it with VIEW and changes it with FIFO_SET):
//   - `waiters`: receives with nothing to return yet (long polling): who waits, on which topic,
//     until when. Woken by WAKE when messages reach the topic, or when a FIFO batch becomes
//     visible again; answered as "timeout" at their deadline. Never restored (their callers are
//     gone after a restart).
//   - `fifo`: per queue of a FIFO (orderly) group, the batch in flight: a queue's next messages
//     are handed out only once every message of the batch is acked, so a message group's next
//     message never overtakes the one before it. A batch whose invisibility ended is `visible`
//     again: its unacked messages go out again, in order, with their attempt one higher.
// Invisibility deadlines are not here: each handed-out message has a check-point record on the
// persistent timing wheel (runtime/services/pop-service.ts), which survives a restart.
import { assertEvent, assign, enqueueActions, setup } from "xstate";

export interface PopWaiter {
  /** The service's key for the caller (a request of a session). */
  key: string;
  topic: string;
  /** Absolute time (ms): XState does not persist timers, so due times live in context. */
  deadline: number;
}

export interface FifoBatch {
  /** The first offset of the batch: the group's committed offset until the batch is done. */
  from: number;
  /** One past its last offset. */
  end: number;
  /** The offsets handed out (others in from..end did not match the subscription). */
  offsets: number[];
  /** Offsets of the batch already acked (or dead-lettered). */
  acked: number[];
  /** The delivery attempt the batch was last handed out with (1 = first). */
  attempt: number;
  /** Its invisibility ended with messages unacked: they may be handed out again. */
  visible: boolean;
}

export interface PopContext {
  group: string;
  /** "topic:queueId" -> the FIFO batch in flight. */
  fifo: Record<string, FifoBatch>;
  waiters: PopWaiter[];
}

export interface PopDeps {
  now(): number;
  /** Answer these waiters: "wake" when something may be there for them, "timeout" at their deadline. */
  popWaitersDue(group: string, waiters: PopWaiter[], reason: "wake" | "timeout"): void;
}

export type PopEvent =
  | { type: "WAIT"; waiter: PopWaiter }
  | { type: "UNWAIT"; key: string }
  /** Messages reached these topics (or a FIFO batch of theirs became visible). */
  | { type: "WAKE"; topics: string[] }
  /** Sets (or, with null, clears) FIFO batches, by "topic:queueId". */
  | { type: "FIFO_SET"; batches: [key: string, batch: FifoBatch | null][] }
  /** A question: `reply` is told the FIFO batches in flight (the actor answers for itself). */
  | { type: "VIEW"; reply: (fifo: Record<string, FifoBatch>) => void }
  | { type: "REARM" };

export const popActorId = (group: string) => `pop:${group}`;

export function createPopMachine(deps: PopDeps) {
  return setup({
    types: {} as { context: PopContext; events: PopEvent; input: { group: string } & Partial<PopContext> },
    guards: {
      noWaiters: ({ context }) => context.waiters.length === 0,
    },
    delays: {
      // Re-armed from the absolute deadlines every time the state is entered.
      nextDeadline: ({ context }) =>
        context.waiters.length === 0 ? 0 : Math.max(0, Math.min(...context.waiters.map((w) => w.deadline)) - deps.now()),
    },
    actions: {
      addWaiter: assign({
        waiters: ({ context, event }) => {
          assertEvent(event, "WAIT");
          return [...context.waiters, event.waiter];
        },
      }),
      removeWaiter: assign({
        waiters: ({ context, event }) => {
          assertEvent(event, "UNWAIT");
          return context.waiters.filter((w) => w.key !== event.key);
        },
      }),
      wake: enqueueActions(({ context, event, enqueue }) => {
        assertEvent(event, "WAKE");
        const topics = new Set(event.topics);
        const woken = context.waiters.filter((w) => topics.has(w.topic));
        if (woken.length === 0) return;
        enqueue.assign({ waiters: context.waiters.filter((w) => !topics.has(w.topic)) });
        enqueue(() => deps.popWaitersDue(context.group, woken, "wake"));
      }),
      expire: enqueueActions(({ context, enqueue }) => {
        const now = deps.now();
        const expired = context.waiters.filter((w) => w.deadline <= now);
        if (expired.length === 0) return;
        enqueue.assign({ waiters: context.waiters.filter((w) => w.deadline > now) });
        enqueue(() => deps.popWaitersDue(context.group, expired, "timeout"));
      }),
      answer: ({ context, event }) => {
        assertEvent(event, "VIEW");
        event.reply(context.fifo);
      },
      setFifo: assign({
        fifo: ({ context, event }) => {
          assertEvent(event, "FIFO_SET");
          const next = { ...context.fifo };
          for (const [key, batch] of event.batches) {
            if (batch) next[key] = batch;
            else delete next[key];
          }
          return next;
        },
      }),
    },
  }).createMachine({
    id: "pop",
    context: ({ input }) => ({
      fifo: {},
      ...input,
      // Waiting receives belong to callers of a previous life: never restored.
      waiters: [],
    }),
    initial: "idle",
    on: {
      FIFO_SET: { actions: "setFifo" },
      VIEW: { actions: "answer" },
      UNWAIT: { actions: "removeWaiter" },
      WAKE: { actions: "wake" },
    },
    states: {
      idle: {
        on: { WAIT: { target: "waiting", actions: "addWaiter" } },
      },
      waiting: {
        always: { guard: "noWaiters", target: "idle" },
        after: { nextDeadline: { target: "waiting", reenter: true, actions: "expire" } },
        on: {
          // A new waiter may be due sooner than the armed timer: re-enter to re-arm.
          WAIT: { target: "waiting", reenter: true, actions: "addWaiter" },
          REARM: { target: "waiting", reenter: true },
        },
      },
    },
  });
}
