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
  type Request,
  tagsCode,
  TRANS_CHECK_MAX_TIME_TOPIC,
  TRANS_HALF_TOPIC,
  TRANS_OP_HALF_TOPIC,
} from "../../protocol/mod.ts";
import { PERM_RW, queueActorId } from "../../actors/broker.machine.ts";
import { txActorId, type TxAction, type TxContext, type TxEvent, type TxInput } from "../../actors/transaction.machine.ts";
import { TX_REGISTRY_ID } from "../../actors/transactions.logic.ts";
import type { AppendItem, AppendResult } from "../../storage/message-store.ts";
import { optional, required } from "../args.ts";
import type { Broker, Connection } from "../broker.ts";
import type { ScheduledItem } from "./schedule.ts";
import { MessageRewrite } from "../../protocol/message-rewrite.ts";

/** A half message's record, as the produce path builds it. */
export interface HalfItem extends ScheduledItem {
  group: string;
}

/** What endTransaction answers. */
export type EndState = "COMMITTED" | "ROLLED_BACK" | "DISCARDED" | "IN_FLIGHT" | "NOT_IN_FLIGHT";

interface OpBody {
  id: string;
  halfOffset: number;
  action: TxAction;
}

const STATE_OF: Record<TxAction, EndState> = { COMMIT: "COMMITTED", ROLLBACK: "ROLLED_BACK", DISCARD: "DISCARDED" };
const RESOLUTIONS = new Set(["COMMIT", "ROLLBACK", "UNKNOWN"]);
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

export class TransactionService {
  /** A half item was made since the last append: `stored` has work (plain sends cost one test). */
  private halvesWaiting = false;
  private topicsReady = false;
  private readonly producers = new Map<string, Set<Connection>>();
  private readonly groupsOf = new WeakMap<Connection, string[]>();
  private roundRobin = 0;
  private readonly heap = new CheckHeap();
  private timer: unknown;
  private armedAt = Infinity;
  /** endTransaction answers waiting for the write, by transaction id. */
  private readonly waiters = new Map<string, Waiter[]>();
  /** Events for transaction actors gathered in this turn: one TX_DELIVER carries them all. */
  private outbox: [string, TxEvent][] = [];
  private closed = false;

  constructor(private broker: Broker) {}

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

  /** Called by the append pipeline right after each CommitLog write: a transaction actor per half stored. */
  stored(items: AppendItem[], results: AppendResult[]): void {
    if (!this.halvesWaiting) return;
    this.halvesWaiting = false;
    const txs: TxInput[] = [];
    for (let i = 0; i < items.length; i++) {
      if (items[i].topic !== TRANS_HALF_TOPIC) continue;
      const r = results[i];
      txs.push({ id: items[i].msgId, group: (items[i] as HalfItem).group, halfOffset: r.commitLogOffset, checkAt: r.storeTimestamp + this.broker.config.transactionTimeoutMs });
    }
    if (txs.length > 0) this.broker.send({ type: "TX_BEGIN", txs });
  }

  /** The half, op and max-check-time topics. Outside actor transitions only. */
  ensureTopics(): void {
    if (this.topicsReady) return;
    for (const topic of [TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC]) {
      if (!this.broker.topics[topic]) this.broker.createTopic(topic, 1, PERM_RW);
    }
    this.topicsReady = true;
  }

  // --- producers of each group, from heartbeats ---

  producerHeartbeat(conn: Connection, groups: string[]): void {
    const before = this.groupsOf.get(conn) ?? [];
    for (const g of before) if (!groups.includes(g)) this.producers.get(g)?.delete(conn);
    for (const g of groups) {
      let set = this.producers.get(g);
      if (!set) this.producers.set(g, (set = new Set()));
      set.add(conn);
    }
    this.groupsOf.set(conn, groups);
  }

  connectionClosed(conn: Connection): void {
    for (const g of this.groupsOf.get(conn) ?? []) {
      const set = this.producers.get(g);
      set?.delete(conn);
      if (set?.size === 0) this.producers.delete(g);
    }
    this.groupsOf.delete(conn);
  }

  // --- the transaction actors' effects (TxDeps) ---

  /** Wakes the actor with CHECK_DUE at `at`: one platform timer for all, at the earliest time. */
  armCheck(id: string, at: number): void {
    if (this.closed) return;
    this.heap.push(at, id);
    if (at < this.armedAt) this.arm(at);
  }

  /** Pushes checkTransaction to one open connection of a producer of the group, in turn. */
  checkTransaction(tx: TxContext): boolean {
    const conns = [...(this.producers.get(tx.group) ?? [])].filter((c) => c.open);
    if (conns.length === 0) return false;
    const rec = this.broker.store.readRecord(tx.halfOffset);
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
    const conn = conns[this.roundRobin++ % conns.length];
    conn.socket.send(encode({
      op: "checkTransaction",
      group: tx.group,
      msgId: tx.id,
      commitLogOffset: tx.halfOffset,
      checks: tx.checks + 1,
      msg: { ...m, topic, props, queueId, queueOffset: -1, commitLogOffset: tx.halfOffset, storeTimestamp: rec.storeTimestamp, reconsumeTimes: 0 },
    }));
    return true;
  }

  /**
   * Appends what a decision writes: COMMIT the message in its real topic and an op record,
   * ROLLBACK the op record, DISCARD a copy in TRANS_CHECK_MAX_TIME_TOPIC and an op record. Runs
   * inside the actor's transition, so it only reads and queues an append.
   */
  writeEnd(tx: TxContext, action: TxAction): void {
    const items: AppendItem[] = [];
    let rec;
    try {
      rec = this.broker.store.readRecord(tx.halfOffset);
    } catch (e) {
      // `txs` stops the actor right after END whatever happens here, so nothing may throw:
      // the transaction is begun again, to be checked after an interval, as when a write fails.
      console.error(`transaction ${tx.id}: reading its half message failed (${(e as Error).message}); it will be checked again`);
      this.retryLater(tx);
      this.settle(tx.id, new BrokerError(ErrorCode.INTERNAL_ERROR, `transaction ${tx.id}: its half message could not be read`), "IN_FLIGHT");
      return;
    }
    if (!rec) console.error(`transaction ${tx.id}: its half message at ${tx.halfOffset} is gone (retention?); only the op record is written`);
    else if (action !== "ROLLBACK") {
      const item = action === "COMMIT" ? this.commitItem(rec.message, rec.reconsumeTimes) : this.discardItem(rec.message);
      if (item) items.push(item);
    }
    const now = this.broker.platform.clock.now();
    const op: OpBody = { id: tx.id, halfOffset: tx.halfOffset, action };
    const opId = `${tx.id}:${action}`;
    items.push({ topic: TRANS_OP_HALF_TOPIC, queueId: 0, bytes: encode({ topic: TRANS_OP_HALF_TOPIC, body: encode(op), id: opId, born: now }), tagsCode: 0, msgId: opId });
    let written = false;
    this.broker.appends.append(
      items,
      (results) => {
        // An error that says where the record went (FLUSH_TIMEOUT) means it was written.
        const failed = results.find((r): r is BrokerError => r instanceof BrokerError && r.code !== ErrorCode.FLUSH_TIMEOUT && r.details === undefined);
        if (failed && !written && !this.closed) {
          // Nothing was written: the transaction is in flight again, to be checked after an interval.
          console.error(`transaction ${tx.id}: writing ${action} failed (${failed.message}); it will be checked again`);
          this.retryLater(tx);
        }
        this.settle(tx.id, failed, STATE_OF[action]);
      },
      () => (written = true),
    );
  }

  /** A transaction whose decision was not written is in flight again, to be checked after an interval. */
  private retryLater(tx: TxContext): void {
    // Not inside the transition that ended it: its actor is stopped first, then begun anew.
    queueMicrotask(() => this.broker.send({ type: "TX_BEGIN", txs: [{ ...tx, checkAt: this.broker.platform.clock.now() + this.broker.config.transactionCheckIntervalMs }] }));
  }

  // --- endTransaction ---

  end(group: string, id: string, resolution: string, answer: Waiter): void {
    const actor = this.broker.root.system.get(txActorId(id));
    const snap = actor?.getSnapshot() as { status: string; value: string; context: TxContext } | undefined;
    if (!snap || snap.status !== "active") return answer(undefined, "NOT_IN_FLIGHT");
    if (snap.context.group !== group) {
      throw new BrokerError(ErrorCode.BAD_REQUEST, `endTransaction: transaction ${id} belongs to producer group "${snap.context.group}", not "${group}"`);
    }
    if (resolution === "UNKNOWN") return answer(undefined, "IN_FLIGHT");
    let list = this.waiters.get(id);
    if (!list) this.waiters.set(id, (list = []));
    list.push(answer);
    // A second END in this turn finds the actor ended by the first, and waits for its write.
    this.deliver(id, { type: "END", resolution: resolution as "COMMIT" | "ROLLBACK" });
  }

  private settle(id: string, err: BrokerError | undefined, state: EndState): void {
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    for (const w of list) w(err, state);
  }

  /** Events for transaction actors go out together, one root event per turn. */
  deliver(id: string, event: TxEvent): void {
    this.outbox.push([id, event]);
    if (this.outbox.length === 1) {
      queueMicrotask(() => {
        const events = this.outbox;
        this.outbox = [];
        if (!this.closed) this.broker.send({ type: "TX_DELIVER", events });
      });
    }
  }

  // --- start-up, gauges, shutdown ---

  /**
   * After restore, before the queue actors learn the store's offsets: replays the half and op
   * records written after the snapshot, then re-arms every transaction.
   */
  start(): { inFlight: number; begun: number; ended: number } {
    // A broker that never stored a half message has nothing to replay, and gets the topics with its first one.
    if (!this.broker.topics[TRANS_HALF_TOPIC]) return { inFlight: 0, begun: 0, ended: 0 };
    this.ensureTopics();
    const ended = new Map<string, TxAction>();
    this.scan(TRANS_OP_HALF_TOPIC, (rec) => {
      const op = decode((decode(rec.message) as { body: Uint8Array }).body) as OpBody;
      if (typeof op?.id === "string") ended.set(op.id, op.action);
    });
    const begin: TxInput[] = [];
    const seen = new Set<string>();
    const timeout = this.broker.config.transactionTimeoutMs;
    this.scan(TRANS_HALF_TOPIC, (rec) => {
      const m = decode(rec.message) as { id?: unknown; group?: unknown };
      if (typeof m.id !== "string" || typeof m.group !== "string" || ended.has(m.id) || seen.has(m.id)) return;
      seen.add(m.id);
      if (this.broker.root.system.get(txActorId(m.id))) return;
      begin.push({ id: m.id, group: m.group, halfOffset: rec.commitLogOffset, checkAt: rec.storeTimestamp + timeout });
    });
    const endEvents: [string, TxEvent][] = [];
    for (const [id, action] of ended) if (this.broker.root.system.get(txActorId(id))) endEvents.push([id, { type: "ENDED", action }]);
    for (let i = 0; i < begin.length; i += 1000) this.broker.send({ type: "TX_BEGIN", txs: begin.slice(i, i + 1000) });
    if (endEvents.length > 0) this.broker.send({ type: "TX_DELIVER", events: endEvents });
    this.broker.send({ type: "TX_REARM" });
    return { inFlight: this.inFlight(), begun: begin.length, ended: endEvents.length };
  }

  /** Transactions in flight: the transaction actors alive now. */
  inFlight(): number {
    const registry = this.broker.root.getSnapshot().children[TX_REGISTRY_ID] as { getSnapshot(): { children: Record<string, unknown> } } | undefined;
    return registry ? Object.keys(registry.getSnapshot().children).length : 0;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.broker.platform.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(at: number): void {
    const { clock } = this.broker.platform;
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = clock.setTimeout(() => this.fire(), Math.max(0, at - clock.now()));
  }

  /** Sends CHECK_DUE to every transaction due now (each once), and waits for the next. */
  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    if (this.closed) return;
    const now = this.broker.platform.clock.now();
    const due = new Set<string>();
    while (this.heap.size > 0 && this.heap.peekAt() <= now) due.add(this.heap.pop());
    if (due.size > 0) this.broker.send({ type: "TX_DELIVER", events: [...due].map((id) => [id, { type: "CHECK_DUE" }]) });
    if (this.heap.size > 0) this.arm(this.heap.peekAt());
  }

  /** Reads a system topic's queue 0 from where its queue actor was in the snapshot. */
  private scan(topic: string, visit: (rec: { message: Uint8Array; commitLogOffset: number; storeTimestamp: number }) => void): void {
    const { store } = this.broker;
    const actor = this.broker.root.system.get(queueActorId(topic, 0));
    let offset = (actor?.getSnapshot().context.maxOffset as number | undefined) ?? 0;
    const end = store.maxOffset(topic, 0);
    while (offset < end) {
      const r = store.getMessages(topic, 0, offset, READ_BATCH, READ_BYTES);
      if (r.records.length === 0) {
        if (r.nextOffset <= offset) break;
        offset = r.nextOffset;
        continue;
      }
      for (const rec of r.records) {
        try {
          visit(rec);
        } catch (e) {
          console.error(`${topic}: the record at ${rec.commitLogOffset} is unreadable (${(e as Error).message}); skipped`);
        }
      }
      offset = r.nextOffset;
    }
  }

  private commitItem(stored: Uint8Array, reconsumeTimes: number): AppendItem | null {
    const m = decodeMap(stored);
    if (!m) return null;
    const props = m.props as Record<string, string>;
    const topic = props[MessageProp.REAL_TOPIC];
    const queueId = Number(props[MessageProp.REAL_QID]);
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

/**
 * endTransaction { group, msgId, resolution: COMMIT | ROLLBACK | UNKNOWN, fromCheck? } -> { msgId, state },
 * or many of one group in one frame: { group, transactions: [{ msgId, resolution }, ...] } ->
 * { results: [{ code: 0, msgId, state } | { code, message, msgId }, ...] } (a producer ends the
 * transactions of one turn together: one frame and one answer instead of one per transaction).
 */
export function endTransaction(broker: Broker, conn: Connection, req: Request): void {
  const group = required<string>(req, "group", "string");
  optional(req, "fromCheck", "boolean", false);
  const many = optional<unknown[] | undefined>(req, "transactions", "array", undefined);
  if (many === undefined) {
    const msgId = required<string>(req, "msgId", "string");
    const resolution = checkResolution(required<string>(req, "resolution", "string"));
    broker.transactions.end(group, msgId, resolution, (err, state) => (err ? broker.replyError(conn, req.id, err) : broker.reply(conn, req.id, { msgId, state })));
    return;
  }
  const results: Record<string, unknown>[] = new Array(many.length);
  let left = many.length;
  if (left === 0) return broker.reply(conn, req.id, { results });
  const settle = (i: number, r: Record<string, unknown>) => {
    results[i] = r;
    if (--left === 0) broker.reply(conn, req.id, { results });
  };
  many.forEach((t, i) => {
    const msgId = (t as { msgId?: unknown } | null)?.msgId;
    try {
      if (t === null || typeof t !== "object" || typeof msgId !== "string") {
        throw new BrokerError(ErrorCode.WRONG_TYPE, `endTransaction: transactions[${i}] must be a map { msgId, resolution }`);
      }
      const resolution = checkResolution((t as { resolution?: unknown }).resolution);
      broker.transactions.end(group, msgId, resolution, (err, state) => settle(i, err ? { code: err.code, message: err.message, msgId } : { code: 0, msgId, state }));
    } catch (e) {
      const err = e instanceof BrokerError ? e : new BrokerError(ErrorCode.INTERNAL_ERROR, String(e));
      settle(i, { code: err.code, message: err.message, ...(typeof msgId === "string" ? { msgId } : {}) });
    }
  });
}

function checkResolution(r: unknown): string {
  if (typeof r !== "string") throw new BrokerError(r === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, "endTransaction: resolution must be a string");
  if (!RESOLUTIONS.has(r)) throw new BrokerError(ErrorCode.BAD_REQUEST, `endTransaction: resolution must be COMMIT, ROLLBACK or UNKNOWN, not "${r.slice(0, 32)}"`);
  return r;
}

/** The producerGroups of a heartbeat: an array of group names. */
export function producerGroupsOf(req: Request): string[] {
  const groups = optional<unknown[]>(req, "producerGroups", "array", []);
  for (const g of groups) if (typeof g !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "heartbeat: producerGroups must be an array of strings");
  return groups as string[];
}

/** A binary min-heap of (due time, transaction id); stale entries are skipped by the actor's guard. */
class CheckHeap {
  private at: number[] = [];
  private ids: string[] = [];

  get size(): number {
    return this.at.length;
  }

  peekAt(): number {
    return this.at[0];
  }

  push(at: number, id: string): void {
    const a = this.at;
    const d = this.ids;
    let i = a.length;
    a.push(at);
    d.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= at) break;
      a[i] = a[p];
      d[i] = d[p];
      i = p;
    }
    a[i] = at;
    d[i] = id;
  }

  pop(): string {
    const a = this.at;
    const d = this.ids;
    const top = d[0];
    const lastAt = a.pop()!;
    const lastId = d.pop()!;
    if (a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r] < a[l] ? r : l;
      if (a[c] >= lastAt) break;
      a[i] = a[c];
      d[i] = d[c];
      i = c;
    }
    a[i] = lastAt;
    d[i] = lastId;
    return top;
  }
}
