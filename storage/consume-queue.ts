// A ConsumeQueue: the per-(topic, queueId) list of where that queue's messages sit in the
// CommitLog. Fixed 20-byte big-endian entries (commitLogOffset u64, size u32, tagsCode u64),
// so logical offset n is entry n, found by arithmetic. Files
// consumequeue/<topic>/<queueId>/<20-digit start byte offset> hold entriesPerFile entries each
// and grow as written. Everything here is derived from the CommitLog and can be rebuilt.
import CRC32 from "crc-32";
import type { FileHandle, Files } from "../platform/platform.ts";
import { offsetName } from "./commit-log.ts";
import { getU64, setU64, viewOf } from "./record.ts";

export const CQ_ENTRY_SIZE = 20;

const NAME = /^\d{20}$/;

/**
 * Longest topic kept as its own directory name. A file system takes 255 bytes a name, and a
 * group's retry topic (%RETRY% and a group of up to 255 characters) can be longer: such a topic's
 * directory is its first characters, "~" and a 64-bit hash of the whole name (no topic holds a
 * "~"), and the directory's `topic` file holds the real name.
 */
const MAX_DIR_NAME = 127;
export const TOPIC_NAME_FILE = "topic";

/** The directory name of a topic's queues under consumequeue/. */
export function topicDirName(topic: string): string {
  if (topic.length <= MAX_DIR_NAME) return topic;
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  return `${topic.slice(0, 100)}~${hex(CRC32.str(topic))}${hex(CRC32.str(topic, 0x5bd1e995))}`;
}
const CACHE_ENTRIES = 1024;
/** The most of a write kept as `recent` (a batch's entries for one queue are usually a few). */
const MAX_RECENT_BYTES = 64 * CQ_ENTRY_SIZE;

/** Copies entries [from, from + n) into buf if `chunk` holds all of them. */
function copyIfHeld(chunk: { from: number; bytes: Uint8Array }, from: number, n: number, buf: Uint8Array): boolean {
  if (from < chunk.from || (from + n - chunk.from) * CQ_ENTRY_SIZE > chunk.bytes.length) return false;
  buf.set(chunk.bytes.subarray((from - chunk.from) * CQ_ENTRY_SIZE, (from + n - chunk.from) * CQ_ENTRY_SIZE));
  return true;
}

export class ConsumeQueue {
  /** One past the last entry. */
  maxOffset = 0;
  /** The first entry that points at a record (entries before it were never written). */
  minOffset = 0;
  /** Store time of the last record; -1 until known (found lazily after a restart). */
  lastTimestamp = -1;
  private handles = new Map<number, FileHandle>();
  /** Files written since the last flush took them. */
  private dirty = new Set<number>();
  private readonly fileBytes: number;
  /** Recovery's contiguous appends, gathered into one write. */
  private pending: Uint8Array | null = null;
  private pendingView: DataView | null = null;
  private pendingFrom = 0;
  private pendingCount = 0;
  /** Recovery's read-ahead over existing entries (put). */
  private cache: Uint8Array | null = null;
  private cacheView: DataView | null = null;
  private cacheFrom = 0;
  private cacheCount = 0;
  /**
   * Entries whose write failed after their records were stored (ENOSPC, EIO): kept here, served
   * from here, and written again at every flush (retryUnwritten) until they reach the file.
   */
  private unwritten: { from: number; bytes: Uint8Array }[] = [];
  /**
   * The entries of the last write, as written: a long poll woken by that write reads exactly
   * these, and takes them from here instead of reading back what was just written.
   */
  private recent: { from: number; bytes: Uint8Array } | null = null;
  private readonly one = new Uint8Array(CQ_ENTRY_SIZE);
  private readonly oneView = viewOf(this.one);
  /** Not listed at recovery (skipLoad): whatever files the directory holds go at the first file touched. */
  private unlisted = false;

  constructor(
    private readonly files: Files,
    readonly dir: string,
    readonly topic: string,
    readonly queueId: number,
    private readonly entriesPerFile: number,
  ) {
    this.fileBytes = entriesPerFile * CQ_ENTRY_SIZE;
  }

  /**
   * Opens the files on disk. Returns the entry count the files hold (before validation), which
   * recovery compares with the checkpoint to notice deleted files.
   */
  load(): number {
    const names = this.files.list(this.dir).filter((n) => NAME.test(n)).map(Number);
    if (names.length === 0) return 0;
    const first = names[0] / CQ_ENTRY_SIZE;
    const lastStart = names[names.length - 1];
    const lastSize = this.handle(lastStart / this.fileBytes).size();
    this.minOffset = first;
    this.maxOffset = lastStart / CQ_ENTRY_SIZE + Math.floor(Math.min(lastSize, this.fileBytes) / CQ_ENTRY_SIZE);
    // A file in the middle may be missing: count from where the chain is unbroken.
    for (let k = names.length - 1; k > 0; k--) {
      if (names[k - 1] !== names[k] - this.fileBytes) {
        this.minOffset = names[k] / CQ_ENTRY_SIZE;
        break;
      }
    }
    return this.maxOffset;
  }

  /**
   * Recovery without a listing: the checkpoint says the queue held no entry, so any file its
   * directory holds was written after that checkpoint, for records re-dispatch writes again.
   * The queue starts empty and those files are deleted when it first opens one (handle), which
   * saves a directory listing per queue at start-up: most of a large broker's queues are empty.
   */
  skipLoad(): void {
    this.unlisted = true;
  }

  /**
   * Drops trailing entries that cannot be right: pointing at or past the CommitLog's end, or
   * torn (size 0). Then finds the first entry that was ever written.
   */
  trim(commitLogEnd: number): void {
    // An empty queue (most, on a broker with tens of thousands) allocates nothing here: a 20 KiB
    // buffer per queue was most of the garbage of a restart.
    if (this.maxOffset <= this.minOffset) return;
    const block = 1024;
    const buf = new Uint8Array(block * CQ_ENTRY_SIZE);
    const dv = viewOf(buf);
    let n = this.maxOffset;
    scan: while (n > this.minOffset) {
      const from = Math.max(this.minOffset, n - block, this.fileStart(n - 1));
      const count = n - from;
      this.readInto(buf, from, count);
      for (let k = count - 1; k >= 0; k--) {
        const off = getU64(dv, k * CQ_ENTRY_SIZE);
        const size = dv.getUint32(k * CQ_ENTRY_SIZE + 8);
        if (size > 0 && off + size <= commitLogEnd) break scan;
        n--;
      }
    }
    if (n < this.maxOffset) this.truncate(n);
    // Leading zeros: a queue rebuilt from a CommitLog whose oldest segments were deleted.
    while (this.minOffset < this.maxOffset && this.entrySize(this.minOffset) === 0) this.minOffset++;
  }

  /**
   * Retention: the CommitLog now starts at `clMin`. Files whose entries all point below it are
   * deleted, and minOffset moves to the first entry that still points at a record. Returns
   * whether minOffset moved.
   */
  dropBelow(clMin: number): boolean {
    const before = this.minOffset;
    this.flushPending();
    // Whole files first: a file whose last entry points below clMin holds nothing readable.
    for (;;) {
      const fileNo = Math.floor(this.minOffset / this.entriesPerFile);
      const fileEnd = Math.min((fileNo + 1) * this.entriesPerFile, this.maxOffset);
      if (fileEnd >= this.maxOffset || fileEnd <= this.minOffset) break; // never the file being written
      const [pos, size] = this.entry(fileEnd - 1);
      if (size > 0 && pos >= clMin) break;
      this.handles.get(fileNo)?.close();
      this.handles.delete(fileNo);
      this.dirty.delete(fileNo);
      this.files.remove(`${this.dir}/${offsetName(fileNo * this.fileBytes)}`);
      this.minOffset = fileEnd;
    }
    // Then entry by entry within the first file left.
    while (this.minOffset < this.maxOffset) {
      const [pos, size] = this.entry(this.minOffset);
      if (size > 0 && pos >= clMin) break;
      this.minOffset++;
    }
    return this.minOffset !== before;
  }

  /**
   * Its topic was deleted: every file and the directory go. Returns the handles it closed (a
   * flush under way may still hold them).
   */
  destroy(): FileHandle[] {
    this.pendingCount = 0;
    this.recent = null;
    this.unwritten = [];
    const closed = [...this.handles.values()];
    for (const h of closed) h.close();
    this.handles.clear();
    this.dirty.clear();
    this.unlisted = false;
    this.files.remove(this.dir, { recursive: true });
    this.minOffset = this.maxOffset = 0;
    return closed;
  }

  /** Bytes of entries the queue holds (its files' size, near enough). */
  get bytesOnDisk(): number {
    return (this.maxOffset - Math.floor(this.minOffset / this.entriesPerFile) * this.entriesPerFile) * CQ_ENTRY_SIZE;
  }

  /** Cuts the queue to `n` entries; files entirely past it are deleted. */
  truncate(n: number): void {
    this.flushPending();
    this.recent = null;
    this.cacheCount = 0;
    for (const [fileNo, h] of [...this.handles]) {
      const start = fileNo * this.entriesPerFile;
      if (start >= n && start > this.minOffset) {
        h.close();
        this.handles.delete(fileNo);
        this.dirty.delete(fileNo);
        this.files.remove(`${this.dir}/${offsetName(fileNo * this.fileBytes)}`);
      } else if (start + this.entriesPerFile > n) {
        h.truncate((Math.max(n, start) - start) * CQ_ENTRY_SIZE);
        this.dirty.add(fileNo);
      }
    }
    this.maxOffset = Math.max(n, this.minOffset);
    if (this.maxOffset === this.minOffset) this.lastTimestamp = -1;
  }

  /**
   * Writes entries [from, from + n) from buf (n * 20 bytes); one write per file touched. The
   * records they point to are already stored: a write that fails keeps the entries in memory
   * (served from there, written again by retryUnwritten) and is reported to `failed`.
   * `later`: the entries wait in memory, as a failed write's do, until retryUnwritten (the
   * caller's own buf, not copied): the append path answers the long polls a write woke first.
   */
  write(from: number, buf: Uint8Array, failed?: (e: unknown) => void, later = false): void {
    const n = buf.length / CQ_ENTRY_SIZE;
    this.recent = buf.length <= MAX_RECENT_BYTES ? { from, bytes: buf } : null;
    if (later) this.unwritten.push({ from, bytes: buf });
    else {
      try {
        this.writeFiles(from, buf);
      } catch (e) {
        this.unwritten.push({ from, bytes: buf.slice() });
        failed?.(e);
      }
    }
    if (this.maxOffset === this.minOffset && from > this.minOffset) this.minOffset = from;
    if (from + n > this.maxOffset) this.maxOffset = from + n;
  }

  private writeFiles(from: number, buf: Uint8Array): void {
    const n = buf.length / CQ_ENTRY_SIZE;
    let done = 0;
    while (done < n) {
      const at = from + done;
      const fileNo = Math.floor(at / this.entriesPerFile);
      const inFile = Math.min(n - done, (fileNo + 1) * this.entriesPerFile - at);
      const part = done === 0 && inFile === n ? buf : buf.subarray(done * CQ_ENTRY_SIZE, (done + inFile) * CQ_ENTRY_SIZE);
      this.handle(fileNo).write(part, (at - fileNo * this.entriesPerFile) * CQ_ENTRY_SIZE);
      this.dirty.add(fileNo);
      done += inFile;
    }
  }

  /** Writes the entries kept in memory (a failed write's, or held for later); true when none is left. */
  retryUnwritten(failed?: (e: unknown) => void): boolean {
    while (this.unwritten.length > 0) {
      const u = this.unwritten[0];
      try {
        this.writeFiles(u.from, u.bytes);
      } catch (e) {
        failed?.(e);
        return false;
      }
      this.unwritten.shift();
    }
    return true;
  }

  /** The CommitLog offset of the first record whose entry is not in the file yet, or Infinity. */
  get unwrittenFrom(): number {
    let min = Infinity;
    for (const u of this.unwritten) min = Math.min(min, getU64(viewOf(u.bytes), 0));
    return min;
  }

  /**
   * Null if the next entry can be written, or why not: its directory or file cannot be made or
   * opened (a name too long, a file where the directory should be, no permission, no space).
   */
  writable(): unknown {
    try {
      this.handle(Math.floor(this.maxOffset / this.entriesPerFile));
      return null;
    } catch (e) {
      return e;
    }
  }

  /**
   * Reads up to `count` entries from `from` into scratch, stopping at a file's end so it is
   * one positional read; returns how many were read.
   */
  read(from: number, count: number, scratch: Uint8Array): number {
    const fileEnd = this.fileStart(from) + this.entriesPerFile;
    const n = Math.min(count, this.maxOffset - from, fileEnd - from, Math.floor(scratch.length / CQ_ENTRY_SIZE));
    if (n <= 0) return 0;
    return this.readInto(scratch, from, n);
  }

  private readInto(buf: Uint8Array, from: number, n: number): number {
    // All of it in memory (the last write's, held for later, or a write that failed): no file read.
    if (this.recent && copyIfHeld(this.recent, from, n, buf)) return n;
    for (const u of this.unwritten) if (copyIfHeld(u, from, n, buf)) return n;
    this.flushPending();
    const fileNo = Math.floor(from / this.entriesPerFile);
    let got = 0;
    try {
      got = this.handle(fileNo).read(buf.subarray(0, n * CQ_ENTRY_SIZE), (from - fileNo * this.entriesPerFile) * CQ_ENTRY_SIZE);
    } catch (e) {
      if (this.unwritten.length === 0) throw e; // a file that cannot be opened holds entries only in memory
    }
    // A short read leaves zeros (torn tail): callers skip size-0 entries.
    buf.fill(0, got, n * CQ_ENTRY_SIZE);
    // Entries not in the file yet come from memory.
    for (const u of this.unwritten) {
      const uEnd = u.from + u.bytes.length / CQ_ENTRY_SIZE;
      const lo = Math.max(from, u.from);
      const hi = Math.min(from + n, uEnd);
      if (lo < hi) buf.set(u.bytes.subarray((lo - u.from) * CQ_ENTRY_SIZE, (hi - u.from) * CQ_ENTRY_SIZE), (lo - from) * CQ_ENTRY_SIZE);
    }
    return n;
  }

  /** The entry at n as [commitLogOffset, size, tagsCode]; size 0 for a hole. */
  entry(n: number): [number, number, number] {
    if (n < this.minOffset || n >= this.maxOffset) return [0, 0, 0];
    this.readInto(this.one, n, 1);
    return [getU64(this.oneView, 0), this.oneView.getUint32(8), getU64(this.oneView, 12)];
  }

  private entrySize(n: number): number {
    return this.entry(n)[1];
  }

  // ------------------------------------------------------------- recovery re-dispatch

  /**
   * Puts the entry for a record found in the CommitLog at its queue offset. Idempotent: an
   * identical entry already there is left alone. Contiguous appends are gathered and written
   * together (flushPending).
   */
  put(n: number, commitLogOffset: number, size: number, tagsCode: number): void {
    this.recent = null;
    if (n < this.maxOffset && n >= this.minOffset) {
      // Re-dispatch walks a queue's existing entries in order: read them a block at a time.
      if (n < this.cacheFrom || n >= this.cacheFrom + this.cacheCount) {
        this.cache ??= new Uint8Array(CACHE_ENTRIES * CQ_ENTRY_SIZE);
        this.cacheView ??= viewOf(this.cache);
        this.cacheFrom = n;
        this.cacheCount = this.read(n, CACHE_ENTRIES, this.cache);
      }
      const at = (n - this.cacheFrom) * CQ_ENTRY_SIZE;
      if (getU64(this.cacheView!, at) === commitLogOffset && this.cacheView!.getUint32(at + 8) === size) return; // already there (tags code kept as written)
      this.cacheCount = 0; // about to overwrite
    }
    if (this.pending && n === this.pendingFrom + this.pendingCount && this.pendingCount < 4096 && n >= this.maxOffset) {
      // contiguous: gather
    } else {
      this.flushPending();
      this.pending ??= new Uint8Array(4096 * CQ_ENTRY_SIZE);
      this.pendingView ??= viewOf(this.pending);
      this.pendingFrom = n;
      this.pendingCount = 0;
    }
    encodeEntry(this.pendingView!, this.pendingCount * CQ_ENTRY_SIZE, commitLogOffset, size, tagsCode);
    this.pendingCount++;
    if (n >= this.maxOffset && this.pendingCount === 4096) this.flushPending();
  }

  /** Ends re-dispatch: writes what was gathered and drops the read-ahead. */
  finishPuts(): void {
    this.flushPending();
    this.cache = this.cacheView = null;
    this.cacheCount = 0;
  }

  flushPending(): void {
    if (!this.pending || this.pendingCount === 0) return;
    const count = this.pendingCount;
    this.pendingCount = 0;
    this.write(this.pendingFrom, this.pending.subarray(0, count * CQ_ENTRY_SIZE));
  }

  // ------------------------------------------------------------- durability

  /** Takes the set of files written since the last call into `out` (the flush fsyncs them). */
  takeDirty(out: FileHandle[]): void {
    if (this.dirty.size === 0) return; // most queues, every flush: nothing allocated for them
    for (const fileNo of this.dirty) {
      const h = this.handles.get(fileNo);
      if (h) out.push(h);
    }
    this.dirty.clear();
  }

  close(): void {
    this.flushPending();
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
  }

  private fileStart(n: number): number {
    return Math.floor(n / this.entriesPerFile) * this.entriesPerFile;
  }

  private handle(fileNo: number): FileHandle {
    let h = this.handles.get(fileNo);
    if (!h) {
      if (this.unlisted) {
        this.unlisted = false;
        for (const name of this.files.list(this.dir)) if (NAME.test(name)) this.files.remove(`${this.dir}/${name}`);
      }
      this.files.mkdir(this.dir);
      h = this.files.open(`${this.dir}/${offsetName(fileNo * this.fileBytes)}`);
      this.handles.set(fileNo, h);
    }
    return h;
  }
}

export function encodeEntry(dv: DataView, at: number, commitLogOffset: number, size: number, tagsCode: number): void {
  setU64(dv, at, commitLogOffset);
  dv.setUint32(at + 8, size);
  setU64(dv, at + 12, tagsCode);
}

export function entryOffset(dv: DataView, at: number): number {
  return getU64(dv, at);
}

export function entrySizeAt(dv: DataView, at: number): number {
  return dv.getUint32(at + 8);
}

export function entryTagsCode(dv: DataView, at: number): number {
  return getU64(dv, at + 12);
}
