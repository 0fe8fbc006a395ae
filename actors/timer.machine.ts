// The timer (RocketMQ 5's TimerMessageStore, as an actor): delivery at any time. Pending timers
// live on disk in the timing wheel (storage/timer-wheel.ts), and the wheel's cursor (the last
// second whose timers were all delivered) is the TimerService's, kept in the wheel file's header.
// The actor holds when the wheel must next run (nextAt: the next timer to fire, or the next
// second to load) and runs it: the injected effect `timerTick` loads the seconds about to start
// into the service's heap, fires what is due and says when to run next, which comes back to the
// actor as the event TICKED.
//
// XState does not persist pending `after` timers (statelyai/xstate#5331): after a restore the
// root sends REARM, which re-enters `waiting` and so computes the delay again from nextAt; after
// every start the broker sends TIMER_START, which runs a tick at once (seconds that passed while
// the broker was down are delivered promptly).
import { assertEvent, assign, setup } from "xstate";

export interface TimerContext {
  /** When to run next, ms since the epoch. */
  nextAt: number;
}

export interface TimerDeps {
  now(): number;
  /** Loads the seconds now due into the heap, fires what is due, and says when to run next. */
  timerTick(): number;
}

export type TimerEvent =
  /** Run now: a timer earlier than nextAt was scheduled, the broker started, or a re-put must be retried. */
  | { type: "TICK" }
  /** What a run said: when to run next. */
  | { type: "TICKED"; nextAt: number }
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
      // The effect; its result is the next event this actor handles.
      tick: ({ self }) => self.send({ type: "TICKED", nextAt: deps.timerTick() }),
      ticked: assign(({ event }) => {
        assertEvent(event, "TICKED");
        return { nextAt: event.nextAt };
      }),
    },
  }).createMachine({
    id: "timer",
    context: ({ input }) => ({ nextAt: input.nextAt ?? deps.now() }),
    initial: "waiting",
    on: {
      TICK: { actions: "tick" },
      TICKED: { target: ".waiting", reenter: true, actions: "ticked" },
      REARM: { target: ".waiting", reenter: true },
    },
    states: {
      waiting: {
        after: { untilNext: { actions: "tick" } },
      },
    },
  });
}
