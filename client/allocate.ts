// Queue allocation: which of a topic's queues one member of a consumer group takes, computed by
// every member on its own from the same sorted queue list and the same sorted member list, so
// they agree without talking to each other. RocketMQ's AllocateMessageQueueStrategy family.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";

/** One queue as allocation sees it. */
export interface AllocatableQueue {
  broker: string;
  topic: string;
  queueId: number;
}

export interface AllocateContext<Q extends AllocatableQueue = AllocatableQueue> {
  group: string;
  /** The member asking: its client id. */
  clientId: string;
  /** Every member of the group, sorted. */
  members: readonly string[];
  /** Every readable queue of one topic, sorted by broker name, then queue id. */
  queues: readonly Q[];
}

/** A user-supplied strategy: the queues `ctx.clientId` takes (others in the list are ignored). */
export type AllocateFunction = (ctx: AllocateContext) => AllocatableQueue[];

export type AllocateStrategyName = "averagely" | "averagelyByCircle" | "consistentHash";

/** Virtual nodes per member on the consistent-hash ring (RocketMQ's default). */
export const VIRTUAL_NODES = 10;

/**
 * RocketMQ's AllocateMessageQueueAveragely: contiguous ranges, the first `n % m` members one
 * queue more. 8 queues over 3 members: [0,1,2], [3,4,5], [6,7]; more members than queues: one
 * queue each to the first ones, none to the rest.
 */
export function allocateAveragely<Q extends AllocatableQueue>(ctx: AllocateContext<Q>): Q[] {
  const index = memberIndex(ctx);
  if (index < 0) return [];
  const n = ctx.queues.length;
  const m = ctx.members.length;
  const mod = n % m;
  const averageSize = n <= m ? 1 : mod > 0 && index < mod ? Math.floor(n / m) + 1 : Math.floor(n / m);
  const startIndex = mod > 0 && index < mod ? index * averageSize : index * averageSize + mod;
  const range = Math.min(averageSize, n - startIndex);
  const out: Q[] = [];
  for (let i = 0; i < range; i++) out.push(ctx.queues[(startIndex + i) % n]);
  return out;
}

/** RocketMQ's AllocateMessageQueueAveragelyByCircle: queue i goes to member i % m. */
export function allocateAveragelyByCircle<Q extends AllocatableQueue>(ctx: AllocateContext<Q>): Q[] {
  const index = memberIndex(ctx);
  if (index < 0) return [];
  const out: Q[] = [];
  for (let i = index; i < ctx.queues.length; i++) if (i % ctx.members.length === index) out.push(ctx.queues[i]);
  return out;
}

/**
 * RocketMQ's AllocateMessageQueueConsistentHash: each member puts VIRTUAL_NODES points on a hash
 * ring ("<clientId>-<i>"), and a queue goes to the first point at or after its own hash
 * (its key is RocketMQ's MessageQueue.toString()), wrapping around. Adding or removing a member
 * moves only the queues next to its points. RocketMQ hashes with MD5; this uses 32-bit FNV-1a
 * over the UTF-16 code units followed by MurmurHash3's fmix32 finalizer (FNV-1a alone clusters
 * keys that differ in their last character). Members only have to agree among themselves, and
 * every ActorMQ client computes the same ring.
 */
export function allocateConsistentHash<Q extends AllocatableQueue>(ctx: AllocateContext<Q>, virtualNodes = VIRTUAL_NODES): Q[] {
  if (memberIndex(ctx) < 0) return [];
  const ring: { hash: number; member: string }[] = [];
  for (const member of ctx.members) {
    for (let i = 0; i < virtualNodes; i++) ring.push({ hash: hash32(`${member}-${i}`), member });
  }
  // Ties (astronomically rare) are broken by member id, so every member builds the same ring.
  ring.sort((a, b) => a.hash - b.hash || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  const out: Q[] = [];
  for (const q of ctx.queues) {
    const h = hash32(queueKey(q));
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid].hash < h) lo = mid + 1;
      else hi = mid;
    }
    if (ring[lo % ring.length].member === ctx.clientId) out.push(q);
  }
  return out;
}

/** The queues `ctx.clientId` takes under a named strategy or a user function. */
export function allocate<Q extends AllocatableQueue>(strategy: AllocateStrategyName | AllocateFunction, ctx: AllocateContext<Q>): Q[] {
  switch (strategy) {
    case "averagely":
      return allocateAveragely(ctx);
    case "averagelyByCircle":
      return allocateAveragelyByCircle(ctx);
    case "consistentHash":
      return allocateConsistentHash(ctx);
  }
  if (typeof strategy !== "function") throw new BrokerError(ErrorCode.BAD_REQUEST, `unknown allocation strategy "${strategy}"`);
  const chosen = strategy(ctx);
  if (!Array.isArray(chosen)) throw new BrokerError(ErrorCode.WRONG_TYPE, "an allocate function must return an array of queues");
  // Only queues from the list count, each once: a strategy cannot invent queues.
  const keys = new Set(chosen.map(queueKey));
  return ctx.queues.filter((q) => keys.has(queueKey(q)));
}

export function checkAllocateStrategy(strategy: unknown): AllocateStrategyName | AllocateFunction {
  if (typeof strategy === "function") return strategy as AllocateFunction;
  if (strategy === "averagely" || strategy === "averagelyByCircle" || strategy === "consistentHash") return strategy;
  throw new BrokerError(ErrorCode.BAD_REQUEST, `allocate must be "averagely", "averagelyByCircle", "consistentHash" or a function, not ${JSON.stringify(strategy)}`);
}

/** Sorts queues the way every member must: broker name, then queue id. */
export function sortQueues<Q extends AllocatableQueue>(queues: Q[]): Q[] {
  return queues.sort((a, b) => (a.broker < b.broker ? -1 : a.broker > b.broker ? 1 : a.queueId - b.queueId));
}

/** RocketMQ's MessageQueue.toString(). */
export function queueKey(q: AllocatableQueue): string {
  return `MessageQueue [topic=${q.topic}, brokerName=${q.broker}, queueId=${q.queueId}]`;
}

function memberIndex(ctx: AllocateContext): number {
  // RocketMQ returns nothing when the member is not (yet) in the list the broker gave.
  if (ctx.queues.length === 0 || ctx.members.length === 0) return -1;
  return ctx.members.indexOf(ctx.clientId);
}

/** FNV-1a (32 bits) over UTF-16 code units, then MurmurHash3's fmix32: an unsigned 32-bit hash. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
