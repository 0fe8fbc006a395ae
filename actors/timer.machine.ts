// The timer (RocketMQ 5's TimerMessageStore, as an actor): delivery at any time. Pending timers
// live on disk in the timing wheel (storage/timer-wheel.ts); the actor holds where the wheel
// stands, as plain data: the cursor (the last second whose timers were all delivered) and when
// it must next run (nextAt: the next timer to fire, or the next second to load). Loading a
// second's entries into the in-memory heap, firing them and re-putting messages is the injected
// effect `tick`, which keeps the heap outside the context (it is neither CBOR-safe nor small).
//
// XState does not persist pending `after` timers (statelyai/xstate#5331): after a restore the
// root sends REARM, which re-enters `waiting` and so computes the delay again from nextAt; after
// every start the broker sends START, which runs a tick at once (seconds that passed while the
// broker was down are delivered promptly).
import { assign, setup } from "xstate";

export interface TimerContext {
  /** The last second (ms / 1000, floored) whose timers were all delivered. */
  cursor: number;
  /** When to run next, ms since the epoch. */
  nextAt: number;
}

export interface TimerDeps {
  now(): number;
  /** Loads the seconds now due into the heap, fires what is due, and says where things stand. */
  timerTick(): TimerContext;
}

export type TimerEvent =
  /** Run now: a timer earlier than nextAt was scheduled, or a re-put failed and must be retried. */
  | { type: "TICK" }
  /** Sent after every start, with the cursor the wheel recorded. */
  | { type: "START"; cursor: number }
  /** After a restore: re-arm from nextAt. */
  | { type: "REARM" };

export const TIMER_ACTOR_ID = "timer";

export function createTimerMachine(deps: TimerDeps) {
  return setup({
    types: {} as { context: TimerContext; events: TimerEvent; input: Partial<TimerContext> },
    delays: {
      untilNext: ({ context }) => Math.max(0, context.nextAt - deps.now()),
    },
    actions: {
      tick: assign(() => deps.timerTick()),
      start: assign(({ event }) => ({ cursor: (event as Extract<TimerEvent, { type: "START" }>).cursor })),
    },
  }).createMachine({
    id: "timer",
    context: ({ input }) => ({ cursor: input.cursor ?? -1, nextAt: input.nextAt ?? deps.now() }),
    initial: "waiting",
    on: {
      START: { target: ".waiting", reenter: true, actions: ["start", "tick"] },
      TICK: { target: ".waiting", reenter: true, actions: "tick" },
      REARM: { target: ".waiting", reenter: true },
    },
    states: {
      waiting: {
        after: { untilNext: { target: "waiting", reenter: true, actions: "tick" } },
      },
    },
  });
}
