// One IndexFile: a persistent hash table from key hash to CommitLog offsets, RocketMQ's layout.
//
//   header (40 bytes): beginTimestamp u64, endTimestamp u64, beginOffset u64, endOffset u64,
//                      slotsUsed u32, entryCount u32
//   slots:   slotCount x u32, the number of the newest entry whose hash falls in the slot (0 = none)
//   entries: capacity x 20 bytes, numbered from 1: keyHash u32, commitLogOffset u64,
//            timeDiff u32 (seconds since beginTimestamp), prevEntry u32 (older entry, same slot)
//
// beginOffset is the CommitLog offset of the first record indexed here (also the file's
// name); endOffset is the offset just past the last record indexed here.
//
// The active file keeps its slot table in memory (fixed size: slots x 4 bytes) and, of its
// entries, only those not yet written to the file: at most PENDING_ENTRIES, written out when
// that many are waiting (into the page cache; a crash loses nothing the checkpoint claims, as
// the checkpoint counts only entries of a finished flush) and at every flush. Entries already in
// the file are read with positional reads, as RocketMQ reads its mmapped index: memory stays
// the same whatever the number of messages indexed. A flush writes the waiting entries, dirty
// 4 KiB pages of the slot table and the header. A full file is sealed: written out completely,
// fsynced, and from then on read with positional reads only.
import type { FileHandle, Files } from "../platform/platform.ts";
import { getU64, setU64, viewOf } from "./record.ts";

export const INDEX_HEADER_SIZE = 40;
export const INDEX_ENTRY_SIZE = 20;
const PAGE = 4096;
/** Most entries kept in memory waiting for the file (20 B each: 320 KiB). */
export const PENDING_ENTRIES = 16 * 1024;
/** Entries read at a time when a restart rebuilds the slot table. */
const REBUILD_CHUNK = 16 * 1024;

export interface IndexGeometry {
  slots: number;
  capacity: number;
}

export class IndexFile {
  beginTimestamp = 0;
  endTimestamp = 0;
  endOffset = 0;
  slotsUsed = 0;
  count = 0;
  private handle: FileHandle | null = null;
  // In memory while active (or sealed but not yet written out and fsynced).
  private slots: Uint8Array | null = null;
  private slotView: DataView | null = null;
  /** Entries flushedCount + 1 .. count, waiting to be written to the file. */
  private pending: Uint8Array | null = null;
  private pendingView: DataView | null = null;
  private dirtyPages: Uint8Array | null = null;
  private headerDirty = false;
  /** Entries 1 .. flushedCount are in the file (at least in the page cache). */
  private flushedCount = 0;
  private readonly scratch = new Uint8Array(INDEX_ENTRY_SIZE);
  private readonly scratchView = viewOf(this.scratch);

  private constructor(
    private readonly files: Files,
    readonly path: string,
    readonly beginOffset: number,
    private readonly geo: IndexGeometry,
  ) {}

  /** A new, empty active file (nothing reaches the disk until the first write-out). */
  static create(files: Files, path: string, beginOffset: number, beginTimestamp: number, geo: IndexGeometry): IndexFile {
    const f = new IndexFile(files, path, beginOffset, geo);
    f.beginTimestamp = f.endTimestamp = beginTimestamp;
    f.endOffset = beginOffset;
    f.allocate();
    f.headerDirty = true;
    return f;
  }

  /** A sealed file on disk, or null if its header or length says it is damaged. */
  static openSealed(files: Files, path: string, beginOffset: number, geo: IndexGeometry): IndexFile | null {
    const f = new IndexFile(files, path, beginOffset, geo);
    if (!f.readHeader()) {
      f.close();
      return null;
    }
    f.flushedCount = f.count;
    return f;
  }

  /**
   * Reopens the file that was active at the last checkpoint, keeping only its first `maxEntries`
   * entries (those the checkpoint knows were durable) and among them those below `below`; the
   * slot table is rebuilt from them, since slots written after the checkpoint may point at
   * entries that never reached the disk.
   */
  static loadActive(files: Files, path: string, beginOffset: number, geo: IndexGeometry, maxEntries: number, below: number): IndexFile | null {
    const f = new IndexFile(files, path, beginOffset, geo);
    if (!f.readHeader(true)) {
      f.close();
      return null;
    }
    const max = Math.min(maxEntries, geo.capacity);
    f.allocate();
    // Rebuild the chains exactly as add() built them, reading the entries a chunk at a time:
    // only the slot table stays in memory. Entries are in CommitLog order, so the first one at
    // or past `below` ends the file's trusted part.
    const sv = f.slotView!;
    const chunk = new Uint8Array(Math.min(max, REBUILD_CHUNK) * INDEX_ENTRY_SIZE);
    const cv = viewOf(chunk);
    f.slotsUsed = 0;
    let n = 0;
    let lastDiff = 0;
    scan: for (let from = 0; from < max; from += REBUILD_CHUNK) {
      const count = Math.min(REBUILD_CHUNK, max - from);
      const bytes = count * INDEX_ENTRY_SIZE;
      const at0 = f.entriesBase() + from * INDEX_ENTRY_SIZE;
      if (f.handle!.read(chunk.subarray(0, bytes), at0) < bytes) {
        f.close();
        return null;
      }
      let fixed = false;
      for (let i = 0; i < count; i++) {
        const at = i * INDEX_ENTRY_SIZE;
        if (getU64(cv, at + 4) < below) {
          const s = (cv.getUint32(at) % geo.slots) * 4;
          const prev = sv.getUint32(s);
          if (prev === 0) f.slotsUsed++;
          // Durable entries already hold this link (chains only point backwards, so dropping
          // a tail changes no prev field); a damaged one is repaired in the file.
          if (cv.getUint32(at + 16) !== prev) {
            cv.setUint32(at + 16, prev);
            fixed = true;
          }
          sv.setUint32(s, ++n);
          lastDiff = cv.getUint32(at + 12);
        } else {
          if (fixed) f.handle!.write(chunk.subarray(0, at), at0);
          break scan;
        }
      }
      if (fixed) f.handle!.write(chunk.subarray(0, bytes), at0);
    }
    f.count = n;
    f.flushedCount = n;
    f.dirtyPages!.fill(1);
    f.headerDirty = true;
    f.endOffset = Math.max(f.beginOffset, Math.min(f.endOffset, below));
    if (n > 0) f.endTimestamp = f.beginTimestamp + lastDiff * 1000;
    return f;
  }

  get name(): string {
    return this.path.slice(this.path.lastIndexOf("/") + 1);
  }

  get full(): boolean {
    return this.count >= this.geo.capacity;
  }

  room(): number {
    return this.geo.capacity - this.count;
  }

  get inMemory(): boolean {
    return this.slots !== null;
  }

  /** Adds one entry (the file must be in memory and have room). */
  add(hash: number, commitLogOffset: number, timestamp: number): void {
    const n = ++this.count;
    const sv = this.slotView!;
    const s = (hash % this.geo.slots) * 4;
    const prev = sv.getUint32(s);
    if (prev === 0) this.slotsUsed++;
    if (n - this.flushedCount > PENDING_ENTRIES) this.writeEntries();
    const ev = this.pendingView!;
    const at = (n - this.flushedCount - 1) * INDEX_ENTRY_SIZE;
    ev.setUint32(at, hash);
    setU64(ev, at + 4, commitLogOffset);
    ev.setUint32(at + 12, Math.min(0xffffffff, Math.max(0, Math.floor((timestamp - this.beginTimestamp) / 1000))));
    ev.setUint32(at + 16, prev);
    sv.setUint32(s, n);
    this.dirtyPages![(s / PAGE) | 0] = 1;
    if (timestamp > this.endTimestamp) this.endTimestamp = timestamp;
    this.headerDirty = true;
  }

  /** Visits the offsets of entries with this hash, newest first, until visit returns false. */
  lookup(hash: number, visit: (commitLogOffset: number) => boolean): boolean {
    let n = this.slotHead(hash % this.geo.slots);
    let guard = this.count + 1;
    while (n > 0 && n <= this.count && guard-- > 0) {
      const [h, offset, prev] = this.entryAt(n);
      if (h === hash && !visit(offset)) return false;
      if (prev >= n) break; // chains only point backwards; anything else is damage
      n = prev;
    }
    return true;
  }

  /** Writes what changed since the last write-out (synchronously, into the page cache). */
  writeOut(): void {
    if (!this.slots) return;
    const h = (this.handle ??= this.files.open(this.path));
    if (this.count > this.flushedCount) this.writeEntries();
    const pages = this.dirtyPages!;
    for (let p = 0; p < pages.length; p++) {
      if (!pages[p]) continue;
      let q = p;
      while (q < pages.length && pages[q]) pages[q++] = 0;
      h.write(this.slots.subarray(p * PAGE, Math.min(q * PAGE, this.slots.length)), INDEX_HEADER_SIZE + p * PAGE);
      p = q;
    }
    if (this.headerDirty) {
      h.write(this.encodeHeader(), 0);
      this.headerDirty = false;
    }
  }

  async sync(): Promise<void> {
    await this.handle?.sync();
  }

  /** A sealed file, written out and fsynced, drops its memory and reads from disk. */
  release(): void {
    this.slots = this.slotView = this.pending = this.pendingView = this.dirtyPages = null;
  }

  /** Bytes this file holds in memory: the slot table and the entries waiting for the file. */
  get memoryBytes(): number {
    return (this.slots?.length ?? 0) + (this.pending?.length ?? 0) + (this.dirtyPages?.length ?? 0);
  }

  /** Entries held in memory, waiting to be written to the file. */
  get pendingEntries(): number {
    return this.count - this.flushedCount;
  }

  close(): void {
    this.handle?.close();
    this.handle = null;
  }

  // ---------------------------------------------------------------- helpers

  private entriesBase(): number {
    return INDEX_HEADER_SIZE + this.geo.slots * 4;
  }

  private allocate(): void {
    this.slots = new Uint8Array(this.geo.slots * 4);
    this.slotView = viewOf(this.slots);
    this.dirtyPages = new Uint8Array(Math.ceil(this.slots.length / PAGE));
    this.pending = new Uint8Array(Math.min(PENDING_ENTRIES, this.geo.capacity) * INDEX_ENTRY_SIZE);
    this.pendingView = viewOf(this.pending);
  }

  /** Writes the waiting entries to the file (page cache); from then on they are read from there. */
  private writeEntries(): void {
    const h = (this.handle ??= this.files.open(this.path));
    const waiting = this.count - this.flushedCount;
    // add() calls this with the newest entry counted but not yet in the buffer.
    const n = Math.min(waiting, this.pending!.length / INDEX_ENTRY_SIZE);
    h.write(this.pending!.subarray(0, n * INDEX_ENTRY_SIZE), this.entriesBase() + this.flushedCount * INDEX_ENTRY_SIZE);
    this.flushedCount += n;
  }

  private slotHead(slot: number): number {
    if (this.slotView) return this.slotView.getUint32(slot * 4);
    const got = this.handle!.read(this.scratch.subarray(0, 4), INDEX_HEADER_SIZE + slot * 4);
    return got < 4 ? 0 : this.scratchView.getUint32(0);
  }

  private entryAt(n: number): [number, number, number] {
    let dv: DataView;
    let at: number;
    if (n > this.flushedCount) {
      dv = this.pendingView!;
      at = (n - this.flushedCount - 1) * INDEX_ENTRY_SIZE;
    } else {
      if (this.handle!.read(this.scratch, this.entriesBase() + (n - 1) * INDEX_ENTRY_SIZE) < INDEX_ENTRY_SIZE) return [0, 0, 0];
      dv = this.scratchView;
      at = 0;
    }
    return [dv.getUint32(at), getU64(dv, at + 4), dv.getUint32(at + 16)];
  }

  private encodeHeader(): Uint8Array {
    const b = new Uint8Array(INDEX_HEADER_SIZE);
    const dv = viewOf(b);
    setU64(dv, 0, this.beginTimestamp);
    setU64(dv, 8, this.endTimestamp);
    setU64(dv, 16, this.beginOffset);
    setU64(dv, 24, this.endOffset);
    dv.setUint32(32, this.slotsUsed);
    dv.setUint32(36, this.count);
    return b;
  }

  /** Reads and checks the header; `partial` accepts a file not yet full length (the active one). */
  private readHeader(partial = false): boolean {
    if (!this.files.stat(this.path)?.isFile) return false;
    this.handle = this.files.open(this.path, { create: false });
    const b = new Uint8Array(INDEX_HEADER_SIZE);
    if (this.handle.read(b, 0) < INDEX_HEADER_SIZE) return false;
    const dv = viewOf(b);
    this.beginTimestamp = getU64(dv, 0);
    this.endTimestamp = getU64(dv, 8);
    const begin = getU64(dv, 16);
    this.endOffset = getU64(dv, 24);
    this.slotsUsed = dv.getUint32(32);
    this.count = dv.getUint32(36);
    if (begin !== this.beginOffset || this.endOffset < begin || this.count > this.geo.capacity) return false;
    if (!partial && this.handle.size() < this.entriesBase() + this.count * INDEX_ENTRY_SIZE) return false;
    return true;
  }
}
