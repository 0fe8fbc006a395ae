// Delivery at any time (RocketMQ 5's timer messages). A message sent with `deliverAt` or
// `delayMs` is stored, its map edited (protocol/message-rewrite.ts), in RMQ_SYS_WHEEL_TIMER
// with its real topic and queue and its due time in properties; right after its CommitLog write
// (same synchronous turn, so a SIGKILL cannot separate them) a TimerLog entry is appended and
// linked into the wheel slot of its second. Pending timers therefore cost disk, not memory.
//
// The `timer` actor runs `tick` at its nextAt: tick loads each second into an in-memory min-heap
// one second before it starts, fires every timer whose millisecond has come by re-putting the
// message into its real topic (a new CommitLog record, same id, keys, tags, body, properties),
// and moves the cursor (the last second with everything delivered) forward. The cursor lives in
// the wheel file's header (rewritten as it moves) and in the actor's context. Each delivered
// entry is marked in the TimerLog once its re-put is written, so a restart reloads the seconds
// after the cursor, skips what was delivered and delivers the rest at once: nothing lost, and
// nothing repeated after a SIGKILL but a re-put it cut off from its mark (a machine crash under
// async flush may repeat a few more).
//
// The wheel counts the timer-topic records it has linked. A start links any the wheel missed
// (its files lost a tail the CommitLog kept, or were remade for a new --timer-max-delay, which
// keeps the cursor: records due at or before it were delivered and are not linked again; those
// delivered in the second or two after it may be delivered again: at least once).
import { BrokerError, decode, ErrorCode, type Message, MessageProp, TIMER_TOPIC } from "../../protocol/mod.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import type { TimerContext } from "../../actors/timer.machine.ts";
import type { AppendItem, AppendResult } from "../../storage/message-store.ts";
import { TimerStore } from "../../storage/timer-wheel.ts";
import type { Broker } from "../broker.ts";
import type { AppendOutcome } from "./append-pipeline.ts";
import { reputItem, type ScheduledItem } from "./schedule.ts";
import { MessageRewrite } from "../../protocol/message-rewrite.ts";

/** Most timers one tick re-puts; more due ones continue in the next turn. */
const MAX_FIRE = 4096;
/** Most seconds one tick loads (a restart after a long stop catches up in steps). */
const MAX_LOAD = 4096;
/** After a failed re-put (the store refused the batch), wait this long before trying again. */
const RETRY_MS = 1000;
/** Into the timer topic: its time moves from deliverAt/delayMs into props, with the real queue. */
const TO_TIMER = new MessageRewrite({ drop: ["deliverAt", "delayMs"], setProps: [MessageProp.REAL_TOPIC, MessageProp.REAL_QID, MessageProp.DELIVER_AT] });

interface Pending {
  at: number;
  second: number;
  commitLogOffset: number;
  size: number;
  link: number;
}

export class TimerService {
  private store?: TimerStore;
  private heap = new MinHeap();
  /** Timers of each loaded second not yet delivered: the cursor waits for them. */
  private pending = new Map<number, number>();
  private cursor = -1;
  /** The last second loaded into the heap (timers of later seconds are only on disk). */
  private loadedThrough = -1;
  /** When the actor will next tick: a new timer earlier than this wakes it. */
  private armedAt = 0;
  private topicReady = false;

  constructor(private broker: Broker) {}

  /** When a message asks for a time (deliverAt or delayMs): that time, checked against the maximum delay. */
  deliverAtOf(msg: Message): number | undefined {
    if (msg.deliverAt === undefined && msg.delayMs === undefined) return undefined;
    const now = this.broker.platform.clock.now();
    const at = msg.deliverAt ?? now + msg.delayMs!;
    const max = this.broker.config.timerMaxDelayMs;
    if (at - now > max) {
      const field = msg.deliverAt !== undefined ? "deliverAt" : "delayMs";
      throw new BrokerError(ErrorCode.BAD_REQUEST, `message.${field} is ${at - now} ms ahead; the broker's maximum delay is ${max} ms (--timer-max-delay)`);
    }
    return at;
  }

  /**
   * The timer-topic record of a message due at `at`: everything but deliverAt/delayMs, the real
   * queue and time in props. `bytes` (the message as sent) are edited in place when their layout
   * allows, which spares a full re-encode (the body included); else the map is re-encoded.
   */
  item(messageMap: Record<string, unknown>, realTopic: string, realQueueId: number, at: number, bytes?: Uint8Array): ScheduledItem {
    if (!this.topicReady) {
      if (!this.broker.topics[TIMER_TOPIC]) this.broker.createTopic(TIMER_TOPIC, 1, PERM_RW);
      this.topicReady = true;
    }
    const keys = messageMap.keys;
    return {
      topic: TIMER_TOPIC,
      queueId: 0,
      bytes: TO_TIMER.move(bytes, messageMap, TIMER_TOPIC, [realTopic, String(realQueueId), String(at)]),
      tagsCode: at,
      keys: Array.isArray(keys) ? (keys as string[]) : undefined,
      msgId: String(messageMap.id),
      realTopic,
      realQueueId,
    };
  }

  /** At start, after restore: opens the wheel and starts (or tells) the timer actor from its cursor. */
  start(): { behind: number; relinked: number } {
    const { platform, config } = this.broker;
    this.store = new TimerStore(platform.files, `${config.dataDir.replace(/\/+$/, "")}/timer`, config.timerMaxDelayMs);
    const now = platform.clock.now();
    const known = this.store.wheel.cursor >= 0;
    this.cursor = known ? this.store.wheel.cursor : Math.floor(now / 1000) - 1;
    this.store.wheel.cursor = this.cursor;
    const relinked = this.relink(this.store.wheel.fresh && known);
    this.loadedThrough = this.cursor;
    this.armedAt = now;
    this.broker.send({ type: "TIMER_START", cursor: this.cursor });
    this.broker.send({ type: "TIMER_TICK" });
    return { behind: Math.max(0, Math.floor(now / 1000) - this.cursor - 1), relinked };
  }

  /**
   * Links the timer-topic records past the wheel's count. `skipDelivered`: the wheel was remade
   * with its cursor known, so records due at or before the cursor were delivered already.
   */
  private relink(skipDelivered: boolean): number {
    const { store } = this.broker;
    const wheel = this.store!.wheel;
    const end = store.maxOffset(TIMER_TOPIC, 0);
    let from = wheel.linked;
    let n = 0;
    while (from < end) {
      const r = store.getMessages(TIMER_TOPIC, 0, from, 1024, 16 * 1024 * 1024);
      if (r.status === "OFFSET_ILLEGAL") {
        if (r.nextOffset === from) break;
        from = r.nextOffset; // retention took the head
        continue;
      }
      const missed: { commitLogOffset: number; size: number; deliverAt: number }[] = [];
      for (const rec of r.records) {
        from = rec.queueOffset + 1;
        let at: number;
        try {
          at = Number((decode(rec.message) as { props?: Record<string, string> }).props?.[MessageProp.DELIVER_AT]);
        } catch {
          continue;
        }
        if (!Number.isSafeInteger(at) || at < 0) continue;
        if (skipDelivered && Math.floor(at / 1000) <= this.cursor) continue;
        missed.push({ commitLogOffset: rec.commitLogOffset, size: rec.size, deliverAt: Math.max(at, (this.cursor + 1) * 1000) });
      }
      n += this.store!.addMany(missed).length;
      if (r.records.length === 0) {
        if (r.nextOffset <= from) break;
        from = r.nextOffset;
      }
    }
    if (end !== wheel.linked) wheel.linked = end;
    return n;
  }

  /** What a timer actor restarted by supervision starts from. */
  restartInput(): TimerContext {
    return { cursor: this.cursor, nextAt: this.broker.platform.clock.now() };
  }

  /**
   * Called by the append pipeline right after each CommitLog write: links every timer-topic
   * record into the wheel. A time in a second already delivered is delivered at once (it goes
   * into the next second, which starts no later than now), so no entry lands behind the cursor.
   */
  stored(items: AppendItem[], results: AppendResult[]): void {
    if (!this.store) return;
    let earliest = Infinity;
    let linked = -1;
    const timed: { commitLogOffset: number; size: number; deliverAt: number }[] = [];
    for (let i = 0; i < items.length; i++) {
      if (items[i].topic !== TIMER_TOPIC) continue;
      // A time in a second already delivered goes into the next one.
      const { commitLogOffset, size, queueOffset } = results[i];
      timed.push({ commitLogOffset, size, deliverAt: Math.max(items[i].tagsCode, (this.cursor + 1) * 1000) });
      linked = queueOffset + 1;
    }
    if (timed.length === 0) return;
    const links = this.store.addMany(timed);
    timed.forEach(({ commitLogOffset, size, deliverAt: at }, i) => {
      const second = Math.floor(at / 1000);
      if (second > this.loadedThrough) return;
      this.heap.push({ at, second, commitLogOffset, size, link: links[i] });
      this.pending.set(second, (this.pending.get(second) ?? 0) + 1);
      if (at < earliest) earliest = at;
    });
    this.store.wheel.linked = linked;
    if (earliest < this.armedAt) {
      this.armedAt = earliest;
      this.broker.send({ type: "TIMER_TICK" });
    }
  }

  /**
   * The timer actor's effect: loads the seconds about to start, fires what is due (one append),
   * moves the cursor, and says when to run next. Runs inside the actor's transition, so it only
   * reads state and queues appends.
   */
  tick(): TimerContext {
    const now = this.broker.platform.clock.now();
    if (!this.store) return { cursor: this.cursor, nextAt: now + 1000 };
    const horizon = Math.floor(now / 1000) + 1; // the next second is loaded before it starts
    let loads = 0;
    while (this.loadedThrough < horizon && loads++ < MAX_LOAD) {
      const second = ++this.loadedThrough;
      let n = 0;
      for (const e of this.store.entriesOf(second)) {
        if (e.delivered) continue;
        this.heap.push({ at: e.deliverAt, second, commitLogOffset: e.commitLogOffset, size: e.size, link: e.link });
        n++;
      }
      if (n > 0) this.pending.set(second, (this.pending.get(second) ?? 0) + n);
    }
    const fired: Pending[] = [];
    const items: AppendItem[] = [];
    let more = this.loadedThrough < horizon;
    while (this.heap.size > 0 && this.heap.peek()!.at <= now) {
      if (fired.length >= MAX_FIRE) {
        more = true;
        break;
      }
      const t = this.heap.peek()!;
      const rec = this.broker.store.readRecord(t.commitLogOffset);
      const item = rec ? reputItem(rec, TIMER_TOPIC) : null;
      if (!rec) console.error(`${TIMER_TOPIC}: the record at ${t.commitLogOffset} is gone (retention?); its timer is dropped`);
      if (item && !((this.broker.topics[item.topic]?.queues ?? 0) > item.queueId)) {
        // Topic creation goes through the root, which may be busy with this very transition.
        const { topic, queueId } = item;
        queueMicrotask(() => {
          const cfg = this.broker.topics[topic];
          this.broker.createTopic(topic, Math.max(queueId + 1, cfg?.queues ?? this.broker.config.defaultQueues), cfg?.perm ?? PERM_RW);
          this.broker.send({ type: "TIMER_TICK" });
        });
        break;
      }
      this.heap.pop();
      fired.push(t);
      if (item) items.push(item);
    }
    if (items.length > 0) this.broker.appends.append(items, (results) => this.delivered(fired, results));
    else if (fired.length > 0) this.delivered(fired, []);
    this.advance(now);
    const nextAt = more ? now : Math.min(this.heap.peek()?.at ?? Infinity, this.loadedThrough * 1000);
    this.armedAt = nextAt;
    return { cursor: this.cursor, nextAt };
  }

  close(): void {
    this.store?.close();
    this.store = undefined;
  }

  /** How many timers wait in memory (the near-term heap); the rest are only on disk. */
  get inMemory(): number {
    return this.heap.size;
  }

  private delivered(fired: Pending[], results: AppendOutcome[]): void {
    // An error that says where the record went (FLUSH_TIMEOUT) means it was written. Any other:
    // nothing was, so the timers go back into the heap and are fired again shortly.
    const failed = results.find((r): r is BrokerError => r instanceof BrokerError && r.code !== ErrorCode.FLUSH_TIMEOUT && r.details === undefined);
    if (this.broker.isClosing && failed) return;
    if (failed) {
      console.error(`timer: re-put of ${fired.length} messages failed (${failed.message}); retrying`);
      for (const t of fired) this.heap.push(t);
      const clock = this.broker.platform.clock;
      clock.setTimeout(() => this.broker.send({ type: "TIMER_TICK" }), RETRY_MS);
      return;
    }
    for (const t of fired) {
      this.store?.log.markDelivered(t.link, t.size);
      this.pending.set(t.second, (this.pending.get(t.second) ?? 1) - 1);
    }
    this.advance(this.broker.platform.clock.now());
  }

  /** Moves the cursor over every loaded second that has ended with all its timers delivered. */
  private advance(now: number): void {
    let c = this.cursor;
    while (c + 1 <= this.loadedThrough && !((this.pending.get(c + 1) ?? 0) > 0) && now >= (c + 2) * 1000) {
      this.pending.delete(c + 1);
      c++;
    }
    if (c !== this.cursor && this.store) {
      this.cursor = c;
      this.store.wheel.cursor = c;
    }
  }
}

/** A binary min-heap of timers by due time. */
class MinHeap {
  private a: Pending[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): Pending | undefined {
    return this.a[0];
  }

  push(t: Pending): void {
    const a = this.a;
    let i = a.push(t) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].at <= t.at) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = t;
  }

  pop(): Pending | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r].at < a[l].at ? r : l;
      if (a[c].at >= last.at) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return top;
  }
}
