// The timing wheel (RocketMQ 5's TimerWheel): one 12-byte slot per second over the maximum
// delay (7 days = 604,800 slots by default), slot = floor(deliverAt / 1000) mod slots, each the
// head link of its list in the TimerLog (8) and how many entries were linked into it (4). So
// pending timers live on disk; memory holds only the second or two about to fire.
//
// A 24-byte header comes first: the slot count (so a wheel is never read with another size),
// the cursor (the last second whose timers were all delivered) and how many records of the
// timer topic are linked in (its ConsumeQueue offset), so a start can link what the wheel
// missed. Everything is a positional write into the page cache, which survives a SIGKILL.
// The slots are also kept in memory (7 MB for 7 days, whatever the number of timers), so
// linking a batch reads no slot from disk and writes the touched ones as one range when close.
//
// A slot's list is not cleared after delivery: it is shared by second s, s + slots, s + 2 slots
// ..., newest entry first. Walking second s takes the entries due in s, skips later rotations'
// and stops at the first entry of an earlier one. That needs every entry of s to be linked
// before any of s - slots, which holds as long as the wheel spans more than the maximum delay
// (TimerWheel.slotsFor adds a margin) and the cursor keeps up with the clock.
import type { FileHandle, Files } from "../platform/platform.ts";
import { getU64, setU64 } from "./record.ts";
import { type TimerEntry, TimerLog } from "./timer-log.ts";

export const SLOT_SIZE = 12;
const HEADER = 24;
/** Touched slots this close together are written as one range (a batch's seconds mostly are). */
const RANGE_WRITE = 64 * 1024;

export interface Slot {
  head: number;
  count: number;
}

export class TimerWheel {
  private file: FileHandle;
  /** The slots as on disk. */
  private mirror: Uint8Array;
  private view: DataView;
  private header = new Uint8Array(HEADER);
  private headerView = new DataView(this.header.buffer);
  /** The last second fully delivered; -1 when unknown. */
  private cursorSecond: number;
  private linkedCount: number;
  /** Whether the slots were (re)made empty at open: new, or made for another maximum delay. */
  readonly fresh: boolean;

  /** Slots for a maximum delay: one per second, plus a minute of margin (see above). */
  static slotsFor(maxDelayMs: number): number {
    return Math.ceil(maxDelayMs / 1000) + 60;
  }

  constructor(files: Files, path: string, readonly slots: number) {
    this.file = files.open(path);
    const readable = this.file.size() >= HEADER && this.file.read(this.header, 0) === HEADER;
    this.cursorSecond = readable ? Number(this.headerView.getBigInt64(8)) : -1;
    this.linkedCount = readable ? Number(this.headerView.getBigUint64(16)) : 0;
    this.fresh = !readable || this.headerView.getUint32(0) !== slots;
    if (this.fresh) {
      // New, or made for another maximum delay: empty slots (the old links are meaningless now),
      // nothing linked; the cursor is kept, so what it passed is known delivered.
      this.file.truncate(0);
      this.file.truncate(HEADER + slots * SLOT_SIZE);
      this.linkedCount = 0;
      this.headerView.setUint32(0, slots);
      this.headerView.setBigInt64(8, BigInt(this.cursorSecond));
      this.headerView.setBigUint64(16, 0n);
      this.file.write(this.header, 0);
    }
    this.mirror = new Uint8Array(slots * SLOT_SIZE);
    this.view = new DataView(this.mirror.buffer);
    if (!this.fresh) this.file.read(this.mirror, HEADER);
  }

  slotOf(second: number): number {
    return second % this.slots;
  }

  get(second: number): Slot {
    const at = this.slotOf(second) * SLOT_SIZE;
    return { head: getU64(this.view, at), count: this.view.getUint32(at + 8) };
  }

  set(second: number, slot: Slot): void {
    this.setMany([[second, slot]]);
  }

  /** Sets slots: one write when they lie close together, else one per slot. */
  setMany(slots: Iterable<[second: number, slot: Slot]>): void {
    let lo = Infinity;
    let hi = -1;
    const touched: number[] = [];
    for (const [second, slot] of slots) {
      const at = this.slotOf(second) * SLOT_SIZE;
      setU64(this.view, at, slot.head);
      this.view.setUint32(at + 8, slot.count >>> 0);
      touched.push(at);
      lo = Math.min(lo, at);
      hi = Math.max(hi, at + SLOT_SIZE);
    }
    if (hi < 0) return;
    if (hi - lo <= RANGE_WRITE) return this.file.write(this.mirror.subarray(lo, hi), HEADER + lo);
    for (const at of touched) this.file.write(this.mirror.subarray(at, at + SLOT_SIZE), HEADER + at);
  }

  get cursor(): number {
    return this.cursorSecond;
  }

  set cursor(second: number) {
    this.cursorSecond = second;
    this.headerView.setBigInt64(8, BigInt(second));
    this.file.write(this.header.subarray(8, 16), 8);
  }

  /** Records of the timer topic (its ConsumeQueue offset) linked into the wheel. */
  get linked(): number {
    return this.linkedCount;
  }

  set linked(n: number) {
    this.linkedCount = n;
    setU64(this.headerView, 16, n);
    this.file.write(this.header.subarray(16, 24), 16);
  }

  sync(): Promise<void> {
    return this.file.sync();
  }

  close(): void {
    this.file.close();
  }
}

/** A TimerLog and its TimerWheel: schedule an entry, walk one second's entries. */
export class TimerStore {
  readonly log: TimerLog;
  readonly wheel: TimerWheel;

  constructor(files: Files, dir: string, maxDelayMs: number) {
    files.mkdir(dir);
    this.wheel = new TimerWheel(files, `${dir}/wheel`, TimerWheel.slotsFor(maxDelayMs));
    // A wheel started afresh cannot use an old log's links: start the log afresh too.
    if (this.wheel.fresh) files.remove(`${dir}/log`, { recursive: true });
    this.log = new TimerLog(files, `${dir}/log`);
  }

  /**
   * Links entries into the slots of their seconds: all log entries in one write first, then each
   * touched slot once (a crash between the two leaves entries no slot points at, which the start
   * relinks from the CommitLog). Returns each entry's link, in order.
   */
  addMany(items: { commitLogOffset: number; size: number; deliverAt: number }[]): number[] {
    // Keyed by slot, not second: two seconds a rotation apart share a slot and its list.
    const touched = new Map<number, [second: number, slot: Slot]>();
    const entries: TimerEntry[] = [];
    const links: number[] = [];
    const first = this.log.length + 1;
    for (const { commitLogOffset, size, deliverAt } of items) {
      const second = Math.floor(deliverAt / 1000);
      const key = this.wheel.slotOf(second);
      const slot = touched.get(key)?.[1] ?? this.wheel.get(second);
      const link = first + entries.length;
      entries.push({ commitLogOffset, size, deliverAt, prev: slot.head });
      touched.set(key, [second, { head: link, count: slot.count + 1 }]);
      links.push(link);
    }
    if (entries.length === 0) return links;
    this.log.appendMany(entries);
    this.wheel.setMany(touched.values());
    return links;
  }

  /** The entries due in `second`, newest first, each with its link. */
  entriesOf(second: number): (TimerEntry & { link: number })[] {
    const out: (TimerEntry & { link: number })[] = [];
    let link = this.wheel.get(second).head;
    while (link > 0) {
      const e = this.log.read(link);
      if (!e) break;
      const s = Math.floor(e.deliverAt / 1000);
      if (s < second) break; // an earlier rotation: everything behind it is older still
      if (s === second) out.push({ ...e, link });
      link = e.prev;
    }
    return out;
  }

  sync(): Promise<void> {
    return Promise.all([this.log.sync(), this.wheel.sync()]).then(() => {});
  }

  close(): void {
    this.log.close();
    this.wheel.close();
  }
}
