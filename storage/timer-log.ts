// The timer log (RocketMQ 5's TimerLog): one fixed 28-byte entry per message scheduled for an
// arbitrary time, appended in scheduling order. An entry points at the message's record in the
// CommitLog (offset 8, size 4), says when it is due (8, ms since the epoch) and links to the
// previous entry of the same wheel slot (8; 0 = none), so a slot's entries form a list on disk
// whose head the wheel keeps. Links are entry numbers plus one, so 0 can mean "none".
//
// Once its message is re-put, an entry is marked delivered (the top bit of its size, one 4-byte
// write): a restart that reloads the second skips it, so a SIGKILL repeats no delivery.
//
// The log is a directory of segment files, each named by the 20-digit link of its first entry
// and rolled once it holds `entriesPerFile` entries (a batch is never split), so that retention
// can delete the oldest: a segment whose every entry is delivered goes (dropDelivered), as
// RocketMQ deletes its TimerLog files. A walk that reaches a deleted entry stops there: the
// entries behind it are older still, and all delivered. An older data directory's single `log`
// file becomes the first segment.
import type { FileHandle, Files } from "../platform/platform.ts";
import { getU64, setU64 } from "./record.ts";

export const TIMER_ENTRY_SIZE = 28;
/** Entries per segment file by default: 28 MiB. */
export const TIMER_ENTRIES_PER_FILE = 1 << 20;

export interface TimerEntry {
  commitLogOffset: number;
  size: number;
  deliverAt: number;
  /** The link of the previous entry of the same slot, 0 for none. */
  prev: number;
  /** Its message was re-put into its real topic. */
  delivered?: boolean;
}

const DELIVERED = 0x8000_0000;
const NAME = /^\d{20}$/;

interface Segment {
  /** The link of its first entry. */
  first: number;
  file: FileHandle;
  /** Whole entries it holds. */
  count: number;
}

export class TimerLog {
  private segments: Segment[] = [];
  private buf = new Uint8Array(TIMER_ENTRY_SIZE);
  private view = new DataView(this.buf.buffer);
  /** Segments written since the last sync (marks land in older ones). */
  private dirty = new Set<Segment>();

  constructor(private readonly files: Files, private readonly dir: string, private readonly entriesPerFile = TIMER_ENTRIES_PER_FILE) {
    const st = files.stat(dir);
    if (st && !st.isDirectory) {
      // An older layout: one file. It becomes the first segment.
      files.rename(dir, `${dir}.old`);
      files.mkdir(dir);
      files.rename(`${dir}.old`, `${dir}/${name(1)}`);
    }
    files.mkdir(dir);
    for (const n of files.list(dir)) {
      if (!NAME.test(n)) continue;
      const file = files.open(`${dir}/${n}`);
      // A torn last entry (a crash mid-write) is dropped: no slot can point at it yet, because
      // the wheel is updated only after the entry is written.
      this.segments.push({ first: Number(n), file, count: Math.floor(file.size() / TIMER_ENTRY_SIZE) });
    }
    this.segments.sort((a, b) => a.first - b.first);
    if (this.segments.length === 0) this.roll(1);
    this.lowWater = this.segments[0].first;
  }

  /** Entries written so far (deleted ones included: links keep counting). */
  get length(): number {
    const last = this.segments[this.segments.length - 1];
    return last.first - 1 + last.count;
  }

  /** Bytes the segment files hold. */
  get bytesOnDisk(): number {
    let n = 0;
    for (const s of this.segments) n += s.count * TIMER_ENTRY_SIZE;
    return n;
  }

  /** Appends entries with one write; returns the link (entry number + 1) of the first. */
  appendMany(entries: TimerEntry[]): number {
    const first = this.length + 1;
    let seg = this.segments[this.segments.length - 1];
    if (seg.count >= this.entriesPerFile) seg = this.roll(first);
    const buf = new Uint8Array(entries.length * TIMER_ENTRY_SIZE);
    const v = new DataView(buf.buffer);
    // u64 fields as two u32s (the same big-endian bytes): a BigInt per field would be an
    // allocation per field per timer.
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const at = i * TIMER_ENTRY_SIZE;
      setU64(v, at, e.commitLogOffset);
      v.setUint32(at + 8, (e.size & ~DELIVERED) >>> 0);
      setU64(v, at + 12, e.deliverAt);
      setU64(v, at + 20, e.prev);
    }
    seg.file.write(buf, seg.count * TIMER_ENTRY_SIZE);
    seg.count += entries.length;
    this.dirty.add(seg);
    return first;
  }

  /** The entry a link points at, or null for 0, a link past the end or one retention deleted. */
  read(link: number): TimerEntry | null {
    const seg = this.segmentOf(link);
    if (!seg || seg.file.read(this.buf, (link - seg.first) * TIMER_ENTRY_SIZE) < TIMER_ENTRY_SIZE) return null;
    const v = this.view;
    const size = v.getUint32(8);
    const e: TimerEntry = {
      commitLogOffset: getU64(v, 0),
      size: (size & ~DELIVERED) >>> 0,
      deliverAt: getU64(v, 12),
      prev: getU64(v, 20),
    };
    if (size & DELIVERED) e.delivered = true;
    return e;
  }

  /** Links below this are all delivered (firstPending's cursor). */
  private lowWater: number;

  /**
   * The oldest entry not yet delivered, or null. Entries are appended in CommitLog order, so its
   * record is the oldest a pending timer needs (retention keeps it). Amortised: the scan starts
   * where the last one stopped.
   */
  firstPending(): TimerEntry | null {
    const end = this.length;
    for (; this.lowWater <= end; this.lowWater++) {
      const e = this.read(this.lowWater);
      if (e && !e.delivered) return e;
    }
    return null;
  }

  /**
   * Retention: deletes the segments whose every entry is delivered (never the one written to);
   * returns the bytes freed.
   */
  dropDelivered(): number {
    this.firstPending();
    let freed = 0;
    while (this.segments.length > 1 && this.segments[0].first + this.segments[0].count <= this.lowWater) {
      const seg = this.segments.shift()!;
      seg.file.close();
      this.dirty.delete(seg);
      this.files.remove(`${this.dir}/${name(seg.first)}`);
      freed += seg.count * TIMER_ENTRY_SIZE;
    }
    return freed;
  }

  /** Marks an entry's message as re-put, so it is not delivered again after a restart. */
  markDelivered(link: number, size: number): void {
    const seg = this.segmentOf(link);
    if (!seg) return;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, (size | DELIVERED) >>> 0);
    seg.file.write(b, (link - seg.first) * TIMER_ENTRY_SIZE + 8);
    this.dirty.add(seg);
  }

  async sync(): Promise<void> {
    const dirty = [...this.dirty];
    this.dirty.clear();
    try {
      await Promise.all(dirty.map((s) => s.file.sync()));
    } catch (e) {
      for (const s of dirty) if (this.segments.includes(s)) this.dirty.add(s);
      throw e;
    }
  }

  close(): void {
    for (const s of this.segments) s.file.close();
  }

  private roll(first: number): Segment {
    const seg = { first, file: this.files.open(`${this.dir}/${name(first)}`), count: 0 };
    this.segments.push(seg);
    return seg;
  }

  /** The segment holding `link` (the last one, mostly), or undefined. */
  private segmentOf(link: number): Segment | undefined {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = segs[mid];
      if (link < s.first) hi = mid - 1;
      else if (link >= s.first + s.count) lo = mid + 1;
      else return s;
    }
    return undefined;
  }
}

function name(first: number): string {
  return String(first).padStart(20, "0");
}
