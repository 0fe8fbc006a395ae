// The master's side of replication (RocketMQ's HAService / AutoSwitchHAService). Each slave
// connects to the master's /ws and says haHandshake with its CommitLog end and epoch file; the
// master answers with where the slave's log stops agreeing with its own (found by epoch), and, if
// it agrees, streams its CommitLog to it byte for byte from there: `haData` pushes of whole
// records, each carrying the confirmed offset. The slave answers `haAck` with the offset it holds
// (fsynced, under --flush sync).
//
// The SyncStateSet is the controller's: the master proposes a change (a slave caught up joins, one
// not caught up for --ha-max-lag-ms leaves) and applies it only once the controller has stored it,
// so the controller never elects a member that might lack an acknowledged message.
// Under --replication sync a write is acknowledged once every member of the set holds it (Kafka's
// acks=all over its ISR; RocketMQ 5's allAckInSyncStateSet), and refused before it is written
// while the set is smaller than --min-in-sync-replicas. The confirmed offset (everything below it is
// on every member of the set) is also what consumers may read up to, on the master and its slaves,
// so nothing a consumer saw can be cut from the log by a failover.
import { BrokerError, CborWriter, ErrorCode, type ReplicaInfo, type Request } from "../../protocol/mod.ts";
import { consistentOffset, type EpochEntry } from "../../storage/epoch-file.ts";
import { required } from "../args.ts";
import type { ReplicaHost } from "./replica-host.ts";
import type { Session } from "../session.ts";
import type { GroupState } from "../controller/group-state.ts";

export interface HAOptions {
  brokerId: number;
  mode: "async" | "sync";
  minInSync: number;
  maxLagMs: number;
  state: GroupState;
  epochs(): readonly EpochEntry[];
  /** The controller's answer to a proposed set (null: no controller answered; try later). */
  alterSyncStateSet(state: GroupState, set: number[]): Promise<GroupState | null>;
  /** Told when the set (and so the group's route and clusterList) changed. */
  changed(state: GroupState): void;
  log(line: string): void;
}

export type ReplicaStatus = NonNullable<ReplicaInfo["replicas"]>[number];

/** One connected slave. */
interface Replica {
  conn: Session;
  brokerId: number;
  address: string;
  /** The next offset to send it. */
  sent: number;
  /** What it said it holds. */
  acked: number;
  lastAckAt: number;
  /** Sends that reached the master's end at the time: (end, when); an ack past `end` means caught up as of then. */
  marks: { end: number; at: number }[];
  lastSendAt: number;
}

interface Waiter {
  target: number;
  resolve(): void;
  reject(e: BrokerError): void;
}

/** Most bytes one haData frame carries (a larger single record goes alone). */
const CHUNK = 1024 * 1024;
/** Bytes queued on a slave's socket beyond which sending waits for it to drain. */
const HIGH_WATER = 8 * 1024 * 1024;
/** An idle slave hears from its master this often (the confirmed offset, and that it is alive). */
const IDLE_BEAT_MS = 500;

export class HAService {
  state: GroupState;
  private readonly replicas = new Map<string, Replica>();
  /** Each member's last acknowledged offset, kept across reconnections: the set waits for it. */
  private readonly ackedById = new Map<number, number>();
  /** Each slave's address as it last connected (status lists a slave gone too). */
  private readonly addressById = new Map<number, string>();
  /** When each member last held everything the master had (as of a send it acknowledged). */
  private readonly caughtUpAt = new Map<number, number>();
  /** Under sync: slaves caught up but not yet in the set; confirmation waits for them too, so they reach the confirmed offset and join holding it. */
  private joining = new Set<number>();
  private waiters: Waiter[] = [];
  private confirmed: number;
  private proposing = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private pumpTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly broker: ReplicaHost, private readonly o: HAOptions) {
    this.state = o.state;
    const { store } = broker;
    // What the group confirmed before this master took over stays readable; the rest waits for the set.
    this.confirmed = o.mode === "sync" ? Math.min(store.readLimit, store.maxCommitLogOffset) : store.maxCommitLogOffset;
    store.readLimit = o.mode === "sync" ? this.confirmed : Infinity;
    const now = Date.now();
    // A member of the set starts as caught up: it is given --ha-max-lag-ms to connect and show it.
    for (const id of this.state.syncStateSet) if (id !== o.brokerId) this.caughtUpAt.set(id, now);
    this.timer = setInterval(() => this.check(), Math.max(50, Math.min(500, o.maxLagMs / 4)));
    this.recompute();
  }

  get mode(): "async" | "sync" {
    return this.o.mode;
  }

  /** Everything below this is on every member of the SyncStateSet. */
  get confirmOffset(): number {
    return this.confirmed;
  }

  /** haHandshake from a slave: where its log agrees with ours; if all of it does, it is streamed to from its end. */
  handshake(conn: Session, req: Request): Record<string, unknown> {
    const brokerName = required<string>(req, "brokerName", "string");
    const brokerId = required<number>(req, "brokerId", "uint");
    const address = required<string>(req, "address", "string");
    const maxOffset = required<number>(req, "maxOffset", "uint");
    const segmentSize = required<number>(req, "segmentSize", "uint");
    const rawEpochs = required<unknown[]>(req, "epochs", "array");
    const { store, config } = this.broker;
    if (brokerName !== config.brokerName) throw new BrokerError(ErrorCode.BAD_REQUEST, `haHandshake: this master is of group ${config.brokerName}, not ${brokerName}`);
    if (brokerId === this.o.brokerId) throw new BrokerError(ErrorCode.BAD_REQUEST, `haHandshake: broker id ${brokerId} is this master's own`);
    if (segmentSize !== config.segmentSize) {
      throw new BrokerError(ErrorCode.BAD_REQUEST, `haHandshake: the slave's CommitLog segments are ${segmentSize} bytes, the master's ${config.segmentSize}: a replica must use the same --segment-size`);
    }
    const epochs = rawEpochs.filter((e): e is [number, number] => Array.isArray(e) && Number.isSafeInteger(e[0]) && Number.isSafeInteger(e[1])).map(([epoch, startOffset]) => ({ epoch, startOffset }));
    const mine = this.o.epochs();
    const agree = consistentOffset(mine, store.maxCommitLogOffset, epochs, maxOffset);
    const reply = {
      masterEpoch: this.state.masterEpoch,
      epochs: mine.map((e) => [e.epoch, e.startOffset]),
      maxOffset: store.maxCommitLogOffset,
      minOffset: store.minCommitLogOffset,
      topics: this.topics(),
    };
    if (agree < maxOffset) return { ...reply, truncateTo: agree };
    if (maxOffset < store.minCommitLogOffset) {
      throw new BrokerError(ErrorCode.BAD_REQUEST, `haHandshake: the slave's log ends at ${maxOffset}, before the master's oldest record (${store.minCommitLogOffset}); give it an empty data directory`);
    }
    for (const [id, r] of this.replicas) if (r.brokerId === brokerId) this.replicas.delete(id); // a reconnection
    this.replicas.set(conn.id, { conn, brokerId, address, sent: maxOffset, acked: maxOffset, lastAckAt: Date.now(), marks: [], lastSendAt: 0 });
    this.ackedById.set(brokerId, maxOffset);
    this.addressById.set(brokerId, address);
    this.o.log(`slave ${brokerId} (${address}) connected at offset ${maxOffset}, ${store.maxCommitLogOffset - maxOffset} bytes behind`);
    queueMicrotask(() => this.pumpAll());
    return { ...reply, truncateTo: -1 };
  }

  /** haAck: the slave holds everything below `offset`. */
  ack(conn: Session, offset: number): void {
    const r = this.replicas.get(conn.id);
    if (!r || offset < r.acked) return;
    const now = Date.now();
    r.acked = offset;
    r.lastAckAt = now;
    this.ackedById.set(r.brokerId, offset);
    while (r.marks.length > 0 && r.marks[0].end <= offset) this.caughtUpAt.set(r.brokerId, r.marks.shift()!.at);
    if (offset >= this.broker.store.maxCommitLogOffset) this.caughtUpAt.set(r.brokerId, now);
    this.recompute();
    this.pump(r);
  }

  connectionClosed(conn: Session): void {
    const r = this.replicas.get(conn.id);
    if (!r) return;
    this.replicas.delete(conn.id);
    if (this.joining.delete(r.brokerId)) this.recompute();
    this.o.log(`slave ${r.brokerId} (${r.address}) disconnected at offset ${r.acked}`);
  }

  /** The master appended: stream it. */
  appended(): void {
    this.recompute();
    if (this.replicas.size > 0) this.pumpAll();
  }

  topicsChanged(): void {
    if (this.replicas.size === 0) return;
    const frame = { op: "haTopics", topics: this.topics() };
    for (const r of this.replicas.values()) if (r.conn.open) r.conn.push(frame);
  }

  /** Before a write: under sync replication, refused while the set is too small to acknowledge it. */
  checkWritable(): void {
    if (this.o.mode !== "sync") return;
    const n = this.state.syncStateSet.length;
    if (n < this.o.minInSync) {
      throw new BrokerError("IN_SYNC_REPLICAS_NOT_ENOUGH", `${n} of the group's members are in sync (SyncStateSet [${this.state.syncStateSet}]); --min-in-sync-replicas is ${this.o.minInSync}`);
    }
  }

  /** Resolves once every member of the set holds everything below `target` (sync replication). */
  waitReplicated(target: number): Promise<void> {
    if (this.o.mode !== "sync" || this.confirmed >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ms = this.broker.config.syncFlushTimeoutMs;
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        reject(new BrokerError("FLUSH_SLAVE_TIMEOUT", `written, but the SyncStateSet [${this.state.syncStateSet}] did not all hold it within ${ms} ms`));
      }, ms);
      const w: Waiter = {
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(w);
    });
  }

  /** The group as this master sees it: for clusterList, registration, /metrics and the console. Every slave that connected to it, by id. */
  status(): { confirmOffset: number; replicas: ReplicaStatus[] } {
    const max = this.broker.store.maxCommitLogOffset;
    const connected = new Set([...this.replicas.values()].map((r) => r.brokerId));
    return {
      confirmOffset: this.confirmed,
      replicas: [...this.ackedById].sort(([a], [b]) => a - b).map(([brokerId, acked]) => ({
        brokerId,
        address: this.addressById.get(brokerId) ?? "",
        ackOffset: acked,
        lagBytes: Math.max(0, max - acked),
        inSync: this.state.syncStateSet.includes(brokerId),
        connected: connected.has(brokerId),
      })),
    };
  }

  /** A newer state from the controller (its answer to a heartbeat). */
  updateState(state: GroupState): void {
    if (state.masterId !== this.o.brokerId || state.masterEpoch !== this.state.masterEpoch) return;
    if (state.syncStateSetEpoch <= this.state.syncStateSetEpoch) return;
    this.apply(state);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.pumpTimer);
    this.failWaiters(new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the broker is no longer this group's master"));
  }

  // ---- internals ----

  private apply(state: GroupState): void {
    const before = this.state.syncStateSet.join(",");
    this.state = state;
    const now = Date.now();
    for (const id of state.syncStateSet) if (!this.caughtUpAt.has(id)) this.caughtUpAt.set(id, now);
    this.recompute();
    if (before !== state.syncStateSet.join(",")) this.o.changed(state);
  }

  /** The confirmed offset from the set's acknowledgements; settles the waiters it passes. */
  private recompute(): void {
    const { store } = this.broker;
    if (this.o.mode === "async") {
      this.confirmed = store.maxCommitLogOffset;
      return;
    }
    let c = store.maxCommitLogOffset;
    for (const id of [...this.state.syncStateSet, ...this.joining]) if (id !== this.o.brokerId) c = Math.min(c, this.ackedById.get(id) ?? 0);
    if (c > this.confirmed) {
      this.confirmed = c;
      store.readLimit = c;
    }
    if (this.waiters.length === 0) return;
    if (this.state.syncStateSet.length < this.o.minInSync) {
      return this.failWaiters(new BrokerError("IN_SYNC_REPLICAS_NOT_ENOUGH", `the SyncStateSet shrank to [${this.state.syncStateSet}], fewer than --min-in-sync-replicas ${this.o.minInSync}: written, but not acknowledged by enough replicas`));
    }
    const still: Waiter[] = [];
    for (const w of this.waiters) (w.target <= this.confirmed ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  private failWaiters(e: BrokerError): void {
    const failed = this.waiters;
    this.waiters = [];
    for (const w of failed) w.reject(e);
  }

  private pumpAll(): void {
    for (const r of this.replicas.values()) this.pump(r);
  }

  /**
   * Sends a slave what it lacks. Keeping up, a slave has one frame in flight: what the master
   * appends while the slave writes it goes in the next frame, sent when the slave acknowledges,
   * so frames (and the slave's writes and acknowledgements, one per frame) grow with the load
   * instead of being one per append. A slave a whole CHUNK or more behind is sent chunks back to
   * back, as far as its socket keeps up.
   */
  private pump(r: Replica): void {
    if (this.closed || !r.conn.open) return;
    const { store } = this.broker;
    let blocked = false;
    while (r.sent < store.maxCommitLogOffset) {
      if (r.sent > r.acked && store.maxCommitLogOffset - r.sent < CHUNK) break;
      if (r.conn.bufferedAmount > HIGH_WATER) {
        blocked = true;
        break;
      }
      const data = store.readRaw(r.sent, CHUNK);
      if (data.length === 0) break;
      this.send(r, data);
    }
    if (blocked && this.pumpTimer === undefined) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pumpAll();
      }, 5);
    }
  }

  /**
   * One haData frame of `data` (parts of the log, views of the tail): the envelope is written by
   * hand and the parts copied in once, straight from the tail.
   */
  private send(r: Replica, data: readonly Uint8Array[]): void {
    const offset = r.sent;
    const now = Date.now();
    let length = 0;
    for (const part of data) length += part.length;
    const w = new CborWriter(length + 96);
    w.map(5).text("op").text("haData").text("offset").int(offset).text("confirm").int(this.confirmed)
      .text("timerCursor").int(this.broker.timer.cursor).text("data").head(2, length);
    for (const part of data) w.raw(part);
    r.conn.replyEncoded(w.bytes());
    r.sent = offset + length;
    r.lastSendAt = now;
    if (r.sent >= this.broker.store.maxCommitLogOffset) {
      r.marks.push({ end: r.sent, at: now });
      if (r.marks.length > 1024) r.marks.shift();
    }
  }

  /** Every tick: idle beats, and the set's membership as the lag rule wants it. */
  private check(): void {
    if (this.closed) return;
    const now = Date.now();
    const max = this.broker.store.maxCommitLogOffset;
    for (const r of this.replicas.values()) {
      if (r.acked >= max) this.caughtUpAt.set(r.brokerId, now);
      if (r.sent >= max && now - r.lastSendAt >= IDLE_BEAT_MS && r.conn.open) this.send(r, []);
    }
    if (this.proposing) return;
    const connected = new Set([...this.replicas.values()].map((r) => r.brokerId));
    const fresh = (id: number) => now - (this.caughtUpAt.get(id) ?? 0) <= this.o.maxLagMs;
    const want = new Set(this.state.syncStateSet.filter((id) => id === this.o.brokerId || fresh(id)));
    // A connected slave caught up within --ha-max-lag-ms joins. Under sync it must also hold the
    // confirmed offset, or the controller could elect a member lacking an acknowledged write; until
    // it does, confirmation waits for it as for a member, so under constant writes the confirmed
    // offset does not run ahead of it forever. Under async the confirmed offset is the log's end,
    // which a slave under constant writes is never at when a tick looks.
    const joining = new Set<number>();
    for (const id of connected) {
      if (!fresh(id) || this.state.syncStateSet.includes(id)) continue;
      if (this.o.mode === "async" || (this.ackedById.get(id) ?? 0) >= this.confirmed) want.add(id);
      if (this.o.mode === "sync") joining.add(id); // until the controller has it in the set
    }
    this.joining = joining;
    this.recompute();
    want.add(this.o.brokerId);
    const next = [...want].sort((a, b) => a - b);
    if (next.join(",") === [...this.state.syncStateSet].sort((a, b) => a - b).join(",")) return;
    this.proposing = true;
    this.o.alterSyncStateSet(this.state, next).then(
      (s) => {
        this.proposing = false;
        if (!s || this.closed) return;
        const dropped = this.state.syncStateSet.filter((id) => !s.syncStateSet.includes(id));
        const added = s.syncStateSet.filter((id) => !this.state.syncStateSet.includes(id));
        this.o.log(`SyncStateSet [${this.state.syncStateSet}] -> [${s.syncStateSet}]${dropped.length ? ` (${dropped} not caught up for ${this.o.maxLagMs} ms)` : ""}${added.length ? ` (${added} caught up)` : ""}`);
        this.apply(s);
      },
      () => {
        this.proposing = false;
      },
    );
  }

  private topics(): Record<string, { queues: number; perm: number }> {
    return Object.fromEntries(Object.entries(this.broker.topics.all()).map(([name, t]) => [name, { queues: t.queues, perm: t.perm }]));
  }
}
