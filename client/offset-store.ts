// Where a broadcasting consumer keeps its progress. In broadcasting every member reads every
// message, so each member's offsets are its own and stay with the client (RocketMQ's
// LocalFileOffsetStore), not on the broker. A clustering consumer commits to the broker instead.
// A file-backed store is a few lines on any runtime: implement OffsetStore over your storage.
import type { AllocatableQueue } from "./allocate.ts";

export interface StoredOffset extends AllocatableQueue {
  /** The next offset to consume. */
  offset: number;
}

export interface OffsetStore {
  /** The recorded offset of a queue for a group; undefined (or a negative number) when there is none. */
  read(group: string, queue: AllocatableQueue): number | undefined | Promise<number | undefined>;
  /** Records offsets of a group; called every persistOffsetIntervalMs, when a queue is given up, and at shutdown. */
  persist(group: string, offsets: StoredOffset[]): void | Promise<void>;
}

const key = (q: AllocatableQueue) => `${q.broker}/${q.topic}/${q.queueId}`;

/** Offsets in memory: the default, lost with the process (RocketMQ's broadcasting then starts over per consumeFrom). */
export class MemoryOffsetStore implements OffsetStore {
  private readonly groups = new Map<string, Map<string, number>>();

  read(group: string, queue: AllocatableQueue): number | undefined {
    return this.groups.get(group)?.get(key(queue));
  }

  persist(group: string, offsets: StoredOffset[]): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    for (const o of offsets) g.set(key(o), o.offset);
  }
}

/** The part of the Web Storage API the store uses (window.localStorage satisfies it). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Offsets in a browser's localStorage (or any Web Storage), one JSON entry per group under
 * `<prefix><group>`, so a reloaded page resumes where it stopped.
 */
export class LocalStorageOffsetStore implements OffsetStore {
  private readonly storage: StorageLike;

  constructor(storage?: StorageLike, private readonly prefix = "actormq:offsets:") {
    const s = storage ?? (globalThis as { localStorage?: StorageLike }).localStorage;
    if (!s) throw new Error("LocalStorageOffsetStore: this runtime has no localStorage; pass a Storage");
    this.storage = s;
  }

  read(group: string, queue: AllocatableQueue): number | undefined {
    const v = this.load(group)[key(queue)];
    return typeof v === "number" ? v : undefined;
  }

  persist(group: string, offsets: StoredOffset[]): void {
    const all = this.load(group);
    for (const o of offsets) all[key(o)] = o.offset;
    this.storage.setItem(this.prefix + group, JSON.stringify(all));
  }

  private load(group: string): Record<string, number> {
    try {
      const v = JSON.parse(this.storage.getItem(this.prefix + group) ?? "{}");
      return v !== null && typeof v === "object" ? v : {};
    } catch {
      return {}; // unreadable: start over, as a missing entry would
    }
  }
}
