// The snapshot's actor tree as data, for start-up: where a system queue's replay begins (the
// max offset its queue actor had), which delay levels and transactions the snapshot held.
// Read from the persisted snapshot before anything runs, never from a live actor.
import { queueActorId } from "../actors/broker.machine.ts";
import { TX_REGISTRY_ID } from "../actors/transactions.logic.ts";
import type { RestoredTree } from "./context.ts";

interface PersistedActor {
  context?: Record<string, unknown>;
  children?: Record<string, { snapshot?: PersistedActor } | undefined>;
}

export function restoredTree(root: unknown): RestoredTree {
  const children = (root as PersistedActor | undefined)?.children ?? {};
  const txs = children[TX_REGISTRY_ID]?.snapshot?.children ?? {};
  const context = (id: string) => (id.startsWith("tx:") ? txs[id] : children[id])?.snapshot?.context;
  return {
    context,
    queueMaxOffset: (topic, queueId) => (context(queueActorId(topic, queueId))?.maxOffset as number | undefined) ?? 0,
  };
}
