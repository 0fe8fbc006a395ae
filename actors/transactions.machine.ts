// A transaction shard `txs:<n>`: the parent of the in-flight transactions whose id hashes to n.
// Why not the root itself: XState copies a parent's whole `children` object on every spawn and
// stop, and with ever-new child ids that copy also mints new hidden classes, so one parent of a
// few hundred short-lived children costs about a millisecond per transaction. Spread over
// shards, each parent holds a handful and a transaction costs what an actor costs.
import { enqueueActions, setup, stopChild } from "xstate";
import { createTransactionMachine, txActorId, type TxContext, type TxDeps, type TxEvent, type TxFinished, type TxInput } from "./transaction.machine.ts";

/** Enough shards that each holds few transactions at 100 concurrent and some hundreds at 20,000. */
export const TX_SHARDS = 64;

export const txShardId = (shard: number) => `txs:${shard}`;

/** The shard of a transaction id: a stable string hash (Java's String.hashCode) modulo TX_SHARDS. */
export function txShardOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
  return (h >>> 0) % TX_SHARDS;
}

export type TxShardEvent =
  /** Half messages were stored: a transaction actor each (an id already in flight is a resent half, ignored). */
  | { type: "BEGIN"; txs: TxInput[] }
  /** Events for transaction actors, by id; an id no longer in flight is skipped. */
  | { type: "DELIVER"; events: [id: string, event: TxEvent][] }
  /** The root's REARM after a restore: nothing, the transactions wait for TX_REARM (after the op replay). */
  | { type: "REARM" }
  | { type: "TX_REARM" }
  /** From a transaction that ended: it is stopped. */
  | TxFinished;

export type TxShardDeps = TxDeps;

export function createTransactionShardMachine(deps: TxShardDeps) {
  return setup({
    types: {} as { context: { shard: number }; events: TxShardEvent; input: { shard: number } },
    actors: { tx: createTransactionMachine(deps) },
    actions: {
      begin: enqueueActions(({ event, enqueue, self }) => {
        const children = self.getSnapshot().children;
        for (const input of (event as Extract<TxShardEvent, { type: "BEGIN" }>).txs) {
          const id = txActorId(input.id);
          if (!children[id]) enqueue.spawnChild("tx", { id, systemId: id, input });
        }
      }),
      // END and ENDED end any transaction in flight, so its actor is stopped right behind the
      // event (both deferred, in order): no TX_FINISHED round through this shard's mailbox.
      deliver: enqueueActions(({ event, enqueue, self }) => {
        const children = self.getSnapshot().children;
        let ended: Set<string> | undefined;
        for (const [txId, e] of (event as Extract<TxShardEvent, { type: "DELIVER" }>).events) {
          const id = txActorId(txId);
          if (!children[id] || ended?.has(id)) continue;
          enqueue.sendTo(id, e);
          if (e.type === "END" || e.type === "ENDED") {
            enqueue(stopChild(id));
            (ended ??= new Set()).add(id);
          }
        }
      }),
      rearm: enqueueActions(({ enqueue, self }) => {
        for (const id of Object.keys(self.getSnapshot().children)) enqueue.sendTo(id, { type: "REARM" });
      }),
      finished: stopChild(({ event }) => txActorId((event as TxFinished).id)),
      // Supervision: a transaction whose effect threw starts again from its last context, to be
      // checked after an interval (what was decided and not written is asked again).
      restart: enqueueActions(({ event, enqueue, self }) => {
        const id = event.type.slice("xstate.error.actor.".length);
        const failed = self.getSnapshot().children[id];
        const ctx = failed?.getSnapshot().context as TxContext | undefined;
        enqueue(stopChild(id));
        if (ctx) enqueue.spawnChild("tx", { id, systemId: id, input: { ...ctx, checkAt: deps.now() + deps.checkIntervalMs } });
      }),
    },
  }).createMachine({
    id: "txs",
    context: ({ input }) => ({ shard: input.shard }),
    on: {
      BEGIN: { actions: "begin" },
      DELIVER: { actions: "deliver" },
      TX_REARM: { actions: "rearm" },
      TX_FINISHED: { actions: "finished" },
      "xstate.error.actor.*": { actions: "restart" },
    },
  });
}
