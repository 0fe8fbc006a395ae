// One in-flight transaction (RocketMQ's half message): `tx:<msgId>`. It holds where its half
// message is stored, its producer group, how many times the producer was asked about it, and
// when it is next due to be asked, all plain data; the effects (re-putting the message, writing
// op records, pushing checkTransaction, arming the check timer) are injected.
//
// pending --END COMMIT--> committed (the message re-put into its topic, an op record)
//         --END ROLLBACK--> rolledBack (an op record)
//         --CHECK_DUE (due)--> checking (n = 1 check) --CHECK_DUE--> checking (n + 1) ...
// checking(maxChecks) --CHECK_DUE--> discarded (moved to TRANS_CHECK_MAX_TIME_TOPIC)
// Its parent `txs` stops it once it has ended, so memory follows the transactions in flight: right
// after delivering END or ENDED (which always end it), and on TX_FINISHED from a transaction that
// ended by itself (discarded). The ended states are not XState `final` states on purpose: a final
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
import { assign, not, sendParent, setup } from "xstate";

export type TxResolution = "COMMIT" | "ROLLBACK";
/** What was written for a finished transaction; also the op record's `action`. */
export type TxAction = TxResolution | "DISCARD";

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
  /** Append what `action` writes: the re-put (COMMIT) or the parked copy (DISCARD), and the op record. */
  writeEnd(tx: TxContext, action: TxAction): void;
}

export type TxEvent =
  | { type: "END"; resolution: TxResolution }
  | { type: "CHECK_DUE" }
  /** The restart found this transaction's op record: it ended before the crash; nothing is written. */
  | { type: "ENDED"; action: TxAction }
  /** After a restore (sent once the op records are replayed): arm the check timer again. */
  | { type: "REARM" };

export type TxInput = Pick<TxContext, "id" | "group" | "halfOffset" | "checkAt"> & Partial<TxContext>;

/** What a transaction that ended by itself (or was restored ended) sends its parent: stop me. */
export interface TxFinished {
  type: "TX_FINISHED";
  id: string;
}

export const txActorId = (id: string) => `tx:${id}`;

export function createTransactionMachine(deps: TxDeps) {
  return setup({
    types: {} as { context: TxContext; events: TxEvent; input: TxInput },
    guards: {
      due: ({ context }) => context.checkAt <= deps.now(),
      exhausted: ({ context }) => context.checks >= deps.maxChecks,
      commit: ({ event }) => (event as Extract<TxEvent, { type: "END" }>).resolution === "COMMIT",
      endedCommit: ({ event }) => (event as Extract<TxEvent, { type: "ENDED" }>).action === "COMMIT",
      endedRollback: ({ event }) => (event as Extract<TxEvent, { type: "ENDED" }>).action === "ROLLBACK",
    },
    actions: {
      arm: ({ context }) => deps.armCheck(context.id, context.checkAt),
      check: assign(({ context }) => {
        deps.checkTransaction(context);
        return { checks: context.checks + 1, checkAt: deps.now() + deps.checkIntervalMs };
      }),
      writeCommit: ({ context }) => deps.writeEnd(context, "COMMIT"),
      writeRollback: ({ context }) => deps.writeEnd(context, "ROLLBACK"),
      writeDiscard: ({ context }) => deps.writeEnd(context, "DISCARD"),
      finished: sendParent(({ context }): TxFinished => ({ type: "TX_FINISHED", id: context.id })),
    },
  }).createMachine({
    id: "tx",
    context: ({ input }) => ({ checks: 0, ...input }),
    initial: "pending",
    states: {
      /** Stored, not yet ended, not yet due to be checked. */
      pending: { entry: "arm", on: IN_FLIGHT },
      /** Asked `checks` times (RocketMQ's check count); each CHECK_DUE asks again or gives up. */
      checking: { on: IN_FLIGHT },
      // Ended: what it wrote is written; an END arriving now is ignored (its answer waits for
      // that write). A restored snapshot taken in between finishes on REARM.
      committed: { on: { REARM: { actions: "finished" } } },
      rolledBack: { on: { REARM: { actions: "finished" } } },
      discarded: { entry: "finished", on: { REARM: { actions: "finished" } } },
    },
  });
}

/** What a transaction in flight (pending or checking) answers. */
const IN_FLIGHT = {
  ENDED: [
    { guard: "endedCommit", target: "committed" },
    { guard: "endedRollback", target: "rolledBack" },
    { target: "discarded" },
  ],
  END: [{ guard: "commit", target: "committed", actions: "writeCommit" }, { target: "rolledBack", actions: "writeRollback" }],
  CHECK_DUE: [
    { guard: not("due") }, // an older due time's wake-up: the newer one is armed too
    { guard: "exhausted", target: "discarded", actions: "writeDiscard" },
    { target: "checking", actions: ["check", "arm"] },
  ],
  REARM: { actions: "arm" },
} as const;
