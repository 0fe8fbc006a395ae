// The message index behind queryMessage: every record is indexed under "<topic>#<key>" for each
// of its keys and under "#id#<msgId>" for its unique id. Topic names cannot contain "#", so the
// two key spaces never meet, and an id is found whatever topic its message went to (retries,
// dead letters). Index files are named by the CommitLog offset of the first record they index;
// a record's keys never straddle two files, so names are unique and each file covers a
// contiguous CommitLog range.
import type { Files } from "../platform/platform.ts";
import { offsetName } from "./commit-log.ts";
import { type IndexGeometry, IndexFile } from "./index-file.ts";

/** What the checkpoint records about the index: the active file and its durable entries. */
export interface IndexCheckpoint {
  /** Name of the active file at the flush, null when there was none. */
  file: string | null;
  entries: number;
  /** Every record below this CommitLog offset had its entries durable. */
  coverage: number;
}

const NAME = /^\d{20}$/;

export class KeyIndex {
  private list: IndexFile[] = [];
  private active: IndexFile | null = null;
  /** Sealed files still in memory, written out and fsynced by the next flush. */
  private sealedUnwritten: IndexFile[] = [];
  /** Every record below this CommitLog offset is indexed (in memory at least). */
  coverage = 0;

  constructor(
    private readonly files: Files,
    private readonly dir: string,
    private readonly geo: IndexGeometry,
  ) {}

  /**
   * Opens the index files that can be trusted and returns the CommitLog offset from which
   * records must be indexed again. Files newer than the checkpoint, damaged ones and those
   * after them are deleted.
   */
  recover(cp: IndexCheckpoint | null, clMin: number, clEnd: number): number {
    this.files.mkdir(this.dir);
    const names = this.files.list(this.dir).filter((n) => NAME.test(n));
    let coverage = clMin;
    const drop = (from: number) => {
      for (const n of names.slice(from)) this.files.remove(`${this.dir}/${n}`);
    };
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const path = `${this.dir}/${name}`;
      const begin = Number(name);
      const cpName = cp ? cp.file ?? "" : null;
      if (cpName !== null && name > cpName) {
        drop(i); // created after the checkpoint: nothing in it is known durable
        break;
      }
      if (cpName === null && i === names.length - 1) {
        drop(i); // no checkpoint: the newest file may be torn anywhere
        break;
      }
      if (name === cpName) {
        const below = Math.min(cp!.coverage, clEnd);
        const f = begin < below ? IndexFile.loadActive(this.files, path, begin, this.geo, cp!.entries, below) : null;
        if (f && f.count > 0) {
          this.list.push(f);
          this.active = f;
          coverage = Math.max(coverage, below);
        } else {
          f?.close();
          drop(i);
        }
        break;
      }
      const sealed = IndexFile.openSealed(this.files, path, begin, this.geo);
      if (!sealed || begin >= clEnd) {
        sealed?.close();
        drop(i);
        break;
      }
      if (sealed.endOffset > clEnd) {
        // The CommitLog was cut inside this file: it becomes the active one again.
        sealed.close();
        const f = IndexFile.loadActive(this.files, path, begin, this.geo, sealed.count, clEnd);
        if (f && f.count > 0) {
          this.list.push(f);
          this.active = f;
          coverage = clEnd;
          drop(i + 1);
        } else {
          f?.close();
          drop(i);
        }
        break;
      }
      this.list.push(sealed);
      coverage = sealed.endOffset;
    }
    this.coverage = Math.min(Math.max(coverage, clMin), clEnd);
    return this.coverage;
  }

  /** Indexes one record under its keys and id. */
  addRecord(offset: number, size: number, timestamp: number, topic: string, keys: readonly string[] | undefined, msgId: string): void {
    const nKeys = keys ? keys.length : 0;
    const need = Math.min(nKeys + (msgId ? 1 : 0), this.geo.capacity);
    if (need === 0) return;
    let f = this.active;
    if (!f || f.room() < need) f = this.roll(offset, timestamp);
    let added = 0;
    for (let k = 0; k < nKeys && added < need; k++, added++) f.add(hashKey(topic, keys![k]), offset, timestamp);
    if (msgId && added < need) f.add(hashId(msgId), offset, timestamp);
    f.endOffset = offset + size;
  }

  /** Bytes the index holds in memory: slot tables of unsealed files and entries waiting for their file. */
  get memoryBytes(): number {
    let n = 0;
    for (const f of this.list) n += f.memoryBytes;
    return n;
  }

  /** Entries held in memory, not yet written to their file. */
  get pendingEntries(): number {
    let n = 0;
    for (const f of this.list) n += f.pendingEntries;
    return n;
  }

  markCovered(end: number): void {
    if (end > this.coverage) this.coverage = end;
  }

  /** Offsets of records indexed under topic#key, newest first, until visit returns false. */
  lookupKey(topic: string, key: string, visit: (offset: number) => boolean): void {
    this.lookup(hashKey(topic, key), visit);
  }

  lookupId(msgId: string, visit: (offset: number) => boolean): void {
    this.lookup(hashId(msgId), visit);
  }

  private lookup(hash: number, visit: (offset: number) => boolean): void {
    for (let i = this.list.length - 1; i >= 0; i--) if (!this.list[i].lookup(hash, visit)) return;
  }

  /**
   * The synchronous half of a flush: writes every in-memory change into the page cache and
   * returns what the checkpoint may claim once `sync` of the returned files has finished.
   */
  writeOut(): { state: IndexCheckpoint; files: IndexFile[]; sealed: IndexFile[] } {
    const sealed = this.sealedUnwritten;
    this.sealedUnwritten = [];
    for (const f of sealed) f.writeOut();
    const touched = [...sealed];
    if (this.active) {
      this.active.writeOut();
      touched.push(this.active);
    }
    return {
      state: { file: this.active?.name ?? null, entries: this.active?.count ?? 0, coverage: this.coverage },
      files: touched,
      sealed,
    };
  }

  /** The asynchronous half: fsync, then sealed files drop their memory. */
  async sync(written: { files: IndexFile[]; sealed: IndexFile[] }): Promise<void> {
    try {
      for (const f of written.files) await f.sync();
    } catch (e) {
      this.sealedUnwritten.unshift(...written.sealed); // stay in memory; the next flush syncs them again
      throw e;
    }
    for (const f of written.sealed) f.release();
  }

  /**
   * Retention: index files whose records all lie below `clMin` (sealed, and not waiting to be
   * written) are deleted. Returns the bytes freed.
   */
  dropBelow(clMin: number): number {
    let freed = 0;
    while (this.list.length > 1) {
      const f = this.list[0];
      if (f === this.active || this.sealedUnwritten.includes(f) || f.endOffset > clMin) break;
      freed += this.files.stat(f.path)?.size ?? 0;
      f.close();
      this.files.remove(f.path);
      this.list.shift();
    }
    return freed;
  }

  close(): void {
    for (const f of this.list) f.close();
    this.list = [];
    this.active = null;
    this.sealedUnwritten = [];
  }

  private roll(offset: number, timestamp: number): IndexFile {
    if (this.active) this.sealedUnwritten.push(this.active);
    const f = IndexFile.create(this.files, `${this.dir}/${offsetName(offset)}`, offset, timestamp, this.geo);
    this.list.push(f);
    this.active = f;
    return f;
  }
}

/** FNV-1a over UTF-16 code units of `<a>#<b>`, without building the string. */
export function hashKey(topic: string, key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) h = Math.imul(h ^ topic.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 35, 0x01000193); // "#"
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The hash of "#id#<msgId>". */
export function hashId(msgId: string): number {
  return hashKey("#id", msgId);
}
