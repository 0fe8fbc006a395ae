// Delay levels, RocketMQ's way (ScheduleMessageService). A message sent with `delayLevel` is
// stored, its map edited (protocol/message-rewrite.ts), in SCHEDULE_TOPIC_XXXX queue level-1,
// with its real topic and queue, its level and its due time in properties, and the due time as
// its ConsumeQueue tags code. The delay-level actor `delay:<level>` waits for its queue's head
// and calls deliverDue, which re-puts every due message into its real topic as a new CommitLog
// record (same id, keys, tags, body, properties, born time, reconsume count).
//
// Progress. A level's progress (the next schedule-queue offset to deliver) lives in its actor's
// context, hence in snapshots. Each delivery batch also appends, in the same CommitLog write and
// after the re-put records, a progress record in RMQ_SYS_SCHEDULE_PROGRESS queue level-1 (as
// consumer offsets are kept in RMQ_SYS_CONSUMER_OFFSETS). On start, a level's last progress
// record wins over the snapshot: it is never behind the records it covers, and a snapshot may
// be (a snapshot can catch the actor's progress a turn before its re-puts reach the CommitLog).
// So a SIGKILL costs no duplicates; only a torn write under async flush (a machine crash) can
// repeat part of one batch, and nothing is ever skipped: at least once, as RocketMQ.
import { BrokerError, decode, encode, ErrorCode, MessageProp, SCHEDULE_PROGRESS_TOPIC, SCHEDULE_TOPIC } from "../../protocol/mod.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import { delayActorId, type DelayContext, type DelayInput } from "../../actors/delay.machine.ts";
import type { AppendItem } from "../../storage/message-store.ts";
import { MessageRewrite } from "../../protocol/message-rewrite.ts";
import type { Actors, Appender, Clock, MessageStore, RestoredTree, ScheduledItem, Scheduler, Topics } from "../context.ts";
import { notWritten } from "./append-pipeline.ts";
import { reputItem } from "./reput.ts";
import type { DeadLetters } from "./dead-letter.ts";

export interface ScheduleServiceDeps {
  clock: Clock;
  /** The delay of each level, ms (level 1 first). */
  delayLevels: number[];
  store: Pick<MessageStore, "getMessages" | "maxOffset" | "deletedAt">;
  topics: Topics;
  appends: Appender;
  actors: Actors;
  isClosing(): boolean;
  /** A replicated group's slave delivers nothing: its master does. */
  isSlave(): boolean;
  /** Moves a re-put its target refuses for good aside, after a few tries (runtime/services/dead-letter.ts). */
  deadLetters?: DeadLetters;
}

/** Most messages one deliverDue re-puts; a longer backlog continues in the next timer turn. */
const MAX_PER_CALL = 2048;
const READ_BATCH = 256;
const READ_BYTES = 8 * 1024 * 1024;
/** After a failed re-put (the store refused the batch), wait this long before trying again. */
const RETRY_MS = 1000;
/** Into a delay level's queue: delayLevel moves into props, with the real queue and the due time. */
const TO_SCHEDULE = new MessageRewrite({
  drop: ["delayLevel"],
  setProps: [MessageProp.REAL_TOPIC, MessageProp.REAL_QID, MessageProp.DELAY, MessageProp.DELIVER_AT],
});

/** The broker side of the delay levels: due times, delivery, progress records, start-up. */
export class ScheduleService implements Scheduler {
  /** The last due time handed out per level: a level's queue stays in due order even if the clock steps back. */
  private lastDue: number[] = [];
  private topicsReady = false;

  constructor(private readonly deps: ScheduleServiceDeps) {}

  /**
   * Stores an already-decoded message at a delay level, for delivery to realTopic (queue
   * realQueueId, or the next one round-robin) when due. `level` above the configured count is
   * clamped to the last level (RocketMQ does the same). `extra.reconsumeTimes` goes into the
   * record's header and stays in the re-put one. The real topic is created if it is missing.
   */
  reput(
    messageMap: Record<string, unknown>,
    realTopic: string,
    realQueueId: number | undefined,
    level: number,
    extra: { reconsumeTimes?: number },
    done: (err?: BrokerError) => void,
  ): void {
    const { topics, delayLevels } = this.deps;
    let item: ScheduledItem;
    try {
      const lvl = Math.min(delayLevels.length, Math.max(1, Math.floor(level)));
      const topic = topics.forWrite(realTopic);
      const queueId = realQueueId ?? topics.nextQueue(realTopic, topic.queues);
      if (queueId >= topic.queues) {
        throw new BrokerError(ErrorCode.QUEUE_NOT_FOUND, `topic "${realTopic}" has ${topic.queues} queues; queue ${queueId} does not exist`);
      }
      item = this.item(messageMap, realTopic, queueId, lvl, extra.reconsumeTimes ?? 0);
    } catch (e) {
      return done(e instanceof BrokerError ? e : new BrokerError(ErrorCode.INTERNAL_ERROR, String(e)));
    }
    this.deps.appends.append([item], (results) => done(results[0] instanceof BrokerError ? results[0] : undefined));
  }

  /**
   * The schedule record of a message for delay level `level` (1-based, already checked): the
   * map moved into SCHEDULE_TOPIC, keeping everything but `delayLevel`, with REAL_TOPIC,
   * REAL_QID, DELAY and DELIVER_AT added to its properties. `sent` (the message as sent) is
   * edited in place when its layout allows; else, or without it, the map is re-encoded.
   */
  item(messageMap: Record<string, unknown>, realTopic: string, realQueueId: number, level: number, reconsumeTimes = 0, sent?: Uint8Array): ScheduledItem {
    const deliverAt = this.dueTime(level);
    // The message as sent, edited in place when its layout allows (protocol/message-rewrite.ts).
    const bytes = TO_SCHEDULE.move(sent, messageMap, SCHEDULE_TOPIC, [realTopic, String(realQueueId), String(level), String(deliverAt)]);
    this.ensureTopics();
    const keys = messageMap.keys;
    return {
      topic: SCHEDULE_TOPIC,
      queueId: level - 1,
      bytes,
      tagsCode: deliverAt,
      keys: Array.isArray(keys) ? (keys as string[]) : undefined,
      msgId: String(messageMap.id),
      reconsumeTimes,
      realTopic,
      realQueueId,
    };
  }

  /** When a message stored now at `level` is due. */
  private dueTime(level: number): number {
    const due = Math.max(this.deps.clock.now() + this.deps.delayLevels[level - 1], this.lastDue[level] ?? 0);
    this.lastDue[level] = due;
    return due;
  }

  /** The schedule and progress topics, with a queue per configured level. */
  private ensureTopics(): void {
    if (this.topicsReady) return;
    const { topics } = this.deps;
    const n = this.deps.delayLevels.length;
    for (const topic of [SCHEDULE_TOPIC, SCHEDULE_PROGRESS_TOPIC]) {
      const t = topics.get(topic);
      if (!t || t.queues < n) topics.create(topic, Math.max(n, t?.queues ?? 0), t?.perm ?? PERM_RW);
    }
    this.topicsReady = true;
  }

  /**
   * After restore, before the queues learn their offsets: one delay actor per configured level,
   * and one for any level that is no longer configured but still has a schedule queue (it
   * drains what it holds). Each level's progress comes from its last progress record.
   */
  start(restored: RestoredTree): number {
    this.ensureTopics();
    const { store, delayLevels, topics } = this.deps;
    const levels = Math.max(delayLevels.length, topics.get(SCHEDULE_TOPIC)?.queues ?? 0);
    const inputs: DelayInput[] = [];
    let recovered = 0;
    for (let level = 1; level <= levels; level++) {
      const input: DelayInput = { level, delayMs: delayLevels[level - 1] ?? 0 };
      const logged = this.loggedProgress(level);
      if (logged !== undefined) {
        input.progress = logged;
        recovered++;
      }
      // A level that has nothing scheduled and no actor yet needs none.
      if (level > delayLevels.length && !restored.context(delayActorId(level)) && store.maxOffset(SCHEDULE_TOPIC, level - 1) === 0) continue;
      inputs.push(input);
    }
    this.deps.actors.send({ type: "DELAY_LEVELS", levels: inputs });
    return recovered;
  }

  /**
   * What a delay actor restarted by supervision starts from: the progress it had before the
   * event it failed on (nothing of that event was appended), else its last progress record;
   * it tries again after a pause.
   */
  restartInput(level: number, last: Partial<DelayContext> | undefined): DelayInput {
    const now = this.deps.clock.now();
    return { level, delayMs: this.deps.delayLevels[level - 1] ?? 0, progress: last?.progress ?? this.loggedProgress(level) ?? 0, dueAt: now + RETRY_MS };
  }

  /**
   * The delay actor's effect: re-puts the due messages of `level` from `progress` (one append
   * for all of them and the progress record), and says where it got to and when the next is due
   * (the actor gets it as DELIVERED). Runs while the actor handles an event, so it only reads
   * and queues appends.
   */
  deliverDue(level: number, progress: number): { progress: number; dueAt: number } {
    const { store, clock, topics } = this.deps;
    // A slave's delay actors (restored from its days as master) wait: its master delivers.
    if (this.deps.isSlave()) return { progress, dueAt: clock.now() + 60_000 };
    const queueId = level - 1;
    const now = clock.now();
    const from = progress;
    const items: AppendItem[] = [];
    let dueAt = 0;
    let scanned = 0;
    for (;;) {
      if (scanned >= MAX_PER_CALL) {
        dueAt = now; // more may be due: go on in the next turn
        break;
      }
      let firstNotDue = 0;
      // The tags code of a schedule entry is its due time: stop at the first entry not due,
      // so nothing behind it is taken (the queue is in due order) and no body is read early.
      const match = (code: number) => {
        if (firstNotDue !== 0) return false;
        if (code <= now) return true;
        firstNotDue = Math.max(1, code);
        return false;
      };
      const r = store.getMessages(SCHEDULE_TOPIC, queueId, progress, Math.min(READ_BATCH, MAX_PER_CALL - scanned), READ_BYTES, match);
      if (r.status === "OFFSET_ILLEGAL" || r.status === "OFFSET_MOVED") {
        if (r.nextOffset === progress) break;
        progress = r.nextOffset; // retention took the head, or the queue is shorter than we thought
        continue;
      }
      for (const rec of r.records) {
        const reput = reputItem(rec, SCHEDULE_TOPIC, (topic) => this.deps.store.deletedAt(topic));
        if (reput) {
          // Its topic (or queue) may be gone since it was stored: created again (the root spawns
          // the queue actors before the re-put reaches them).
          topics.ensureQueue(reput.topic, reput.queueId);
          items.push(reput);
        }
        progress = rec.queueOffset + 1;
        scanned++;
      }
      if (firstNotDue !== 0) {
        dueAt = firstNotDue;
        break;
      }
      if (r.status === "NO_NEW_MSG") break; // drained
      if (r.records.length === 0) {
        if (r.nextOffset <= progress) break; // nothing readable here (should not happen): wait for the next append
        progress = r.nextOffset; // only holes
      }
    }
    if (items.length > 0) this.reputDue(level, items, progress, from);
    return { progress, dueAt };
  }

  private reputDue(level: number, due: AppendItem[], progress: number, from: number): void {
    const { clock, appends, actors } = this.deps;
    const items = this.deps.deadLetters?.screen(due, `delay level ${level}`) ?? due;
    const now = clock.now();
    const id = `delay:${level}:${progress}`;
    const body = encode({ level, progress });
    items.push({
      topic: SCHEDULE_PROGRESS_TOPIC,
      queueId: level - 1,
      bytes: encode({ topic: SCHEDULE_PROGRESS_TOPIC, body, id, born: now }),
      tagsCode: 0,
      msgId: id,
    });
    appends.append(items, (results) => {
      // Nothing was written: deliver again (a duplicate at worst).
      const failed = notWritten(results);
      if (!failed || this.deps.isClosing()) return;
      console.error(`delay level ${level}: re-put of ${items.length - 1} messages failed (${failed.message}); retrying from ${from}`);
      actors.send({ type: "DELAY_REWIND", level, progress: from, retryAt: clock.now() + RETRY_MS });
    });
  }

  /**
   * The CommitLog offset of the oldest delayed message not yet delivered (retention keeps it),
   * or Infinity, from each level's progress (its actor's context).
   */
  pendingFrom(store: Pick<MessageStore, "positionOf">, levels: Iterable<[level: number, progress: number]>): number {
    let min = Infinity;
    for (const [level, progress] of levels) {
      const pos = store.positionOf(SCHEDULE_TOPIC, level - 1, progress);
      if (pos >= 0) min = Math.min(min, pos);
    }
    return min;
  }

  /** The progress in a level's last progress record, if it has one. */
  private loggedProgress(level: number): number | undefined {
    const { store } = this.deps;
    const end = store.maxOffset(SCHEDULE_PROGRESS_TOPIC, level - 1);
    if (end === 0) return undefined;
    const r = store.getMessages(SCHEDULE_PROGRESS_TOPIC, level - 1, end - 1, 1, 1024 * 1024);
    const rec = r.records[0];
    if (!rec) return undefined;
    try {
      const body = (decode(rec.message) as { body: Uint8Array }).body;
      const p = (decode(body) as { progress?: unknown }).progress;
      return typeof p === "number" && Number.isSafeInteger(p) && p >= 0 ? p : undefined;
    } catch {
      return undefined;
    }
  }
}
