// Where a PushConsumer's progress is read from and recorded: on the queue's broker in clustering
// (RocketMQ's RemoteBrokerOffsetStore), in the member's own OffsetStore in broadcasting. What is
// recorded for a queue is its ProcessQueue's committable offset, the oldest message unfinished.
import { RETRY_PREFIX } from "../protocol/mod.ts";
import type { OffsetStore } from "./offset-store.ts";
import type { ProcessQueue } from "./process-queue.ts";
import type { MessageQueue } from "./topic-route.ts";

export interface OffsetDeps {
  group: string;
  model: "clustering" | "broadcasting";
  consumeFrom: "first" | "last";
  offsetStore: OffsetStore;
  call(address: string, op: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The queues owned now: what a periodic persist records. */
  owned(): ProcessQueue[];
  /** Recording a queue's offset failed (it is recorded again later); or, with no error, it worked. */
  committed(mq: MessageQueue, error?: unknown): void;
}

export class ConsumerOffsets {
  private persisting: Promise<void> | null = null;

  constructor(private readonly deps: OffsetDeps) {}

  /** Where consuming a queue starts: the group's recorded offset, or where consumeFrom says. */
  async startOffset(mq: MessageQueue): Promise<number> {
    const { deps } = this;
    let stored: number | undefined;
    if (deps.model === "clustering") {
      const r = await deps.call(mq.address, "queryOffset", { group: deps.group, topic: mq.topic, queueId: mq.queueId });
      stored = typeof r.offset === "number" ? r.offset : undefined;
    } else {
      stored = await deps.offsetStore.read(deps.group, { broker: mq.broker, topic: mq.topic, queueId: mq.queueId });
    }
    if (stored !== undefined && stored >= 0) return stored;
    // Never committed. A pull below the queue's min offset is corrected by OFFSET_MOVED.
    if (mq.topic.startsWith(RETRY_PREFIX) || deps.consumeFrom === "first") return 0;
    const status = await deps.call(mq.address, "topicStatus", { topic: mq.topic });
    const queues = Array.isArray(status.queues) ? (status.queues as { queueId: number; minOffset: number; maxOffset: number }[]) : [];
    const q = queues.find((q) => q.queueId === mq.queueId);
    // "last" is RocketMQ's CONSUME_FROM_LAST_OFFSET: a queue whose first message is still stored
    // is read from its start (so a group started after the first sends, or before its topic
    // existed, misses nothing); one whose oldest messages are gone is read from its end.
    return q === undefined || q.minOffset === 0 ? 0 : q.maxOffset;
  }

  /** Records every owned queue's committable offset that changed since the last record. */
  persistAll(final = false): Promise<void> {
    if (this.persisting && !final) return this.persisting;
    const p = (this.persisting ?? Promise.resolve())
      .then(() => this.commit(this.deps.owned()))
      .catch(() => {})
      .finally(() => {
        if (this.persisting === p) this.persisting = null;
      });
    this.persisting = p;
    return p;
  }

  /** Records the committable offsets of `pqs` that changed; rejects if any could not be (each failure is reported). */
  async commit(pqs: ProcessQueue[]): Promise<void> {
    const { deps } = this;
    const changed = pqs.filter((pq) => !pq.discarded && pq.committableOffset() !== pq.lastCommitted);
    if (changed.length === 0) return;
    if (deps.model === "broadcasting") {
      const offsets = changed.map((pq) => ({ broker: pq.mq.broker, topic: pq.mq.topic, queueId: pq.mq.queueId, offset: pq.committableOffset() }));
      try {
        await deps.offsetStore.persist(deps.group, offsets);
      } catch (e) {
        for (const pq of changed) deps.committed(pq.mq, e);
        throw e;
      }
      changed.forEach((pq, i) => (pq.lastCommitted = offsets[i].offset));
      return;
    }
    const results = await Promise.allSettled(changed.map(async (pq) => {
      const offset = pq.committableOffset();
      try {
        await deps.call(pq.mq.address, "commitOffset", { group: deps.group, topic: pq.mq.topic, queueId: pq.mq.queueId, offset });
      } catch (e) {
        deps.committed(pq.mq, e);
        throw e;
      }
      deps.committed(pq.mq);
      pq.lastCommitted = Math.max(pq.lastCommitted, offset);
    }));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}
