// The snapshot's actor tree as data, for start-up: where a system queue's replay begins (the
// max offset its queue actor had), which delay levels and transactions the snapshot held.
// Read from the persisted snapshot before anything runs, never from a live actor.
import { GROUPS_ID, queueActorId, TOPICS_ID } from "../actors/broker.machine.ts";
import { TX_REGISTRY_ID } from "../actors/transactions.logic.ts";
import type { RestoredTree } from "./context.ts";

interface PersistedActor {
  context?: Record<string, unknown>;
  children?: Record<string, { snapshot?: PersistedActor } | undefined>;
}

export function restoredTree(root: unknown): RestoredTree {
  const children = (root as PersistedActor | undefined)?.children ?? {};
  // Transactions, queues and groups are children of their registries (txs, topics, groups).
  const under = (registry: string) => children[registry]?.snapshot?.children ?? {};
  const [txs, queues, groups] = [under(TX_REGISTRY_ID), under(TOPICS_ID), under(GROUPS_ID)];
  const parentOf = (id: string) => (id.startsWith("tx:") ? txs : id.startsWith("queue:") ? queues : id.startsWith("group:") ? groups : children);
  const context = (id: string) => parentOf(id)[id]?.snapshot?.context;
  return {
    context,
    queueMaxOffset: (topic, queueId) => (context(queueActorId(topic, queueId))?.maxOffset as number | undefined) ?? 0,
  };
}
