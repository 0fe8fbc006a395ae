// Orderly consumption (RocketMQ's ConsumeMessageOrderlyService): each queue is consumed by at
// most one member of the group, the one holding the broker's order lock on it, and within that
// member by one handler at a time, oldest message first. A failure suspends the queue for a
// moment and retries the same messages in place, so nothing behind them overtakes them; past
// the reconsume limit they go to the group's DLQ and the queue moves on. A queue taken away by
// rebalance is unlocked only after its running handler ended and its offset is committed, so
// the next owner starts exactly where this one stopped.
import type { MessageView } from "../protocol/mod.ts";
import { queueKey } from "./allocate.ts";
import { ABANDONED } from "./consume-concurrently-service.ts";
import type { ProcessQueue } from "./process-queue.ts";
import { QueueLocks } from "./queue-locks.ts";
import type { MessageQueue } from "./topic-route.ts";

/** RocketMQ's suspendCurrentQueueTimeMillis default. */
export const DEFAULT_SUSPEND_MS = 1000;
/**
 * Attempts after the first before the DLQ. RocketMQ 4's orderly default is Integer.MAX_VALUE
 * (retry forever, blocking the queue behind a poison message); RocketMQ 5's FIFO groups default
 * to 16 attempts, which is what we take: a bad message stops its queue for ~16 s, not forever.
 */
export const DEFAULT_ORDERLY_MAX_RECONSUME_TIMES = 16;

export interface OrderlyDeps {
  group: string;
  clientId: string;
  /** The handler over one batch (a single-message handler is wrapped); anything but "SUCCESS" is a failure. */
  consume(msgs: MessageView[]): unknown;
  batchSize: number;
  concurrency: number;
  maxReconsumeTimes: number;
  suspendMs: number;
  /** How often held locks are renewed. */
  lockIntervalMs: number;
  /** How long a granted lock is trusted after it was asked for. */
  lockMaxLiveTimeMs: number;
  call(address: string, op: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  counters: { succeeded: number; failed: number; sentBack: number };
  /** The queues the consumer owns now: the locks to keep. */
  owned(): MessageQueue[];
  /** A lock the broker no longer grants us: the consumer must drop the queue, uncommitted. */
  lockLost(mq: MessageQueue): void;
}

type Outcome = "next" | "suspend";

export class ConsumeOrderlyService {
  readonly locks: QueueLocks;
  /** Handlers running now. */
  running = 0;
  private readonly active = new Set<ProcessQueue>();
  /** Queues given up whose locks are kept until their handler ends and their offset is committed. */
  private readonly releasing = new Map<string, MessageQueue>();
  /** The release of each such queue: taking one back waits for it, or it would read a stale offset. */
  private readonly releases = new Map<string, Promise<void>>();
  private slotWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private lastRenewAt = 0;

  constructor(private readonly deps: OrderlyDeps) {
    this.locks = new QueueLocks({ group: deps.group, clientId: deps.clientId, call: deps.call }, deps.lockMaxLiveTimeMs);
  }

  start(): void {
    this.renewTimer = setInterval(() => void this.renew(), this.deps.lockIntervalMs);
  }

  /** No more renewals; a release still waiting for its handler stops waiting. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.renewTimer);
    for (const w of this.slotWaiters.splice(0)) w();
  }

  /** Locks queues about to be taken; returns the ones granted (the others are someone else's now). */
  async lockNew(mqs: MessageQueue[]): Promise<MessageQueue[]> {
    if (mqs.length === 0) return mqs;
    await Promise.all(mqs.map((mq) => this.releases.get(queueKey(mq))));
    const granted = await this.locks.lock(mqs);
    return mqs.filter((mq) => granted.has(queueKey(mq)));
  }

  /** Pull only while the lock is ours: what is pulled without it would not be consumed. */
  mayPull(pq: ProcessQueue): boolean {
    return this.locks.isLocked(pq.mq);
  }

  /** Messages were cached for this queue: run its consume loop unless it runs already. */
  submit(pq: ProcessQueue): void {
    if (!this.active.has(pq)) void this.run(pq);
  }

  /**
   * A queue taken away (already dropped): keep its lock until its running handler ends, commit,
   * then unlock. The broker's copy of the offset is what the next owner starts from.
   */
  release(pq: ProcessQueue, commit: () => Promise<void>): Promise<void> {
    const key = queueKey(pq.mq);
    this.releasing.set(key, pq.mq);
    const done = (async () => {
      try {
        while (pq.consuming > 0 && !this.stopped) await pq.idle(1000);
        await commit().catch(() => {});
      } finally {
        this.releasing.delete(key);
      }
      await this.locks.unlock([pq.mq]);
    })().finally(() => {
      if (this.releases.get(key) === done) this.releases.delete(key);
    });
    this.releases.set(key, done);
    return done;
  }

  /** Frees every lock held (after the last commit of a shutdown). */
  unlockAll(): Promise<void> {
    return this.locks.unlock(this.locks.queues());
  }

  /** Resolves when no handler runs (or after `timeoutMs`). */
  idle(timeoutMs: number): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      if (Number.isFinite(timeoutMs)) setTimeout(resolve, timeoutMs);
    });
  }

  /** Renews the locks of owned and releasing queues; drops the locks of anything else. */
  async renew(): Promise<void> {
    const keep = new Map<string, MessageQueue>(this.releasing);
    for (const mq of this.deps.owned()) keep.set(queueKey(mq), mq);
    // A lock granted since the last renewal may belong to a queue still being taken (its offset
    // being read): it is not stale until the next renewal.
    const since = this.lastRenewAt;
    this.lastRenewAt = Date.now();
    const stale = this.locks.queues().filter((mq) => !keep.has(queueKey(mq)) && this.locks.lockedAt(mq)! < since);
    if (stale.length) await this.locks.unlock(stale);
    const wanted = [...keep.values()];
    if (wanted.length === 0) return;
    const granted = await this.locks.lock(wanted);
    for (const mq of wanted) {
      const key = queueKey(mq);
      if (!granted.has(key) && !this.releasing.has(key) && !this.locks.isLocked(mq)) this.deps.lockLost(mq);
    }
  }

  /** One queue's loop: the oldest batch, then the next, while the lock is ours. */
  private async run(pq: ProcessQueue): Promise<void> {
    this.active.add(pq);
    try {
      while (!pq.dropped && !this.stopped) {
        if (!this.locks.isLocked(pq.mq)) {
          // The lock lapsed (renewals failed for 30 s): another member may have consumed since,
          // so this copy of the queue is stale. Rebalance takes it again, locked, from the broker's offset.
          this.deps.lockLost(pq.mq);
          return;
        }
        const msgs = pq.oldest(this.deps.batchSize);
        if (msgs.length === 0) return;
        await this.acquire();
        if (pq.dropped || this.stopped) {
          this.releaseSlot();
          return;
        }
        pq.consuming++;
        let outcome: Outcome;
        try {
          outcome = await this.consumeBatch(pq, msgs);
        } finally {
          pq.consuming--;
          this.releaseSlot();
          pq.wake();
        }
        // Suspended: the same messages stay first in the queue and are tried again after the pause.
        if (outcome === "suspend") await pq.sleep(this.deps.suspendMs);
      }
    } finally {
      this.active.delete(pq);
    }
  }

  private async consumeBatch(pq: ProcessQueue, msgs: MessageView[]): Promise<Outcome> {
    let result: unknown;
    try {
      result = await this.deps.consume(msgs);
    } catch {
      result = "SUSPEND_CURRENT_QUEUE_A_MOMENT";
    }
    if (pq.discarded || result === ABANDONED) return "next";
    if (result === "SUCCESS") {
      this.deps.counters.succeeded += msgs.length;
      pq.remove(msgs);
      return "next";
    }
    this.deps.counters.failed += msgs.length;
    const spent = msgs.filter((m) => m.reconsumeTimes >= this.deps.maxReconsumeTimes);
    const again = msgs.filter((m) => m.reconsumeTimes < this.deps.maxReconsumeTimes);
    // Out of attempts: to the DLQ (the broker's count would lag: the retries happened here).
    const dead: MessageView[] = [];
    await Promise.all(spent.map((m) =>
      this.deps.call(pq.mq.address, "sendBack", {
        group: this.deps.group,
        commitLogOffset: m.commitLogOffset,
        maxReconsumeTimes: this.deps.maxReconsumeTimes,
        reconsumeTimes: m.reconsumeTimes,
      }).then(() => dead.push(m), () => again.push(m))
    ));
    if (pq.discarded) return "next";
    this.deps.counters.sentBack += dead.length;
    pq.remove(dead);
    for (const m of again) m.reconsumeTimes++;
    return again.length > 0 ? "suspend" : "next";
  }

  private acquire(): Promise<void> {
    if (this.running < this.deps.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotWaiters.push(() => {
      this.running++;
      resolve();
    }));
  }

  private releaseSlot(): void {
    this.running--;
    const next = this.slotWaiters.shift();
    if (next) next();
    else if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
