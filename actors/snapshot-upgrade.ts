// Snapshots written by older versions, brought to the current shape before they are restored:
// the transactions of 64 shards `txs:<n>` move under `txs`; the topic table, which the root's
// context held before the TopicService owned it, is taken out (and handed back to be restored
// into the TopicService); the timing wheel's cursor, which the timer actor's context mirrored
// before the TimerService alone kept it, is dropped; queue and group actors, once children of
// the root, move under the topics and groups actors.
import type { TopicConfig } from "./broker.machine.ts";
import type { PersistedChild } from "./children.ts";
import { GROUPS_ID } from "./groups.logic.ts";
import { TIMER_ACTOR_ID } from "./timer.machine.ts";
import { TOPICS_ID } from "./topics.logic.ts";
import { mergeTransactionShards } from "./transactions.logic.ts";

interface PersistedRoot {
  context?: { topics?: Record<string, TopicConfig> };
  children?: Record<string, PersistedChild>;
}

/** Upgrades a persisted root snapshot in place; returns the topics an older root context held. */
export function upgradeSnapshot(persistedRoot: unknown): Record<string, TopicConfig> {
  const root = persistedRoot as PersistedRoot;
  mergeTransactionShards(root);
  const topics = root.context?.topics ?? {};
  if (root.context) delete root.context.topics;
  const timer = root.children?.[TIMER_ACTOR_ID]?.snapshot as { context?: { cursor?: unknown } } | undefined;
  if (timer?.context) delete timer.context.cursor;
  adoptRootChildren(root);
  return topics;
}

/**
 * Snapshots from when every queue and group actor was a child of the root: those children move
 * under the topics and groups actors, in the format those actors persist (also for a root with
 * none: the registries are always there).
 */
export function adoptRootChildren(root: PersistedRoot): void {
  const children = (root.children ??= {});
  const registry = (id: string) => {
    const entry = (children[id] ??= { snapshot: { status: "active", context: { restarts: {} }, children: {} }, src: id, systemId: id });
    const snap = entry.snapshot as { children?: Record<string, PersistedChild> };
    return (snap.children ??= {});
  };
  const queues = registry(TOPICS_ID);
  const groups = registry(GROUPS_ID);
  for (const id of Object.keys(children)) {
    const to = id.startsWith("queue:") ? queues : id.startsWith("group:") ? groups : null;
    if (!to) continue;
    to[id] = children[id];
    delete children[id];
  }
}
