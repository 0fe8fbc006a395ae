// Delivery at any time (RocketMQ 5's timer messages). A message sent with `deliverAt` or
// `delayMs` is stored, its map edited (protocol/message-rewrite.ts), in RMQ_SYS_WHEEL_TIMER
// with its real topic and queue and its due time in properties; right after its CommitLog write
// (same synchronous turn, so a SIGKILL cannot separate them) a TimerLog entry is appended and
// linked into the wheel slot of its second. Pending timers therefore cost disk, not memory.
//
// The `timer` actor runs `tick` at its nextAt: tick loads each second into an in-memory min-heap
// one second before it starts, fires every timer whose millisecond has come by re-putting the
// message into its real topic (a new CommitLog record, same id, keys, tags, body, properties),
// and moves the cursor (the last second with everything delivered) forward. The cursor is this
// service's alone, kept in the wheel file's header (rewritten as it moves); the actor holds only
// when to run next. Each delivered
// entry is marked in the TimerLog once its re-put is written, so a restart reloads the seconds
// after the cursor, skips what was delivered and delivers the rest at once: nothing lost, and
// nothing repeated after a SIGKILL but a re-put it cut off from its mark (a machine crash under
// async flush may repeat a few more).
//
// The wheel counts the timer-topic records it has linked. A start links any the wheel missed
// (its files lost a tail the CommitLog kept, or were remade for a new --timer-max-delay, which
// keeps the cursor: records due at or before it were delivered and are not linked again; those
// delivered in the second or two after it may be delivered again: at least once).
import { BrokerError, decode, ErrorCode, type Message, MessageProp, POP_CK_TOPIC, TIMER_TOPIC } from "../../protocol/mod.ts";
import type { DeadLetters } from "./dead-letter.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import type { TimerContext } from "../../actors/timer.machine.ts";
import type { AppendItem, AppendResult, StoredRecord } from "../../storage/message-store.ts";
import { TimerStore } from "../../storage/timer-wheel.ts";
import { MessageRewrite } from "../../protocol/message-rewrite.ts";
import type { Actors, AppendOutcome, Appender, Clock, CommitLogDispatcher, Files, MessageStore, ScheduledItem, Timers, Topics } from "../context.ts";
import { notWritten } from "./append-pipeline.ts";
import { MinHeap } from "./min-heap.ts";
import { replayQueue } from "./queue-replay.ts";
import { reputItem } from "./reput.ts";

export interface TimerServiceDeps {
  /** Moves a re-put its target refuses for good aside, after a few tries (runtime/services/dead-letter.ts). */
  deadLetters?: DeadLetters;
  clock: Clock;
  files: Files;
  /** Where the wheel's files live (<data dir>/timer). */
  dir: string;
  /** The furthest ahead a message may be scheduled (--timer-max-delay). */
  maxDelayMs: number;
  store: Pick<MessageStore, "getMessages" | "maxOffset" | "readRecord" | "deletedAt">;
  topics: Topics;
  appends: Appender;
  actors: Actors;
  isClosing(): boolean;
}

/** Most timers one tick re-puts; more due ones continue in the next turn. */
const MAX_FIRE = 4096;
/** Most seconds one tick loads (a restart after a long stop catches up in steps). */
const MAX_LOAD = 4096;
/** After a failed re-put (the store refused the batch), wait this long before trying again. */
const RETRY_MS = 1000;
/** Into the timer topic: its time moves from deliverAt/delayMs into props, with the real queue. */
const TO_TIMER = new MessageRewrite({ drop: ["deliverAt", "delayMs"], setProps: [MessageProp.REAL_TOPIC, MessageProp.REAL_QID, MessageProp.DELIVER_AT] });

/** A timer-topic item; once stored, `timerLink` names its timer-log entry (what cancel takes). */
export interface TimedItem extends AppendItem {
  timerLink?: number;
}

/** What cancel found: the timer was cancelled, or it had fired (or never existed). */
export type CancelOutcome = "cancelled" | "gone";

interface Pending {
  at: number;
  second: number;
  commitLogOffset: number;
  size: number;
  link: number;
}

export class TimerService implements Timers, CommitLogDispatcher {
  private store?: TimerStore;
  private heap = new MinHeap<Pending>();
  /** Timers of each loaded second not yet delivered: the cursor waits for them. */
  private pending = new Map<number, number>();
  private cursorAt = -1;
  /** The last second loaded into the heap (timers of later seconds are only on disk). */
  private loadedThrough = -1;
  /** When the actor will next tick: a new timer earlier than this wakes it. */
  private armedAt = 0;
  private topicReady = false;
  /** Links of cancelled timers that may sit in the heap: skipped when they come up. */
  private cancelled = new Set<number>();
  /** Links of timers fired whose re-put is not yet written: too late to cancel them. */
  private firing = new Set<number>();
  /** A slave's wheel: linked, never fired. */
  private following = false;

  constructor(private readonly deps: TimerServiceDeps) {}

  /** POP check-points that come due (the POP service; set by the broker). */
  checkpoints?: { revive(ckRecord: StoredRecord): AppendItem | null };

  /** The timer topic exists. */
  ensureTopic(): void {
    if (this.topicReady) return;
    if (!this.deps.topics.get(TIMER_TOPIC)) this.deps.topics.create(TIMER_TOPIC, 1, PERM_RW);
    this.topicReady = true;
  }

  /**
   * Cancels a pending timer (RecallMessage, a POP ack): its entry is marked delivered, so neither
   * this run nor a restart fires it. `commitLogOffset` must be its record's, so a stale or forged
   * link cancels nothing.
   */
  cancel(link: number, commitLogOffset: number): CancelOutcome {
    const e = this.store?.log.read(link);
    if (!e || e.commitLogOffset !== commitLogOffset || e.delivered || this.firing.has(link)) return "gone";
    this.store!.log.markDelivered(link, e.size);
    if (Math.floor(e.deliverAt / 1000) <= this.loadedThrough) this.cancelled.add(link);
    return "cancelled";
  }

  /** Whether the timer is still to fire (not delivered, cancelled or firing). */
  isPending(link: number, commitLogOffset: number): boolean {
    const e = this.store?.log.read(link);
    return !!e && e.commitLogOffset === commitLogOffset && !e.delivered && !this.firing.has(link);
  }

  /** Cancels the timer of the record at `commitLogOffset`, due at `deliverAt` (a recall handle says both). */
  cancelAt(commitLogOffset: number, deliverAt: number): CancelOutcome {
    const second = Math.floor(deliverAt / 1000);
    for (const e of this.store?.entriesOf(second) ?? []) {
      if (e.commitLogOffset === commitLogOffset) return this.cancel(e.link, commitLogOffset);
    }
    return "gone";
  }

  /** When a message asks for a time (deliverAt or delayMs): that time, checked against the maximum delay. */
  deliverAtOf(msg: Message): number | undefined {
    if (msg.deliverAt === undefined && msg.delayMs === undefined) return undefined;
    const now = this.deps.clock.now();
    const at = msg.deliverAt ?? now + msg.delayMs!;
    const max = this.deps.maxDelayMs;
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
    this.ensureTopic();
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

  /** At start, after restore: opens the wheel, takes its cursor, and starts the timer actor (or has it run). */
  start(): { behind: number; relinked: number } {
    const { files, dir, maxDelayMs, clock, actors } = this.deps;
    this.following = false;
    this.store = new TimerStore(files, dir, maxDelayMs);
    const now = clock.now();
    const known = this.store.wheel.cursor >= 0;
    this.cursorAt = known ? this.store.wheel.cursor : Math.floor(now / 1000) - 1;
    this.store.wheel.cursor = this.cursorAt;
    const relinked = this.relink(this.store.wheel.fresh && known);
    this.loadedThrough = this.cursorAt;
    this.armedAt = now;
    actors.send({ type: "TIMER_START" });
    actors.send({ type: "TIMER_TICK" });
    return { behind: Math.max(0, Math.floor(now / 1000) - this.cursorAt - 1), relinked };
  }

  /**
   * Links the timer-topic records past the wheel's count. `skipDelivered`: the wheel was remade
   * with its cursor known, so records due at or before the cursor were delivered already.
   */
  private relink(skipDelivered: boolean): number {
    const { store } = this.deps;
    const wheel = this.store!.wheel;
    const end = store.maxOffset(TIMER_TOPIC, 0);
    let n = 0;
    let missed: { commitLogOffset: number; size: number; deliverAt: number }[] = [];
    const link = () => {
      n += this.store!.addMany(missed).length;
      missed = [];
    };
    for (const rec of replayQueue(store, TIMER_TOPIC, 0, wheel.linked)) {
      let at: number;
      try {
        at = Number((decode(rec.message) as { props?: Record<string, string> }).props?.[MessageProp.DELIVER_AT]);
      } catch {
        continue;
      }
      if (!Number.isSafeInteger(at) || at < 0) continue;
      if (skipDelivered && Math.floor(at / 1000) <= this.cursorAt) continue;
      missed.push({ commitLogOffset: rec.commitLogOffset, size: rec.size, deliverAt: Math.max(at, (this.cursorAt + 1) * 1000) });
      if (missed.length >= 1024) link();
    }
    link();
    if (end !== wheel.linked) wheel.linked = end;
    return n;
  }

  /**
   * A slave's wheel (runtime/ha/): opened to link the timer records it replicates (dispatch),
   * its cursor following its master's (followCursor); it never fires. Promoted, the broker calls
   * start, which goes on from that cursor and relinks whatever the wheel missed.
   */
  follow(): { behind: number; relinked: number } {
    const { files, dir, maxDelayMs, store } = this.deps;
    this.store = new TimerStore(files, dir, maxDelayMs);
    this.following = true;
    this.cursorAt = this.store.wheel.cursor;
    this.loadedThrough = -1; // nothing goes into the heap: a slave fires nothing
    // A wheel that counted records a cut log no longer has goes on from the queue's end.
    const end = store.maxOffset(TIMER_TOPIC, 0);
    if (this.store.wheel.linked > end) this.store.wheel.linked = end;
    return { behind: 0, relinked: 0 };
  }

  /** A slave's cursor: its master's, as the master last said (the seconds up to it are delivered). */
  followCursor(cursor: number): void {
    if (!this.following || !this.store || cursor <= this.cursorAt) return;
    this.cursorAt = cursor;
    this.store.wheel.cursor = cursor;
  }

  /** What a timer actor restarted by supervision starts from. */
  restartInput(): TimerContext {
    return { nextAt: this.deps.clock.now() };
  }

  /**
   * The last second whose timers were all delivered (also in the wheel file's header; -1 before
   * the start): what a master tells its slaves.
   */
  get cursor(): number {
    return this.cursorAt;
  }

  /**
   * Called by the append pipeline right after each CommitLog write: links every timer-topic
   * record into the wheel. A time in a second already delivered is delivered at once (it goes
   * into the next second, which starts no later than now), so no entry lands behind the cursor.
   */
  dispatch(items: readonly AppendItem[], results: readonly AppendResult[]): void {
    if (!this.store) return;
    let earliest = Infinity;
    let linked = -1;
    const timed: { commitLogOffset: number; size: number; deliverAt: number }[] = [];
    const timedItems: TimedItem[] = [];
    for (let i = 0; i < items.length; i++) {
      if (items[i].topic !== TIMER_TOPIC) continue;
      // A time in a second already delivered goes into the next one.
      const { commitLogOffset, size, queueOffset } = results[i];
      timed.push({ commitLogOffset, size, deliverAt: Math.max(items[i].tagsCode, (this.cursorAt + 1) * 1000) });
      timedItems.push(items[i]);
      linked = queueOffset + 1;
    }
    if (timed.length === 0) return;
    const links = this.store.addMany(timed);
    for (let k = 0; k < links.length; k++) timedItems[k].timerLink = links[k];
    timed.forEach(({ commitLogOffset, size, deliverAt: at }, i) => {
      const second = Math.floor(at / 1000);
      if (second > this.loadedThrough) return;
      this.heap.push(at, { at, second, commitLogOffset, size, link: links[i] });
      this.pending.set(second, (this.pending.get(second) ?? 0) + 1);
      if (at < earliest) earliest = at;
    });
    this.store.wheel.linked = linked;
    if (earliest < this.armedAt) {
      this.armedAt = earliest;
      this.deps.actors.send({ type: "TIMER_TICK" });
    }
  }

  /**
   * The timer actor's effect: loads the seconds about to start, fires what is due (one append),
   * moves the cursor, and says when to run next (the actor gets it as TICKED). Runs while the
   * actor handles an event, so it only reads state and queues appends.
   */
  tick(): number {
    const { clock, store, topics, appends } = this.deps;
    const now = clock.now();
    if (!this.store) return now + 1000;
    if (this.following) return now + 60_000; // a slave's master fires
    const horizon = Math.floor(now / 1000) + 1; // the next second is loaded before it starts
    let loads = 0;
    while (this.loadedThrough < horizon && loads++ < MAX_LOAD) {
      const second = ++this.loadedThrough;
      let n = 0;
      for (const e of this.store.entriesOf(second)) {
        if (e.delivered) continue;
        this.heap.push(e.deliverAt, { at: e.deliverAt, second, commitLogOffset: e.commitLogOffset, size: e.size, link: e.link });
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
      if (this.cancelled.delete(t.link)) {
        // Cancelled after its second was loaded: it counts as delivered, with nothing to re-put.
        this.heap.pop();
        this.pending.set(t.second, (this.pending.get(t.second) ?? 1) - 1);
        continue;
      }
      const rec = store.readRecord(t.commitLogOffset);
      let item = rec ? reputItem(rec, TIMER_TOPIC, (topic) => store.deletedAt(topic)) : null;
      // A POP check-point: its message was not acked in time (runtime/services/pop-service.ts).
      if (rec && item?.topic === POP_CK_TOPIC) item = this.checkpoints?.revive(rec) ?? null;
      if (!rec) console.error(`${TIMER_TOPIC}: the record at ${t.commitLogOffset} is gone (retention?); its timer is dropped`);
      // Its topic (or queue) may be gone since it was stored: created again (the table is the
      // TopicService's; the root spawns the queue actors before the re-put reaches them).
      if (item) topics.ensureQueue(item.topic, item.queueId);
      this.heap.pop();
      fired.push(t);
      this.firing.add(t.link);
      if (item) items.push(item);
    }
    if (items.length > 0) appends.append(this.deps.deadLetters?.screen(items, "timer") ?? items, (results) => this.delivered(fired, results));
    else if (fired.length > 0) this.delivered(fired, []);
    this.advance(now);
    const nextAt = more ? now : Math.min(this.heap.peekKey() ?? Infinity, this.loadedThrough * 1000);
    this.armedAt = nextAt;
    return nextAt;
  }

  close(): void {
    this.store?.close();
    this.store = undefined;
  }

  /** The CommitLog offset of the oldest timed message not yet delivered (retention keeps it), or Infinity. */
  pendingFrom(): number {
    return this.store?.log.firstPending()?.commitLogOffset ?? Infinity;
  }

  /** Retention: the timer log's segments whose every timer was delivered go; returns the bytes freed. */
  dropDelivered(): number {
    return this.store?.log.dropDelivered() ?? 0;
  }

  /** How many timers wait in memory (the near-term heap); the rest are only on disk. */
  get inMemory(): number {
    return this.heap.size;
  }

  private delivered(fired: Pending[], results: AppendOutcome[]): void {
    // Nothing was written: the timers go back into the heap and are fired again shortly.
    const failed = notWritten(results);
    if (this.deps.isClosing() && failed) return;
    for (const t of fired) this.firing.delete(t.link);
    if (failed) {
      console.error(`timer: re-put of ${fired.length} messages failed (${failed.message}); retrying`);
      for (const t of fired) this.heap.push(t.at, t);
      this.deps.clock.setTimeout(() => this.deps.actors.send({ type: "TIMER_TICK" }), RETRY_MS);
      return;
    }
    for (const t of fired) {
      this.store?.log.markDelivered(t.link, t.size);
      this.pending.set(t.second, (this.pending.get(t.second) ?? 1) - 1);
    }
    this.advance(this.deps.clock.now());
  }

  /** Moves the cursor over every loaded second that has ended with all its timers delivered. */
  private advance(now: number): void {
    let c = this.cursorAt;
    while (c + 1 <= this.loadedThrough && !((this.pending.get(c + 1) ?? 0) > 0) && now >= (c + 2) * 1000) {
      this.pending.delete(c + 1);
      c++;
    }
    if (c !== this.cursorAt && this.store) {
      this.cursorAt = c;
      this.store.wheel.cursor = c;
    }
  }
}
