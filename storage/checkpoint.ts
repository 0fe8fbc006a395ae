// The checkpoint: how far each structure is known durable, so recovery verifies and rebuilds
// only what lies past it. Written whole (temporary file, fsync, rename) after the data it
// describes has been fsynced; a missing or unreadable checkpoint only makes recovery longer.
import { decode, encode } from "../protocol/mod.ts";
import type { Files } from "../platform/platform.ts";
import type { IndexCheckpoint } from "./key-index.ts";

export interface Checkpoint {
  version: 1;
  /** Every CommitLog byte below this was fsynced. */
  commitLogFlushed: number;
  /** Every record below this CommitLog offset has its ConsumeQueue entry durable. */
  dispatched: number;
  /** Every record below this CommitLog offset has its index entries durable. */
  indexFlushed: number;
  /** The index file that was active and how many of its entries were durable. */
  index: { file: string | null; entries: number };
  /** "<topic>/<queueId>" -> max logical offset with a durable entry; tells recovery when files went missing. */
  queues: Record<string, number>;
  /** The newest store timestamp below commitLogFlushed, so store times never go backwards across a restart. */
  storeTimestamp?: number;
}

export function readCheckpoint(files: Files, path: string): Checkpoint | null {
  const bytes = files.readFile(path);
  if (!bytes) return null;
  try {
    const c = decode(bytes) as Checkpoint;
    const nums = [c?.commitLogFlushed, c?.dispatched, c?.indexFlushed, c?.index?.entries];
    if (c?.version !== 1 || nums.some((n) => typeof n !== "number" || !(n >= 0)) || typeof c.queues !== "object" || c.queues === null) return null;
    return c;
  } catch {
    return null; // damaged: recover as if there were none
  }
}

export function writeCheckpoint(files: Files, path: string, c: Checkpoint): Promise<void> {
  return files.writeFileAtomic(path, encode(c));
}

/** The index part of a checkpoint, in the shape KeyIndex.recover takes. */
export function indexCheckpointOf(c: Checkpoint | null): IndexCheckpoint | null {
  return c ? { file: c.index.file, entries: c.index.entries, coverage: c.indexFlushed } : null;
}
