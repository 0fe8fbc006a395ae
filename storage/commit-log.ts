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

/** Bytes recovery or a walk found damaged: skipped, never served. */
export interface DamagedRange {
  from: number;
  to: number;
  reason: "invalid" | "short segment" | "torn";
}

/** Why a read returned no record: its bytes are gone (a missing segment, a short file), its header does not describe it, or its CRC does not match. */
export type CorruptReason = "missing" | "header" | "crc";

/** What CommitLog.recover found. */
export interface RecoveryReport {
  /** Where verification started. */
  from: number;
  /** Damaged ranges before the end of the log: skipped, the records around them kept. */
  damaged: DamagedRange[];
  /** Segments missing from the middle of the chain: [from, to) of CommitLog offsets. */
  missing: { from: number; to: number }[];
  /** Files in commitlog/ named like segments but not at a multiple of the segment size. */
  foreign: string[];
  /** Bytes after the last valid record (a crash mid-write), cut. */
  tornTail: DamagedRange | null;
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
  /** Check the CRC of every record read from disk (on by default; off only to measure its cost). */
  verifyReads = true;
  /** Told of every record a read from disk found damaged (CRC) or missing (it is not returned). */
  onCorrupt: ((offset: number, reason: CorruptReason) => void) | undefined;
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

  /** Lets the tail's ring and readMany's window go (an idle broker giving memory back). */
  releaseMemory(): void {
    this.tail.release();
    this.window = new Uint8Array(0);
  }

  /** The largest record a segment can hold (the rest is the room kept for a blank marker). */
  get maxRecordSize(): number {
    return this.segmentSize - BLANK_MIN;
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Opens the segments and verifies records with their CRC from `trustedBelow` (everything
   * below it was fsynced and checkpointed) to the end. A damaged record is skipped: the walk
   * resynchronises on the next valid record header (magic, size, its own position, CRC) and
   * keeps everything after it. A missing or short segment is reported, never a reason to drop
   * the segments after it. Only a torn tail (bytes after the last valid record, with no valid
   * record after them) is cut. Returns the first verified position and what was found.
   */
  recover(trustedBelow: number, onProgress?: (verified: number, total: number) => void): RecoveryReport {
    this.files.mkdir(this.dir);
    const report: RecoveryReport = { from: 0, damaged: [], missing: [], foreign: [], tornTail: null };
    const starts: number[] = [];
    for (const name of this.files.list(this.dir)) {
      if (!NAME.test(name)) continue;
      // A name that is no multiple of the segment size is not a segment of this log.
      if (Number(name) % this.segmentSize !== 0) report.foreign.push(name);
      else starts.push(Number(name));
    }
    for (let k = 1; k < starts.length; k++) {
      if (starts[k] !== starts[k - 1] + this.segmentSize) report.missing.push({ from: starts[k - 1] + this.segmentSize, to: starts[k] });
    }
    this.segments = starts.map((start) => ({ start, path: `${this.dir}/${offsetName(start)}`, handle: null }));
    if (this.segments.length === 0) {
      const start = trustedBelow - (trustedBelow % this.segmentSize);
      this.writePos = this.flushedPos = start;
      report.from = start;
      return report;
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
    if (this.indexOf(from) < 0) from = this.segments.find((s) => s.start > from)?.start ?? last.start;
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
    const damaged: DamagedRange[] = [];
    const onDamage = (d: DamagedRange) => damaged.push(d);
    const progress = onProgress && ((pos: number) => onProgress(Math.min(pos - from, totalBytes), totalBytes));
    let walked = this.walk(from, true, undefined, progress, onDamage);
    if (damaged.length > 0 && damaged[0].from === from && from % this.segmentSize !== 0) {
      // No valid record at the trusted point: either a torn record there, or a checkpoint that
      // is not a record boundary of this log. Walking its segment from the start tells which.
      from -= from % this.segmentSize;
      totalBytes = total();
      damaged.length = 0;
      walked = this.walk(from, true, undefined, progress, onDamage);
    }
    onProgress?.(totalBytes, totalBytes);
    const end = walked.end;
    // Damage at or past the end is a torn tail (a crash mid-write): cut. Before it, damage is
    // skipped and reported; the records around it stay.
    for (const d of damaged) {
      if (d.from >= end) report.tornTail = { from: Math.min(report.tornTail?.from ?? d.from, d.from), to: Math.max(report.tornTail?.to ?? d.to, d.to), reason: "torn" };
      else report.damaged.push(d);
    }
    this.cut(end);
    this.writePos = end;
    // The verified range may hold bytes a crashed process wrote but never fsynced: the first
    // sync covers them again.
    this.flushedPos = Math.min(from, end);
    report.from = from;
    return report;
  }

  /**
   * Drops the torn tail at or past `end`: truncates its segment, deletes later segment files
   * (the walk found no valid record in them). Segments before it that ended in a valid blank
   * marker are made full length (their extension may not have reached the disk).
   */
  private cut(end: number): void {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i];
      if (seg.start > end || (seg.start === end && i > 0)) {
        seg.handle?.close();
        this.files.remove(seg.path);
        this.segments.pop();
        continue;
      }
      const h = this.handle(i);
      const keep = end - seg.start;
      if (keep < this.segmentSize) {
        if (h.size() > keep) h.truncate(keep);
      } else if (h.size() < this.segmentSize) {
        h.truncate(this.segmentSize); // a finished segment whose extension did not reach the disk
      }
      break;
    }
    for (const i of this.blankEnded) if (i < this.segments.length - 1 && this.handle(i).size() < this.segmentSize) this.handle(i).truncate(this.segmentSize);
    this.blankEnded.clear();
    this.tail.truncate(end);
  }

  /** Segments whose blank marker the last walk found (cut() makes them full length). */
  private blankEnded = new Set<number>();

  /**
   * Walks records from `from` (a record boundary) to the end of the log, visiting each valid
   * one. A record that fails its checks (structure; the CRC too if `verify`, or at and past
   * `verify` when it is an offset) is skipped: the
   * walk looks for the next position holding a valid record (or the segment's blank marker)
   * and reports the bytes in between to `onDamage`. Missing segments are jumped over. Returns
   * the end of the last valid record (or blank marker) and how many records were visited.
   */
  walk(from: number, verify: boolean | number, visit?: (r: StoredRecord) => void, progress?: (pos: number) => void, onDamage?: (d: DamagedRange) => void, stopAt = Infinity): { end: number; records: number } {
    let end = from;
    let records = 0;
    let first = this.indexOf(from);
    if (first < 0) first = this.segments.findIndex((s) => s.start > from);
    if (first < 0) return { end, records };
    this.blankEnded.clear();
    for (let i = first; i < this.segments.length && this.segments[i].start < stopAt; i++) {
      const seg = this.segments[i];
      const segEnd = seg.start + this.segmentSize;
      const h = this.handle(i);
      const fileEnd = Math.min(segEnd, seg.start + h.size());
      let pos = Math.max(from, seg.start);
      let buf = new Uint8Array(0);
      let view = viewOf(buf);
      let bufStart = pos;
      // Makes [at, at + n) available in buf; false if the file ends first.
      const load = (at: number, n: number): boolean => {
        if (at >= bufStart && at + n <= bufStart + buf.length) return true;
        const len = Math.min(Math.max(n, WALK_CHUNK), fileEnd - at);
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
      // What sits at `at`: a valid record's size, the blank marker (-1), or 0 (nothing valid).
      const validAt = (at: number): number => {
        if (!load(at, BLANK_MIN)) return 0;
        const size = recordSize(view, at - bufStart);
        const magic = recordMagic(view, at - bufStart);
        if (magic === MAGIC_BLANK) return size === segEnd - at ? -1 : 0;
        if (magic !== MAGIC_MESSAGE || size < HEADER_SIZE || at + size > segEnd - BLANK_MIN || !load(at, size)) return 0;
        return isValidRecord(buf, view, at - bufStart, at, verify === true || (verify !== false && at >= verify)) ? size : 0;
      };
      while (pos < fileEnd && pos < stopAt) {
        const size = validAt(pos);
        if (size === -1) {
          end = segEnd;
          this.blankEnded.add(i);
          break;
        }
        if (size > 0) {
          visit?.(toStoredRecord(buf, view, pos - bufStart));
          records++;
          pos += size;
          end = pos;
          continue;
        }
        // Damaged: find the next position that holds a valid record or the blank marker.
        const bad = pos;
        pos = this.resync(bad + 1, fileEnd, validAt, (at) => (at < fileEnd && load(at, 1) ? buf.subarray(at - bufStart) : null));
        onDamage?.({ from: bad, to: pos, reason: "invalid" });
      }
      // A segment that is not the last one must end in its blank marker; a short one lost bytes.
      if (!this.blankEnded.has(i) && i < this.segments.length - 1 && fileEnd < segEnd && pos < stopAt) {
        onDamage?.({ from: Math.max(pos, fileEnd), to: segEnd, reason: "short segment" });
      }
    }
    return { end, records };
  }

  /**
   * The first position in [from, limit) where `validAt` finds a record or a blank marker, or
   * limit. Candidates are positions whose magic (four bytes on) starts with a magic's first
   * byte; `bytesAt` gives the loaded bytes from a position on (null past the file).
   */
  private resync(from: number, limit: number, validAt: (at: number) => number, bytesAt: (at: number) => Uint8Array | null): number {
    const message = MAGIC_MESSAGE >>> 24;
    const blank = MAGIC_BLANK >>> 24;
    let p = from;
    while (p < limit) {
      const bytes = bytesAt(p + 4);
      if (!bytes || bytes.length === 0) return limit;
      let k = 0;
      while (k < bytes.length && bytes[k] !== message && bytes[k] !== blank) k++;
      if (k === bytes.length) {
        p += bytes.length;
        continue;
      }
      const candidate = p + k;
      if (candidate >= limit) return limit;
      if (validAt(candidate) !== 0) return candidate;
      p = candidate + 1;
    }
    return limit;
  }

  // ---------------------------------------------------------------- retention

  /**
   * Deletes segments from the oldest on while `deletable` says so, never the last one (the one
   * being written), at most `max`; returns the starts and bytes deleted. Only the front goes, so
   * the log stays one chain.
   */
  deleteOldest(deletable: (seg: { start: number; end: number; mtimeMs: number }) => boolean, max = Infinity): { starts: number[]; bytes: number } {
    const starts: number[] = [];
    let bytes = 0;
    while (this.segments.length > 1 && starts.length < max) {
      const seg = this.segments[0];
      const stat = this.files.stat(seg.path);
      if (!deletable({ start: seg.start, end: seg.start + this.segmentSize, mtimeMs: stat?.mtimeMs ?? 0 })) break;
      seg.handle?.close();
      this.files.remove(seg.path);
      this.segments.shift();
      starts.push(seg.start);
      bytes += stat?.size ?? 0;
    }
    if (this.flushedPos < this.minOffset) this.flushedPos = this.minOffset;
    return { starts, bytes };
  }

  /** Bytes of the CommitLog's segment files. */
  get bytesOnDisk(): number {
    return this.segments.length === 0 ? 0 : (this.segments.length - 1) * this.segmentSize + (this.writePos - this.segments[this.segments.length - 1].start);
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

  // ---------------------------------------------------------------- replication

  /**
   * The log's bytes from `from` (a record boundary) as they are on disk, for a replica: whole
   * records up to `maxBytes` (one record even if it is larger), never past the end of from's
   * segment. A blank marker comes with the rest of its segment (zeros), so the replica's segment
   * file ends exactly as this one does. [] when nothing is there yet. What the in-memory tail
   * holds comes as views of its batches, no copy (the caller uses them before it returns to the
   * event loop, as every reader of the tail does); anything older is read from the segment into
   * one buffer.
   */
  readRaw(from: number, maxBytes: number): Uint8Array[] {
    if (from >= this.writePos || from < this.minOffset) return [];
    const fromTail = this.tailRaw(from, maxBytes);
    if (fromTail.length > 0) return fromTail;
    const idx = this.indexOf(from);
    if (idx < 0) return [];
    const segEnd = this.segments[idx].start + this.segmentSize;
    const avail = Math.min(this.writePos, segEnd) - from;
    const take = (len: number): Uint8Array => {
      const buf = new Uint8Array(len);
      return this.handle(idx).read(buf, from - this.segments[idx].start) < len ? new Uint8Array(0) : buf;
    };
    let buf = take(Math.min(avail, Math.max(maxBytes, BLANK_MIN)));
    const whole = (b: Uint8Array): number => {
      const dv = viewOf(b);
      let pos = 0;
      while (pos + BLANK_MIN <= b.length) {
        const size = recordSize(dv, pos);
        const magic = recordMagic(dv, pos);
        if (magic === MAGIC_BLANK) {
          if (from + pos + size !== segEnd) throw new Error(`CommitLog: a blank at ${from + pos} does not end its segment`);
          // Records before it go first; the blank alone comes with all of its zeros.
          return pos > 0 ? pos : size <= b.length ? size : -size;
        }
        if (magic !== MAGIC_MESSAGE || size < HEADER_SIZE) throw new Error(`CommitLog: no record at ${from + pos}`);
        if (pos + size > b.length) return pos === 0 ? -size : pos;
        pos += size;
      }
      return pos;
    };
    let n = whole(buf);
    if (n < 0) {
      // The first record (or a blank's zeros) does not fit maxBytes: read exactly what it needs.
      buf = take(Math.min(avail, -n));
      n = whole(buf);
      if (n < 0) return [];
    }
    return n === 0 ? [] : [n === buf.length ? buf : buf.subarray(0, n)];
  }

  /**
   * Whole records from `from` up to `maxBytes` (at least one) out of the tail's batches, as views;
   * [] when the tail does not hold `from`. A batch holds whole records of one segment and never a
   * blank, so this stops at a segment's end.
   */
  private tailRaw(from: number, maxBytes: number): Uint8Array[] {
    const parts: Uint8Array[] = [];
    let at = from;
    let room = maxBytes;
    for (let c = this.tail.find(at, 1); c !== null && room > 0; c = this.tail.find(at, 1)) {
      const begin = at - c.start;
      let end = c.bytes.length;
      if (end - begin > room) {
        end = begin;
        while (end < c.bytes.length) {
          const size = recordSize(c.view, end);
          if (end + size - begin > room && (end > begin || parts.length > 0)) break;
          end += size;
        }
      }
      if (end === begin) break;
      parts.push(c.bytes.subarray(begin, end));
      room -= end - begin;
      at = c.start + end;
      if (end < c.bytes.length) break;
    }
    return parts;
  }

  /**
   * Writes a replica's copy of its master's bytes at `offset`, which must be this log's end:
   * whole records (checked: structure and position, as readRaw cut them) within one segment, a
   * blank marker only with the zeros to the segment's end.
   */
  appendRaw(offset: number, bytes: Uint8Array, visit: (r: StoredRecord) => void): void {
    if (offset !== this.writePos) throw new Error(`CommitLog: a replicated chunk at ${offset} does not continue the log at ${this.writePos}`);
    if (bytes.length === 0) return;
    const segEnd = offset - (offset % this.segmentSize) + this.segmentSize;
    if (offset + bytes.length > segEnd) throw new Error(`CommitLog: a replicated chunk at ${offset} crosses its segment's end`);
    const dv = viewOf(bytes);
    let pos = 0;
    let records = 0;
    let blank = false;
    while (pos < bytes.length) {
      if (pos + BLANK_MIN > bytes.length) throw new Error(`CommitLog: a replicated chunk at ${offset} ends inside a record`);
      const size = recordSize(dv, pos);
      const magic = recordMagic(dv, pos);
      if (magic === MAGIC_BLANK) {
        if (offset + pos + size !== segEnd || pos + size !== bytes.length) throw new Error(`CommitLog: a replicated blank at ${offset + pos} does not end its segment`);
        blank = true;
        break;
      }
      if (size < HEADER_SIZE || pos + size > bytes.length || !isValidRecord(bytes, dv, pos, offset + pos, false)) {
        throw new Error(`CommitLog: the replicated record at ${offset + pos} is malformed`);
      }
      pos += size;
      records = pos;
    }
    const idx = this.segmentFor(offset);
    this.handle(idx).write(bytes, offset - this.segments[idx].start);
    if (blank) this.handle(idx).truncate(this.segmentSize);
    this.writePos = offset + bytes.length;
    if (records > 0) {
      const kept = this.tail.alloc(records);
      kept.set(bytes.subarray(0, records));
      this.tail.add(offset, kept);
      const kv = viewOf(kept);
      for (let at = 0; at < records; at += recordSize(kv, at)) visit(toStoredRecord(kept, kv, at));
    }
  }

  // ---------------------------------------------------------------- reads

  /**
   * The record at offset; `size` when the caller knows it (from a consume queue entry) saves
   * a header read. Fresh records are views of the tail; older ones one positional read each.
   */
  read(offset: number, size = 0): StoredRecord | null {
    const r = this.readChecked(offset, size);
    return typeof r === "string" ? null : r;
  }

  /**
   * As read, but says why there is no record: "absent" when the offset is outside the log (or
   * the size cannot be right), else why the bytes there are no valid record (reported to
   * onCorrupt).
   */
  readChecked(offset: number, size = 0): StoredRecord | CorruptReason | "absent" {
    if (offset < this.minOffset || offset >= this.writePos) return "absent";
    if (size <= 0) {
      const h = this.peekHeader(offset);
      if (!h) return "absent";
      size = recordSize(h.view, h.at);
    }
    if (size < HEADER_SIZE || offset + size > this.writePos) return "absent";
    const chunk = this.tail.find(offset, size);
    if (chunk) {
      const at = offset - chunk.start;
      if (recordSize(chunk.view, at) !== size || !isValidRecord(chunk.bytes, chunk.view, at, offset, false)) return "header";
      return toStoredRecord(chunk.bytes, chunk.view, at);
    }
    // From disk: the bytes left the process, so they are checked, CRC included, before they
    // leave the broker (Kafka's consumers check CRCs; here the broker does, for every client).
    const idx = this.indexOf(offset);
    if (idx < 0) return this.corrupt(offset, "missing");
    const seg = this.segments[idx];
    // A header that does not describe the record the caller expects may be a wrong ConsumeQueue
    // entry rather than damage: the caller decides (MessageStore repairs the entry).
    if (offset + size > seg.start + this.segmentSize) return "header";
    const buf = new Uint8Array(size);
    if (this.handle(idx).read(buf, offset - seg.start) < size) return this.corrupt(offset, "missing");
    const dv = viewOf(buf);
    if (recordSize(dv, 0) !== size || !isValidRecord(buf, dv, 0, offset, false)) return "header";
    if (this.verifyReads && !isValidRecord(buf, dv, 0, offset, true)) return this.corrupt(offset, "crc");
    return toStoredRecord(buf, dv, 0);
  }

  private corrupt(offset: number, reason: CorruptReason): CorruptReason {
    this.onCorrupt?.(offset, reason);
    return reason;
  }

  /**
   * The records at `offsets[0..n)` (ascending, with their sizes from consume queue entries), as
   * read() gives them: fresh ones are views of the tail; the others are read with one positional
   * read per window of nearby records, and their messages copied into one buffer for the call
   * (so they stay valid, as read()'s do, however long they are kept). A record that is not where
   * its entry says, or fails its CRC, is the reason instead, as readChecked gives it.
   */
  readMany(offsets: readonly number[], sizes: readonly number[], n: number): (StoredRecord | CorruptReason | "absent")[] {
    const out: (StoredRecord | CorruptReason | "absent")[] = new Array(n).fill("absent");
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
      if (start < this.minOffset || sizes[i] < HEADER_SIZE || start + sizes[i] > this.writePos) {
        i++;
        continue;
      }
      const idx = this.indexOf(start);
      if (idx < 0) {
        out[i] = this.corrupt(start, "missing");
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
        for (; i < j; i++) out[i] = "header";
        continue;
      }
      if (this.window.length < end - start) this.window = new Uint8Array(Math.max(end - start, READ_WINDOW));
      const buf = this.window;
      const got = this.handle(idx).read(buf.subarray(0, end - start), start - seg.start);
      const dv = viewOf(buf);
      for (; i < j; i++) {
        const at = offsets[i] - start;
        const size = sizes[i];
        if (at + size > got) {
          out[i] = this.corrupt(offsets[i], "missing");
          continue;
        }
        if (size < HEADER_SIZE || recordSize(dv, at) !== size || !isValidRecord(buf, dv, at, offsets[i], false)) {
          out[i] = "header";
          continue;
        }
        // From disk: checked, CRC included, before it leaves the broker.
        if (this.verifyReads && !isValidRecord(buf, dv, at, offsets[i], true)) {
          out[i] = this.corrupt(offsets[i], "crc");
          continue;
        }
        const r = toStoredRecord(buf, dv, at);
        const len = size - HEADER_SIZE;
        messages!.set(r.message, used);
        r.message = messages!.subarray(used, used + len);
        used += len;
        out[i] = r;
      }
    }
    for (; i < n; i++) out[i] = this.readChecked(offsets[i], sizes[i]);
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
    const started = this.onFsync ? performance.now() : 0;
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i];
      if (seg.start < target && seg.start + this.segmentSize > this.flushedPos) await this.handle(i).sync();
    }
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

  /** The segment holding offset, or -1 (before the log, past it, or in a missing segment). */
  private indexOf(offset: number): number {
    const segs = this.segments;
    if (segs.length === 0) return -1;
    // Segments are contiguous unless one is missing: try the arithmetic first.
    const guess = Math.floor((offset - segs[0].start) / this.segmentSize);
    if (guess >= 0 && guess < segs.length && segs[guess].start <= offset && offset < segs[guess].start + this.segmentSize) return guess;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid].start > offset) hi = mid - 1;
      else if (segs[mid].start + this.segmentSize <= offset) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  private handle(i: number): FileHandle {
    const seg = this.segments[i];
    return (seg.handle ??= this.files.open(seg.path));
  }
}

/**
 * Cuts a closed log's files at `offset`, a record boundary (a replica dropping a diverged tail):
 * segments from it on are deleted, the one holding it is shortened. The next open recovers the
 * shorter log as it would a torn one.
 */
export function truncateLogFiles(files: Files, dir: string, segmentSize: number, offset: number): void {
  for (const name of files.list(dir).filter((n) => NAME.test(n))) {
    const start = Number(name);
    const path = `${dir}/${name}`;
    if (start >= offset) files.remove(path);
    else if (start + segmentSize > offset) {
      const h = files.open(path, { create: false });
      try {
        if (h.size() > offset - start) h.truncate(offset - start);
      } finally {
        h.close();
      }
    }
  }
}
