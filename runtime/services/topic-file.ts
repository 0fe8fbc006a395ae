// config/topics.cbor and config/topics.log: the topic table on disk, so a topic created after the
// last snapshot survives a crash. The same kind of file keeps other small tables
// (config/subscriptionGroups.cbor and .log). A change is one record appended to the log and
// fdatasynced (the changes of one turn share the write and the fsync), answered once written or
// once synced (`answerAfter`: the broker's --flush mode for the topic table); the table file (RocketMQ
// keeps topics.json) is rewritten atomically only when the log has grown as large as the table,
// and at start. Rewriting the whole table on every change made creating the n-th topic cost O(n).
//
// A log record: u32 payload length, u32 CRC32 of the payload, the payload (CBOR [key, value]).
// Reading stops at the first record that is cut short or fails its CRC (a crash mid-append).
import { crc32 } from "../../storage/crc32.ts";
import { decode, encode } from "../../protocol/mod.ts";
import type { TopicConfig } from "../../actors/broker.machine.ts";
import type { FileHandle, Files } from "../../platform/platform.ts";
import { getLogger } from "../log.ts";

const log = getLogger(["actormq", "topics"]);

/** The log is folded into the table once it is this large and at least as large as the table. */
const MIN_COMPACT_BYTES = 64 * 1024;

export class TopicFile<T extends Record<string, unknown> = Record<string, TopicConfig>> {
  private logFile: FileHandle | null = null;
  private logSize = 0;
  private tableSize = 0;
  private pending: Uint8Array[] = [];
  private waiters: (() => void)[] = [];
  private flushQueued = false;
  /** A rewrite is queued: the log it empties is not due again meanwhile. */
  private compacting = false;
  /** Where load() found the log's last whole record ending: appends go there, past any torn one. */
  private validLogBytes: number | null = null;
  /** File operations, one at a time: appends and rewrites never overlap. */
  private queue: Promise<void> = Promise.resolve();

  /** An fdatasync due within syncWithinMs ("write" mode), one for every record written meanwhile. */
  private syncTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * `answerAfter`: "fsync" resolves save() once the record is fdatasynced; "write" once it is
   * written (it then survives the process's death, not the machine's, as a send acked under
   * --flush async), the fdatasync following within `syncWithinMs` (--flush-interval, as for
   * messages), shared by every record written meanwhile. Waiting for an fdatasync made a
   * createTopic cost 2-8 ms on this machine's disk, 3x to 8x the rest of it; one fdatasync per
   * create, even unwaited, was a fifth of the broker's CPU creating topics in a loop.
   */
  constructor(private files: Files, private dir: string, private name = "topics.cbor", private problem: (table: unknown) => string | null = () => null, private answerAfter: "write" | "fsync" = "fsync", private syncWithinMs = 0) {
    files.mkdir(dir);
  }

  private get tablePath() {
    return `${this.dir}/${this.name}`;
  }

  private get logPath() {
    return `${this.dir}/${this.name.replace(/\.cbor$/, "")}.log`;
  }

  /**
   * The saved table: the table file with every whole record of the log applied. A table file
   * that does not decode, or has another shape (`problem` says why), is set aside
   * (`<name>.bad`) and logged: its contents then come back from elsewhere (topics: the snapshot
   * and the ConsumeQueue directories); a log record of another shape ends the log there.
   */
  load(): T {
    const table = this.loadTable();
    const bytes = this.files.readFile(this.logPath);
    let at = 0;
    if (bytes) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      while (at + 8 <= bytes.length) {
        const len = dv.getUint32(at);
        const payload = bytes.subarray(at + 8, at + 8 + len);
        if (payload.length < len || crc32(payload) !== dv.getUint32(at + 4)) break;
        let key: string;
        let value: unknown;
        try {
          [key, value] = decode(payload) as [string, unknown];
        } catch {
          break;
        }
        // A null value is the key's removal (deleteTopic, deleteSubGroup).
        if (value === null) {
          delete table[key];
        } else {
          if (this.problem({ [key]: value })) break;
          table[key] = value;
        }
        at += 8 + len;
      }
      if (at < bytes.length) log.warn("config/{name}: {bytes} bytes after the last whole record left out (a crash while appending)", { name: this.logPath.slice(this.dir.length + 1), bytes: bytes.length - at });
    }
    this.validLogBytes = at;
    return table as T;
  }

  private loadTable(): Record<string, unknown> {
    const bytes = this.files.readFile(this.tablePath);
    if (!bytes) return {};
    let problem: string | null;
    let table: unknown;
    try {
      table = decode(bytes);
      problem = this.problem(table);
    } catch (e) {
      problem = `not CBOR (${(e as Error).message})`;
    }
    if (!problem) return table as Record<string, unknown>;
    this.files.rename(this.tablePath, `${this.tablePath}.bad`);
    log.error("config/{name} cannot be used ({problem}): set aside as {name}.bad", { name: this.name, problem });
    return {};
  }

  /** Appends one entry of the table to the log (null: the key's removal); resolves once it is written or synced (`answerAfter`). */
  save(key: string, value: T[string] | null): Promise<void> {
    const payload = encode([key, value]);
    const record = new Uint8Array(8 + payload.length);
    const dv = new DataView(record.buffer);
    dv.setUint32(0, payload.length);
    dv.setUint32(4, crc32(payload));
    record.set(payload, 8);
    this.pending.push(record);
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.enqueue(() => this.flush());
    }
    return done;
  }

  /**
   * Writes the whole table and empties the log (at start, and when the log has grown large).
   * `table` holds every change saved so far: records still to be appended repeat what it says.
   */
  compact(table: T): Promise<void> {
    const bytes = encode(table);
    this.compacting = true;
    return this.enqueue(async () => {
      try {
        await this.files.writeFileAtomic(this.tablePath, bytes);
        this.tableSize = bytes.length;
        // The table holds every record the log held: a crash before this truncate replays them
        // over it and changes nothing.
        this.handle().truncate(0);
        await this.handle().sync();
        this.logSize = 0;
      } finally {
        this.compacting = false;
      }
    });
  }

  /** True once the log is due to be folded into the table. */
  get wantsCompaction(): boolean {
    return !this.compacting && this.logSize >= Math.max(MIN_COMPACT_BYTES, this.tableSize);
  }

  /** After every pending record and rewrite is on disk (a deferred fdatasync runs now). */
  async close(): Promise<void> {
    await this.queue;
    if (this.syncTimer !== undefined) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
      await this.enqueue(() => this.handle().sync());
    }
    this.logFile?.close();
    this.logFile = null;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task).catch((e) => log.error("writing config/{name} failed: {error}", { name: this.name, error: e }));
    return this.queue;
  }

  /** Group commit: every record pending now in one write and one fsync; later ones wait for the next. */
  private async flush(): Promise<void> {
    this.flushQueued = false;
    const records = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    let size = 0;
    for (const r of records) size += r.length;
    const buf = new Uint8Array(size);
    let at = 0;
    for (const r of records) {
      buf.set(r, at);
      at += r.length;
    }
    const answer = () => waiters.splice(0).forEach((w) => w());
    try {
      this.handle().write(buf, this.logSize);
      this.logSize += size;
      if (this.answerAfter === "write") answer();
      if (this.answerAfter === "fsync" || this.syncWithinMs === 0) await this.handle().sync();
      else if (this.syncTimer === undefined) {
        this.syncTimer = setTimeout(() => {
          this.syncTimer = undefined;
          void this.enqueue(() => this.handle().sync());
        }, this.syncWithinMs);
      }
    } finally {
      answer();
    }
  }

  private handle(): FileHandle {
    if (!this.logFile) {
      this.logFile = this.files.open(this.logPath);
      this.logSize = this.logFile.size();
      if (this.validLogBytes !== null && this.logSize > this.validLogBytes) this.logFile.truncate((this.logSize = this.validLogBytes));
    }
    return this.logFile;
  }
}
