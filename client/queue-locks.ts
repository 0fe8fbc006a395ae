// The order locks an orderly PushConsumer holds on the broker (the client half of RocketMQ's
// lockBatchMQ): which queues it holds and since when. The broker frees a lock 60 s after its
// last renewal; the client trusts one for only 30 s after it asked, and renews every 20 s, so
// a lock it believes in is one the broker still keeps for it.
import type { MessageQueue } from "./topic-route.ts";
import { queueKey } from "./allocate.ts";

/** How long the client treats a granted lock as valid (RocketMQ's rocketmq.client.rebalance.lockMaxLiveTime). */
export const LOCK_VALID_MS = 30_000;
/** How often held locks are renewed (RocketMQ's rocketmq.client.rebalance.lockInterval). */
export const LOCK_RENEW_INTERVAL_MS = 20_000;

export interface QueueLocksDeps {
  group: string;
  clientId: string;
  /** A request to one broker. */
  call(address: string, op: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export class QueueLocks {
  /** queueKey -> the queue and when the request that last granted it was sent. */
  private readonly held = new Map<string, { mq: MessageQueue; lockedAt: number }>();

  constructor(private readonly deps: QueueLocksDeps, private readonly validMs = LOCK_VALID_MS) {}

  /** Held, and renewed recently enough to be sure the broker still keeps it for us. */
  isLocked(mq: MessageQueue): boolean {
    const h = this.held.get(queueKey(mq));
    return h !== undefined && Date.now() - h.lockedAt < this.validMs;
  }

  /** When the request that last granted this queue was sent, if it is held. */
  lockedAt(mq: MessageQueue): number | undefined {
    return this.held.get(queueKey(mq))?.lockedAt;
  }

  /** The queues held now. */
  queues(): MessageQueue[] {
    return [...this.held.values()].map((h) => h.mq);
  }

  /**
   * Asks each broker for its queues among `mqs`; returns the keys held now. A queue asked for and
   * not granted is not held any more (someone else has it). A broker that does not answer
   * changes nothing: its locks lapse on their own.
   */
  async lock(mqs: MessageQueue[]): Promise<Set<string>> {
    const granted = new Set<string>();
    await Promise.all([...byAddress(mqs)].map(async ([address, qs]) => {
      const sentAt = Date.now();
      let reply: Record<string, unknown>;
      try {
        reply = await this.deps.call(address, "lockQueues", { group: this.deps.group, clientId: this.deps.clientId, queues: refs(qs) });
      } catch {
        return;
      }
      const locked = new Set((Array.isArray(reply.locked) ? reply.locked : []).map((r: { topic?: unknown; queueId?: unknown }) => `${r?.topic}\u0000${r?.queueId}`));
      for (const mq of qs) {
        const key = queueKey(mq);
        if (locked.has(`${mq.topic}\u0000${mq.queueId}`)) {
          this.held.set(key, { mq, lockedAt: sentAt });
          granted.add(key);
        } else this.held.delete(key);
      }
    }));
    return granted;
  }

  /** Frees these queues on their brokers (best effort: an unanswered unlock lapses at the broker). */
  async unlock(mqs: MessageQueue[]): Promise<void> {
    for (const mq of mqs) this.held.delete(queueKey(mq));
    await Promise.all([...byAddress(mqs)].map(([address, qs]) =>
      this.deps.call(address, "unlockQueues", { group: this.deps.group, clientId: this.deps.clientId, queues: refs(qs) }).catch(() => {})
    ));
  }
}

function byAddress(mqs: MessageQueue[]): Map<string, MessageQueue[]> {
  const m = new Map<string, MessageQueue[]>();
  for (const mq of mqs) {
    const list = m.get(mq.address);
    if (list) list.push(mq);
    else m.set(mq.address, [mq]);
  }
  return m;
}

function refs(qs: MessageQueue[]): { topic: string; queueId: number }[] {
  return qs.map((q) => ({ topic: q.topic, queueId: q.queueId }));
}
