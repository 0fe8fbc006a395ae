// The transactions actor `txs`: the parent of every transaction actor in flight (`tx:<msgId>`,
// actors/transaction.machine.ts). Its logic is XState actor logic written by hand, not a
// machine, for one reason: a machine copies its whole `children` object on every spawn and
// every stop (and, with ever-new child ids, mints new hidden classes doing it). Under one machine
// parent a transaction cost about a millisecond with a few hundred in flight; spread over 64
// machine shards it still cost two shard macrosteps and two copies, about half of what the
// actors cost per transaction. Here the children live in one object updated in place, O(1) per
// spawn and stop. The transactions themselves are machines, and everything else is what a
// machine parent does: children started after the transition, stopped once they say they have
// ended (TX_FINISHED), restarted on error, persisted in the machine's snapshot format and
// restored from it (actors/children.ts, which the topics and groups actors share).
import type { ActorLogic, ActorRefFrom, ActorSystem, EventObject, Snapshot } from "xstate";
import { Children, type PersistedChild } from "./children.ts";
import { createTransactionMachine, txActorId, type TxContext, type TxDeps, type TxEvent, type TxFinished, type TxInput } from "./transaction.machine.ts";

export const TX_REGISTRY_ID = "txs";

export type TxRegistryEvent =
  /** Half messages were stored: a transaction actor each (an id already in flight is a resent half, ignored). */
  | { type: "BEGIN"; txs: TxInput[] }
  /** Events for transaction actors, by id; an END for an id no longer in flight is answered NOT_IN_FLIGHT (deps.notInFlight), anything else skipped. */
  | { type: "DELIVER"; events: [id: string, event: TxEvent][] }
  /** The root's REARM after a restore: nothing, the transactions wait for TX_REARM (after the op replay). */
  | { type: "REARM" }
  | { type: "TX_REARM" }
  /** A question (the retention pass): `reply` is told the oldest half message's CommitLog offset (Infinity: none), each transaction answering for itself. */
  | { type: "HALVES"; reply: (oldest: number) => void }
  /** From a transaction that has ended: it is stopped. */
  | TxFinished
  /** From a transaction whose effect threw (XState's error event; the type names the child). */
  | { type: `xstate.error.actor.${string}`; error: unknown }
  | { type: "xstate.stop" };

type TxActor = ActorRefFrom<ReturnType<typeof createTransactionMachine>>;

export type TxRegistrySnapshot = Snapshot<undefined> & {
  /** Transaction actors that failed and were restarted, by id. */
  context: { restarts: Record<string, number> };
  /** The transactions in flight by actor id, updated in place: the inspector and snapshots read it as a machine's. */
  children: Record<string, TxActor>;
};

interface PersistedRegistry {
  status?: string;
  children?: Record<string, PersistedChild>;
}

type TxRegistryLogic = ActorLogic<TxRegistrySnapshot, TxRegistryEvent, undefined, ActorSystem<any>, EventObject>;

export function createTransactionRegistryLogic(deps: TxDeps): TxRegistryLogic {
  const txs = new Children<TxActor>(createTransactionMachine(deps), "tx");
  return {
    config: undefined,
    transition(snap, event, scope) {
      switch (event.type) {
        case "BEGIN":
          for (const input of event.txs) {
            const id = txActorId(input.id);
            if (!snap.children[id]) txs.spawn(snap.children, scope, id, input);
          }
          break;
        case "DELIVER":
          for (const [txId, e] of event.events) {
            const id = txActorId(txId);
            const actor = snap.children[id];
            if (actor) actor.send(e);
            else if (e.type === "END") scope.defer(() => deps.notInFlight(txId, e.answer));
          }
          break;
        case "TX_REARM":
          for (const actor of Object.values(snap.children)) actor.send({ type: "REARM" });
          break;
        case "HALVES": {
          const actors = Object.values(snap.children);
          const { reply } = event;
          if (actors.length === 0) {
            scope.defer(() => reply(Infinity));
            break;
          }
          let left = actors.length;
          let oldest = Infinity;
          const half = (offset: number) => {
            oldest = Math.min(oldest, offset);
            if (--left === 0) reply(oldest);
          };
          for (const actor of actors) actor.send({ type: "HALF", reply: half });
          break;
        }
        case "TX_FINISHED":
          txs.stop(snap.children, scope, txActorId((event as TxFinished).id));
          break;
        case "xstate.stop":
          txs.stopAll(snap.children, scope);
          return { ...snap, status: "stopped", output: undefined, error: undefined };
        default:
          // Supervision: a transaction whose effect threw starts again from its last context,
          // to be checked after an interval (what was decided and not written is asked again).
          txs.restartFailed(snap, scope, event.type, (_, last) => ({ ...(last as unknown as TxContext), checkAt: deps.now() + deps.checkIntervalMs }));
      }
      return snap;
    },
    ...txs.parentSnapshots(),
  };
}

/**
 * Snapshots written before the transactions actor spread them over 64 machine shards
 * `txs:<n>`: their transactions move under `txs`, in the format both share.
 */
export function mergeTransactionShards(persistedRoot: { children?: Record<string, PersistedChild> }): void {
  const children = persistedRoot.children;
  if (!children) return;
  let merged: PersistedChild | undefined;
  for (const id of Object.keys(children)) {
    if (!/^txs:\d+$/.test(id)) continue;
    merged ??= children[TX_REGISTRY_ID] ??= { snapshot: { status: "active", children: {} }, src: TX_REGISTRY_ID, systemId: TX_REGISTRY_ID };
    Object.assign((merged.snapshot as PersistedRegistry).children ??= {}, (children[id].snapshot as PersistedRegistry).children);
    delete children[id];
  }
}
