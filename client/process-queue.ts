// What a PushConsumer holds of one assigned queue (RocketMQ's ProcessQueue): the messages pulled
// and not yet finished, ordered by queue offset, with the counters flow control looks at, and
// the offset it may commit: the oldest unfinished message, so a commit never passes a message
// whose handler has not finished.
import type { MessageView } from "../protocol/mod.ts";
import type { MessageQueue } from "./topic-route.ts";

export interface QueueStats {
  broker: string;
  topic: string;
  queueId: number;
  /** Pulled and not yet finished (handled, or sent back). */
  cachedCount: number;
  /** Body bytes of those. */
  cachedBytes: number;
  /** The most messages cached at once. */
  maxCachedCount: number;
  /** The most body bytes cached at once. */
  maxCachedBytes: number;
  /** The widest offset span between the oldest and newest cached message seen. */
  maxSpanSeen: number;
  /** Times pulling paused for flow control. */
  pausedCount: number;
  /** The offset of the next pull. */
  nextOffset: number;
  /** What a commit would record now. */
  committableOffset: number;
  /** The last offset the consumer recorded (-1: none yet). */
  committedOffset: number;
}

export class ProcessQueue {
  /** Pulling stopped: the queue was taken away, reset, or the consumer is stopping. */
  dropped = false;
  /** Results of handlers still running are ignored (a reset, or a kill). */
  discarded = false;
  /** Handlers of this queue running now. */
  consuming = 0;
  /** The offset last recorded for the group (-1: none). */
  lastCommitted = -1;
  cachedBytes = 0;
  maxCachedCount = 0;
  maxCachedBytes = 0;
  maxSpanSeen = 0;
  pausedCount = 0;
  private readonly cached = new Map<number, { msg: MessageView; bytes: number }>();
  /** Offsets in arrival order, which is ascending; removed ones are skipped lazily at both ends. */
  private order: number[] = [];
  private head = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly mq: MessageQueue, public nextOffset: number) {}

  get cachedCount(): number {
    return this.cached.size;
  }

  /** Adds what a pull returned (ascending offsets, all above what is cached) and moves nextOffset; the body bytes added. */
  put(msgs: MessageView[], nextOffset: number): number {
    let added = 0;
    for (const m of msgs) {
      if (this.cached.has(m.queueOffset)) continue;
      const bytes = bodyBytes(m.body);
      this.cached.set(m.queueOffset, { msg: m, bytes });
      this.order.push(m.queueOffset);
      added += bytes;
    }
    this.cachedBytes += added;
    this.nextOffset = nextOffset;
    this.maxCachedCount = Math.max(this.maxCachedCount, this.cached.size);
    this.maxCachedBytes = Math.max(this.maxCachedBytes, this.cachedBytes);
    this.maxSpanSeen = Math.max(this.maxSpanSeen, this.span());
    return added;
  }

  /** Marks messages finished; wakes a pull loop paused for flow control. */
  remove(msgs: MessageView[]): void {
    for (const m of msgs) {
      const entry = this.cached.get(m.queueOffset);
      if (!entry || entry.msg !== m) continue;
      this.cached.delete(m.queueOffset);
      this.cachedBytes -= entry.bytes;
    }
    if (this.cached.size === 0) {
      this.order = [];
      this.head = 0;
    }
    this.wake();
  }

  /** Drops everything cached: after a reset, the queue is pulled again from elsewhere. */
  clear(): void {
    this.cached.clear();
    this.order = [];
    this.head = 0;
    this.cachedBytes = 0;
    this.wake();
  }

  /** The oldest cached offset, if any. */
  first(): number | undefined {
    while (this.head < this.order.length && !this.cached.has(this.order[this.head])) this.head++;
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return this.head < this.order.length ? this.order[this.head] : undefined;
  }

  /** Up to `n` of the oldest cached messages, in queue order (what an orderly consumer takes next). */
  oldest(n: number): MessageView[] {
    const out: MessageView[] = [];
    this.first(); // moves the head past finished offsets
    for (let i = this.head; i < this.order.length && out.length < n; i++) {
      const entry = this.cached.get(this.order[i]);
      if (entry) out.push(entry.msg);
    }
    return out;
  }

  /** The newest cached offset, if any. */
  last(): number | undefined {
    while (this.order.length > this.head && !this.cached.has(this.order[this.order.length - 1])) this.order.pop();
    return this.order.length > this.head ? this.order[this.order.length - 1] : undefined;
  }

  /** Offsets between the oldest and newest cached message (RocketMQ's maxSpan). */
  span(): number {
    const first = this.first();
    return first === undefined ? 0 : this.last()! - first;
  }

  /** The next offset the group will consume here: the oldest unfinished message, or the next pull's. */
  committableOffset(): number {
    return this.first() ?? this.nextOffset;
  }

  /** Resolves when a message finishes or the queue is dropped: a paused pull loop looks again. */
  changed(): Promise<void> {
    if (this.dropped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Waits `ms`, or less if the queue is dropped meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.dropped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  /** Stops pulling; wakes whatever waits. */
  drop(): void {
    this.dropped = true;
    this.wake();
  }

  /** Waits until no handler of this queue runs, or `ms` passes; true if none runs. */
  async idle(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.consuming > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
    return true;
  }

  /** Wakes waiters: a handler finished (called for every handler end, not only removals). */
  wake(): void {
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const f of w) f();
  }

  stats(): QueueStats {
    return {
      broker: this.mq.broker,
      topic: this.mq.topic,
      queueId: this.mq.queueId,
      cachedCount: this.cached.size,
      cachedBytes: this.cachedBytes,
      maxCachedCount: this.maxCachedCount,
      maxCachedBytes: this.maxCachedBytes,
      maxSpanSeen: this.maxSpanSeen,
      pausedCount: this.pausedCount,
      nextOffset: this.nextOffset,
      committableOffset: this.committableOffset(),
      committedOffset: this.lastCommitted,
    };
  }
}

/** Body size as RocketMQ counts it for flow control: the body's bytes (UTF-8 for text). */
export function bodyBytes(body: unknown): number {
  if (body instanceof Uint8Array) return body.length;
  if (typeof body !== "string") return 0;
  let n = body.length;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 2; // a surrogate pair: 4 bytes for 2 code units
      i++;
    } else n += 2;
  }
  return n;
}
