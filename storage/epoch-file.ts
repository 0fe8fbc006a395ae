// The epoch file (RocketMQ 5's EpochFileCache): which master epoch wrote which part of the
// CommitLog. Each entry says "epoch E started at offset S"; it ends where the next entry starts
// (the last one at the log's end). A broker appends an entry when it becomes master of a new
// epoch, before it accepts a write; a slave copies its master's entries as the bytes they cover
// arrive. Two replicas' logs are the same up to the end of the last epoch both have with the same
// start, so comparing the files finds where a diverged tail begins (consistentOffset).
import { decode, encode } from "../protocol/codec.ts";
import type { Files } from "../platform/platform.ts";

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class EpochFile {
  private list: EpochEntry[];

  private constructor(private readonly files: Files, private readonly path: string) {
    const bytes = files.readFile(path);
    let list: EpochEntry[] = [];
    if (bytes) {
      try {
        const raw = decode(bytes) as unknown;
        if (Array.isArray(raw)) list = raw.filter(isEntry).map(([epoch, startOffset]) => ({ epoch, startOffset }));
      } catch {
        // A damaged file reads as empty: the replica then resynchronises from its master's view.
      }
    }
    this.list = list;
  }

  static open(files: Files, dir: string): EpochFile {
    files.mkdir(dir);
    return new EpochFile(files, `${dir}/epochs`);
  }

  get entries(): readonly EpochEntry[] {
    return this.list;
  }

  get last(): EpochEntry | undefined {
    return this.list[this.list.length - 1];
  }

  /** Records that `epoch` starts at `startOffset`; entries must grow in both. Durable when it resolves. */
  append(epoch: number, startOffset: number): Promise<void> {
    const last = this.last;
    if (last && (epoch <= last.epoch || startOffset < last.startOffset)) {
      if (epoch === last.epoch && startOffset === last.startOffset) return Promise.resolve();
      throw new Error(`epoch ${epoch} at ${startOffset} does not follow epoch ${last.epoch} at ${last.startOffset}`);
    }
    this.list = [...this.list, { epoch, startOffset }];
    return this.save();
  }

  /** Copies the master's entries that start at or below `offset` (the bytes this replica holds). */
  follow(master: readonly EpochEntry[], offset: number): Promise<void> | null {
    const have = new Set(this.list.map((e) => `${e.epoch}@${e.startOffset}`));
    const add = master.filter((e) => e.startOffset <= offset && !have.has(`${e.epoch}@${e.startOffset}`) && e.epoch > (this.last?.epoch ?? 0));
    if (add.length === 0) return null;
    this.list = [...this.list, ...add];
    return this.save();
  }

  /** Forgets the epochs that start past `offset` (the log was cut there). */
  truncate(offset: number): Promise<void> {
    const kept = this.list.filter((e) => e.startOffset <= offset);
    if (kept.length === this.list.length) return Promise.resolve();
    this.list = kept;
    return this.save();
  }

  private save(): Promise<void> {
    return this.files.writeFileAtomic(this.path, encode(this.list.map((e) => [e.epoch, e.startOffset])));
  }
}

function isEntry(e: unknown): e is [number, number] {
  return Array.isArray(e) && e.length === 2 && Number.isSafeInteger(e[0]) && Number.isSafeInteger(e[1]) && e[0] > 0 && e[1] >= 0;
}

/**
 * Where a replica's log stops agreeing with its master's: the end of the newest epoch both files
 * hold with the same start (the smaller of the two ends), or 0 when they share none. A replica
 * with no epochs and no bytes agrees up to 0 trivially.
 */
export function consistentOffset(master: readonly EpochEntry[], masterMax: number, replica: readonly EpochEntry[], replicaMax: number): number {
  for (let i = replica.length - 1; i >= 0; i--) {
    const mine = replica[i];
    const j = master.findIndex((m) => m.epoch === mine.epoch);
    if (j < 0 || master[j].startOffset !== mine.startOffset) continue;
    const myEnd = i + 1 < replica.length ? replica[i + 1].startOffset : replicaMax;
    const theirEnd = j + 1 < master.length ? master[j + 1].startOffset : masterMax;
    return Math.min(myEnd, theirEnd, replicaMax);
  }
  return 0;
}
