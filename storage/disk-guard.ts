// The disk under the data directory: how full it is, and whether writes are refused. Above the
// warning ratio the broker logs and exports a warning; above the full ratio, or once a write
// failed with ENOSPC / EDQUOT, it refuses writes (DISK_FULL) while reads, pulls and admin go on.
// Refusal ends by itself: a ratio back below the full ratio, or, after an ENOSPC, the next write
// let through a short while later succeeding (the space may come back with no ratio to show it:
// a quota, another process's files deleted).
import { getLogger } from "@logtape/logtape";
import type { Clock, Files } from "../platform/platform.ts";

const log = getLogger(["actormq", "disk"]);

export interface DiskGuardOptions {
  /** Percent of the disk used above which a warning is logged and exported. */
  warningRatio: number;
  /** Percent above which writes are refused. */
  fullRatio: number;
  /** After a failed write (ENOSPC), how long before a write is tried again (ms). */
  retryAfterMs?: number;
}

export interface DiskState {
  /** Percent of the disk used at the last check; -1 when the platform cannot tell. */
  usedRatio: number;
  free: number;
  total: number;
  warning: boolean;
  /** Why writes are refused now, or null. */
  refusing: string | null;
}

/** Is this a file system's "no space" error (Node's code, or Deno's class name)? */
export function isNoSpace(e: unknown): boolean {
  const err = e as { code?: string; name?: string; message?: string } | null;
  if (!err) return false;
  if (err.code === "ENOSPC" || err.code === "EDQUOT") return true;
  // Deno: no named class for ENOSPC; the OS message says it.
  return /No space left on device|Disk quota exceeded|os error 28|os error 122/i.test(err.message ?? "");
}

export class DiskGuard {
  private usedRatio = -1;
  private free = 0;
  private total = 0;
  private warned = false;
  private byRatio = false;
  private noSpaceSince = 0;
  private noSpaceError = "";

  constructor(private readonly files: Files, private readonly clock: Clock, private readonly dir: string, private readonly options: DiskGuardOptions) {}

  /** Reads the disk's usage now (statfs); cheap enough to run every second. */
  check(): DiskState {
    const u = this.files.diskUsage(this.dir);
    if (u && u.total > 0) {
      this.free = u.free;
      this.total = u.total;
      this.usedRatio = Math.round(((u.total - u.free) / u.total) * 1000) / 10;
      const warning = this.usedRatio >= this.options.warningRatio;
      if (warning && !this.warned) log.warn("disk of {dir} is {ratio}% used (--disk-warning-ratio {warn}%): {free} bytes free", { dir: this.dir, ratio: this.usedRatio, warn: this.options.warningRatio, free: u.free });
      this.warned = warning;
      const full = this.usedRatio >= this.options.fullRatio;
      if (full !== this.byRatio) {
        if (full) log.error("DISK_FULL: disk of {dir} is {ratio}% used (--disk-full-ratio {full}%): refusing writes until space is freed", { dir: this.dir, ratio: this.usedRatio, full: this.options.fullRatio });
        else log.info("disk of {dir} is {ratio}% used, below --disk-full-ratio {full}%: accepting writes again", { dir: this.dir, ratio: this.usedRatio, full: this.options.fullRatio });
        this.byRatio = full;
      }
    }
    return this.state();
  }

  state(): DiskState {
    return { usedRatio: this.usedRatio, free: this.free, total: this.total, warning: this.warned, refusing: this.refusing() };
  }

  /** Why writes are refused now, or null. After an ENOSPC, a write is let through again after retryAfterMs. */
  refusing(): string | null {
    if (this.byRatio) return `the disk is ${this.usedRatio}% used (--disk-full-ratio ${this.options.fullRatio}%)`;
    if (this.noSpaceSince && this.clock.now() - this.noSpaceSince < (this.options.retryAfterMs ?? 1000)) return `no space left on the disk (${this.noSpaceError})`;
    return null;
  }

  /** Whether the last write failed for lack of space (health says so until a write succeeds). */
  get outOfSpace(): boolean {
    return this.noSpaceSince > 0;
  }

  /** A write failed with ENOSPC / EDQUOT. */
  noSpace(e: unknown): void {
    if (!this.noSpaceSince) log.error("DISK_FULL: a write to {dir} failed ({error}): refusing writes until space is freed", { dir: this.dir, error: (e as Error).message });
    this.noSpaceSince = this.clock.now();
    this.noSpaceError = (e as { code?: string }).code ?? "ENOSPC";
  }

  /** A write succeeded: space is there again. */
  wrote(): void {
    if (!this.noSpaceSince) return;
    this.noSpaceSince = 0;
    log.info("a write to {dir} succeeded again: accepting writes", { dir: this.dir });
  }
}
