// Snapshots written by older versions, brought to the current shape before they are restored:
// the transactions of 64 shards `txs:<n>` move under `txs`; the topic table, which the root's
// context held before the TopicService owned it, is taken out (and handed back to be restored
// into the TopicService); the timing wheel's cursor, which the timer actor's context mirrored
// before the TimerService alone kept it, is dropped.
import type { TopicConfig } from "./broker.machine.ts";
import { TIMER_ACTOR_ID } from "./timer.machine.ts";
import { mergeTransactionShards } from "./transactions.logic.ts";

interface PersistedRoot {
  context?: { topics?: Record<string, TopicConfig> };
  children?: Record<string, { snapshot: unknown; src: string; systemId?: string }>;
}

/** Upgrades a persisted root snapshot in place; returns the topics an older root context held. */
export function upgradeSnapshot(persistedRoot: unknown): Record<string, TopicConfig> {
  const root = persistedRoot as PersistedRoot;
  mergeTransactionShards(root);
  const topics = root.context?.topics ?? {};
  if (root.context) delete root.context.topics;
  const timer = root.children?.[TIMER_ACTOR_ID]?.snapshot as { context?: { cursor?: unknown } } | undefined;
  if (timer?.context) delete timer.context.cursor;
  return topics;
}
