// The hot path of writes. Everything that arrives in one event-loop turn (sends from all
// connections, offset commits) becomes one MessageStore.appendBatch, one write syscall, one
// APPEND_BATCH event to the root, and under --flush sync one shared fsync (group commit).
import { BrokerError, ErrorCode } from "../../protocol/mod.ts";
import type { AppendItem, AppendResult } from "../../storage/message-store.ts";
import type { Broker } from "../broker.ts";

export type AppendOutcome = AppendResult | BrokerError;

interface Pending {
  items: AppendItem[];
  /** Runs synchronously right after the append, before anything else can observe the store. */
  applied?: (results: AppendResult[]) => void;
  /** Runs once the append is as durable as the flush mode promises. */
  done: (results: AppendOutcome[]) => void;
}

export class AppendPipeline {
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight = new Set<Promise<void>>();

  constructor(private broker: Broker) {}

  append(items: AppendItem[], done: Pending["done"], applied?: Pending["applied"]): void {
    if (items.length === 0) return done([]);
    this.pending.push({ items, done, applied });
    if (!this.scheduled) {
      this.scheduled = true;
      this.broker.platform.afterTurn(() => this.flush());
    }
  }

  /** Waits until everything accepted so far is stored and answered. */
  async drain(): Promise<void> {
    if (this.scheduled) this.flush();
    await Promise.all(this.inFlight);
  }

  private flush(): void {
    if (!this.scheduled) return; // drained early
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const items = batch.length === 1 ? batch[0].items : batch.flatMap((p) => p.items);
    const { store } = this.broker;
    let results: AppendResult[];
    try {
      results = store.appendBatch(items);
    } catch (e) {
      // The store refused the whole batch (disk full, a closed store): nothing was written.
      const err = e instanceof BrokerError ? e : new BrokerError(ErrorCode.INTERNAL_ERROR, String(e));
      for (const p of batch) p.done(p.items.map(() => err));
      return;
    }
    this.broker.timer.stored(items, results); // in this turn: a record and its timer entry are written together
    this.broker.transactions.stored(items, results); // a transaction actor per half message, in this turn too
    this.broker.metrics.appended(items);
    this.notifyQueues(items, results);
    const slices: AppendResult[][] = [];
    let at = 0;
    for (const p of batch) {
      const slice = results.slice(at, (at += p.items.length));
      slices.push(slice);
      p.applied?.(slice);
    }
    if (this.broker.config.flush === "async") {
      batch.forEach((p, i) => p.done(slices[i]));
      return;
    }
    const last = results[results.length - 1];
    const durable = store.waitDurable(last.commitLogOffset + last.size).then(
      () => batch.forEach((p, i) => p.done(slices[i])),
      (e) => {
        // Written but not known durable: say where, so a client can tell instead of resending.
        const code = e instanceof BrokerError ? e.code : ErrorCode.FLUSH_TIMEOUT;
        const message = e instanceof Error ? e.message : String(e);
        batch.forEach((p, i) =>
          p.done(p.items.map((item, k) => {
            const r = slices[i][k];
            return new BrokerError(code, message, { queueId: item.queueId, queueOffset: r.queueOffset, commitLogOffset: r.commitLogOffset });
          })));
      },
    );
    this.inFlight.add(durable);
    durable.finally(() => this.inFlight.delete(durable));
  }

  /** One APPENDED per touched queue, carrying its new max offset. */
  private notifyQueues(items: AppendItem[], results: AppendResult[]): void {
    const touched = new Map<string, [string, number, number, number]>();
    for (let i = 0; i < items.length; i++) {
      const { topic, queueId } = items[i];
      const r = results[i];
      touched.set(`${topic}\u0000${queueId}`, [topic, queueId, r.queueOffset + 1, r.storeTimestamp]);
    }
    this.broker.send({ type: "APPEND_BATCH", queues: [...touched.values()] });
  }
}
