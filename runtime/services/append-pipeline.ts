// The hot path of writes. Everything that arrives in one event-loop turn (sends from all
// connections, offset commits) becomes one MessageStore.appendBatch, one write syscall, one
// APPEND_BATCH event to the root, and under --flush sync one shared fsync (group commit).
// What must follow each write in its own turn (the timing wheel's links, transaction actors,
// metrics, the queue actors' news) is a CommitLogDispatcher registered here, called in order.
import { BrokerError, ErrorCode, SCHEDULE_TOPIC } from "../../protocol/mod.ts";
import type { AppendItem, AppendResult } from "../../storage/message-store.ts";
import type { Actors, AppendOutcome, Appender, CommitLogDispatcher, MessageStore, PullHolds, Replication } from "../context.ts";

export interface AppendPipelineDeps {
  store: Pick<MessageStore, "appendBatch" | "writeEntries" | "waitDurable" | "refusal">;
  /** Schedules fn after the current I/O turn (Platform.afterTurn). */
  afterTurn(fn: () => void): void;
  /** Sends what the sockets gathered so far in this turn (Platform.sendGathered). */
  sendGathered?(): void;
  flush: "async" | "sync";
  /** A replicated group member's checks and waits (runtime/ha/); none for a standalone broker. */
  replication?: Replication;
}

interface Pending {
  items: AppendItem[];
  /** Runs synchronously right after the append, before anything else can observe the store. */
  applied?: (results: AppendResult[]) => void;
  /** Runs once the append is as durable as the flush mode promises. */
  done: (results: AppendOutcome[]) => void;
}

export class AppendPipeline implements Appender {
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight = new Set<Promise<void>>();
  private readonly dispatchers: CommitLogDispatcher[] = [];

  constructor(private readonly deps: AppendPipelineDeps) {}

  /** Adds a dispatcher, called after every write in the order of registration. */
  addDispatcher(dispatcher: CommitLogDispatcher): void {
    this.dispatchers.push(dispatcher);
  }

  append(items: AppendItem[], done: Pending["done"], applied?: Pending["applied"]): void {
    if (items.length === 0) return done([]);
    this.pending.push({ items, done, applied });
    if (!this.scheduled) {
      this.scheduled = true;
      this.deps.afterTurn(() => this.flush());
    }
  }

  /**
   * Writes `items` now, in this turn, alone in their batch and after everything queued before
   * them: what must sit in the log between the writes before and after it (a topic's deletion).
   */
  appendAlone(items: AppendItem[], done: Pending["done"], applied?: Pending["applied"]): void {
    if (this.scheduled) this.flush();
    this.pending.push({ items, done, applied });
    this.scheduled = true;
    this.flush();
  }

  /**
   * Whether the store takes all of a write's items; if not, the write is answered now: each
   * refused item with why, the others of the same write (stored together or not at all) with
   * the first refusal.
   */
  private accepted(p: Pending): boolean {
    let first: BrokerError | null = null;
    const refused = p.items.map((item) => {
      const e = this.deps.store.refusal(item);
      first ??= e;
      return e;
    });
    if (!first) return true;
    const why: BrokerError = first;
    p.done(refused.map((e) => e ?? new BrokerError(why.code, `not stored: another message of the same write was refused (${why.message})`)));
    return false;
  }

  /** Waits until everything accepted so far is stored and answered. */
  async drain(): Promise<void> {
    if (this.scheduled) this.flush();
    await Promise.all(this.inFlight);
  }

  private flush(): void {
    if (!this.scheduled) return; // drained early
    this.scheduled = false;
    const { store, replication } = this.deps;
    // A write (one caller's items) the store would refuse fails alone, before anything is written:
    // one bad message never fails other clients' sends in the same batch.
    const batch = this.pending.filter((p) => this.accepted(p));
    this.pending = [];
    if (batch.length === 0) return;
    const items = batch.length === 1 ? batch[0].items : batch.flatMap((p) => p.items);
    let results: AppendResult[];
    try {
      replication?.checkWritable(); // a slave, or too few in sync: refused before anything is written
      results = store.appendBatch(items, true);
    } catch (e) {
      // The store refused the whole batch (disk full, a closed store): nothing was written.
      const err = e instanceof BrokerError ? e : new BrokerError(ErrorCode.INTERNAL_ERROR, String(e));
      for (const p of batch) p.done(p.items.map(() => err));
      return;
    }
    replication?.appended();
    const last = results[results.length - 1];
    const end = last.commitLogOffset + last.size;
    const replicated = replication?.replicated(end) ?? null;
    // In this turn: a timed record and its wheel entry are written together, a half message gets
    // its actor. Under sync replication readers see the write once the in-sync replicas hold it.
    for (const d of this.dispatchers) if (!replicated || !d.whenVisible) d.dispatch(items, results);
    // The long polls the write woke are answered: their answers leave now, before the
    // ConsumeQueue entries reach their files, the actors hear of the write, and the acks below.
    this.deps.sendGathered?.();
    store.writeEntries();
    for (const d of this.dispatchers) if (!replicated || !d.whenVisible) d.answered?.();
    if (replicated) {
      const later = this.dispatchers.filter((d) => d.whenVisible);
      replicated.then(() => 0, () => 0).then(() => later.forEach((d) => (d.dispatch(items, results), d.answered?.())));
    }
    const slices: AppendResult[][] = [];
    let at = 0;
    for (const p of batch) {
      const slice = results.slice(at, (at += p.items.length));
      slices.push(slice);
      p.applied?.(slice);
    }
    if (this.deps.flush === "async" && !replicated) {
      batch.forEach((p, i) => p.done(slices[i]));
      return;
    }
    const durable = (replicated ? Promise.all([store.waitDurable(end), replicated]) : store.waitDurable(end)).then(
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
}

/**
 * The queue actors' dispatcher. In the write's turn it answers the held pulls the write reaches
 * (PullHolds.wake); once those answers have left, each touched queue's actor gets one APPENDED
 * with its new max offset, straight (through the root, a write woke a held pull two machine
 * steps later). What the root must see goes to it as one APPEND_BATCH: the delay levels'
 * schedule queues, which its delay actors follow, and any queue whose actor is not there. No
 * event per message.
 */
export function queueNotifier(actors: Actors, pulls: Pick<PullHolds, "wake">): CommitLogDispatcher {
  let touched = new Map<string, [string, number, number, number]>();
  return {
    whenVisible: true,
    dispatch(items, results) {
      for (let i = 0; i < items.length; i++) {
        const { topic, queueId } = items[i];
        const r = results[i];
        touched.set(`${topic}\u0000${queueId}`, [topic, queueId, r.queueOffset + 1, r.storeTimestamp]);
      }
      for (const [topic, queueId, maxOffset] of touched.values()) if (topic !== SCHEDULE_TOPIC) pulls.wake(topic, queueId, maxOffset);
    },
    answered() {
      const queues = touched;
      touched = new Map();
      const rest: [string, number, number, number][] = [];
      for (const q of queues.values()) {
        const [topic, queueId, maxOffset, lastStoreTimestamp] = q;
        if (topic === SCHEDULE_TOPIC || !actors.sendToQueue(topic, queueId, { type: "APPENDED", maxOffset, lastStoreTimestamp })) rest.push(q);
      }
      if (rest.length > 0) actors.send({ type: "APPEND_BATCH", queues: rest });
    },
  };
}

/**
 * Why a batch was not written, or undefined if it was. An error that says where the record went
 * (FLUSH_TIMEOUT, details) means it was written, only not known durable; any other means the
 * store refused the whole batch and nothing was written.
 */
export function notWritten(results: readonly AppendOutcome[]): BrokerError | undefined {
  return results.find((r): r is BrokerError => r instanceof BrokerError && r.code !== ErrorCode.FLUSH_TIMEOUT && r.details === undefined);
}
