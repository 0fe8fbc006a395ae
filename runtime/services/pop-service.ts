// POP consumption (RocketMQ 5's PopMessageProcessor, AckMessageProcessor and PopReviveService,
// on ActorMQ's parts). A consumer asks for up to N messages of a topic for its group; the broker
// picks the queues, hands the messages out and hides them for an invisible duration:
//
//   receive  For each queue in turn (the topic's queues and the group's retry topic
//            %RETRY%<group>_<topic>), read from the group's committed offset, which is the next
//            offset to pop, and move it past what was read (COMMIT_OFFSET to the group's actor
//            before the record is written; a commit record is appended after the check-points,
//            so a torn write never keeps a commit without them).
//            Each handed-out message gets a check-point (CK) record: a timer record on the
//            persistent timing wheel (runtime/services/timer-service.ts) due when its invisibility ends,
//            naming the group, the message and its delivery attempt. The receipt handle names
//            the CK's timer-log entry and CommitLog offset.
//   ack      cancels the CK's timer (one 4-byte mark in the timer log: a restart skips it too).
//   change   (ChangeInvisibleDuration) writes a new CK due later and cancels the old one: a new handle.
//   revive   A CK that comes due was not acked: its message is stored again in the retry topic
//            with one more reconsume time, so it is visible again with its attempt one higher,
//            or, once the group's max attempts are used up, in %DLQ%<group>.
//
// FIFO groups (orderly) do not retry through the retry topic: a queue's batch stays in flight
// until every message of it is acked, and nothing after it is handed out before (the POP actor
// of the group keeps the batch); a batch whose CK comes due is handed out again, unacked
// messages only, in order, attempt one higher; past the max attempts they go to the DLQ.
//
// One owner for each fact, asked rather than read: the group's actor owns its committed offsets
// (asked with Groups.view), the POP actor its FIFO batches (asked with VIEW). A group's steps
// that read them and move them (a receive, a FIFO ack or revive, a failed write's undo) run one
// at a time (as RocketMQ's QueueLockManager): a step asks, decides, sends its changes and lets the
// next ask, whose question reaches each actor after those changes (an actor's events are
// handled in the order sent). Nothing relies on an event being handled at once.
//
// Long polling: a receive with nothing to return waits in the group's POP actor
// (actors/pop.machine.ts) until an append reaches its topic or retry topic, a FIFO batch
// frees, or its deadline passes. No XState event is sent per message: one COMMIT_OFFSET per
// queue read, one FIFO_SET per batch, one WAKE per append batch with waiters.
import { BrokerError, decode, DLQ_PREFIX, encode, ErrorCode, MessageProp, matchesCode, parseSubscription, POP_CK_TOPIC, RETRY_PREFIX, type Subscription, tagsCode, TIMER_TOPIC } from "../../protocol/mod.ts";
import { PERM_READ, PERM_RW } from "../../actors/broker.machine.ts";
import type { FifoBatch, PopEvent, PopWaiter } from "../../actors/pop.machine.ts";
import type { AppendItem, AppendResult, StoredRecord } from "../../storage/message-store.ts";
import { offsetKey } from "../../actors/group.machine.ts";
import type { AppendOutcome, Appender, Clock, CommitLogDispatcher, Groups, MessageStore, PopConsumption, PoppedMessage, PopRequest, Topics } from "../context.ts";
import type { CancelOutcome, TimedItem } from "./timer-service.ts";
import type { SubscriptionGroups } from "./subscription-groups.ts";

export interface PopServiceDeps {
  clock: Clock;
  store: Pick<MessageStore, "getMessages" | "readRecord" | "minOffset">;
  topics: Topics;
  appends: Appender;
  timer: { ensureTopic(): void; cancel(link: number, commitLogOffset: number): CancelOutcome; isPending(link: number, commitLogOffset: number): boolean };
  /** The longest a receive waits (--max-poll). */
  maxPollMs: number;
  /** The groups' committed offsets (the next to pop of each queue), asked of their owners. */
  groups: Groups;
  /** Offset commits: the record (`item`), and moving the group's offset (`apply`, an event to its owner). */
  offsets: {
    item(group: string, topic: string, queueId: number, offset: number): AppendItem;
    apply(group: string, topic: string, queueId: number, offset: number): void;
  };
  /** An event for the group's POP actor (which is spawned by the first that needs it), in the order sent. */
  toPop(group: string, event: PopEvent): void;
}

export type PopAnswer = (err: BrokerError | undefined, msgs: PoppedMessage[]) => void;

/** A check-point, the body of its CK record. Short keys: one is written per message handed out. */
interface Checkpoint {
  /** group */
  g: string;
  /** the topic the message is stored in (the topic, or the retry topic) */
  t: string;
  /** the topic it was sent to */
  o: string;
  q: number;
  /** queue offset */
  qo: number;
  /** the message's CommitLog offset */
  c: number;
  /** delivery attempt */
  a: number;
  /** FIFO: 1 */
  f?: number;
}

export type { PoppedMessage, PopRequest };

export const MAX_POP_COUNT = 1000;
export const MIN_INVISIBLE_MS = 100;
export const MAX_INVISIBLE_MS = 12 * 3600_000;
const READ_BYTES = 4 * 1024 * 1024;
/** How long a step waits for the group's actors to answer before it is given up (see withGroup). */
const ASK_TIMEOUT_MS = 10_000;
const HANDLE_VERSION = "1";

export const popRetryTopic = (group: string, topic: string) => `${RETRY_PREFIX}${group}_${topic}`;

/** What a group's step decides on: its committed offsets and (FIFO) batches, as their owners answered. */
interface GroupState {
  offsets: Record<string, number>;
  fifo: Record<string, FifoBatch>;
}

/** A step of a group (see withGroup): `done` lets the next one ask, once this one's changes are sent. */
type Step = (state: GroupState, done: () => void) => void;

interface Waiting {
  req: PopRequest;
  answer: PopAnswer;
  deadline: number;
}

export class PopService implements CommitLogDispatcher, PopConsumption {
  private waits = new Map<string, Waiting>();
  /** Groups with waiting receives: origin topic -> how many wait on it. */
  private waiting = new Map<string, Map<string, number>>();
  private seq = 0;
  private ckSeq = 0;
  private rr = new Map<string, number>();
  private subscriptions = new Map<string, Subscription>();
  /** Groups with a step running: the steps waiting for their turn. */
  private turns = new Map<string, (() => void)[]>();

  constructor(private readonly deps: PopServiceDeps, readonly groups: SubscriptionGroups) {}

  // --- receive ---

  receive(req: PopRequest, answer: PopAnswer): void {
    const t = this.deps.topics.forRead(req.topic);
    if ((t.perm & PERM_READ) === 0) throw new BrokerError(ErrorCode.NO_PERMISSION, `topic "${req.topic}" is not readable`);
    if (!(req.invisibleMs >= MIN_INVISIBLE_MS && req.invisibleMs <= MAX_INVISIBLE_MS)) {
      throw new BrokerError(ErrorCode.BAD_REQUEST, `receive: the invisible duration must be ${MIN_INVISIBLE_MS}..${MAX_INVISIBLE_MS} ms`);
    }
    this.subscription(req.expression); // a bad expression fails now, not when a waiter wakes
    const retry = popRetryTopic(req.group, req.topic);
    if (!this.groups.get(req.group).orderly && !this.deps.topics.get(retry)) this.deps.topics.create(retry, 1, PERM_RW);
    this.deps.timer.ensureTopic();
    const pollMs = Math.min(this.deps.maxPollMs, req.pollMs);
    this.attempt(req, answer, this.deps.clock.now() + pollMs);
  }

  private attempt(req: PopRequest, answer: PopAnswer, deadline: number): void {
    if (req.alive && !req.alive()) return;
    this.popNow(req, answer, (answered) => {
      if (answered) return;
      if (deadline <= this.deps.clock.now()) return answer(undefined, []);
      // In the turn of the read that found nothing: an append after it wakes this waiter.
      const key = `w${++this.seq}`;
      this.waits.set(key, { req, answer, deadline });
      const topics = this.waiting.get(req.group) ?? new Map<string, number>();
      topics.set(req.topic, (topics.get(req.topic) ?? 0) + 1);
      this.waiting.set(req.group, topics);
      this.deps.toPop(req.group, { type: "WAIT", waiter: { key, topic: req.topic, deadline } });
    });
  }

  /**
   * Runs `step` with the group's offsets (and, for `fifo`, its batches) as their owners answer,
   * after the group's earlier steps have sent their changes: one step of a group at a time.
   * An actor that never answers (it failed and is being restarted, or the broker is closing)
   * must not stall the group for good: after ASK_TIMEOUT_MS the step is given up (`abandoned`
   * tells its caller), the group's next step goes on, and a late answer is ignored. The step never
   * ran, so giving it up cannot let two steps overlap.
   */
  private withGroup(group: string, fifo: boolean, step: Step, abandoned?: () => void): void {
    const run = () => {
      let settled = false;
      const watchdog = this.deps.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        console.error(`POP: group "${group}"'s state did not answer in ${ASK_TIMEOUT_MS} ms; a step was given up`);
        this.release(group);
        abandoned?.();
      }, ASK_TIMEOUT_MS);
      const go = (offsets: Record<string, number>, batches: Record<string, FifoBatch>) => {
        if (settled) return;
        settled = true;
        this.deps.clock.clearTimeout(watchdog);
        queueMicrotask(() => this.runStep(group, step, { offsets, fifo: batches }));
      };
      this.deps.groups.view(group, (view) => {
        const offsets = view?.offsets ?? {};
        if (fifo) this.deps.toPop(group, { type: "VIEW", reply: (batches) => go(offsets, batches) });
        else go(offsets, {});
      });
    };
    const waiting = this.turns.get(group);
    if (waiting) return void waiting.push(run);
    this.turns.set(group, []);
    run();
  }

  /** The group's turn passes to its next waiting step, if any. */
  private release(group: string): void {
    const next = this.turns.get(group)?.shift();
    if (next) next();
    else this.turns.delete(group);
  }

  private runStep(group: string, step: Step, state: GroupState): void {
    let released = false;
    const done = () => {
      if (released) return;
      released = true;
      this.release(group);
    };
    try {
      step(state, done);
    } catch (e) {
      done();
      console.error(`POP: a step of group "${group}" failed: ${(e as Error).stack ?? e}`);
    }
  }

  /** The POP actor's effect: waiters woken or timed out. Not run inside its transition. */
  waitersDue(_group: string, waiters: PopWaiter[], reason: "wake" | "timeout"): void {
    queueMicrotask(() => {
      for (const w of waiters) {
        const wait = this.waits.get(w.key);
        if (!wait) continue;
        this.waits.delete(w.key);
        this.unwait(wait.req);
        if (reason === "timeout") {
          if (!wait.req.alive || wait.req.alive()) this.popNow(wait.req, wait.answer, (answered) => answered || wait.answer(undefined, []));
        } else this.attempt(wait.req, wait.answer, wait.deadline);
      }
    });
  }

  private unwait(req: PopRequest): void {
    const topics = this.waiting.get(req.group);
    if (!topics) return;
    const n = (topics.get(req.topic) ?? 1) - 1;
    if (n > 0) topics.set(req.topic, n);
    else topics.delete(req.topic);
    if (topics.size === 0) this.waiting.delete(req.group);
  }

  /** Told of each CommitLog write (a dispatcher of the append pipeline): wakes receives waiting on a touched topic. */
  dispatch(items: readonly AppendItem[]): void {
    if (this.waiting.size === 0) return;
    const touched = new Set<string>();
    for (const it of items) touched.add(it.topic);
    for (const [group, topics] of this.waiting) {
      const woken = [...topics.keys()].filter((t) => touched.has(t) || touched.has(popRetryTopic(group, t)));
      if (woken.length > 0) this.deps.toPop(group, { type: "WAKE", topics: woken });
    }
  }

  /** Pops what there is, in the group's turn; `then(false)` when nothing was there (nothing answered then). */
  private popNow(req: PopRequest, answer: PopAnswer, then: (answered: boolean) => void): void {
    this.withGroup(req.group, this.groups.get(req.group).orderly, (state, done) => {
      let result: boolean | "again";
      try {
        result = this.popFrom(state, req, answer, done);
      } catch (e) {
        done();
        answer(e instanceof BrokerError ? e : new BrokerError(ErrorCode.INTERNAL_ERROR, `receive: ${(e as Error).message}`), []);
        return then(true);
      }
      done();
      if (result === "again") this.popNow(req, answer, then);
      else then(result);
    }, () => {
      answer(new BrokerError(ErrorCode.INTERNAL_ERROR, `receive: group "${req.group}"'s state did not answer in ${ASK_TIMEOUT_MS} ms; try again`), []);
      then(true);
    });
  }

  /**
   * One receive's read, on the state its turn was given: true when it answers, false when nothing
   * was there, "again" when only dead letters or filtered-out messages moved the offsets (look again).
   */
  private popFrom(state: GroupState, req: PopRequest, answer: PopAnswer, done: () => void): boolean | "again" {
    const { store, topics } = this.deps;
    const settings = this.groups.get(req.group);
    const fifo = settings.orderly;
    const maxAttempts = settings.maxReconsumeTimes + 1;
    const sub = this.subscription(req.expression);
    const match = sub.codes === null ? undefined : (code: number) => matchesCode(sub, code);
    const queues: [string, number][] = [];
    const retry = popRetryTopic(req.group, req.topic);
    if (!fifo && topics.get(retry)) queues.push([retry, 0]);
    const n = topics.get(req.topic)?.queues ?? 0;
    for (let q = 0; q < n; q++) queues.push([req.topic, q]);
    const rrKey = `${req.group}\u0000${req.topic}`;
    const start = this.rr.get(rrKey) ?? 0;
    this.rr.set(rrKey, start + 1);

    const now = this.deps.clock.now();
    const until = now + req.invisibleMs;
    const out: PoppedMessage[] = [];
    const cks: TimedItem[] = [];
    const dead: AppendItem[] = [];
    const commits: [string, number, number, number][] = []; // topic, queue, new offset, old offset
    const batches: [string, FifoBatch | null][] = [];
    const fifoState = state.fifo;
    const max = Math.min(MAX_POP_COUNT, Math.max(1, req.maxCount));

    for (let i = 0; i < queues.length && out.length < max; i++) {
      const [topic, q] = queues[(start + i) % queues.length];
      const committed = state.offsets[offsetKey(topic, q)] ?? -1;
      let from = committed >= 0 ? committed : topic === retry ? 0 : store.minOffset(topic, q);
      const key = `${topic}:${q}`;
      const batch = fifo ? fifoState[key] : undefined;
      if (batch && !batch.visible) continue; // FIFO: the batch in flight blocks the queue
      let attempt = 1;
      let only: Set<number> | undefined;
      let limit = max - out.length;
      if (batch) {
        // Its invisibility ended with messages unacked: those go out again, in order.
        const acked = new Set(batch.acked);
        const left = batch.offsets.filter((o) => !acked.has(o));
        attempt = batch.attempt + 1;
        if (attempt > maxAttempts || left.length === 0) {
          for (const o of left) {
            const item = this.deadItemAt(topic, q, o, req.group, batch.attempt);
            if (item) dead.push(item);
          }
          commits.push([topic, q, batch.end, from]);
          batches.push([key, null]);
          continue; // the next receive reads on from the batch's end
        }
        if (left.length > limit && out.length > 0) continue; // a batch goes out whole
        from = batch.from;
        limit = batch.end - batch.from;
        only = new Set(left);
      }
      let r = store.getMessages(topic, q, from, limit, READ_BYTES, match);
      if ((r.status === "OFFSET_ILLEGAL" || r.status === "OFFSET_MOVED") && !batch) {
        if (r.nextOffset === from) continue;
        from = r.nextOffset; // retention took the head, or a reset moved the offset past the end
        r = store.getMessages(topic, q, from, limit, READ_BYTES, match);
      }
      const records = only ? r.records.filter((rec) => only!.has(rec.queueOffset)) : r.records;
      if (!batch && r.nextOffset <= from) continue;
      for (const rec of records) {
        const a = fifo ? attempt : rec.reconsumeTimes + 1;
        const ck: Checkpoint = { g: req.group, t: topic, o: req.topic, q, qo: rec.queueOffset, c: rec.commitLogOffset, a, ...(fifo ? { f: 1 } : {}) };
        cks.push(this.ckItem(ck, until));
        out.push(popped(rec, req.topic, a, until));
      }
      if (fifo) {
        if (records.length === 0) {
          // All filtered out (or, for a batch, gone): the queue moves past them.
          commits.push([topic, q, batch ? batch.end : r.nextOffset, from]);
          if (batch) batches.push([key, null]);
        } else {
          const end = batch ? batch.end : r.nextOffset;
          const offsets = batch ? batch.offsets : records.map((rec) => rec.queueOffset);
          batches.push([key, { from, end, offsets, acked: batch?.acked ?? [], attempt, visible: false }]);
        }
      } else commits.push([topic, q, r.nextOffset, from]);
    }
    if (cks.length === 0 && dead.length === 0 && commits.length === 0) return false;

    // Before the group's next step asks: the offsets move and the batches are taken.
    for (const [topic, q, offset] of commits) this.deps.offsets.apply(req.group, topic, q, offset);
    if (batches.length > 0) this.deps.toPop(req.group, { type: "FIFO_SET", batches });
    done();
    const items: AppendItem[] = [...dead, ...cks, ...commits.map(([topic, q, offset]) => this.deps.offsets.item(req.group, topic, q, offset))];
    const offsetBase = dead.length;
    this.deps.appends.append(items, (results: AppendOutcome[]) => {
      const failed = results.find((r): r is BrokerError => r instanceof BrokerError && r.details === undefined);
      if (failed) {
        // Nothing was written: the offsets go back (what was read will be read again).
        this.withGroup(req.group, false, (now, undone) => {
          for (const [topic, q, offset, old] of commits) if (now.offsets[offsetKey(topic, q)] === offset) this.deps.offsets.apply(req.group, topic, q, old);
          if (batches.length > 0) this.deps.toPop(req.group, { type: "FIFO_SET", batches: batches.map(([k]) => [k, fifoState[k] ?? null]) });
          undone();
        });
        if (out.length > 0) answer(failed, []);
        return;
      }
      if (out.length === 0) return; // only dead letters or filtered-out messages: answered below
      for (let i = 0; i < out.length; i++) {
        const r = results[offsetBase + i] as AppendResult;
        out[i].receiptHandle = handleOf(cks[i].timerLink ?? 0, r.commitLogOffset);
      }
      answer(undefined, out);
    });
    // Only dead letters or filtered-out messages: look again (the offsets moved).
    return out.length > 0 || "again";
  }

  // --- ack, change, dead letter ---

  /** Acks a handed-out message: it will not be delivered again. Throws INVALID_RECEIPT_HANDLE. */
  ack(group: string, handle: string): void {
    const { link, ckOffset, ck } = this.checkpointOf(group, handle);
    if (this.deps.timer.cancel(link, ckOffset) === "gone") throw expired();
    if (ck.f) this.fifoAcked(ck);
  }

  /**
   * Makes a handed-out message visible again `invisibleMs` from now (0: at once) instead of when
   * its current invisibility ends; answers with its new receipt handle (the old one is void).
   */
  changeInvisible(group: string, handle: string, invisibleMs: number, answer: (err: BrokerError | undefined, handle: string, until: number) => void): void {
    if (!(invisibleMs >= 0 && invisibleMs <= MAX_INVISIBLE_MS)) throw new BrokerError(ErrorCode.BAD_REQUEST, `the invisible duration must be 0..${MAX_INVISIBLE_MS} ms`);
    const { link, ckOffset, ck } = this.checkpointOf(group, handle);
    if (!this.deps.timer.isPending(link, ckOffset)) throw expired();
    const until = this.deps.clock.now() + invisibleMs;
    const item = this.ckItem(ck, until);
    let written: number | undefined;
    this.deps.appends.append([item], (results) => {
      const r = results[0];
      if (written === undefined) return answer(r instanceof BrokerError ? r : expired(), "", 0);
      if (written < 0) return answer(expired(), "", 0);
      answer(undefined, handleOf(item.timerLink ?? 0, written), until);
    }, (results) => {
      // The old check-point goes only once the new one is written; if it fired meanwhile, so does the new.
      written = results[0].commitLogOffset;
      if (this.deps.timer.cancel(link, ckOffset) === "gone") {
        this.deps.timer.cancel(item.timerLink ?? 0, written);
        written = -1;
      }
    });
  }

  /** Stores a handed-out message in %DLQ%<group> now (a client that gave up on it) and acks it. */
  forwardToDeadLetter(group: string, handle: string, answer: (err?: BrokerError) => void): void {
    const { link, ckOffset, ck } = this.checkpointOf(group, handle);
    if (!this.deps.timer.isPending(link, ckOffset)) throw expired();
    const item = this.deadItemAt(ck.t, ck.q, ck.qo, ck.g, ck.a, ck.c);
    if (!item) throw new BrokerError(ErrorCode.BAD_REQUEST, "the message is no longer stored");
    this.ensureDlq(group);
    this.deps.appends.append([item], (results) => {
      const r = results[0];
      answer(r instanceof BrokerError && r.details === undefined ? r : undefined);
    }, () => {
      if (this.deps.timer.cancel(link, ckOffset) === "cancelled" && ck.f) this.fifoAcked(ck);
    });
  }

  // --- revive: a check-point came due (called by the timer inside its actor's transition) ---

  /** What to store for a message whose invisibility ended unacked: a retry or a dead letter (FIFO: nothing, its batch frees). */
  revive(ckRecord: StoredRecord): AppendItem | null {
    let ck: Checkpoint;
    try {
      ck = decode((decode(ckRecord.message) as { body: Uint8Array }).body) as Checkpoint;
    } catch {
      console.error(`${POP_CK_TOPIC}: the check-point at ${ckRecord.commitLogOffset} does not decode; dropped`);
      return null;
    }
    if (ck.f) {
      queueMicrotask(() => this.fifoRevived(ck));
      return null;
    }
    const maxAttempts = this.groups.get(ck.g).maxReconsumeTimes + 1;
    const target = ck.a >= maxAttempts ? DLQ_PREFIX + ck.g : popRetryTopic(ck.g, ck.o);
    return this.copyItem(ck.c, target, ck.a, ck.o);
  }

  // --- FIFO batches ---

  /** In the group's turn, asked now: a receive after the ack sees the batch with it. */
  private fifoAcked(ck: Checkpoint): void {
    this.withGroup(ck.g, true, ({ fifo }, done) => {
      const key = `${ck.t}:${ck.q}`;
      const batch = fifo[key];
      if (!batch || !batch.offsets.includes(ck.qo) || batch.acked.includes(ck.qo)) return done();
      const acked = [...batch.acked, ck.qo];
      if (acked.length < batch.offsets.length) {
        this.deps.toPop(ck.g, { type: "FIFO_SET", batches: [[key, { ...batch, acked }]] });
        return done();
      }
      // The whole batch is done: the queue moves on, and whoever waits on it may take the next.
      this.deps.offsets.apply(ck.g, ck.t, ck.q, batch.end);
      this.deps.toPop(ck.g, { type: "FIFO_SET", batches: [[key, null]] });
      done();
      this.deps.appends.append([this.deps.offsets.item(ck.g, ck.t, ck.q, batch.end)], () => {});
      this.deps.toPop(ck.g, { type: "WAKE", topics: [ck.o] });
    });
  }

  private fifoRevived(ck: Checkpoint): void {
    this.withGroup(ck.g, true, ({ fifo }, done) => {
      const key = `${ck.t}:${ck.q}`;
      const batch = fifo[key];
      if (!batch || batch.visible || batch.attempt !== ck.a || !batch.offsets.includes(ck.qo) || batch.acked.includes(ck.qo)) return done();
      this.deps.toPop(ck.g, { type: "FIFO_SET", batches: [[key, { ...batch, visible: true }]] });
      done();
      this.deps.toPop(ck.g, { type: "WAKE", topics: [ck.o] });
    });
  }

  // --- records ---

  private ckItem(ck: Checkpoint, at: number): TimedItem {
    const id = `${ck.g}:ck:${this.deps.clock.now().toString(36)}:${(this.ckSeq++).toString(36)}`;
    const props = { [MessageProp.REAL_TOPIC]: POP_CK_TOPIC, [MessageProp.REAL_QID]: "0", [MessageProp.DELIVER_AT]: String(at) };
    const bytes = encode({ topic: TIMER_TOPIC, body: encode(ck), id, born: this.deps.clock.now(), props });
    return { topic: TIMER_TOPIC, queueId: 0, bytes, tagsCode: at, msgId: id };
  }

  /** The message at `commitLogOffset`, stored again in `target` with `reconsumeTimes`, its origin in properties. */
  private copyItem(commitLogOffset: number, target: string, reconsumeTimes: number, origin: string): AppendItem | null {
    const rec = this.deps.store.readRecord(commitLogOffset);
    if (!rec) {
      console.error(`POP: the message at ${commitLogOffset} is gone (retention?); it cannot be retried`);
      return null;
    }
    const m = decode(rec.message) as Record<string, unknown> & { id: string; tags?: string; keys?: string[]; props?: Record<string, string> };
    const props = {
      ...m.props,
      [MessageProp.ORIGIN_TOPIC]: m.props?.[MessageProp.ORIGIN_TOPIC] ?? origin,
      [MessageProp.ORIGIN_MSG_ID]: m.props?.[MessageProp.ORIGIN_MSG_ID] ?? m.id,
      [MessageProp.ORIGIN_QUEUE_ID]: m.props?.[MessageProp.ORIGIN_QUEUE_ID] ?? String(rec.queueId),
    };
    return { topic: target, queueId: 0, bytes: encode({ ...m, topic: target, props }), tagsCode: tagsCode(m.tags), keys: m.keys, msgId: m.id, reconsumeTimes };
  }

  private deadItemAt(topic: string, q: number, offset: number, group: string, attempts: number, commitLogOffset?: number): AppendItem | null {
    let at = commitLogOffset;
    if (at === undefined) {
      const r = this.deps.store.getMessages(topic, q, offset, 1, READ_BYTES);
      const rec = r.records[0];
      if (!rec || rec.queueOffset !== offset) return null;
      at = rec.commitLogOffset;
    }
    this.ensureDlq(group);
    return this.copyItem(at, DLQ_PREFIX + group, attempts, topic);
  }

  private ensureDlq(group: string): void {
    if (!this.deps.topics.get(DLQ_PREFIX + group)) this.deps.topics.create(DLQ_PREFIX + group, 1, PERM_RW);
  }

  private checkpointOf(group: string, handle: string): { link: number; ckOffset: number; ck: Checkpoint } {
    const parsed = parseHandle(handle);
    if (!parsed) throw new BrokerError(ErrorCode.INVALID_RECEIPT_HANDLE, "not a receipt handle");
    const rec = this.deps.store.readRecord(parsed.ckOffset);
    let ck: Checkpoint | undefined;
    try {
      const m = rec ? decode(rec.message) as { topic?: string; body?: Uint8Array; props?: Record<string, string> } : undefined;
      if (m?.topic === TIMER_TOPIC && m.props?.[MessageProp.REAL_TOPIC] === POP_CK_TOPIC && m.body) ck = decode(m.body) as Checkpoint;
    } catch {
      ck = undefined;
    }
    if (!ck) throw new BrokerError(ErrorCode.INVALID_RECEIPT_HANDLE, "the receipt handle names no message handed out");
    if (ck.g !== group) throw new BrokerError(ErrorCode.INVALID_RECEIPT_HANDLE, `the receipt handle belongs to consumer group "${ck.g}", not "${group}"`);
    return { ...parsed, ck };
  }

  private subscription(expression: string): Subscription {
    let sub = this.subscriptions.get(expression);
    if (!sub) {
      sub = parseSubscription(expression);
      if (this.subscriptions.size > 10_000) this.subscriptions.clear();
      this.subscriptions.set(expression, sub);
    }
    return sub;
  }
}

function popped(rec: StoredRecord, topic: string, attempt: number, until: number): PoppedMessage {
  return {
    message: rec.message.slice(), // the record may be a view of the tail, which the check-points' append reuses
    topic,
    queueId: rec.queueId,
    queueOffset: rec.queueOffset,
    commitLogOffset: rec.commitLogOffset,
    storeTimestamp: rec.storeTimestamp,
    attempt,
    receiptHandle: "",
    invisibleUntil: until,
  };
}

function expired(): BrokerError {
  return new BrokerError(ErrorCode.INVALID_RECEIPT_HANDLE, "the receipt handle has expired: its message was acked, or became visible again");
}

function handleOf(link: number, ckOffset: number): string {
  return `${HANDLE_VERSION}_${link.toString(36)}_${ckOffset.toString(36)}`;
}

function parseHandle(handle: string): { link: number; ckOffset: number } | null {
  const m = /^1_([0-9a-z]{1,11})_([0-9a-z]{1,11})$/.exec(handle);
  if (!m) return null;
  const link = parseInt(m[1], 36);
  const ckOffset = parseInt(m[2], 36);
  return Number.isSafeInteger(link) && Number.isSafeInteger(ckOffset) && link > 0 ? { link, ckOffset } : null;
}
