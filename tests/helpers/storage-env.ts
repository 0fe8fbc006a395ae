// Real files in a real temp directory for storage tests, on whichever runtime runs them, plus
// small tools: a wall clock, a directory copy (crash images), and a Files wrapper that counts
// fsyncs on the real handles.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { denoFiles } from "../../platform/deno/files.ts";
import { nodeFiles } from "../../platform/node/files.ts";
import type { Clock, FileHandle, Files } from "../../platform/platform.ts";
import { encode } from "../../protocol/mod.ts";
import { tagsCode } from "../../protocol/mod.ts";
import { type AppendItem, MessageStore, type RecoveryProgress, type StoreConfig } from "../../storage/message-store.ts";

// deno-lint-ignore no-explicit-any
const Deno_ = (globalThis as any).Deno;

export const files: Files = Deno_ ? denoFiles : nodeFiles;

export const clock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface TempDir {
  path: string;
  remove(): void;
}

export function tempDir(prefix = "actormq-storage-"): TempDir {
  const path: string = Deno_ ? Deno_.makeTempDirSync({ prefix }) : mkdtempSync(`${tmpdir()}/${prefix}`);
  return { path, remove: () => files.remove(path, { recursive: true }) };
}

/** Copies a directory tree through the Files interface: a crash image of a live store. */
export function copyDir(from: string, to: string): void {
  files.mkdir(to);
  for (const name of files.list(from)) {
    const src = `${from}/${name}`;
    const st = files.stat(src);
    if (!st) continue;
    if (st.isDirectory) copyDir(src, `${to}/${name}`);
    else {
      const data = files.readFile(src);
      if (!data) continue;
      const h = files.open(`${to}/${name}`);
      h.write(data, 0);
      h.truncate(data.length);
      h.close();
    }
  }
}

/** Wraps the real Files so every fsync of a path matching `filter` is counted. */
export function countingFiles(filter: (path: string) => boolean): { files: Files; syncs: () => number } {
  let count = 0;
  const wrapped: Files = {
    ...files,
    open(path, options) {
      const h = files.open(path, options);
      if (!filter(path)) return h;
      const counted: FileHandle = {
        read: (b, p) => h.read(b, p),
        write: (b, p) => h.write(b, p),
        sync: () => {
          count++;
          return h.sync();
        },
        truncate: (n) => h.truncate(n),
        size: () => h.size(),
        close: () => h.close(),
      };
      return counted;
    },
  };
  return { files: wrapped, syncs: () => count };
}

let seq = 0;

/** An AppendItem the way the broker builds one: the CBOR message map plus its routing. */
export function item(topic: string, queueId: number, opts: { body?: string | Uint8Array; tags?: string; keys?: string[]; id?: string } = {}): AppendItem {
  const id = opts.id ?? `id-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
  const msg: Record<string, unknown> = { topic, body: opts.body ?? "x", id, born: 1 };
  if (opts.tags !== undefined) msg.tags = opts.tags;
  if (opts.keys !== undefined) msg.keys = opts.keys;
  return { topic, queueId, bytes: encode(msg), tagsCode: tagsCode(opts.tags), keys: opts.keys, msgId: id };
}

/** A body of exactly n bytes (deterministic from seed, so reads can be checked). */
export function bodyOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * Temp dirs and open stores of one test, all cleaned up in `finally`: a failed assertion must
 * not leave a store's flush timer holding the process open.
 */
export class Sandbox {
  private stores: MessageStore[] = [];
  private dirs: TempDir[] = [];

  dir(): string {
    const d = tempDir();
    this.dirs.push(d);
    return d.path;
  }

  open(dir: string, config: Omit<StoreConfig, "dir">, options: { files?: Files; clock?: Clock; onProgress?: RecoveryProgress } = {}): MessageStore {
    const s = MessageStore.open(options.files ?? files, options.clock ?? clock, { dir, ...config }, options.onProgress);
    this.stores.push(s);
    return s;
  }

  async cleanup(): Promise<void> {
    for (const s of this.stores) await s.close().catch(() => {});
    for (const d of this.dirs) d.remove();
  }
}

/**
 * The real files without fsync: for loops that reopen a store hundreds of times, where what is
 * tested is recovery from the bytes in the files, not their journey to the platter.
 */
export const noSyncFiles: Files = {
  ...files,
  open(path, options) {
    const h = files.open(path, options);
    return {
      read: (b, p) => h.read(b, p),
      write: (b, p) => h.write(b, p),
      sync: () => Promise.resolve(),
      truncate: (n) => h.truncate(n),
      size: () => h.size(),
      close: () => h.close(),
    };
  },
  writeFileAtomic(path, data) {
    const h = files.open(`${path}.tmp`);
    h.truncate(0);
    h.write(data, 0);
    h.close();
    files.rename(`${path}.tmp`, path);
    return Promise.resolve();
  },
};
