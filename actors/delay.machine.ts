// One delay level (RocketMQ's ScheduleMessageService, one timer task per level). Its messages
// wait in SCHEDULE_TOPIC_XXXX, queue level-1, in arrival order, which is due order because the
// delay of a level is constant; so the level only ever waits for its queue's head. The actor
// holds where it is in that queue (progress) and when the head is due (dueAt), both plain data:
// reading the queue and re-putting messages is the injected effect deliverDue, run as the
// entry action of `delivering`; its result comes back as the event DELIVERED (the next event
// the actor handles: the effect sends it to the actor itself), and only then moves the context.
//
// XState does not persist pending `after` timers (statelyai/xstate#5331), and a restored actor
// runs no entry actions, so nothing re-arms by itself: after a restore the root sends REARM
// (re-enter, so the timer is computed again from dueAt), and after every start the broker sends
// CONFIGURE, which delivers what fell due while the broker was down and re-arms as well.
import { assertEvent, assign, setup } from "xstate";

export interface DelayContext {
  level: number;
  /** This level's delay; 0 for a retired level (no longer configured) that only drains its queue. */
  delayMs: number;
  /** The next logical offset of the level's schedule queue to deliver. */
  progress: number;
  /** When the head of the queue is due (ms since the epoch); 0 when the queue is drained. */
  dueAt: number;
}

export interface DelayDeps {
  now(): number;
  /**
   * Re-puts every message of the level's schedule queue, from `progress`, that is due now into
   * its real topic. Returns the new progress and the due time of the first message not yet due
   * (0 if none; a time not after now when it stopped early and more are due).
   */
  deliverDue(level: number, progress: number): { progress: number; dueAt: number };
}

export type DelayEvent =
  /** The level's schedule queue grew (forwarded by the root from APPEND_BATCH). */
  | { type: "APPENDED"; maxOffset: number; lastStoreTimestamp: number }
  /** Deliver what is due now (the timer does this; anyone may ask). */
  | { type: "DUE" }
  /**
   * Sent after every start: the configured delay, and the progress the CommitLog recorded when
   * it is more trustworthy than the snapshot's. Delivers what is due and re-arms the timer.
   */
  | { type: "CONFIGURE"; delayMs?: number; progress?: number }
  /** A re-put batch could not be stored: deliver again from `progress`, after `retryAt`. */
  | { type: "REWIND"; progress: number; retryAt: number }
  /** What deliverDue did: where it got to and when the next message is due (0: drained). */
  | { type: "DELIVERED"; progress: number; dueAt: number }
  /** After a restore: re-arm the timer from dueAt. */
  | { type: "REARM" }
  /** A question (the retention pass): `reply` is told the level and its progress. */
  | { type: "PROGRESS"; reply: (level: number, progress: number) => void };

export type DelayInput = Pick<DelayContext, "level" | "delayMs"> & Partial<DelayContext>;

export const delayActorId = (level: number) => `delay:${level}`;

export function createDelayMachine(deps: DelayDeps) {
  return setup({
    types: {} as { context: DelayContext; events: DelayEvent; input: DelayInput },
    guards: {
      waiting: ({ context }) => context.dueAt > 0,
      headDue: ({ context }) => context.dueAt <= deps.now(),
    },
    delays: {
      // Computed from the absolute due time whenever `waiting` is entered, so re-entering re-arms.
      untilDue: ({ context }) => Math.max(0, context.dueAt - deps.now()),
    },
    actions: {
      // The effect; its result is the next event this actor handles.
      deliver: ({ context, self }) => self.send({ type: "DELIVERED", ...deps.deliverDue(context.level, context.progress) }),
      delivered: assign(({ event }) => {
        assertEvent(event, "DELIVERED");
        return { progress: event.progress, dueAt: event.dueAt };
      }),
      configure: assign(({ context, event }) => {
        assertEvent(event, "CONFIGURE");
        return { delayMs: event.delayMs ?? context.delayMs, progress: event.progress ?? context.progress };
      }),
      rewind: assign(({ context, event }) => {
        assertEvent(event, "REWIND");
        return { progress: Math.min(context.progress, event.progress), dueAt: event.retryAt };
      }),
    },
  }).createMachine({
    id: "delay",
    context: ({ input }) => ({ level: input.level, delayMs: input.delayMs, progress: input.progress ?? 0, dueAt: input.dueAt ?? 0 }),
    initial: "check",
    on: {
      CONFIGURE: { target: ".delivering", actions: "configure" },
      DUE: { target: ".delivering" },
      REWIND: { target: ".check", actions: "rewind" },
      REARM: { target: ".check" },
      DELIVERED: { target: ".check", actions: "delivered" },
      PROGRESS: { actions: ({ context, event }) => event.reply(context.level, context.progress) },
    },
    states: {
      /** Transient: waiting when there is a head to wait for, idle when the queue is drained. */
      check: {
        always: [{ guard: "waiting", target: "waiting" }, { target: "idle" }],
      },
      idle: {
        on: { APPENDED: { target: "delivering" } },
      },
      waiting: {
        after: { untilDue: { target: "delivering" } },
        on: { APPENDED: { guard: "headDue", target: "delivering" } },
      },
      /** Re-putting what is due; DELIVERED (sent by the effect) comes next and moves on. */
      delivering: {
        entry: "deliver",
      },
    },
  });
}
