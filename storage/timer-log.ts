// The timer log (RocketMQ 5's TimerLog): one fixed 28-byte entry per message scheduled for an
// arbitrary time, appended in scheduling order. An entry points at the message's record in the
// CommitLog (offset 8, size 4), says when it is due (8, ms since the epoch) and links to the
// previous entry of the same wheel slot (8; 0 = none), so a slot's entries form a list on disk
// whose head the wheel keeps. Links are entry numbers plus one, so 0 can mean "none".
//
// Once its message is re-put, an entry is marked delivered (the top bit of its size, one 4-byte
// write): a restart that reloads the second skips it, so a SIGKILL repeats no delivery.
import type { FileHandle, Files } from "../platform/platform.ts";
import { getU64, setU64 } from "./record.ts";

export const TIMER_ENTRY_SIZE = 28;

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

export class TimerLog {
  private file: FileHandle;
  private count: number;
  private buf = new Uint8Array(TIMER_ENTRY_SIZE);
  private view = new DataView(this.buf.buffer);

  constructor(files: Files, path: string) {
    this.file = files.open(path);
    // A torn last entry (a crash mid-write) is dropped: no slot can point at it yet, because the
    // wheel is updated only after the entry is written.
    this.count = Math.floor(this.file.size() / TIMER_ENTRY_SIZE);
  }

  /** Entries written so far. */
  get length(): number {
    return this.count;
  }

  /** Appends entries with one write; returns the link (entry number + 1) of the first. */
  appendMany(entries: TimerEntry[]): number {
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
    this.file.write(buf, this.count * TIMER_ENTRY_SIZE);
    const first = this.count + 1;
    this.count += entries.length;
    return first;
  }

  /** The entry a link points at, or null for 0 or a link past the end. */
  read(link: number): TimerEntry | null {
    if (link <= 0 || link > this.count) return null;
    if (this.file.read(this.buf, (link - 1) * TIMER_ENTRY_SIZE) < TIMER_ENTRY_SIZE) return null;
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
  private lowWater = 1;

  /**
   * The oldest entry not yet delivered, or null. Entries are appended in CommitLog order, so its
   * record is the oldest a pending timer needs (retention keeps it). Amortised: the scan starts
   * where the last one stopped.
   */
  firstPending(): TimerEntry | null {
    for (; this.lowWater <= this.count; this.lowWater++) {
      const e = this.read(this.lowWater);
      if (e && !e.delivered) return e;
    }
    return null;
  }

  /** Marks an entry's message as re-put, so it is not delivered again after a restart. */
  markDelivered(link: number, size: number): void {
    if (link <= 0 || link > this.count) return;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, (size | DELIVERED) >>> 0);
    this.file.write(b, (link - 1) * TIMER_ENTRY_SIZE + 8);
  }

  sync(): Promise<void> {
    return this.file.sync();
  }

  close(): void {
    this.file.close();
  }
}
