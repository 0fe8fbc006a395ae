// What a snapshot of the actor tree and config/topics.cbor must look like before the broker
// trusts them. A file that decodes but has another shape (a bad copy, a bug, a hand edit) would
// otherwise restore topics with NaN queues or throw at every start; one that fails these checks
// is set aside and the broker restores from an older snapshot or from storage alone.
import * as v from "valibot";
import { GROUPS_ID, TOPICS_ID } from "../actors/broker.machine.ts";
import { adoptRootChildren } from "../actors/snapshot-upgrade.ts";

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const time = v.pipe(v.number(), v.finite());

/** A topic's entry in the topic table: as topics.cbor (and an older root context) holds it. */
export const TopicConfigSchema = v.object({
  queues: v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(65_535)),
  perm: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(7)),
  system: v.optional(v.boolean()),
});

export const TopicTableSchema = v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(1024)), TopicConfigSchema);

/** An XState persisted snapshot: the parts restore reads for every actor. */
const persisted = <C extends v.GenericSchema>(context: C) =>
  v.object({
    status: v.string(),
    value: v.union([v.string(), v.record(v.string(), v.unknown())]),
    context,
    children: v.optional(v.record(v.string(), v.unknown())),
  });

const QueueContext = v.looseObject({
  topic: v.string(),
  queueId: count,
  perm: v.number(),
  minOffset: count,
  maxOffset: count,
  lastStoreTimestamp: time,
  holds: v.array(v.unknown()),
  locks: v.optional(v.record(v.string(), v.unknown())),
});

const GroupContext = v.looseObject({
  group: v.string(),
  members: v.record(v.string(), v.looseObject({ lastHeartbeat: time })),
  offsets: v.record(v.string(), count),
});

const DelayContext = v.looseObject({ level: count, delayMs: count, progress: count, dueAt: time });
// The wheel's cursor is the TimerService's; only older snapshots mirror it here.
const TimerContext = v.looseObject({ cursor: v.optional(time), nextAt: time });

/** Children by the prefix of their system id; other kinds (tx, txs) are checked as snapshots only. */
const CHILD_CONTEXTS: Record<string, v.GenericSchema> = { queue: QueueContext, group: GroupContext, delay: DelayContext, timer: TimerContext };

const RootSchema = v.object({
  status: v.literal("active"),
  value: v.unknown(),
  context: v.looseObject({
    brokerName: v.string(),
    // The topic table is the TopicService's (topics.cbor); only older snapshots hold it here.
    topics: v.optional(TopicTableSchema),
    nextSnapshotAt: time,
    restarts: v.record(v.string(), count),
  }),
  // Children of kinds this file knows are checked below; others (txs, hand-written actor logic
  // with its own snapshot format) only need to be objects.
  children: v.record(v.string(), v.looseObject({ snapshot: v.looseObject({}) })),
});

/** The topics and groups actors (hand-written logic): their children are checked as the root's are. */
const RegistrySchema = v.looseObject({ children: v.record(v.string(), v.looseObject({ snapshot: v.looseObject({}) })) });

function childrenProblem(children: Record<string, { snapshot: unknown }>, where: string): string | null {
  for (const [id, child] of Object.entries(children)) {
    const schema = CHILD_CONTEXTS[id.split(":")[0]];
    if (!schema) continue;
    const c = v.safeParse(persisted(schema), child.snapshot);
    if (!c.success) return `${where}${id}: ${describe(c.issues)}`;
  }
  return null;
}

/**
 * Why a snapshot's root cannot be restored, or null when it can. One from when every queue and
 * group was a child of the root is first moved into today's layout (adoptRootChildren).
 */
export function snapshotProblem(root: unknown): string | null {
  const r = v.safeParse(RootSchema, root);
  if (!r.success) return describe(r.issues);
  adoptRootChildren(root as Parameters<typeof adoptRootChildren>[0]);
  const children = (root as { children: Record<string, { snapshot: unknown }> }).children;
  const own = childrenProblem(children, "child ");
  if (own) return own;
  for (const registry of [TOPICS_ID, GROUPS_ID]) {
    const reg = v.safeParse(RegistrySchema, children[registry]?.snapshot);
    if (!reg.success) return `child ${registry}: ${describe(reg.issues)}`;
    const problem = childrenProblem(reg.output.children, `child ${registry}/`);
    if (problem) return problem;
  }
  return null;
}

/**
 * SnapshotStore's vet: the root's problem, or null after making it ready to restore. Held pulls
 * are dropped: they belong to connections of a previous life, and connection ids of this life
 * must never be answered with them.
 */
export function vetSnapshot(root: unknown): string | null {
  const problem = snapshotProblem(root);
  if (problem) return problem;
  const topics = (root as { children: Record<string, { snapshot: { children: Record<string, { snapshot: { context: { holds?: unknown[] } } }> } }> }).children[TOPICS_ID];
  for (const child of Object.values(topics.snapshot.children)) child.snapshot.context.holds = [];
  return null;
}

/** Why a topic table cannot be used, or null when it can. */
export function topicTableProblem(table: unknown): string | null {
  const r = v.safeParse(TopicTableSchema, table);
  return r.success ? null : describe(r.issues);
}

function describe(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  const path = v.getDotPath(first) ?? "(the whole value)";
  return `${path}: ${first.message}`;
}
