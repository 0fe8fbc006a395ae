// Snapshots of the actor tree: snapshots/<20-digit CommitLog offset>.cbor, each written to a
// temporary file, fsynced and renamed, so a crash leaves either the old set or the new one.
import { getLogger } from "@logtape/logtape";
import { decode, encode } from "../protocol/codec.ts";
import type { Files } from "../platform/platform.ts";

const log = getLogger(["actormq", "snapshot"]);

export interface Snapshot {
  version: 1;
  /** Every record below this CommitLog offset is reflected in `root`. */
  commitLogOffset: number;
  createdAt: number;
  /** The root actor's persisted snapshot (XState), children included. */
  root: unknown;
}

const NAME = /^(\d{20})\.cbor$/;

/** Why a snapshot's root cannot be restored (null: it can, and it may be made ready in place). */
export type SnapshotVet = (root: unknown) => string | null;

export class SnapshotStore {
  /** Snapshots set aside because they could not be used (damaged or of the wrong shape). */
  setAside = 0;

  constructor(private files: Files, private dir: string, private keep = 3, private vet: SnapshotVet = () => null) {
    files.mkdir(dir);
  }

  async write(snapshot: Snapshot): Promise<void> {
    const name = `${String(snapshot.commitLogOffset).padStart(20, "0")}.cbor`;
    await this.files.writeFileAtomic(`${this.dir}/${name}`, encode(snapshot));
    const all = this.names();
    for (const old of all.slice(0, Math.max(0, all.length - this.keep))) this.files.remove(`${this.dir}/${old}`);
  }

  /**
   * The newest snapshot that decodes, has the right shape and passes the vet. One that does
   * not (a torn disk, a bad copy, a wrong shape) is renamed aside (`<name>.bad`), logged, and
   * the next older one is tried.
   */
  readNewest(maxOffset = Number.MAX_SAFE_INTEGER): Snapshot | null {
    for (const name of this.names().reverse()) {
      if (Number(NAME.exec(name)![1]) > maxOffset) continue; // reflects records the CommitLog lost
      const path = `${this.dir}/${name}`;
      const bytes = this.files.readFile(path);
      if (!bytes) continue;
      let problem: string | null;
      let s: Snapshot | undefined;
      try {
        s = decode(bytes) as Snapshot;
        problem = s?.version !== 1 || typeof s.commitLogOffset !== "number" || typeof s.createdAt !== "number" ? "not a version 1 snapshot" : this.vet(s.root);
      } catch (e) {
        problem = `not CBOR (${(e as Error).message})`;
      }
      if (!problem) return s!;
      this.files.rename(path, `${path}.bad`);
      this.setAside++;
      log.error("snapshot {name} cannot be restored ({problem}): set aside as {name}.bad; trying an older one, or storage alone", { name, problem });
    }
    return null;
  }

  /** The CommitLog offset of the oldest snapshot kept (what a restore from it replays from), or null. */
  oldestOffset(): number | null {
    const first = this.names()[0];
    return first ? Number(NAME.exec(first)![1]) : null;
  }

  private names(): string[] {
    return this.files.list(this.dir).filter((n) => NAME.test(n));
  }
}
