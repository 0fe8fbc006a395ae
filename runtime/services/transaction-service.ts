// Transactional messages, RocketMQ's way (TransactionalMessageService). A message sent with the
// property TRAN_MSG=true is a half message: it is stored in RMQ_SYS_TRANS_HALF_TOPIC (its map
// edited in place, protocol/message-rewrite.ts) with its real topic and queue in properties,
// where no consumer group looks. Right after its CommitLog write (AppendPipeline calls
// `stored`) the root gets one TX_BEGIN per batch, and a transaction actor `tx:<msgId>` is
// spawned under the transactions actor `txs` (actors/transactions.logic.ts).
//
// endTransaction COMMIT re-puts the message into its real topic (a new record, same id) and
// appends an op record to RMQ_SYS_TRANS_OP_HALF_TOPIC in the same write; ROLLBACK appends only
// the op record. A transaction unresolved `--transaction-timeout` after its half was stored is
// checked: checkTransaction is pushed to a live producer of its group (known from heartbeats'
// producerGroups), again every `--transaction-check-interval`; after `--transaction-check-max`
// unanswered checks the half message is copied to TRANS_CHECK_MAX_TIME_TOPIC with a DISCARD op
// record, and never delivered.
//
// Restart. The snapshot holds the transactions in flight when it was taken. A decision's
// records are appended in the turn it is made, so a snapshot that no longer holds a transaction
// has its records below its CommitLog offset. On start the half and op topics are replayed from
// the offsets their queue actors had in the snapshot (from 0 without one): a half without an op
// record is in flight, an op record ends its transaction, and only then are the restored actors
// re-armed. Nothing is committed twice: an ended transaction has no actor, so a repeated
// endTransaction finds nothing to do.
import {
  BrokerError,
  decode,
  decodeMap,
  encode,
  ErrorCode,
  type Message,
  MessageProp,
  tagsCode,
  TRANS_CHECK_MAX_TIME_TOPIC,
  TRANS_HALF_TOPIC,
  TRANS_OP_HALF_TOPIC,
} from "../../protocol/mod.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import { type EndAnswer, type EndOutcome, type EndState, txActorId, type TxAction, type TxContext, type TxEvent, type TxInput } from "../../actors/transaction.machine.ts";
import type { AppendItem, AppendResult } from "../../storage/message-store.ts";
import { MessageRewrite } from "../../protocol/message-rewrite.ts";
import type { Actors, Appender, Clock, CommitLogDispatcher, MessageStore, RestoredTree, ScheduledItem, Topics, Transactions } from "../context.ts";
import { sentBeforeDeletion } from "./reput.ts";
import { notWritten } from "./append-pipeline.ts";
import { MinHeap } from "./min-heap.ts";
import type { ProducerRegistry } from "./producer-registry.ts";
import { replayQueue } from "./queue-replay.ts";

/** A half message's record, as the produce path builds it. */
export interface HalfItem extends ScheduledItem {
  group: string;
}

export interface TransactionServiceDeps {
  clock: Clock;
  store: Pick<MessageStore, "getMessages" | "maxOffset" | "readRecord" | "deletedAt">;
  topics: Topics;
  appends: Appender;
  actors: Actors;
  producers: Pick<ProducerRegistry, "pick">;
  /** A half unresolved this long after it was stored is checked. */
  timeoutMs: number;
  checkIntervalMs: number;
  /** A replicated group's slave checks nothing (promoted, it re-arms every transaction: TX_REARM). */
  isSlave(): boolean;
}

interface OpBody {
  id: string;
  halfOffset: number;
  action: TxAction;
}

const STATE_OF: Record<TxAction, EndState> = { COMMIT: "COMMITTED", ROLLBACK: "ROLLED_BACK", DISCARD: "DISCARDED" };
/** Properties of the half record only: the committed message loses them (RocketMQ clears TRAN_MSG too). */
const HALF_PROPS: readonly string[] = [MessageProp.REAL_TOPIC, MessageProp.REAL_QID, MessageProp.TRAN_MSG];
/** Into the half topic, with the real topic and queue in props (TRAN_MSG stays, as it came). */
const TO_HALF = new MessageRewrite({ setProps: [MessageProp.REAL_TOPIC, MessageProp.REAL_QID] });
/** Out of the half topic into the real one (commit): the half's properties go. */
const FROM_HALF = new MessageRewrite({ dropProps: HALF_PROPS });
/** Into TRANS_CHECK_MAX_TIME_TOPIC (discard): the map as it is, another topic. */
const PARK = new MessageRewrite({});
const READ_BATCH = 1024;
const READ_BYTES = 16 * 1024 * 1024;

type Waiter = (err: BrokerError | undefined, state: EndState) => void;

export class TransactionService implements Transactions, CommitLogDispatcher {
  /** A half item was made since the last append: `dispatch` has work (plain sends cost one test). */
  private halvesWaiting = false;
  private topicsReady = false;
  /** Wake-ups of transaction actors (CHECK_DUE) by due time; stale ones are skipped by the actor's guard. */
  private readonly heap = new MinHeap<string>();
  private timer: unknown;
  private armedAt = Infinity;
  /** The answers of the ENDs waiting for a decision's write, by transaction id (there while it is written). */
  private readonly writing = new Map<string, EndAnswer[]>();
  /** Events for transaction actors gathered in this turn: one TX_DELIVER carries them all. */
  private outbox: [string, TxEvent][] = [];
  private closed = false;

  constructor(private readonly deps: TransactionServiceDeps) {}

  /**
   * The half record of a message with TRAN_MSG=true, bound for realTopic/realQueueId. `bytes`
   * (the message as sent) are edited in place when their layout allows (protocol/message-rewrite.ts),
   * else the map is re-encoded. Throws BrokerError.
   */
  halfItem(messageMap: Record<string, unknown>, msg: Message, realTopic: string, realQueueId: number, bytes?: Uint8Array): HalfItem {
    if (typeof msg.group !== "string" || msg.group === "") {
      throw new BrokerError(ErrorCode.MISSING_FIELD, "a transactional message needs its producer group (message.group): the broker checks back with that group");
    }
    if (msg.delayLevel !== undefined || msg.deliverAt !== undefined || msg.delayMs !== undefined) {
      throw new BrokerError(ErrorCode.BAD_REQUEST, "a transactional message cannot be delayed (delayLevel, deliverAt, delayMs)");
    }
    this.ensureTopics();
    this.halvesWaiting = true;
    return {
      topic: TRANS_HALF_TOPIC,
      queueId: 0,
      bytes: TO_HALF.move(bytes, messageMap, TRANS_HALF_TOPIC, [realTopic, String(realQueueId)]),
      tagsCode: tagsCode(msg.tags),
      keys: msg.keys,
      msgId: msg.id,
      realTopic,
      realQueueId,
      group: msg.group,
    };
  }

  /** Right after each CommitLog write: a transaction actor per half stored. */
  dispatch(items: readonly AppendItem[], results: readonly AppendResult[]): void {
    if (!this.halvesWaiting) return;
    this.halvesWaiting = false;
    const txs: TxInput[] = [];
    for (let i = 0; i < items.length; i++) {
      if (items[i].topic !== TRANS_HALF_TOPIC) continue;
      const r = results[i];
      txs.push({ id: items[i].msgId, group: (items[i] as HalfItem).group, halfOffset: r.commitLogOffset, checkAt: r.storeTimestamp + this.deps.timeoutMs });
    }
    if (txs.length > 0) this.deps.actors.send({ type: "TX_BEGIN", txs });
  }

  /** The half, op and max-check-time topics. */
  private ensureTopics(): void {
    if (this.topicsReady) return;
    const { topics } = this.deps;
    for (const topic of [TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC]) {
      if (!topics.get(topic)) topics.create(topic, 1, PERM_RW);
    }
    this.topicsReady = true;
  }

  // --- the transaction actors' effects (TxDeps) ---

  /** Wakes the actor with CHECK_DUE at `at`: one platform timer for all, at the earliest time. */
  armCheck(id: string, at: number): void {
    if (this.closed || this.deps.isSlave()) return;
    this.heap.push(at, id);
    if (at < this.armedAt) this.arm(at);
  }

  /** Pushes checkTransaction to one open connection of a producer of the group, in turn. */
  checkTransaction(tx: TxContext): boolean {
    const session = this.deps.producers.pick(tx.group);
    if (!session) return false;
    const rec = this.deps.store.readRecord(tx.halfOffset);
    if (!rec) return false;
    let m: Record<string, unknown>;
    try {
      m = decode(rec.message) as Record<string, unknown>;
    } catch {
      return false;
    }
    const props = { ...(m.props as Record<string, string>) };
    const topic = props[MessageProp.REAL_TOPIC];
    const queueId = Number(props[MessageProp.REAL_QID]);
    delete props[MessageProp.REAL_TOPIC];
    delete props[MessageProp.REAL_QID];
    session.push({
      op: "checkTransaction",
      group: tx.group,
      msgId: tx.id,
      commitLogOffset: tx.halfOffset,
      checks: tx.checks + 1,
      msg: { ...m, topic, props, queueId, queueOffset: -1, commitLogOffset: tx.halfOffset, storeTimestamp: rec.storeTimestamp, reconsumeTimes: 0 },
    });
    return true;
  }

  /**
   * Appends what a decision writes: COMMIT the message in its real topic and an op record,
   * ROLLBACK the op record, DISCARD a copy in TRANS_CHECK_MAX_TIME_TOPIC and an op record. Runs
   * while the actor handles an event, so it only reads and queues an append.
   */
  writeEnd(tx: TxContext, action: TxAction, answer?: EndAnswer): void {
    const list = this.writing.get(tx.id) ?? [];
    if (answer) list.push(answer);
    this.writing.set(tx.id, list);
    const items: AppendItem[] = [];
    let rec;
    try {
      rec = this.deps.store.readRecord(tx.halfOffset);
    } catch (e) {
      // The actor has ended whatever happens here, so nothing may throw: the transaction is
      // begun again, to be checked after an interval, as when a write fails.
      console.error(`transaction ${tx.id}: reading its half message failed (${(e as Error).message}); it will be checked again`);
      this.retryLater(tx);
      this.settle(tx.id, { state: "IN_FLIGHT", error: new BrokerError(ErrorCode.INTERNAL_ERROR, `transaction ${tx.id}: its half message could not be read`) });
      return;
    }
    if (!rec) console.error(`transaction ${tx.id}: its half message at ${tx.halfOffset} is gone (retention?); only the op record is written`);
    else if (action !== "ROLLBACK") {
      const item = action === "COMMIT" ? this.commitItem(rec.message, rec.reconsumeTimes, tx.halfOffset) : this.discardItem(rec.message);
      if (item) items.push(item);
    }
    const now = this.deps.clock.now();
    const op: OpBody = { id: tx.id, halfOffset: tx.halfOffset, action };
    const opId = `${tx.id}:${action}`;
    items.push({ topic: TRANS_OP_HALF_TOPIC, queueId: 0, bytes: encode({ topic: TRANS_OP_HALF_TOPIC, body: encode(op), id: opId, born: now }), tagsCode: 0, msgId: opId });
    let written = false;
    this.deps.appends.append(
      items,
      (results) => {
        const failed = notWritten(results);
        if (failed && !written && !this.closed) {
          // Nothing was written: the transaction is in flight again, to be checked after an interval.
          console.error(`transaction ${tx.id}: writing ${action} failed (${failed.message}); it will be checked again`);
          this.retryLater(tx);
        }
        this.settle(tx.id, { state: STATE_OF[action], error: failed });
      },
      () => (written = true),
    );
  }

  /**
   * An END found no transaction: if a decision for it is being written (an END earlier in the
   * same turn), this one is answered with that write; else it is not in flight.
   */
  notInFlight(id: string, answer: EndAnswer): void {
    const list = this.writing.get(id);
    if (list) list.push(answer);
    else answer({ state: "NOT_IN_FLIGHT" });
  }

  /** A transaction whose decision was not written is in flight again, to be checked after an interval. */
  private retryLater(tx: TxContext): void {
    // Not inside the transition that ended it: its actor is stopped first, then begun anew.
    queueMicrotask(() => this.deps.actors.send({ type: "TX_BEGIN", txs: [{ ...tx, checkAt: this.deps.clock.now() + this.deps.checkIntervalMs }] }));
  }

  // --- endTransaction ---

  /** Ends (COMMIT, ROLLBACK) or asks about (UNKNOWN) a transaction; the actor decides and answers. */
  end(group: string, id: string, resolution: "COMMIT" | "ROLLBACK" | "UNKNOWN", answer: Waiter): void {
    const reply: EndAnswer = (outcome: EndOutcome) => {
      if ("belongsTo" in outcome) {
        return answer(new BrokerError(ErrorCode.BAD_REQUEST, `endTransaction: transaction ${id} belongs to producer group "${outcome.belongsTo}", not "${group}"`), "IN_FLIGHT");
      }
      answer(outcome.error as BrokerError | undefined, outcome.state);
    };
    // A decision for it is being written: this END waits for that write.
    const list = this.writing.get(id);
    if (list) list.push(reply);
    else this.deliver(id, { type: "END", resolution, group, answer: reply });
  }

  private settle(id: string, outcome: EndOutcome): void {
    const list = this.writing.get(id);
    if (!list) return;
    this.writing.delete(id);
    for (const answer of list) answer(outcome);
  }

  /** Events for transaction actors go out together, one root event per turn. */
  deliver(id: string, event: TxEvent): void {
    this.outbox.push([id, event]);
    if (this.outbox.length === 1) {
      queueMicrotask(() => {
        const events = this.outbox;
        this.outbox = [];
        if (!this.closed) this.deps.actors.send({ type: "TX_DELIVER", events });
      });
    }
  }

  // --- start-up, gauges, shutdown ---

  /**
   * After restore, before the queue actors learn the store's offsets: replays the half and op
   * records written after the snapshot, then re-arms every transaction.
   */
  start(restored: RestoredTree): { begun: number; ended: number } {
    const { topics, actors } = this.deps;
    // A broker that never stored a half message has nothing to replay, and gets the topics with its first one.
    if (!topics.get(TRANS_HALF_TOPIC)) return { begun: 0, ended: 0 };
    this.ensureTopics();
    const ended = new Map<string, TxAction>();
    this.scan(restored, TRANS_OP_HALF_TOPIC, (rec) => {
      const op = decode((decode(rec.message) as { body: Uint8Array }).body) as OpBody;
      if (typeof op?.id === "string") ended.set(op.id, op.action);
    });
    const begin: TxInput[] = [];
    const seen = new Set<string>();
    const timeout = this.deps.timeoutMs;
    this.scan(restored, TRANS_HALF_TOPIC, (rec) => {
      const m = decode(rec.message) as { id?: unknown; group?: unknown };
      if (typeof m.id !== "string" || typeof m.group !== "string" || ended.has(m.id) || seen.has(m.id)) return;
      seen.add(m.id);
      if (restored.context(txActorId(m.id))) return;
      begin.push({ id: m.id, group: m.group, halfOffset: rec.commitLogOffset, checkAt: rec.storeTimestamp + timeout });
    });
    const endEvents: [string, TxEvent][] = [];
    for (const [id, action] of ended) if (restored.context(txActorId(id))) endEvents.push([id, { type: "ENDED", action }]);
    for (let i = 0; i < begin.length; i += 1000) actors.send({ type: "TX_BEGIN", txs: begin.slice(i, i + 1000) });
    if (endEvents.length > 0) actors.send({ type: "TX_DELIVER", events: endEvents });
    actors.send({ type: "TX_REARM" });
    return { begun: begin.length, ended: endEvents.length };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(at: number): void {
    const { clock } = this.deps;
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = clock.setTimeout(() => this.fire(), Math.max(0, at - clock.now()));
  }

  /** Sends CHECK_DUE to every transaction due now (each once), and waits for the next. */
  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    if (this.closed) return;
    const now = this.deps.clock.now();
    const due = new Set<string>();
    while (this.heap.size > 0 && this.heap.peekKey()! <= now) due.add(this.heap.pop()!);
    if (due.size > 0) this.deps.actors.send({ type: "TX_DELIVER", events: [...due].map((id) => [id, { type: "CHECK_DUE" }]) });
    if (this.heap.size > 0) this.arm(this.heap.peekKey()!);
  }

  /** Reads a system topic's queue 0 from where its queue actor was in the snapshot. */
  private scan(restored: RestoredTree, topic: string, visit: (rec: { message: Uint8Array; commitLogOffset: number; storeTimestamp: number }) => void): void {
    for (const rec of replayQueue(this.deps.store, topic, 0, restored.queueMaxOffset(topic, 0), { batch: READ_BATCH, bytes: READ_BYTES })) {
      try {
        visit(rec);
      } catch (e) {
        console.error(`${topic}: the record at ${rec.commitLogOffset} is unreadable (${(e as Error).message}); skipped`);
      }
    }
  }

  private commitItem(stored: Uint8Array, reconsumeTimes: number, halfOffset: number): AppendItem | null {
    const m = decodeMap(stored);
    if (!m) return null;
    const props = m.props as Record<string, string>;
    const topic = props[MessageProp.REAL_TOPIC];
    const queueId = Number(props[MessageProp.REAL_QID]);
    // Sent to a topic deleted since: committed, but into nothing (the op record still ends it).
    if (sentBeforeDeletion((t) => this.deps.store.deletedAt(t), topic, halfOffset, `transaction ${String(m.id)}`)) return null;
    const bytes = FROM_HALF.move(stored, m, topic, []);
    return { topic, queueId, bytes, tagsCode: tagsCode(m.tags as string | undefined), keys: m.keys as string[] | undefined, msgId: String(m.id), reconsumeTimes };
  }

  private discardItem(stored: Uint8Array): AppendItem | null {
    const m = decodeMap(stored);
    if (!m) return null;
    const bytes = PARK.move(stored, m, TRANS_CHECK_MAX_TIME_TOPIC, []);
    return { topic: TRANS_CHECK_MAX_TIME_TOPIC, queueId: 0, bytes, tagsCode: 0, keys: m.keys as string[] | undefined, msgId: String(m.id) };
  }
}
