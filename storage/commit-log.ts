// The CommitLog: every message of every topic, appended in arrival order to segment files
// commitlog/<20-digit start offset>, each segmentSize bytes long. Segment files grow as they
// are written (no pre-sizing, so recovery never mistakes zeros for free space it may skip);
// a segment is finished by a blank marker and then extended to its full length, so every
// finished segment is exactly segmentSize bytes and a short one is evidence of damage.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";
import type { FileHandle, Files } from "../platform/platform.ts";
import {
  BLANK_MIN,
  HEADER_SIZE,
  isValidRecord,
  MAGIC_BLANK,
  MAGIC_MESSAGE,
  recordMagic,
  recordSize,
  recordTimestamp,
  type RecordHeader,
  type StoredRecord,
  toStoredRecord,
  viewOf,
  writeBlank,
  writeRecord,
} from "./record.ts";
import { TailCache } from "./tail-cache.ts";

/** What one record of a batch carries (an AppendItem is one); its queue offset comes apart. */
export interface RecordInput {
  bytes: Uint8Array;
  queueId: number;
  flags?: number;
  reconsumeTimes?: number;
  txOffset?: number;
}

interface Segment {
  start: number;
  path: string;
  handle: FileHandle | null;
}

interface Waiter {
  target: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const NAME = /^\d{20}$/;
/** Bytes read at a time when walking the log (recovery, scans). */
const WALK_CHUNK = 4 * 1024 * 1024;
/**
 * readMany: records read with one positional read when they lie within this window and no more
 * than READ_GAP apart. A queue's records sit between other queues' (every 4th record, say): a
 * syscall costs about what copying 30 KiB costs here, so reading the gaps is the cheaper way.
 */
const READ_WINDOW = 1024 * 1024;
const READ_GAP = 32 * 1024;

export function offsetName(offset: number): string {
  return String(offset).padStart(20, "0");
}

export class CommitLog {
  private segments: Segment[] = [];
  private tail: TailCache;
  /** Next write position: the end of the log. */
  private writePos = 0;
  /** Every byte below this has been fsynced. */
  private flushedPos = 0;
  private waiters: Waiter[] = [];
  /** The running group-commit loop, if any. */
  private syncing: Promise<void> | null = null;
  private readonly headerScratch = new Uint8Array(HEADER_SIZE);
  /** readMany's window, reused: what callers keep is copied out of it. */
  private window = new Uint8Array(0);
  private readonly headerView = viewOf(this.headerScratch);
  /** Told each fsync's duration in ms (metrics); optional. */
  onFsync: ((ms: number) => void) | undefined;

  constructor(
    private readonly files: Files,
    private readonly dir: string,
    readonly segmentSize: number,
    tailBytes: number,
  ) {
    this.tail = new TailCache(tailBytes);
  }

  get minOffset(): number {
    return this.segments.length ? this.segments[0].start : this.writePos;
  }

  get maxOffset(): number {
    return this.writePos;
  }

  get flushedOffset(): number {
    return this.flushedPos;
  }

  /** Bytes of recent records held in memory (the tail cache). */
  get tailBytes(): number {
    return this.tail.bytes;
  }

  /** The largest record a segment can hold (the rest is the room kept for a blank marker). */
  get maxRecordSize(): number {
    return this.segmentSize - BLANK_MIN;
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Opens the segments and verifies records with their CRC from `trustedBelow` (everything
   * below it was fsynced and checkpointed) to the end, then cuts the log at the first invalid
   * record. Returns the first verified position.
   */
  recover(trustedBelow: number, onProgress?: (verified: number, total: number) => void): number {
    this.files.mkdir(this.dir);
    let starts = this.files.list(this.dir).filter((n) => NAME.test(n)).map(Number);
    // A gap in the chain ends the log: nothing after it can be reached.
    for (let k = 1; k < starts.length; k++) {
      if (starts[k] !== starts[0] + k * this.segmentSize || starts[k] % this.segmentSize !== 0) {
        for (const s of starts.slice(k)) this.files.remove(`${this.dir}/${offsetName(s)}`);
        starts = starts.slice(0, k);
        break;
      }
    }
    this.segments = starts.map((start) => ({ start, path: `${this.dir}/${offsetName(start)}`, handle: null }));
    if (this.segments.length === 0) {
      const start = trustedBelow - (trustedBelow % this.segmentSize);
      this.writePos = this.flushedPos = start;
      return start;
    }
    // Verify from the trusted point (the checkpoint's records are whole and fsynced), but from
    // the start of any finished segment that is short: a cut file is damage whatever the
    // checkpoint says. A trusted point past the data falls back to the last segment's start.
    const last = this.segments[this.segments.length - 1];
    let from = Math.max(this.segments[0].start, trustedBelow);
    if (from > last.start + Math.min(this.segmentSize, this.handle(this.segments.length - 1).size())) from = last.start;
    for (let i = 0; i < this.segments.length - 1 && this.segments[i].start < from; i++) {
      if (this.handle(i).size() < this.segmentSize) {
        from = this.segments[i].start;
        break;
      }
    }
    // Bytes on disk at or past a position: the progress total.
    const total = () => {
      let t = 0;
      for (let i = 0; i < this.segments.length; i++) {
        const seg = this.segments[i];
        const segEnd = seg.start + Math.min(this.segmentSize, this.handle(i).size());
        if (segEnd > from) t += segEnd - Math.max(from, seg.start);
      }
      return t;
    };
    let totalBytes = total();
    let end = this.walk(from, true, undefined, onProgress && ((pos) => onProgress(Math.min(pos - from, totalBytes), totalBytes)));
    const at = this.indexOf(from);
    if (end === from && from % this.segmentSize !== 0 && at >= 0 && from < this.segments[at].start + this.handle(at).size()) {
      // Bytes at the trusted point, but no valid record: either a torn record there, or a
      // checkpoint that is not a record boundary of this log. Walking its segment from the
      // start tells which.
      from -= from % this.segmentSize;
      totalBytes = total();
      end = this.walk(from, true, undefined, onProgress && ((pos) => onProgress(Math.min(pos - from, totalBytes), totalBytes)));
    }
    const verified = totalBytes;
    onProgress?.(verified, verified);
    this.cut(end);
    this.writePos = end;
    // The verified range may hold bytes a crashed process wrote but never fsynced: the first
    // sync covers them again.
    this.flushedPos = Math.min(from, end);
    return from;
  }

  /** Drops everything at or past `end`: truncates its segment, deletes later ones. */
  private cut(end: number): void {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i];
      if (seg.start > end) {
        seg.handle?.close();
        this.files.remove(seg.path);
        this.segments.pop();
        continue;
      }
      const h = this.handle(i);
      const keep = end - seg.start;
      if (keep < this.segmentSize) {
        if (h.size() !== keep) h.truncate(keep);
      } else if (h.size() < this.segmentSize) {
        h.truncate(this.segmentSize); // a finished segment whose extension did not reach the disk
      }
      // Segments before it ended with a valid blank marker: make them full length too.
      for (let j = 0; j < i; j++) if (this.handle(j).size() < this.segmentSize) this.handle(j).truncate(this.segmentSize);
      break;
    }
    this.tail.truncate(end);
  }

  /**
   * Walks records from `from` (a record boundary) to the end of the log; returns the position
   * of the first invalid record, or the end. `verify` checks CRCs as well as structure.
   */
  walk(from: number, verify: boolean, visit?: (r: StoredRecord) => void, progress?: (pos: number) => void): number {
    let pos = from;
    for (let i = this.indexOf(from); i >= 0 && i < this.segments.length; i++) {
      const seg = this.segments[i];
      if (pos !== seg.start && i !== this.indexOf(from)) return pos;
      const segEnd = seg.start + this.segmentSize;
      const h = this.handle(i);
      const end = Math.min(segEnd, seg.start + h.size());
      let buf = new Uint8Array(0);
      let view = viewOf(buf);
      let bufStart = pos;
      // Makes [at, at + n) available in buf; false if the file ends first.
      const load = (at: number, n: number): boolean => {
        if (at >= bufStart && at + n <= bufStart + buf.length) return true;
        const len = Math.min(Math.max(n, WALK_CHUNK), end - at);
        if (len < n) return false;
        buf = new Uint8Array(len);
        const got = h.read(buf, at - seg.start);
        if (got < n) return false;
        if (got < len) buf = buf.subarray(0, got);
        view = viewOf(buf);
        bufStart = at;
        progress?.(at);
        return true;
      };
      let nextSegment = false;
      while (!nextSegment) {
        if (!load(pos, BLANK_MIN)) return pos;
        const at = pos - bufStart;
        const size = recordSize(view, at);
        const magic = recordMagic(view, at);
        if (magic === MAGIC_BLANK) {
          if (size !== segEnd - pos) return pos;
          pos = segEnd;
          nextSegment = true;
        } else if (magic === MAGIC_MESSAGE) {
          if (size < HEADER_SIZE || pos + size > segEnd - BLANK_MIN) return pos;
          if (!load(pos, size)) return pos;
          if (!isValidRecord(buf, view, pos - bufStart, pos, verify)) return pos;
          visit?.(toStoredRecord(buf, view, pos - bufStart));
          pos += size;
        } else {
          return pos;
        }
      }
    }
    return pos;
  }

  // ---------------------------------------------------------------- appends

  /**
   * Appends records, one write per segment touched (normally one per batch). Fills
   * `positions`/`sizes`. Throws before writing anything if a record cannot fit a segment.
   */
  append(records: readonly RecordInput[], queueOffsets: readonly number[], storeTimestamp: number, positions: number[], sizes: number[]): void {
    const max = this.maxRecordSize;
    for (const r of records) {
      if (HEADER_SIZE + r.bytes.length > max) {
        throw new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `a record of ${HEADER_SIZE + r.bytes.length} bytes does not fit a ${this.segmentSize}-byte segment`);
      }
    }
    // Layout: where each record goes, and where a segment has to be closed with a blank.
    const pieces: { start: number; length: number; blankAt: number }[] = [];
    let pos = this.writePos;
    let segEnd = pos - (pos % this.segmentSize) + this.segmentSize;
    let pieceStart = pos;
    for (let i = 0; i < records.length; i++) {
      const size = HEADER_SIZE + records[i].bytes.length;
      if (pos + size > segEnd - BLANK_MIN) {
        pieces.push({ start: pieceStart, length: pos - pieceStart + BLANK_MIN, blankAt: pos });
        pos = pieceStart = segEnd;
        segEnd += this.segmentSize;
      }
      positions[i] = pos;
      sizes[i] = size;
      pos += size;
    }
    if (pos > pieceStart) pieces.push({ start: pieceStart, length: pos - pieceStart, blankAt: -1 });

    const header: RecordHeader = { queueId: 0, queueOffset: 0, physicalOffset: 0, storeTimestamp, flags: 0, reconsumeTimes: 0, txOffset: 0 };
    // A message given as a view of the tail (a record read back and stored again as it is) is
    // copied first: the ring bytes this batch is about to be written into may be its own.
    let sources: Uint8Array[] | null = null;
    for (let k = 0; k < records.length; k++) {
      if (!this.tail.owns(records[k].bytes)) continue;
      sources ??= records.map((r) => r.bytes);
      sources[k] = records[k].bytes.slice();
    }
    const buffers: Uint8Array[] = [];
    let i = 0;
    for (const p of pieces) {
      // One piece (all but a batch that crosses into a new segment) is encoded straight into
      // the tail's ring; a rare second piece gets its own buffer, so the two never overlap.
      const buf = pieces.length === 1 ? this.tail.alloc(p.length) : new Uint8Array(p.length);
      const dv = viewOf(buf);
      const pieceEnd = p.blankAt >= 0 ? p.blankAt : p.start + p.length;
      while (i < records.length && positions[i] < pieceEnd) {
        const r = records[i];
        header.queueId = r.queueId;
        header.queueOffset = queueOffsets[i];
        header.physicalOffset = positions[i];
        header.flags = r.flags ?? 0;
        header.reconsumeTimes = r.reconsumeTimes ?? 0;
        header.txOffset = r.txOffset ?? 0;
        writeRecord(buf, dv, positions[i] - p.start, header, sources ? sources[i] : r.bytes);
        i++;
      }
      if (p.blankAt >= 0) {
        const segStart = p.blankAt - (p.blankAt % this.segmentSize);
        writeBlank(dv, p.blankAt - p.start, segStart + this.segmentSize - p.blankAt);
      }
      buffers.push(buf);
    }
    // Only now touch the disk; if a write fails, writePos has not moved and the next batch
    // overwrites whatever part reached the file.
    for (let k = 0; k < pieces.length; k++) {
      const p = pieces[k];
      const idx = this.segmentFor(p.start);
      const seg = this.segments[idx];
      const h = this.handle(idx);
      if (p.length > 0) h.write(buffers[k], p.start - seg.start);
      if (p.blankAt >= 0) h.truncate(this.segmentSize);
    }
    for (let k = 0; k < pieces.length; k++) {
      const p = pieces[k];
      // The blank's 8 bytes are never read through the tail; keep only the records.
      const len = p.blankAt >= 0 ? p.blankAt - p.start : p.length;
      if (len > 0) this.tail.add(p.start, p.blankAt >= 0 ? buffers[k].subarray(0, len) : buffers[k]);
    }
    this.writePos = pieces.length ? pos : this.writePos;
  }

  /** The segment index for a write at `start`, creating segment files as the log grows. */
  private segmentFor(start: number): number {
    const segStart = start - (start % this.segmentSize);
    while (this.segments.length === 0 || this.segments[this.segments.length - 1].start < segStart) {
      const next = this.segments.length === 0 ? segStart : this.segments[this.segments.length - 1].start + this.segmentSize;
      const path = `${this.dir}/${offsetName(next)}`;
      this.segments.push({ start: next, path, handle: this.files.open(path) });
    }
    return this.indexOf(segStart);
  }

  // ---------------------------------------------------------------- reads

  /**
   * The record at offset; `size` when the caller knows it (from a consume queue entry) saves
   * a header read. Fresh records are views of the tail; older ones one positional read each.
   */
  read(offset: number, size = 0): StoredRecord | null {
    if (offset < this.minOffset || offset >= this.writePos) return null;
    if (size <= 0) {
      const h = this.peekHeader(offset);
      if (!h) return null;
      size = recordSize(h.view, h.at);
    }
    if (size < HEADER_SIZE || offset + size > this.writePos) return null;
    const chunk = this.tail.find(offset, size);
    if (chunk) {
      const at = offset - chunk.start;
      if (recordSize(chunk.view, at) !== size || !isValidRecord(chunk.bytes, chunk.view, at, offset, false)) return null;
      return toStoredRecord(chunk.bytes, chunk.view, at);
    }
    const idx = this.indexOf(offset);
    if (idx < 0) return null;
    const seg = this.segments[idx];
    if (offset + size > seg.start + this.segmentSize) return null;
    const buf = new Uint8Array(size);
    if (this.handle(idx).read(buf, offset - seg.start) < size) return null;
    const dv = viewOf(buf);
    if (recordSize(dv, 0) !== size || !isValidRecord(buf, dv, 0, offset, false)) return null;
    return toStoredRecord(buf, dv, 0);
  }

  /**
   * The records at `offsets[0..n)` (ascending, with their sizes from consume queue entries), as
   * read() gives them: fresh ones are views of the tail; the others are read with one positional
   * read per window of nearby records, and their messages copied into one buffer for the call
   * (so they stay valid, as read()'s do, however long they are kept). A record that is not where
   * its entry says is null.
   */
  readMany(offsets: readonly number[], sizes: readonly number[], n: number): (StoredRecord | null)[] {
    const out: (StoredRecord | null)[] = new Array(n).fill(null);
    let i = 0;
    // Records the tail no longer holds come first (the tail is the log's newest bytes).
    let diskBytes = 0;
    let fromTail = n;
    for (let k = 0; k < n; k++) {
      if (this.tail.find(offsets[k], sizes[k])) {
        fromTail = k;
        break;
      }
      diskBytes += Math.max(0, sizes[k] - HEADER_SIZE);
    }
    const messages = fromTail > 0 ? new Uint8Array(diskBytes) : null;
    let used = 0;
    while (i < fromTail) {
      const start = offsets[i];
      const idx = this.indexOf(start);
      if (idx < 0 || sizes[i] < HEADER_SIZE || start + sizes[i] > this.writePos) {
        i++;
        continue;
      }
      const seg = this.segments[idx];
      const segEnd = seg.start + this.segmentSize;
      let end = start + sizes[i];
      let j = i + 1;
      while (j < fromTail && offsets[j] - end <= READ_GAP && offsets[j] + sizes[j] - start <= READ_WINDOW && offsets[j] + sizes[j] <= segEnd) {
        end = Math.max(end, offsets[j] + sizes[j]);
        j++;
      }
      if (end > segEnd) {
        i = j;
        continue;
      }
      if (this.window.length < end - start) this.window = new Uint8Array(Math.max(end - start, READ_WINDOW));
      const buf = this.window;
      const got = this.handle(idx).read(buf.subarray(0, end - start), start - seg.start);
      const dv = viewOf(buf);
      for (; i < j; i++) {
        const at = offsets[i] - start;
        const size = sizes[i];
        if (at + size > got || size < HEADER_SIZE || recordSize(dv, at) !== size || !isValidRecord(buf, dv, at, offsets[i], false)) continue;
        const r = toStoredRecord(buf, dv, at);
        const len = size - HEADER_SIZE;
        messages!.set(r.message, used);
        r.message = messages!.subarray(used, used + len);
        used += len;
        out[i] = r;
      }
    }
    for (; i < n; i++) out[i] = this.read(offsets[i], sizes[i]);
    return out;
  }

  /** The store timestamp of the record at offset (-1 if there is none): a header read at most. */
  timestampAt(offset: number): number {
    const h = this.peekHeader(offset);
    if (!h || recordMagic(h.view, h.at) !== MAGIC_MESSAGE) return -1;
    return recordTimestamp(h.view, h.at);
  }

  private peekHeader(offset: number): { view: DataView; at: number } | null {
    if (offset < this.minOffset || offset + HEADER_SIZE > this.writePos) return null;
    const chunk = this.tail.find(offset, HEADER_SIZE);
    if (chunk) return { view: chunk.view, at: offset - chunk.start };
    const idx = this.indexOf(offset);
    if (idx < 0) return null;
    if (this.handle(idx).read(this.headerScratch, offset - this.segments[idx].start) < HEADER_SIZE) return null;
    return { view: this.headerView, at: 0 };
  }

  // ---------------------------------------------------------------- durability

  /**
   * Resolves once an fsync covers every byte below target. Group commit: callers that arrive
   * while an fsync runs share the next one, which covers everything written until it starts.
   */
  sync(target = this.writePos): Promise<void> {
    // Bytes not written yet cannot be waited for: a target past the end would spin rounds forever.
    target = Math.min(target, this.writePos);
    if (this.flushedPos >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      // A microtask later, so every append of this turn rides on the same fsync.
      this.syncing ??= Promise.resolve().then(() => this.syncLoop());
    });
  }

  private async syncLoop(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        const target = this.writePos;
        try {
          await this.fsyncTo(target);
        } catch (e) {
          const failed = this.waiters;
          this.waiters = [];
          for (const w of failed) w.reject(e);
          return;
        }
        const still: Waiter[] = [];
        for (const w of this.waiters) (w.target <= this.flushedPos ? w.resolve() : still.push(w));
        this.waiters = still;
      }
    } finally {
      this.syncing = null;
    }
  }

  private async fsyncTo(target: number): Promise<void> {
    if (target <= this.flushedPos || this.segments.length === 0) return;
    const first = this.flushedPos < this.segments[0].start ? 0 : this.indexOf(this.flushedPos);
    const last = this.indexOf(target - 1);
    if (first < 0 || last < 0) throw new Error(`no segment holds ${this.flushedPos}..${target}`);
    const started = this.onFsync ? performance.now() : 0;
    for (let i = first; i <= last; i++) await this.handle(i).sync();
    this.onFsync?.(performance.now() - started);
    if (target > this.flushedPos) this.flushedPos = target;
  }

  /** Waits for any running fsync; used before closing. */
  async idle(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  close(): void {
    for (const s of this.segments) {
      s.handle?.close();
      s.handle = null;
    }
  }

  // ---------------------------------------------------------------- helpers

  private indexOf(offset: number): number {
    if (this.segments.length === 0) return -1;
    const i = Math.floor((offset - this.segments[0].start) / this.segmentSize);
    return i >= 0 && i < this.segments.length ? i : -1;
  }

  private handle(i: number): FileHandle {
    const seg = this.segments[i];
    return (seg.handle ??= this.files.open(seg.path));
  }
}
