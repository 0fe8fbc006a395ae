// Concurrent consumption (RocketMQ's ConsumeMessageConcurrentlyService): pulled messages are cut
// into batches that run the handler with bounded concurrency across all queues, in any order. A
// failed batch is sent back to the broker for a later retry (clustering) and only then counts as
// finished for the offset; one the broker would not take stays cached and runs again here later.
import type { MessageView } from "../protocol/mod.ts";
import type { ProcessQueue } from "./process-queue.ts";

/** RocketMQ: a message that could not be sent back is consumed again here after 5 s. */
const RETRY_LATER_LOCALLY_MS = 5000;

/**
 * A handler's answer for messages it neither consumed nor failed (an iterator loop that was
 * left): they stay cached, holding the queue's committed offset, for the group to read again.
 */
export const ABANDONED = Symbol("abandoned");

export interface ConcurrentlyDeps {
  group: string;
  model: "clustering" | "broadcasting";
  /** The handler over one batch; anything but "SUCCESS" (or a throw) is a failure. It may answer at once or with a promise. */
  consume(msgs: MessageView[]): unknown;
  batchSize: number;
  concurrency: number;
  maxReconsumeTimes: number;
  call(address: string, op: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  counters: { succeeded: number; failed: number; sentBack: number };
  /** Runs `f` after `ms` while the consumer runs (always, with `keep`); cleared when it stops. */
  later(ms: number, f: () => void, keep?: boolean): void;
  /** A failed message could not be sent back: it is consumed here again later. */
  sendBackFailed?(msg: MessageView, error: unknown): void;
}

interface ConsumeRequest {
  pq: ProcessQueue;
  msgs: MessageView[];
}

export class ConsumeConcurrentlyService {
  /** Handlers running now. */
  running = 0;
  private backlog: ConsumeRequest[] = [];
  private backlogHead = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: ConcurrentlyDeps) {}

  /** Batches waiting for a free handler slot. */
  get waiting(): number {
    return this.backlog.length - this.backlogHead;
  }

  /** Queues messages cached for `pq` to be handled, `batchSize` at a time. */
  submit(pq: ProcessQueue, msgs: MessageView[]): void {
    for (let i = 0; i < msgs.length; i += this.deps.batchSize) this.backlog.push({ pq, msgs: msgs.slice(i, i + this.deps.batchSize) });
    this.pump();
  }

  /** Forgets batches not yet started (a kill). */
  clear(): void {
    this.backlog = [];
    this.backlogHead = 0;
  }

  /** Resolves when no handler runs (or after `timeoutMs`). */
  idle(timeoutMs: number): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      if (Number.isFinite(timeoutMs)) this.deps.later(timeoutMs, resolve, true);
    });
  }

  private pump(): void {
    while (this.running < this.deps.concurrency && this.backlogHead < this.backlog.length) {
      const req = this.backlog[this.backlogHead++];
      if (req.pq.dropped) continue; // left cached: its offset is not committed past them
      let result: unknown;
      try {
        result = this.deps.consume(req.msgs);
      } catch {
        result = "RECONSUME_LATER";
      }
      // A handler that succeeded at once is finished here: no promise, no microtask, no slot.
      if (result === "SUCCESS") {
        this.succeeded(req);
        continue;
      }
      this.running++;
      req.pq.consuming++;
      this.consume(req, result).finally(() => {
        this.running--;
        req.pq.consuming--;
        req.pq.wake();
        if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
        this.pump();
      }).catch(() => {});
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    } else if (this.backlogHead > 1024 && this.backlogHead * 2 > this.backlog.length) {
      this.backlog = this.backlog.slice(this.backlogHead);
      this.backlogHead = 0;
    }
  }

  private succeeded({ pq, msgs }: ConsumeRequest): void {
    if (pq.discarded) return;
    this.deps.counters.succeeded += msgs.length;
    pq.remove(msgs);
  }

  /** Waits for a handler's promise, then finishes the batch: done, or sent back for a retry. */
  private async consume(req: ConsumeRequest, pending: unknown): Promise<void> {
    const { pq, msgs } = req;
    let result: unknown;
    try {
      result = await pending;
    } catch {
      result = "RECONSUME_LATER";
    }
    if (result === "SUCCESS") return this.succeeded(req);
    if (pq.discarded || result === ABANDONED) return;
    const { counters } = this.deps;
    counters.failed += msgs.length;
    if (this.deps.model === "broadcasting") {
      // RocketMQ does not retry broadcast messages: every member has its own copy, and no
      // retry topic is shared by them. The failure is dropped.
      pq.remove(msgs);
      return;
    }
    const back: MessageView[] = [];
    const local: MessageView[] = [];
    await Promise.all(msgs.map((m) =>
      this.deps.call(pq.mq.address, "sendBack", { group: this.deps.group, commitLogOffset: m.commitLogOffset, maxReconsumeTimes: this.deps.maxReconsumeTimes })
        .then(() => back.push(m), (e) => {
          local.push(m);
          this.deps.sendBackFailed?.(m, e);
        })
    ));
    if (pq.discarded) return;
    counters.sentBack += back.length;
    // Finished for the offset only once the broker holds the retry.
    pq.remove(back);
    if (local.length === 0) return;
    // Not sent back: consume it again here a little later; it stays cached, holding the offset.
    for (const m of local) m.reconsumeTimes++;
    this.deps.later(RETRY_LATER_LOCALLY_MS, () => {
      if (!pq.dropped) this.submit(pq, local);
    });
  }
}
