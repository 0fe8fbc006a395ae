// One in-flight transaction (RocketMQ's half message): `tx:<msgId>`. It holds where its half
// message is stored, its producer group, how many times the producer was asked about it, and
// when it is next due to be asked, all plain data; the effects (re-putting the message, writing
// op records, pushing checkTransaction, arming the check timer) are injected.
//
// pending --END COMMIT--> committed (the message re-put into its topic, an op record)
//         --END ROLLBACK--> rolledBack (an op record)
//         --CHECK_DUE (due)--> checking (n = 1 check) --CHECK_DUE--> checking (n + 1) ...
// checking(maxChecks) --CHECK_DUE--> discarded (moved to TRANS_CHECK_MAX_TIME_TOPIC)
// END UNKNOWN, or an END naming another producer group, is answered and changes nothing.
// An ended transaction sends its parent `txs` TX_FINISHED on entering its ended state, and the
// parent stops it in the same turn, so memory follows the transactions in flight. The ended states are not XState `final` states on purpose: a final
// child makes XState send its parent `xstate.done.actor.<child id>`, an event type new for every
// transaction, and a machine memoizes its transitions per event type, for good: 370 bytes of
// parent heap per transaction ever ended (measured: 154 MB after 400,000), and a slower turn.
//
// The decision's records are appended in the same event-loop turn as the decision (the append
// pipeline flushes right after the I/O phase), before any snapshot can be written, so a
// snapshot without the transaction always comes with its records in the CommitLog. If the
// append fails, the broker begins the transaction again from its context (checked later).
//
// No XState `after` timer here: a stopped actor makes XState scan every scheduled event of the
// system, and a restored one has lost its timers anyway (statelyai/xstate#5331). The due time
// `checkAt` lives in context; the actor hands it to the injected armCheck, whose scheduler sends
// CHECK_DUE. After a restore the broker sends REARM (once the op records are replayed).
import { assertEvent, assign, not, sendParent, setup } from "xstate";

export type TxResolution = "COMMIT" | "ROLLBACK";
/** What was written for a finished transaction; also the op record's `action`. */
export type TxAction = TxResolution | "DISCARD";

/** What endTransaction answers. */
export type EndState = "COMMITTED" | "ROLLED_BACK" | "DISCARDED" | "IN_FLIGHT" | "NOT_IN_FLIGHT";

/**
 * How an END is answered: the state it leaves the transaction in (COMMITTED or ROLLED_BACK once
 * its records are written, with the write's error if they could not be; IN_FLIGHT for UNKNOWN;
 * NOT_IN_FLIGHT when there is no such transaction), or the group it belongs to when END named
 * another.
 */
export type EndOutcome = { state: EndState; error?: unknown } | { belongsTo: string };
export type EndAnswer = (outcome: EndOutcome) => void;

export interface TxContext {
  /** The half message's id: the transaction's id. */
  id: string;
  group: string;
  /** Commit-log offset of the half message. */
  halfOffset: number;
  /** checkTransaction pushes sent so far. */
  checks: number;
  /** When it is next due to be checked (or discarded), ms since the epoch. */
  checkAt: number;
}

export interface TxDeps {
  now(): number;
  /** How often an unresolved transaction is asked about again. */
  checkIntervalMs: number;
  /** After this many unanswered checks the half message is discarded. */
  maxChecks: number;
  /** Call CHECK_DUE on this actor at `at` (ms since the epoch). */
  armCheck(id: string, at: number): void;
  /** Push checkTransaction to a live producer of the group (false: none is connected). */
  checkTransaction(tx: TxContext): boolean;
  /**
   * Append what `action` writes: the re-put (COMMIT) or the parked copy (DISCARD), and the op
   * record; `answer` (the END's) is told once it is written.
   */
  writeEnd(tx: TxContext, action: TxAction, answer?: EndAnswer): void;
  /** An END found no transaction in flight with this id (or one already ended): the broker answers it. */
  notInFlight(id: string, answer: EndAnswer): void;
}

export type TxEvent =
  /** endTransaction: COMMIT or ROLLBACK end it; UNKNOWN only asks. `group` must be its producer group. */
  | { type: "END"; resolution: TxResolution | "UNKNOWN"; group: string; answer: EndAnswer }
  | { type: "CHECK_DUE" }
  /** The restart found this transaction's op record: it ended before the crash; nothing is written. */
  | { type: "ENDED"; action: TxAction }
  /** After a restore (sent once the op records are replayed): arm the check timer again. */
  | { type: "REARM" }
  /** A question (the retention pass): `reply` is told the half message's CommitLog offset. */
  | { type: "HALF"; reply: (halfOffset: number) => void };

export type TxInput = Pick<TxContext, "id" | "group" | "halfOffset" | "checkAt"> & Partial<TxContext>;

/** What a transaction that has ended sends its parent: stop me. */
export interface TxFinished {
  type: "TX_FINISHED";
  id: string;
}

export const txActorId = (id: string) => `tx:${id}`;

/** What an END (COMMIT, ROLLBACK; UNKNOWN decides nothing) or an ENDED (from the op replay) decided. */
function decision(event: TxEvent): string {
  assertEvent(event, ["END", "ENDED"]);
  return event.type === "END" ? event.resolution : event.action;
}

export function createTransactionMachine(deps: TxDeps) {
  return setup({
    types: {} as { context: TxContext; events: TxEvent; input: TxInput },
    guards: {
      due: ({ context }) => context.checkAt <= deps.now(),
      exhausted: ({ context }) => context.checks >= deps.maxChecks,
      otherGroup: ({ context, event }) => {
        assertEvent(event, "END");
        return event.group !== context.group;
      },
      commits: ({ event }) => decision(event) === "COMMIT",
      rollsBack: ({ event }) => decision(event) === "ROLLBACK",
    },
    actions: {
      arm: ({ context }) => deps.armCheck(context.id, context.checkAt),
      // The push (effect) reads the count before `countCheck` moves it.
      pushCheck: ({ context }) => void deps.checkTransaction(context),
      countCheck: assign(({ context }) => ({ checks: context.checks + 1, checkAt: deps.now() + deps.checkIntervalMs })),
      writeDecision: ({ context, event }) => {
        assertEvent(event, "END");
        deps.writeEnd(context, event.resolution as TxResolution, event.answer);
      },
      writeDiscard: ({ context }) => deps.writeEnd(context, "DISCARD"),
      refuse: ({ context, event }) => {
        assertEvent(event, "END");
        event.answer({ belongsTo: context.group });
      },
      stillInFlight: ({ event }) => {
        assertEvent(event, "END");
        event.answer({ state: "IN_FLIGHT" });
      },
      // Ended already: the broker joins this answer to the write's, or says NOT_IN_FLIGHT.
      alreadyEnded: ({ context, event }) => {
        assertEvent(event, "END");
        deps.notInFlight(context.id, event.answer);
      },
      answerHalf: ({ context, event }) => {
        assertEvent(event, "HALF");
        event.reply(context.halfOffset);
      },
      finished: sendParent(({ context }): TxFinished => ({ type: "TX_FINISHED", id: context.id })),
    },
  }).createMachine({
    id: "tx",
    context: ({ input }) => ({ checks: 0, ...input }),
    initial: "pending",
    // Until it is stopped its half message is kept, ended or not.
    on: { HALF: { actions: "answerHalf" } },
    states: {
      /** Stored, not yet ended, not yet due to be checked. */
      pending: { entry: "arm", on: IN_FLIGHT },
      /** Asked `checks` times (RocketMQ's check count); each CHECK_DUE asks again or gives up. */
      checking: { on: IN_FLIGHT },
      // Ended: what it wrote is being written; an END arriving now waits for that write. A
      // restored snapshot taken in between finishes on REARM.
      committed: { entry: "finished", on: ENDED_ALREADY },
      rolledBack: { entry: "finished", on: ENDED_ALREADY },
      discarded: { entry: "finished", on: ENDED_ALREADY },
    },
  });
}

/** What a transaction in flight (pending or checking) answers. */
const IN_FLIGHT = {
  ENDED: [
    { guard: "commits", target: "committed" },
    { guard: "rollsBack", target: "rolledBack" },
    { target: "discarded" },
  ],
  END: [
    { guard: "otherGroup", actions: "refuse" },
    { guard: "commits", target: "committed", actions: "writeDecision" },
    { guard: "rollsBack", target: "rolledBack", actions: "writeDecision" },
    { actions: "stillInFlight" }, // UNKNOWN
  ],
  CHECK_DUE: [
    { guard: not("due") }, // an older due time's wake-up: the newer one is armed too
    { guard: "exhausted", target: "discarded", actions: "writeDiscard" },
    { target: "checking", actions: ["pushCheck", "countCheck", "arm"] },
  ],
  REARM: { actions: "arm" },
} as const;

/** What an ended transaction (not yet stopped by its parent) answers. */
const ENDED_ALREADY = {
  END: { actions: "alreadyEnded" },
  REARM: { actions: "finished" },
} as const;
