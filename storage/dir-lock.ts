// One owner per data directory: `<dir>/lock`, created with O_EXCL before anything in the
// directory is read, holding the owner's pid, its process start mark and when it took the lock.
// A second broker finds it and stops at once, naming the holder. A lock whose process is gone
// (a SIGKILL, a crash, a power cut) is stale: the next broker takes it over. The start mark
// (on Linux, the process start time from /proc) tells a live holder from a new process that
// reuses the pid. Node has no flock, so the file itself is the lock, on both runtimes.
import type { Files } from "../platform/platform.ts";

export const LOCK_FILE = "lock";

export interface LockHolder {
  pid: number;
  /** The process's start mark when it took the lock; "" where the platform has none. */
  start: string;
  /** ms since the epoch. */
  since: number;
  /** What the holder says about itself (broker name, address). */
  owner?: string;
}

export interface ProcessProbe {
  pid: number;
  /** A mark of the process's start (the same for its whole life), null if no such process runs. */
  startMark(pid: number): string | null;
}

/** The data directory is someone else's: the message names the holder. */
export class DirLockedError extends Error {
  override name = "DirLockedError";
  constructor(readonly dir: string, readonly holder: LockHolder) {
    super(`data directory ${dir} is in use by pid ${holder.pid}${holder.owner ? ` (${holder.owner})` : ""} since ${new Date(holder.since).toISOString()}; stop it first, or use another --data-dir`);
  }
}

/** Lock files this process holds: a second store in the same process is refused too. */
const heldHere = new Set<string>();

export class DirLock {
  private constructor(private readonly files: Files, readonly path: string, readonly holder: LockHolder) {}

  /**
   * Takes the directory's lock or throws DirLockedError. `tookOver` hears of a stale lock that
   * was replaced (its holder is gone).
   */
  static acquire(files: Files, dir: string, probe: ProcessProbe, now: number, owner?: string, tookOver?: (stale: LockHolder) => void): DirLock {
    files.mkdir(dir);
    const path = `${dir}/${LOCK_FILE}`;
    const me: LockHolder = { pid: probe.pid, start: probe.startMark(probe.pid) ?? "", since: now, ...(owner ? { owner } : {}) };
    const data = new TextEncoder().encode(JSON.stringify(me) + "\n");
    for (let attempt = 0; attempt < 5; attempt++) {
      if (files.createExclusive(path, data)) return DirLock.held(files, path, me);
      const raw = files.readFile(path);
      const holder = raw ? parse(raw) : null;
      // This process's own lock: held by a store still open here, or left by one that was not
      // closed (or copied along with a directory) and free to take.
      const here = holder !== null && holder.pid === me.pid && holder.start === me.start;
      if (here && heldHere.has(path)) throw new DirLockedError(dir, holder);
      if (holder && !here && alive(holder, probe)) throw new DirLockedError(dir, holder);
      // Stale (its process is gone) or unreadable (a crash while writing it): take it over, but
      // only if it is still the file we judged, not one a faster broker just created.
      const again = files.readFile(path);
      if (again && raw && !sameBytes(again, raw)) continue;
      files.remove(path);
      if (holder) tookOver?.(holder);
    }
    const holder = parse(files.readFile(path) ?? new Uint8Array()) ?? { pid: 0, start: "", since: 0 };
    throw new DirLockedError(dir, holder);
  }

  private static held(files: Files, path: string, me: LockHolder): DirLock {
    heldHere.add(path);
    return new DirLock(files, path, me);
  }

  /** Gives the directory up (at shutdown); only if the file is still ours. */
  release(): void {
    heldHere.delete(this.path);
    const raw = this.files.readFile(this.path);
    const holder = raw ? parse(raw) : null;
    if (holder && holder.pid === this.holder.pid && holder.since === this.holder.since) this.files.remove(this.path);
  }
}

function alive(h: LockHolder, probe: ProcessProbe): boolean {
  const start = probe.startMark(h.pid);
  if (start === null) return false;
  // A process with that pid runs: it is the holder unless its start differs (the pid was reused).
  return h.start === "" || start === "" || start === h.start;
}

function parse(raw: Uint8Array): LockHolder | null {
  try {
    const h = JSON.parse(new TextDecoder().decode(raw)) as LockHolder;
    return Number.isSafeInteger(h?.pid) && h.pid > 0 && typeof h.start === "string" && typeof h.since === "number" ? h : null;
  } catch {
    return null;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
