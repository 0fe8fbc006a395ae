// Snapshots of the actor tree: snapshots/<20-digit CommitLog offset>.cbor, each written to a
// temporary file, fsynced and renamed, so a crash leaves either the old set or the new one.
import { decode, encode } from "../protocol/codec.ts";
import type { Files } from "../platform/platform.ts";

export interface Snapshot {
  version: 1;
  /** Every record below this CommitLog offset is reflected in `root`. */
  commitLogOffset: number;
  createdAt: number;
  /** The root actor's persisted snapshot (XState), children included. */
  root: unknown;
}

const NAME = /^(\d{20})\.cbor$/;

export class SnapshotStore {
  constructor(private files: Files, private dir: string, private keep = 3) {
    files.mkdir(dir);
  }

  async write(snapshot: Snapshot): Promise<void> {
    const name = `${String(snapshot.commitLogOffset).padStart(20, "0")}.cbor`;
    await this.files.writeFileAtomic(`${this.dir}/${name}`, encode(snapshot));
    const all = this.names();
    for (const old of all.slice(0, Math.max(0, all.length - this.keep))) this.files.remove(`${this.dir}/${old}`);
  }

  /** The newest snapshot that decodes, skipping damaged ones (a torn disk, a bad copy). */
  readNewest(maxOffset = Number.MAX_SAFE_INTEGER): Snapshot | null {
    for (const name of this.names().reverse()) {
      if (Number(NAME.exec(name)![1]) > maxOffset) continue; // reflects records the CommitLog lost
      const bytes = this.files.readFile(`${this.dir}/${name}`);
      if (!bytes) continue;
      try {
        const s = decode(bytes) as Snapshot;
        if (s?.version === 1 && typeof s.commitLogOffset === "number" && s.root) return s;
      } catch {
        // damaged: try an older one
      }
    }
    return null;
  }

  private names(): string[] {
    return this.files.list(this.dir).filter((n) => NAME.test(n));
  }
}
