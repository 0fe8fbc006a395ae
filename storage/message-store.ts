// The MessageStore: the facade the broker talks to. It ties the CommitLog (the truth), the
// ConsumeQueues and the key index (both derived from it), flushes them, and on open runs
// recovery: verify the CommitLog past the checkpoint, cut a torn tail, trim the queues, and
// re-dispatch whatever the queues or the index are missing.
import { useCrc32 } from "./crc32.ts";
import { getLogger } from "@logtape/logtape";
import { BrokerError, CONSUMER_OFFSETS_TOPIC, decode, decodeMap, ErrorCode, isSystemTopic, tagsCode as tagsCodeOfTag, TOPIC_DELETIONS_TOPIC } from "../protocol/mod.ts";
import { messageHead } from "../protocol/message-head.ts";
import type { Clock, FileHandle, Files } from "../platform/platform.ts";
import { type Checkpoint, indexCheckpointOf, readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { CommitLog, type CorruptReason, type DamagedRange, type RecoveryReport } from "./commit-log.ts";
import { ConsumeQueue, CQ_ENTRY_SIZE, encodeEntry, entryOffset, entrySizeAt, entryTagsCode, TOPIC_NAME_FILE, topicDirName } from "./consume-queue.ts";
import { DirLock, type ProcessProbe } from "./dir-lock.ts";
import { DiskGuard, isNoSpace } from "./disk-guard.ts";
import { type Geometry, openFormat } from "./format-file.ts";
import { KeyIndex } from "./key-index.ts";
import { HEADER_SIZE, type StoredRecord, viewOf } from "./record.ts";

export type { StoredRecord } from "./record.ts";

/** A line for LogTape, whose templates take braces as placeholders. */
function literal(line: string): string {
  return line.replace(/[{}]/g, (b) => b + b);
}

export interface StoreConfig {
  /** Data dir; commitlog/, consumequeue/, index/ and checkpoint live inside. */
  dir: string;
  /** CommitLog segment bytes, default 1 GiB. */
  segmentSize?: number;
  flush?: "async" | "sync";
  /** Flush CommitLog, queues, index and checkpoint every N ms (default 500). */
  flushIntervalMs?: number;
  /** sync: waitDurable rejects with FLUSH_TIMEOUT after N ms (default 5000). */
  syncFlushTimeoutMs?: number;
  /** Entries per ConsumeQueue file (default 300,000 of 20 bytes). */
  cqEntriesPerFile?: number;
  /** Hash slots per index file (default 500,000). */
  indexSlots?: number;
  /** Entries per index file (default 2,000,000). */
  indexEntries?: number;
  /** In-memory tail of recent CommitLog bytes (default 32 MiB). */
  tailBytes?: number;
  /**
   * The ConsumeQueue tags code of a record re-dispatched by recovery. The header does not hold
   * it, so recovery derives it from the decoded message; the default is the hash of its tags.
   * Queues whose tags code means something else (schedule queues: the delivery time) need this.
   * Only system topics' queues may: a replica asks it for their records alone.
   */
  tagsCodeOf?: (topic: string, message: Record<string, unknown>, record: StoredRecord) => number;
  /** Told the duration of every CommitLog fsync, ms (for metrics). */
  onFlush?: (ms: number) => void;
  /** A native CRC-32 (the platform's), used for every record from now on; the crc-32 package otherwise. */
  crc32?: (data: Uint8Array) => number;
  /**
   * Take the directory's lock (storage/dir-lock.ts) before reading anything: one owner per
   * data directory. `owner` says who in the lock file (a broker's name and address).
   */
  lock?: { probe: ProcessProbe; owner?: string };
  /** Disk guard (storage/disk-guard.ts): percent used above which to warn, and to refuse writes. Absent: no ratio checks (ENOSPC is still caught). */
  disk?: { warningRatio: number; fullRatio: number };
}

export interface AppendItem {
  topic: string;
  queueId: number;
  /** The CBOR-encoded message map, stored verbatim. Its `topic` must equal `topic` above: recovery re-dispatches by it. */
  bytes: Uint8Array;
  /** From protocol tagsCode(); for schedule queues, the delivery time (ms). */
  tagsCode: number;
  keys?: string[];
  msgId: string;
  flags?: number;
  reconsumeTimes?: number;
  txOffset?: number;
}

/** A record a slave received from its master, dispatched and decoded. */
export interface ReplicatedRecord {
  topic: string;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  size: number;
  storeTimestamp: number;
  tagsCode: number;
  id?: string;
  /** The decoded message map: a system topic's record only (the broker's state is made from those). */
  message?: Record<string, unknown>;
}

export interface AppendResult {
  commitLogOffset: number;
  queueOffset: number;
  size: number;
  storeTimestamp: number;
}

export interface GetResult {
  /** OFFSET_MOVED: below the queue's min offset (retention took it); nextOffset is where to resume. */
  status: "FOUND" | "NO_NEW_MSG" | "NO_MATCHED_MSG" | "OFFSET_ILLEGAL" | "OFFSET_MOVED";
  records: StoredRecord[];
  nextOffset: number;
  minOffset: number;
  maxOffset: number;
}

const DEFAULTS = {
  segmentSize: 1024 * 1024 * 1024,
  flush: "async" as "async" | "sync",
  flushIntervalMs: 500,
  syncFlushTimeoutMs: 5000,
  cqEntriesPerFile: 300_000,
  indexSlots: 500_000,
  indexEntries: 2_000_000,
  tailBytes: 32 * 1024 * 1024,
};

/** RocketMQ scans at most 16,000 bytes of queue entries per pull when filtering. */
const MIN_SCAN_ENTRIES = 800;
/** Recovery progress: bytes done of total in one phase. */
export type RecoveryProgress = (done: number, total: number, phase: "verify" | "dispatch") => void;

/** queryById returns at most this many copies of one id (retries and dead letters share it). */
const MAX_ID_MATCHES = 1000;
/** A ConsumeQueue repair looks this many entries either side for ones that agree with their records. */
const REPAIR_PROBE = 4096;
/** Damaged offsets remembered so each is logged once (pulls may meet it again and again). */
const LOGGED_DAMAGE = 4096;

const log = getLogger(["actormq", "storage"]);
/** How often the disk's usage is read (one statfs). */
const DISK_CHECK_MS = 1000;

/**
 * Writes that go on while the disk is above --disk-full-ratio (but not after a write found no
 * space): committed consumer offsets, tiny, so consumers can keep recording progress.
 */
function isEssential(topic: string): boolean {
  return topic === CONSUMER_OFFSETS_TOPIC;
}

/** The topic a deletion record names (its body), or null. */
function deletedTopicOf(m: Record<string, unknown> | null | undefined): string | null {
  return typeof m?.body === "string" && m.body !== "" ? m.body : null;
}

/** What one retention pass deleted. */
export interface RetentionPass {
  segments: number;
  bytes: number;
  minCommitLogOffset: number;
  /** [topic, queueId, new min offset] of every queue whose head was deleted. */
  queues: [string, number, number][];
}

/** What the store found damaged, missing or wrong, since it opened (for /metrics and tests). */
export interface StoreHealth {
  /** Damaged CommitLog ranges recovery (or a rebuild) skipped, and their bytes. */
  damagedRanges: number;
  damagedBytes: number;
  /** CommitLog segments missing from the middle of the chain. */
  missingSegments: number;
  /** Records not served because a read found them damaged: by reason. */
  corruptReads: Record<CorruptReason, number>;
  /** ConsumeQueue entries that did not match the record they point to, and the repairs run. */
  queueEntryMismatches: number;
  queueRepairs: number;
}

export class MessageStore {
  /** Decodes a record's topic (off the hot path: admin queries, replay). */
  readonly topicOf = (r: StoredRecord): string => String((decode(r.message) as { topic?: unknown })?.topic ?? "");

  private readonly cfg: typeof DEFAULTS & { dir: string };
  private readonly commitLog: CommitLog;
  private readonly index: KeyIndex;
  private readonly queues = new Map<string, Map<number, ConsumeQueue>>();
  private lastTimestamp = 0;
  private timer: unknown = null;
  /** Flushes run one after another, never overlapping. */
  private flushChain: Promise<void> = Promise.resolve();
  private lastCheckpoint: Checkpoint | null = null;
  private unsynced: FileHandle[] = [];
  private closed = false;
  private scratch = new Uint8Array(MIN_SCAN_ENTRIES * CQ_ENTRY_SIZE);
  /** getMessages: where and how large the records it takes are, and their queue offsets. */
  private readonly positions: number[] = [];
  private readonly sizes: number[] = [];
  private readonly logical: number[] = [];
  readonly health: StoreHealth = {
    damagedRanges: 0,
    damagedBytes: 0,
    missingSegments: 0,
    corruptReads: { missing: 0, header: 0, crc: 0 },
    queueEntryMismatches: 0,
    queueRepairs: 0,
  };
  private readonly loggedDamage = new Set<number>();
  /** Queues holding entries that appendBatch(items, true) has not written yet. */
  private readonly entriesDue = new Set<ConsumeQueue>();
  /**
   * Deleted topics: the CommitLog offset of each one's last deletion record. Records of the topic
   * below it belong to the deleted topic: never dispatched, found or re-put again.
   */
  private readonly deletions = new Map<string, number>();
  /** Files of queues whose topic was deleted: a flush under way may still hold them. */
  private readonly destroyed = new WeakSet<FileHandle>();
  /** Retention since start: segments deleted and the bytes freed with them. */
  readonly retention = { deletedSegments: 0, deletedBytes: 0 };
  private readonly lock: DirLock | null = null;
  /** How full the disk is, and whether writes are refused (DISK_FULL). */
  readonly disk: DiskGuard;
  private diskTimer: unknown = null;
  /** The geometry this directory was written with (format.json), which wins over the configuration. */
  readonly geometry: Geometry;
  /** What opening found: format notes and the CommitLog's recovery report. */
  readonly opened: { notes: string[]; recovery: RecoveryReport | null } = { notes: [], recovery: null };

  /**
   * Records ending past this CommitLog offset are not read yet: a replicated master's confirmed
   * offset (on every in-sync replica), a slave's as its master last said. Infinity: no limit.
   */
  readLimit = Infinity;

  private constructor(
    private readonly files: Files,
    private readonly clock: Clock,
    config: StoreConfig,
  ) {
    const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
    this.cfg = { ...DEFAULTS, ...given } as typeof DEFAULTS & { dir: string };
    this.cfg.dir = config.dir.replace(/\/+$/, "");
    files.mkdir(this.cfg.dir);
    if (config.lock) {
      this.lock = DirLock.acquire(files, this.cfg.dir, config.lock.probe, clock.now(), config.lock.owner, (stale) => {
        this.opened.notes.push(`took over the lock of pid ${stale.pid} (since ${new Date(stale.since).toISOString()}), which is no longer running`);
      });
    }
    // The directory's own geometry wins: records and entries sit where it put them.
    const format = openFormat(files, this.cfg.dir, this.cfg, clock.now());
    Object.assign(this.cfg, format.geometry);
    this.geometry = format.geometry;
    this.opened.notes.push(...format.notes);
    this.disk = new DiskGuard(files, clock, this.cfg.dir, config.disk ?? { warningRatio: 101, fullRatio: 101 });
    this.tagsCodeOf = config.tagsCodeOf;
    this.commitLog = new CommitLog(files, `${this.cfg.dir}/commitlog`, this.cfg.segmentSize, this.cfg.tailBytes);
    this.commitLog.onFsync = config.onFlush;
    this.commitLog.onCorrupt = (offset, reason) => this.corruptRead(offset, reason);
    this.index = new KeyIndex(files, `${this.cfg.dir}/index`, { slots: this.cfg.indexSlots, capacity: this.cfg.indexEntries });
  }

  private readonly tagsCodeOf: StoreConfig["tagsCodeOf"];

  /** Opens the store in `config.dir`, running recovery synchronously. */
  /**
   * `onProgress` hears of the long parts of recovery: "verify" (CRC-checking the CommitLog past
   * the checkpoint) and "dispatch" (rebuilding consume queues and the index from it).
   */
  static open(files: Files, clock: Clock, config: StoreConfig, onProgress?: RecoveryProgress): MessageStore {
    if (config.crc32) useCrc32(config.crc32);
    const store = new MessageStore(files, clock, config);
    for (const note of store.opened.notes) log.warn(literal(note));
    store.recover(onProgress);
    store.loadDeletions();
    store.schedule();
    store.checkDisk();
    return store;
  }

  get minCommitLogOffset(): number {
    return this.commitLog.minOffset;
  }

  get maxCommitLogOffset(): number {
    return this.commitLog.maxOffset;
  }

  // ---------------------------------------------------------------- writes

  /**
   * `entriesLater`: the ConsumeQueue entries stay in memory (served from there) until
   * writeEntries(), which the caller runs once what the write woke has been answered: they are
   * derived from the CommitLog, and recovery rebuilds any the checkpoint does not cover.
   */
  appendBatch(items: AppendItem[], entriesLater = false): AppendResult[] {
    if (this.closed) throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the message store is closed");
    const n = items.length;
    if (n === 0) return [];
    const ts = Math.max(this.clock.now(), this.lastTimestamp); // never backwards: offsetForTimestamp bisects
    // Queue offsets first (the header holds them), applied only once the CommitLog write worked.
    const queueOffsets = new Array<number>(n);
    const byQueue = new Map<ConsumeQueue, number[]>();
    let lastCq: ConsumeQueue | null = null;
    let lastList: number[] = [];
    for (let i = 0; i < n; i++) {
      const it = items[i];
      let cq: ConsumeQueue | null = lastCq;
      if (!cq || cq.queueId !== it.queueId || cq.topic !== it.topic) {
        cq = this.queue(it.topic, it.queueId, true)!;
        let list = byQueue.get(cq);
        if (!list) byQueue.set(cq, (list = []));
        lastCq = cq;
        lastList = list;
      }
      queueOffsets[i] = cq.maxOffset + lastList.length;
      lastList.push(i);
    }
    const positions = new Array<number>(n);
    const sizes = new Array<number>(n);
    const refused = this.disk.refusing();
    if (refused && !items.every((it) => isEssential(it.topic))) throw new BrokerError(ErrorCode.DISK_FULL, `writes are refused: ${refused}`);
    try {
      this.commitLog.append(items, queueOffsets, ts, positions, sizes);
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      // Nothing was acknowledged: the log's end has not moved, the next write goes where this one tried.
      this.disk.noSpace(e);
      throw new BrokerError(ErrorCode.DISK_FULL, `no space left on the disk of ${this.cfg.dir}: nothing of this write was stored`);
    }
    this.disk.wrote();
    this.lastTimestamp = ts;
    // One write per queue for the batch's entries.
    for (const [cq, list] of byQueue) {
      const buf = new Uint8Array(list.length * CQ_ENTRY_SIZE);
      const dv = viewOf(buf);
      for (let k = 0; k < list.length; k++) {
        const i = list[k];
        encodeEntry(dv, k * CQ_ENTRY_SIZE, positions[i], sizes[i], items[i].tagsCode);
      }
      // The records are stored: a failed entry write is kept in memory and retried, never a failed send.
      cq.write(queueOffsets[list[0]], buf, (e) => this.entryWriteFailed(cq, e), entriesLater);
      if (entriesLater) this.entriesDue.add(cq);
      cq.lastTimestamp = ts;
    }
    // A topic's deletion record (written alone in its batch, after everything sent to the topic
    // before it): the topic's queues go now.
    for (const [cq, list] of byQueue) {
      if (cq.topic === TOPIC_DELETIONS_TOPIC) for (const i of list) this.applyDeletion(deletedTopicOf(decodeMap(items[i].bytes)), positions[i]);
    }
    const results = new Array<AppendResult>(n);
    for (let i = 0; i < n; i++) {
      const it = items[i];
      this.index.addRecord(positions[i], sizes[i], ts, it.topic, it.keys, it.msgId);
      results[i] = { commitLogOffset: positions[i], queueOffset: queueOffsets[i], size: sizes[i], storeTimestamp: ts };
    }
    this.index.markCovered(this.commitLog.maxOffset);
    return results;
  }

  /** Writes the ConsumeQueue entries appendBatch(items, true) kept in memory. */
  writeEntries(): void {
    for (const cq of this.entriesDue) cq.retryUnwritten((e) => this.entryWriteFailed(cq, e));
    this.entriesDue.clear();
  }

  /**
   * Why this message would not be stored now (checked before a batch is written, so one bad
   * message fails alone): the store is closed, the disk is full (offset commits still pass
   * while the ratio alone refuses), the record cannot fit a segment, or its queue's files
   * cannot be made. Null if it can be written.
   */
  refusal(item: AppendItem): BrokerError | null {
    if (this.closed) return new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the message store is closed");
    const refused = this.disk.refusing();
    if (refused && !(isEssential(item.topic) && !this.disk.outOfSpace)) return new BrokerError(ErrorCode.DISK_FULL, `writes are refused: ${refused}`);
    if (HEADER_SIZE + item.bytes.length > this.commitLog.maxRecordSize) {
      return new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `a record of ${HEADER_SIZE + item.bytes.length} bytes does not fit a ${this.cfg.segmentSize}-byte segment`);
    }
    const e = this.queue(item.topic, item.queueId, true)!.writable();
    if (!e) return null;
    if (isNoSpace(e)) {
      this.disk.noSpace(e);
      return new BrokerError(ErrorCode.DISK_FULL, `no space left for the ConsumeQueue of ${item.topic}/${item.queueId}`);
    }
    return new BrokerError(ErrorCode.STORAGE_ERROR, `the ConsumeQueue of ${item.topic}/${item.queueId} cannot be written: ${(e as Error).message}`);
  }

  private entryWriteFailed(cq: ConsumeQueue, e: unknown): void {
    if (isNoSpace(e)) this.disk.noSpace(e);
    log.error("ConsumeQueue {topic}/{queueId}: writing entries failed ({error}); they are kept in memory and written again at the next flush", { topic: cq.topic, queueId: cq.queueId, error: (e as Error).message });
  }

  /** Checks the disk now and every second while the store is open. */
  private checkDisk(): void {
    if (this.closed) return;
    this.disk.check();
    this.diskTimer = this.clock.setTimeout(() => this.checkDisk(), DISK_CHECK_MS);
  }

  /** sync flush: resolves once an fsync covers every byte below commitLogOffset (group commit). */
  waitDurable(commitLogOffset: number): Promise<void> {
    if (this.cfg.flush !== "sync" || this.commitLog.flushedOffset >= commitLogOffset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = this.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new BrokerError(ErrorCode.FLUSH_TIMEOUT, `no fsync within ${this.cfg.syncFlushTimeoutMs} ms`));
      }, this.cfg.syncFlushTimeoutMs);
      this.commitLog.sync(commitLogOffset).then(
        () => {
          if (settled) return;
          settled = true;
          this.clock.clearTimeout(timer);
          resolve();
        },
        (e) => {
          if (settled) return;
          settled = true;
          this.clock.clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  // ---------------------------------------------------------------- replication

  /** The log's bytes from `from` as they are on disk (whole records, one segment at most; views of the tail where it holds them): what a master streams. */
  readRaw(from: number, maxBytes: number): Uint8Array[] {
    return this.commitLog.readRaw(from, maxBytes);
  }

  get flushedCommitLogOffset(): number {
    return this.commitLog.flushedOffset;
  }

  /** fsyncs the CommitLog up to `offset` (a slave acknowledging under --flush sync). */
  syncCommitLog(offset: number): Promise<void> {
    return this.commitLog.sync(offset);
  }

  /**
   * A slave's append: its master's bytes written at `offset` (this log's end) byte for byte, then
   * dispatched as recovery would (consume queue entries at the queue offsets the master chose,
   * index entries). Returns what was dispatched, for the broker's own state (system topics'
   * records decoded).
   */
  appendReplicated(offset: number, bytes: Uint8Array): ReplicatedRecord[] {
    if (this.closed) throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the message store is closed");
    const out: ReplicatedRecord[] = [];
    const byQueue = new Map<ConsumeQueue, ReplicatedRecord[]>();
    // The master's queue offsets: contiguous runs are one write each.
    const writeEntries = () => {
      for (const [cq, list] of byQueue) {
        let start = 0;
        for (let k = 1; k <= list.length; k++) {
          if (k < list.length && list[k].queueOffset === list[k - 1].queueOffset + 1) continue;
          const buf = new Uint8Array((k - start) * CQ_ENTRY_SIZE);
          const dv = viewOf(buf);
          for (let i = start; i < k; i++) encodeEntry(dv, (i - start) * CQ_ENTRY_SIZE, list[i].commitLogOffset, list[i].size, list[i].tagsCode);
          cq.write(list[start].queueOffset, buf);
          start = k;
        }
        cq.lastTimestamp = list[list.length - 1].storeTimestamp;
      }
      byQueue.clear();
    };
    this.commitLog.appendRaw(offset, bytes, (r) => {
      // What places a record is read without decoding it (protocol/message-head.ts); a system
      // topic's record, or one the quick read does not take, is decoded whole.
      let head = messageHead(r.message);
      let message: Record<string, unknown> | undefined;
      if (head === null || isSystemTopic(head.topic)) {
        const m = decodeMap(r.message);
        if (!m || typeof m.topic !== "string") return;
        message = m;
        const keys = Array.isArray(m.keys) ? m.keys.filter((k): k is string => typeof k === "string") : undefined;
        head = { topic: m.topic, tags: typeof m.tags === "string" ? m.tags : undefined, keys, id: typeof m.id === "string" ? m.id : undefined };
      }
      const { topic } = head;
      const tagsCode = message && this.tagsCodeOf ? this.tagsCodeOf(topic, message, r) : tagsCodeOfTag(head.tags);
      const rec: ReplicatedRecord = { topic, queueId: r.queueId, queueOffset: r.queueOffset, commitLogOffset: r.commitLogOffset, size: r.size, storeTimestamp: r.storeTimestamp, tagsCode, id: head.id, message };
      out.push(rec);
      const cq = this.queue(topic, r.queueId, true)!;
      let list = byQueue.get(cq);
      if (!list) byQueue.set(cq, (list = []));
      list.push(rec);
      if (r.storeTimestamp > this.lastTimestamp) this.lastTimestamp = r.storeTimestamp;
      this.index.addRecord(r.commitLogOffset, r.size, r.storeTimestamp, topic, head.keys, head.id ?? "");
      if (topic === TOPIC_DELETIONS_TOPIC) {
        // What came before it is written first; then the deleted topic's queues go, as on the master.
        writeEntries();
        this.applyDeletion(deletedTopicOf(message), r.commitLogOffset);
      }
    });
    writeEntries();
    this.index.markCovered(this.commitLog.maxOffset);
    return out;
  }

  // ---------------------------------------------------------------- topic deletion

  /** The CommitLog offset of the topic's last deletion record, or -1: its records below it are gone for good. */
  deletedAt(topic: string): number {
    return this.deletions.get(topic) ?? -1;
  }

  /** A deletion record of `topic` at `offset`: its queues and their files go. */
  private applyDeletion(topic: string | null, offset: number): void {
    if (topic === null || topic === TOPIC_DELETIONS_TOPIC) return;
    if ((this.deletions.get(topic) ?? -1) < offset) this.deletions.set(topic, offset);
    const m = this.queues.get(topic);
    if (m) for (const cq of m.values()) for (const h of cq.destroy()) this.destroyed.add(h);
    this.queues.delete(topic);
    const dir = `${this.cfg.dir}/consumequeue/${topicDirName(topic)}`;
    if (this.files.stat(dir)) this.files.remove(dir, { recursive: true });
  }

  /** After recovery: every deletion record the log still holds (their queue is tiny: one entry a deletion). */
  private loadDeletions(): void {
    for (let offset = this.minOffset(TOPIC_DELETIONS_TOPIC, 0); offset < this.maxOffset(TOPIC_DELETIONS_TOPIC, 0);) {
      const r = this.getMessages(TOPIC_DELETIONS_TOPIC, 0, offset, 1024, 16 * 1024 * 1024);
      for (const rec of r.records) {
        const topic = deletedTopicOf(decodeMap(rec.message));
        if (topic !== null && (this.deletions.get(topic) ?? -1) < rec.commitLogOffset) this.deletions.set(topic, rec.commitLogOffset);
      }
      if (r.nextOffset <= offset) break;
      offset = r.nextOffset;
    }
  }

  // ---------------------------------------------------------------- reads

  getMessages(topic: string, queueId: number, offset: number, maxCount: number, maxBytes: number, match?: (tagsCode: number) => boolean, repair = true): GetResult {
    const cq = this.queue(topic, queueId, false);
    const minOffset = cq ? cq.minOffset : 0;
    const maxOffset = cq ? cq.maxOffset : 0;
    const result = (status: GetResult["status"], nextOffset: number, records: StoredRecord[] = []): GetResult => ({ status, records, nextOffset, minOffset, maxOffset });
    if (offset < 0) return result("OFFSET_ILLEGAL", minOffset);
    if (offset < minOffset) return result("OFFSET_MOVED", minOffset);
    if (offset > maxOffset) return result("OFFSET_ILLEGAL", maxOffset);
    if (offset === maxOffset || !cq) return result("NO_NEW_MSG", offset);
    const want = Math.max(1, maxCount);
    const limit = match ? Math.max(MIN_SCAN_ENTRIES, want) : want;
    if (this.scratch.length < limit * CQ_ENTRY_SIZE) this.scratch = new Uint8Array(limit * CQ_ENTRY_SIZE);
    const got = cq.read(offset, limit, this.scratch);
    const dv = viewOf(this.scratch);
    // Which records to take, from the entries alone; then all of them read at once.
    const positions = this.positions;
    const sizes = this.sizes;
    const logical = this.logical;
    const clMin = this.commitLog.minOffset;
    let taken = 0;
    let bytes = 0;
    let consumed = 0;
    let limited = false;
    for (; consumed < got; consumed++) {
      const at = consumed * CQ_ENTRY_SIZE;
      const size = entrySizeAt(dv, at);
      const pos = entryOffset(dv, at);
      if (size === 0 || pos < clMin) continue; // a hole, or a record retention deleted
      if (pos + size > this.readLimit) {
        limited = true; // not yet on enough replicas to be read (see readLimit)
        break;
      }
      // Full before filtering, as RocketMQ: the next pull starts right after the last record taken.
      if (taken >= want || (taken > 0 && bytes + size > maxBytes)) break;
      if (match && !match(entryTagsCode(dv, at))) continue;
      positions[taken] = pos;
      sizes[taken] = size;
      logical[taken++] = offset + consumed;
      bytes += size;
    }
    if (limited && consumed === 0) return result("NO_NEW_MSG", offset);
    const records: StoredRecord[] = [];
    if (taken === 0) return result("NO_MATCHED_MSG", offset + consumed, records);
    const read = this.commitLog.readMany(positions, sizes, taken);
    for (let k = 0; k < taken; k++) {
      const r = read[k];
      // Damaged or missing bytes are counted and never served; an entry that points at no
      // record, or at another queue's or offset's record, is repaired from the CommitLog.
      const wrongEntry = typeof r === "string" ? r === "header" || r === "absent" : r.queueId !== queueId || r.queueOffset !== logical[k];
      if (wrongEntry && repair) return this.repairAndRetry(cq, logical[k], () => this.getMessages(topic, queueId, offset, maxCount, maxBytes, match, false));
      if (typeof r !== "string" && !wrongEntry) records.push(r);
    }
    return result(records.length ? "FOUND" : "NO_MATCHED_MSG", offset + consumed, records);
  }

  private repairAndRetry(cq: ConsumeQueue, n: number, retry: () => GetResult): GetResult {
    this.health.queueEntryMismatches++;
    this.repairQueue(cq, n);
    return retry();
  }

  /**
   * ConsumeQueue entry n does not match the record it points to: rebuilds the entries around it
   * from the CommitLog. The nearest entries on either side that do match bound where the
   * records of the entries in between can be (a queue's records are in CommitLog order); the
   * log is walked between them and every entry in between is rewritten from what it holds:
   * the record with that queue offset, or a hole (size 0) when the record is gone or damaged.
   */
  private repairQueue(cq: ConsumeQueue, n: number): void {
    const started = this.clock.now();
    const agrees = (k: number): [number, number] | null => {
      const [pos, size] = cq.entry(k);
      if (size === 0) return null;
      const r = this.commitLog.readChecked(pos, size);
      return typeof r !== "string" && r.queueId === cq.queueId && r.queueOffset === k ? [pos, size] : null;
    };
    let lowK = n - 1;
    let from = this.commitLog.minOffset;
    for (; lowK >= Math.max(cq.minOffset, n - REPAIR_PROBE); lowK--) {
      const e = agrees(lowK);
      if (e) {
        from = e[0] + e[1];
        break;
      }
    }
    if (lowK < Math.max(cq.minOffset, n - REPAIR_PROBE)) lowK = Math.max(cq.minOffset, n - REPAIR_PROBE) - 1;
    let highK = n + 1;
    let to = this.commitLog.maxOffset;
    for (; highK < Math.min(cq.maxOffset, n + REPAIR_PROBE); highK++) {
      const e = agrees(highK);
      if (e) {
        to = e[0];
        break;
      }
    }
    // Entries lowK+1 .. highK-1 are rewritten from the records found in [from, to).
    const first = lowK + 1;
    const count = Math.min(highK, cq.maxOffset) - first;
    if (count <= 0) return;
    const buf = new Uint8Array(count * CQ_ENTRY_SIZE); // zeros: holes unless a record is found
    const dv = viewOf(buf);
    let found = 0;
    this.commitLog.walk(from, true, (r) => {
      if (r.queueId !== cq.queueId || r.queueOffset < first || r.queueOffset >= first + count) return;
      const m = decodeMap(r.message);
      if (!m || m.topic !== cq.topic) return;
      const code = this.tagsCodeOf ? this.tagsCodeOf(cq.topic, m, r) : tagsCodeOfTag(typeof m.tags === "string" ? m.tags : undefined);
      encodeEntry(dv, (r.queueOffset - first) * CQ_ENTRY_SIZE, r.commitLogOffset, r.size, code);
      found++;
    }, undefined, (d) => this.damaged(d), to);
    cq.write(first, buf);
    this.health.queueRepairs++;
    log.warn("ConsumeQueue {topic}/{queueId}: entry {n} did not match its record; rebuilt entries {first}..{last} from CommitLog {from}..{to}: {found} found, {holes} gone or damaged ({ms} ms)", {
      topic: cq.topic, queueId: cq.queueId, n, first, last: first + count - 1, from, to, found, holes: count - found, ms: this.clock.now() - started,
    });
  }

  private corruptRead(offset: number, reason: CorruptReason): void {
    this.health.corruptReads[reason]++;
    if (this.loggedDamage.has(offset)) return;
    if (this.loggedDamage.size >= LOGGED_DAMAGE) this.loggedDamage.clear();
    this.loggedDamage.add(offset);
    const what = reason === "crc" ? "failed its CRC check" : "is missing (its segment or bytes are gone)";
    log.error("CORRUPT_RECORD: the record at CommitLog offset {offset} {what}; it is skipped, never served", { offset, what, reason });
  }

  private damaged(d: DamagedRange): void {
    if (this.loggedDamage.has(d.from)) return;
    this.loggedDamage.add(d.from);
    this.health.damagedRanges++;
    this.health.damagedBytes += d.to - d.from;
    log.error("CORRUPT_RECORD: CommitLog bytes {from}..{to} ({bytes} bytes, {reason}) hold no valid record: skipped; the records after them are kept", { from: d.from, to: d.to, bytes: d.to - d.from, reason: d.reason });
  }

  readRecord(commitLogOffset: number): StoredRecord | null {
    return this.commitLog.read(commitLogOffset);
  }

  maxOffset(topic: string, queueId: number): number {
    return this.queue(topic, queueId, false)?.maxOffset ?? 0;
  }

  minOffset(topic: string, queueId: number): number {
    return this.queue(topic, queueId, false)?.minOffset ?? 0;
  }

  lastStoreTimestamp(topic: string, queueId: number): number {
    const cq = this.queue(topic, queueId, false);
    if (!cq || cq.maxOffset <= cq.minOffset) return 0;
    if (cq.lastTimestamp < 0) {
      const [pos, size] = cq.entry(cq.maxOffset - 1);
      cq.lastTimestamp = size > 0 ? Math.max(0, this.commitLog.timestampAt(pos)) : 0;
    }
    return cq.lastTimestamp;
  }

  // ---------------------------------------------------------------- retention

  /**
   * One retention pass (RocketMQ's CleanCommitLogService): deletes the oldest CommitLog
   * segments that are older than `reservedMs` (by the time of their last write; any age when
   * `ignoreAge`, under disk pressure) and lie wholly below `floor` (what snapshots, unresolved
   * transactions, pending timers and delayed messages still need), never the segment being
   * written, at most `max`. ConsumeQueue and index files follow; returns what was deleted and
   * the queues whose min offset moved.
   */
  deleteExpired(opts: { now: number; reservedMs: number; floor: number; ignoreAge?: boolean; max?: number }): RetentionPass {
    const { starts, bytes } = this.commitLog.deleteOldest(
      (seg) => seg.end <= opts.floor && (opts.ignoreAge === true || seg.mtimeMs + opts.reservedMs <= opts.now),
      opts.max,
    );
    const pass: RetentionPass = { segments: starts.length, bytes, minCommitLogOffset: this.commitLog.minOffset, queues: [] };
    if (starts.length === 0) return pass;
    const clMin = this.commitLog.minOffset;
    for (const [topic, m] of this.queues) for (const [queueId, cq] of m) if (cq.dropBelow(clMin)) pass.queues.push([topic, queueId, cq.minOffset]);
    pass.bytes += this.index.dropBelow(clMin);
    // A deletion whose record is gone has nothing left below it to hide.
    for (const [topic, at] of this.deletions) if (at < clMin) this.deletions.delete(topic);
    this.retention.deletedSegments += starts.length;
    this.retention.deletedBytes += pass.bytes;
    log.info("retention: deleted {n} CommitLog segment(s) below {min} ({bytes} bytes with their ConsumeQueue and index files); {queues} queue(s) start later now", { n: starts.length, min: clMin, bytes: pass.bytes, queues: pass.queues.length });
    return pass;
  }

  /** Bytes the store's files hold: CommitLog, ConsumeQueues (entries), index files. */
  bytesOnDisk(): { commitlog: number; consumequeue: number } {
    let consumequeue = 0;
    for (const m of this.queues.values()) for (const cq of m.values()) consumequeue += cq.bytesOnDisk;
    return { commitlog: this.commitLog.bytesOnDisk, consumequeue };
  }

  /** The CommitLog position of a queue's entry (for what holds retention back), or -1. */
  positionOf(topic: string, queueId: number, offset: number): number {
    const cq = this.queue(topic, queueId, false);
    if (!cq || offset < cq.minOffset || offset >= cq.maxOffset) return -1;
    const [pos, size] = cq.entry(offset);
    return size > 0 ? pos : -1;
  }

  queueKeys(): { topic: string; queueId: number }[] {
    const out: { topic: string; queueId: number }[] = [];
    for (const [topic, m] of this.queues) for (const queueId of m.keys()) out.push({ topic, queueId });
    return out;
  }

  /** The first logical offset whose store time is >= timestamp; maxOffset if none. */
  offsetForTimestamp(topic: string, queueId: number, timestamp: number): number {
    const cq = this.queue(topic, queueId, false);
    if (!cq) return 0;
    let lo = cq.minOffset;
    let hi = cq.maxOffset;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const [pos, size] = cq.entry(mid);
      const t = size > 0 ? this.commitLog.timestampAt(pos) : -1;
      if (t < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Records of `topic` with `key`, newest first, confirmed against the stored message (hashes collide). */
  queryByKey(topic: string, key: string, max: number): StoredRecord[] {
    const out: StoredRecord[] = [];
    if (max <= 0) return out;
    const seen = new Set<number>();
    this.index.lookupKey(topic, key, (pos) => {
      if (seen.has(pos)) return true;
      seen.add(pos);
      const r = this.commitLog.read(pos);
      const m = r && decodeMap(r.message);
      if (m && m.topic === topic && Array.isArray(m.keys) && m.keys.includes(key) && pos > this.deletedAt(topic)) out.push(r!);
      return out.length < max;
    });
    return out;
  }

  /** Records with this unique id (any topic), newest first. */
  queryById(msgId: string): StoredRecord[] {
    const out: StoredRecord[] = [];
    const seen = new Set<number>();
    this.index.lookupId(msgId, (pos) => {
      if (seen.has(pos)) return true;
      seen.add(pos);
      const r = this.commitLog.read(pos);
      const m = r && decodeMap(r.message);
      if (m && m.id === msgId && !(typeof m.topic === "string" && pos < this.deletedAt(m.topic))) out.push(r!);
      return out.length < MAX_ID_MATCHES;
    });
    return out;
  }

  /**
   * What the store holds in memory: the CommitLog's tail (bounded by tailBytes) and the index's
   * slot tables and entries waiting for their file (bounded by the geometry, not the message count).
   */
  memory(): { tailBytes: number; indexBytes: number; indexPendingEntries: number } {
    return { tailBytes: this.commitLog.tailBytes, indexBytes: this.index.memoryBytes, indexPendingEntries: this.index.pendingEntries };
  }

  /** Lets the caches above go; they refill as the store is written and read. */
  releaseMemory(): void {
    this.commitLog.releaseMemory();
  }

  /** Visits every valid record from a record boundary to the end of the log (damaged ones are skipped and reported). */
  scan(fromCommitLogOffset: number, visit: (r: StoredRecord) => void): void {
    const from = Math.max(fromCommitLogOffset, this.commitLog.minOffset);
    if (from < this.commitLog.maxOffset) this.commitLog.walk(from, false, visit, undefined, (d) => this.damaged(d));
  }

  // ---------------------------------------------------------------- flush and close

  /** fsyncs everything written so far, then writes the checkpoint. */
  flush(): Promise<void> {
    const run = this.flushChain.then(() => this.flushOnce());
    this.flushChain = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    if (this.diskTimer !== null) this.clock.clearTimeout(this.diskTimer);
    this.timer = null;
    try {
      await this.flush();
    } catch (e) {
      // Everything written is in the files (the page cache); only its fsync or the checkpoint
      // failed (a full disk). The next start verifies from the last checkpoint: close anyway.
      log.error("closing: the last flush failed ({error}); the next start re-verifies from the last checkpoint", { error: (e as Error).message });
    } finally {
      await this.commitLog.idle();
      for (const m of this.queues.values()) for (const cq of m.values()) cq.close();
      this.index.close();
      this.commitLog.close();
      this.lock?.release();
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      // A failed flush is retried at the next tick; the data stays in the page cache.
      this.flush().catch(() => {}).finally(() => this.schedule());
    }, this.cfg.flushIntervalMs);
  }

  private async flushOnce(): Promise<void> {
    // Everything is captured synchronously: appends that land during the awaits below are
    // left for the next flush, so the checkpoint never claims more than was fsynced.
    const clTarget = this.commitLog.maxOffset;
    const storeTimestamp = this.lastTimestamp;
    // Files whose fsync failed last time are synced again before anything claims them durable.
    const cqFiles: FileHandle[] = this.unsynced;
    this.unsynced = [];
    const queues: Record<string, number> = {};
    // Entries a failed write kept in memory: written now if they can be; the checkpoint never
    // claims a record dispatched whose entry is not in its file.
    // One pass over every queue (tens of thousands on a large broker, twice a second).
    let undispatched = Infinity;
    for (const [topic, m] of this.queues) {
      for (const [queueId, cq] of m) {
        if (!cq.retryUnwritten()) undispatched = Math.min(undispatched, cq.unwrittenFrom);
        cq.takeDirty(cqFiles);
        if (cq.maxOffset > 0) queues[`${topic}/${queueId}`] = cq.maxOffset;
      }
    }
    const written = this.index.writeOut();
    const last = this.lastCheckpoint;
    if (
      last && cqFiles.length === 0 && last.commitLogFlushed === clTarget && last.indexFlushed === written.state.coverage &&
      last.index.entries === written.state.entries && last.index.file === written.state.file
    ) return;
    try {
      await this.commitLog.sync(clTarget);
      for (const h of cqFiles) {
        try {
          if (!this.destroyed.has(h)) await h.sync();
        } catch (e) {
          if (!this.destroyed.has(h)) throw e; // a deleted topic's file closed under the sync is no failure
        }
      }
    } catch (e) {
      this.unsynced.push(...cqFiles.filter((h) => !this.destroyed.has(h)));
      throw e;
    }
    await this.index.sync(written);
    const cp: Checkpoint = {
      version: 1,
      commitLogFlushed: clTarget,
      dispatched: Math.min(clTarget, undispatched),
      indexFlushed: Math.min(written.state.coverage, clTarget),
      index: { file: written.state.file, entries: written.state.entries },
      queues,
      storeTimestamp,
    };
    await writeCheckpoint(this.files, this.checkpointPath(), cp);
    this.lastCheckpoint = cp;
  }

  // ---------------------------------------------------------------- recovery

  private recover(onProgress?: RecoveryProgress): void {
    const { files } = this;
    files.mkdir(this.cfg.dir);
    const cp = readCheckpoint(files, this.checkpointPath());
    if (typeof cp?.storeTimestamp === "number") this.lastTimestamp = cp.storeTimestamp;
    const report = this.commitLog.recover(cp ? Math.min(cp.commitLogFlushed, cp.dispatched) : 0, onProgress && ((done, total) => onProgress(done, total, "verify")));
    this.opened.recovery = report;
    this.reportRecovery(report);
    const clMin = this.commitLog.minOffset;
    const clEnd = this.commitLog.maxOffset;

    // Consume queues: open, drop torn or dangling tails, and decide where re-dispatch starts.
    const cqDir = `${this.cfg.dir}/consumequeue`;
    files.mkdir(cqDir);
    let rebuildAll = cp === null;
    let anyEntries = false;
    const present = new Set<string>();
    for (const name of files.list(cqDir)) {
      if (!files.stat(`${cqDir}/${name}`)?.isDirectory) continue;
      const topic = this.topicOfDir(name);
      if (topic === null) continue;
      for (const q of files.list(`${cqDir}/${name}`)) {
        if (!/^\d+$/.test(q)) continue;
        const cq = this.queue(topic, Number(q), true)!;
        const key = `${topic}/${Number(q)}`;
        present.add(key);
        if (cp && !(cp.queues[key] > 0)) {
          cq.skipLoad();
          continue;
        }
        const raw = cq.load();
        if (raw > 0) anyEntries = true;
        if (cp && (cp.queues[key] ?? 0) > raw) rebuildAll = true; // its files were deleted
        cq.trim(clEnd);
        cq.dropBelow(clMin); // entries whose records retention deleted
      }
    }
    if (cp) for (const [key, max] of Object.entries(cp.queues)) if (max > 0 && !present.has(key)) rebuildAll = true;
    if (!anyEntries && clEnd > clMin) rebuildAll = true;
    const cqFrom = rebuildAll ? clMin : Math.min(Math.max(cp!.dispatched, clMin), clEnd);

    const indexFrom = this.index.recover(indexCheckpointOf(cp), clMin, clEnd);

    const from = Math.min(cqFrom, indexFrom);
    if (from < clEnd) {
      const visit = (r: StoredRecord) => this.redispatch(r, cqFrom, indexFrom);
      const progress = onProgress && ((pos: number) => onProgress(Math.min(pos, clEnd) - from, clEnd - from, "dispatch"));
      const damage: DamagedRange[] = [];
      // Past the point recovery verified from, records are CRC-checked here too: a damaged one
      // is never dispatched to a queue.
      const verifyFrom = report.from;
      const walked = this.commitLog.walk(from, verifyFrom, visit, progress, (d) => damage.push(d));
      if (walked.records === 0 || damage[0]?.from === from) {
        // `from` was not a record boundary (a checkpoint from another life): start at its segment.
        const segStart = from - (from % this.cfg.segmentSize);
        damage.length = 0;
        this.commitLog.walk(Math.max(segStart, clMin), verifyFrom, (r) => r.commitLogOffset >= from && visit(r), undefined, (d) => damage.push(d));
      }
      for (const d of damage) this.damaged(d);
      onProgress?.(clEnd - from, clEnd - from, "dispatch");
    }
    for (const m of this.queues.values()) for (const cq of m.values()) cq.finishPuts();
    this.index.markCovered(clEnd);

    // No checkpoint, a cut below it, or rebuilt structures: write one that says so now rather
    // than at the first interval, so a second crash does not redo (or misjudge) this work.
    const stale = cp ? cp.commitLogFlushed > clEnd || cp.dispatched > clEnd : clEnd > clMin;
    if (stale || from < clEnd) void this.flush().catch(() => {});
  }

  private reportRecovery(r: RecoveryReport): void {
    for (const d of r.damaged) this.damaged(d);
    for (const m of r.missing) {
      this.health.missingSegments += Math.round((m.to - m.from) / this.cfg.segmentSize);
      log.error("CommitLog segments {from}..{to} are missing: their records are lost; the segments after them are kept", { from: m.from, to: m.to });
    }
    for (const name of r.foreign) log.warn("commitlog/{name} is not at a multiple of the segment size ({segmentSize}): not part of the log, left alone", { name, segmentSize: this.cfg.segmentSize });
    if (r.tornTail) log.warn("CommitLog: cut a torn tail of {bytes} bytes at {from} (a write cut off by a crash)", { bytes: r.tornTail.to - r.tornTail.from, from: r.tornTail.from });
  }

  private redispatch(r: StoredRecord, cqFrom: number, indexFrom: number): void {
    const m = decodeMap(r.message);
    if (!m || typeof m.topic !== "string") return; // not ours to dispatch: nothing can name its queue
    const topic = m.topic;
    if (r.storeTimestamp > this.lastTimestamp) this.lastTimestamp = r.storeTimestamp;
    if (r.commitLogOffset >= cqFrom) {
      const cq = this.queue(topic, r.queueId, true)!;
      const code = this.tagsCodeOf ? this.tagsCodeOf(topic, m, r) : tagsCodeOfTag(typeof m.tags === "string" ? m.tags : undefined);
      cq.put(r.queueOffset, r.commitLogOffset, r.size, code);
      cq.lastTimestamp = r.storeTimestamp;
      // The deleted topic's queues go again; its records after this point are a new topic's.
      if (topic === TOPIC_DELETIONS_TOPIC) this.applyDeletion(deletedTopicOf(m), r.commitLogOffset);
    }
    if (r.commitLogOffset >= indexFrom) {
      const keys = Array.isArray(m.keys) ? m.keys.filter((k): k is string => typeof k === "string") : undefined;
      this.index.addRecord(r.commitLogOffset, r.size, r.storeTimestamp, topic, keys, typeof m.id === "string" ? m.id : "");
    }
  }

  // ---------------------------------------------------------------- helpers

  private queue(topic: string, queueId: number, create: boolean): ConsumeQueue | undefined {
    let m = this.queues.get(topic);
    let cq = m?.get(queueId);
    if (cq || !create) return cq;
    if (!m) {
      this.queues.set(topic, (m = new Map()));
      this.nameTopicDir(topic);
    }
    cq = new ConsumeQueue(this.files, `${this.cfg.dir}/consumequeue/${topicDirName(topic)}/${queueId}`, topic, queueId, this.cfg.cqEntriesPerFile);
    m.set(queueId, cq);
    return cq;
  }

  /** A shortened topic directory (topicDirName) holds the topic's real name: written once, before its queues. */
  private nameTopicDir(topic: string): void {
    const dirName = topicDirName(topic);
    if (dirName === topic) return;
    const dir = `${this.cfg.dir}/consumequeue/${dirName}`;
    try {
      this.files.mkdir(dir);
      this.files.createExclusive(`${dir}/${TOPIC_NAME_FILE}`, new TextEncoder().encode(topic));
    } catch (e) {
      // Its queues' first write reports the directory (refusal); recovery rebuilds an unnamed one.
      log.warn("ConsumeQueue directory {dir} cannot be named ({error})", { dir, error: (e as Error).message });
    }
  }

  /** The topic whose queues a consumequeue/ directory holds, or null (an unnamed shortened one, logged). */
  private topicOfDir(name: string): string | null {
    if (!name.includes("~")) return name;
    const bytes = this.files.readFile(`${this.cfg.dir}/consumequeue/${name}/${TOPIC_NAME_FILE}`);
    const topic = bytes ? new TextDecoder().decode(bytes) : "";
    if (topicDirName(topic) === name) return topic;
    log.warn("consumequeue/{name} does not hold its topic's name: left alone, its queues are rebuilt from the CommitLog", { name });
    return null;
  }

  private checkpointPath(): string {
    return `${this.cfg.dir}/checkpoint`;
  }
}
