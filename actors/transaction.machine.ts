// One in-flight transaction (RocketMQ's half message): `tx:<msgId>`. It holds where its half
// message is stored, its producer group, how many times the producer was asked about it, and
// when it is next due to be asked, all plain data; the effects (re-putting the message, writing
// op records, pushing checkTransaction, arming the check timer) are injected.
//
// pending --END--> committing --WRITTEN--> committed (final)
//         --END--> rollingBack --WRITTEN--> rolledBack (final)
// pending/checking --CHECK_DUE (due)--> checking (n+1 checks) ... after maxChecks --> discarding
//         --WRITTEN--> discarded (final: the half message went to TRANS_CHECK_MAX_TIME_TOPIC)
// A write that failed (WRITE_FAILED) goes back to checking: the producer is asked again.
//
// The decided states (committing, rollingBack, discarding) last until the records are written,
// so a snapshot taken meanwhile still holds the transaction and its decision; the restart
// replays op records written after the snapshot, and redoes a decision that has none.
//
// No XState `after` timer here: a stopped actor makes XState scan every scheduled event of the
// system, and a restored one has lost its timers anyway (statelyai/xstate#5331). The due time
// `checkAt` lives in context; the actor hands it to the injected armCheck, whose scheduler sends
// CHECK_DUE. After a restore the root sends REARM, which arms it again.
import { assign, not, setup } from "xstate";

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
  /** Append what `action` writes (re-put and/or op record); WRITTEN or WRITE_FAILED follows. */
  writeEnd(tx: TxContext, action: TxAction): void;
}

export type TxEvent =
  | { type: "END"; resolution: TxResolution }
  | { type: "CHECK_DUE" }
  | { type: "WRITTEN" }
  | { type: "WRITE_FAILED" }
  /** The restart found this transaction's op record: it ended before the crash. */
  | { type: "ENDED"; action: TxAction }
  /** After a restore (sent once the op records are replayed): arm the check, or redo a decided write. */
  | { type: "REARM" };

export type TxInput = Pick<TxContext, "id" | "group" | "halfOffset" | "checkAt"> & Partial<TxContext>;

export const txActorId = (id: string) => `tx:${id}`;

export function createTransactionMachine(deps: TxDeps) {
  return setup({
    types: {} as { context: TxContext; events: TxEvent; input: TxInput },
    guards: {
      due: ({ context }) => context.checkAt <= deps.now(),
      exhausted: ({ context }) => context.checks >= deps.maxChecks,
      commit: ({ event }) => (event as Extract<TxEvent, { type: "END" }>).resolution === "COMMIT",
    },
    actions: {
      arm: ({ context }) => deps.armCheck(context.id, context.checkAt),
      check: assign(({ context }) => {
        deps.checkTransaction(context);
        return { checks: context.checks + 1, checkAt: deps.now() + deps.checkIntervalMs };
      }),
      retryLater: assign({ checkAt: () => deps.now() + deps.checkIntervalMs }),
      writeCommit: ({ context }) => deps.writeEnd(context, "COMMIT"),
      writeRollback: ({ context }) => deps.writeEnd(context, "ROLLBACK"),
      writeDiscard: ({ context }) => deps.writeEnd(context, "DISCARD"),
    },
  }).createMachine({
    id: "tx",
    context: ({ input }) => ({ checks: 0, ...input }),
    initial: "pending",
    on: {
      ENDED: [
        { guard: ({ event }) => event.action === "COMMIT", target: ".committed" },
        { guard: ({ event }) => event.action === "ROLLBACK", target: ".rolledBack" },
        { target: ".discarded" },
      ],
    },
    states: {
      pending: {
        entry: "arm",
        on: {
          END: [{ guard: "commit", target: "committing" }, { target: "rollingBack" }],
          CHECK_DUE: [
            { guard: not("due") }, // an older due time's wake-up: the newer one is armed too
            { guard: "exhausted", target: "discarding" },
            { target: "checking", actions: ["check", "arm"] },
          ],
          REARM: { actions: "arm" },
        },
      },
      /** Asked `checks` times (RocketMQ's check count); each CHECK_DUE asks again or gives up. */
      checking: {
        on: {
          END: [{ guard: "commit", target: "committing" }, { target: "rollingBack" }],
          CHECK_DUE: [
            { guard: not("due") },
            { guard: "exhausted", target: "discarding" },
            { target: "checking", actions: ["check", "arm"] },
          ],
          REARM: { actions: "arm" },
        },
      },
      committing: {
        entry: "writeCommit",
        on: { WRITTEN: "committed", WRITE_FAILED: { target: "checking", actions: ["retryLater", "arm"] }, REARM: { actions: "writeCommit" } },
      },
      rollingBack: {
        entry: "writeRollback",
        on: { WRITTEN: "rolledBack", WRITE_FAILED: { target: "checking", actions: ["retryLater", "arm"] }, REARM: { actions: "writeRollback" } },
      },
      discarding: {
        entry: "writeDiscard",
        on: { WRITTEN: "discarded", WRITE_FAILED: { target: "checking", actions: ["retryLater", "arm"] }, REARM: { actions: "writeDiscard" } },
      },
      committed: { type: "final" },
      rolledBack: { type: "final" },
      discarded: { type: "final" },
    },
  });
}
