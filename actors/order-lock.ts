// Order locks of one queue (RocketMQ's RebalanceLockManager, kept on the queue actor): at most
// one member of each consumer group holds a queue, so an orderly consumer is the only one of its
// group reading it. Pure functions over plain data, so the queue machine stays pure and a lock
// survives a snapshot; expiry is an absolute time, checked when the lock is next asked for.

/** The holder of one group's lock on a queue. */
export interface OrderLock {
  clientId: string;
  /** Absolute time (ms) after which the lock is free: renewals push it forward. */
  expiresAt: number;
}

/** group -> its lock on this queue (each group locks a queue independently). */
export type OrderLocks = Record<string, OrderLock>;

/**
 * Grants or renews `clientId`'s lock for `group`, unless a live member of the group holds it:
 * one whose lock has not expired and who is still among `members`. Returns the new locks, or
 * null when the lock stays with someone else.
 */
export function tryLock(locks: OrderLocks, group: string, clientId: string, members: readonly string[], now: number, expiresAt: number): OrderLocks | null {
  // Only a member can hold a lock: a lock held by a non-member would block nobody.
  if (!members.includes(clientId)) return null;
  const held = locks[group];
  if (held && held.clientId !== clientId && held.expiresAt > now && members.includes(held.clientId)) return null;
  return { ...locks, [group]: { clientId, expiresAt } };
}

/** Frees `group`'s lock if `clientId` holds it; null when nothing changes. */
export function unlock(locks: OrderLocks, group: string, clientId: string): OrderLocks | null {
  if (locks[group]?.clientId !== clientId) return null;
  const { [group]: _, ...rest } = locks;
  return rest;
}

/** Frees `group`'s lock if its holder is no longer among `members`; null when nothing changes. */
export function releaseLeft(locks: OrderLocks, group: string, members: readonly string[]): OrderLocks | null {
  const held = locks[group];
  if (!held || members.includes(held.clientId)) return null;
  const { [group]: _, ...rest } = locks;
  return rest;
}

/** The live holder of `group`'s lock, if any. */
export function lockHolder(locks: OrderLocks | undefined, group: string, now: number): string | undefined {
  const held = locks?.[group];
  return held && held.expiresAt > now ? held.clientId : undefined;
}
