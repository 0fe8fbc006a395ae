// A replica's diverged tail, dropped while its store is closed: the CommitLog cut at a record
// boundary, and everything kept beside it that could name a record past the cut made harmless.
// Consume queues, the index and the checkpoint need nothing here: the next open trims queues to
// the log, reopens index files the cut went through, and rewrites a checkpoint past the end.
import type { Files } from "../platform/platform.ts";
import { truncateLogFiles } from "./commit-log.ts";
import { TimerStore } from "./timer-wheel.ts";

export interface TruncateOptions {
  dir: string;
  segmentSize: number;
  /** The timer's wheel geometry (--timer-max-delay): opening it with another would remake it. */
  timerMaxDelayMs: number;
}

/** Cuts the store in `dir` at CommitLog offset `offset`; returns what it removed. */
export function truncateStore(files: Files, o: TruncateOptions, offset: number): { snapshots: number; timers: number } {
  const dir = o.dir.replace(/\/+$/, "");
  truncateLogFiles(files, `${dir}/commitlog`, o.segmentSize, offset);
  // A snapshot taken past the cut reflects records that are gone; once the log grows past its
  // offset again it would be taken for the new history's.
  let snapshots = 0;
  for (const name of files.list(`${dir}/snapshots`)) {
    const m = /^(\d{20})\.cbor$/.exec(name);
    if (m && Number(m[1]) > offset) {
      files.remove(`${dir}/snapshots/${name}`);
      snapshots++;
    }
  }
  // Timer entries name records by offset: those past the cut would fire whatever the new history
  // puts there. The log is in CommitLog order, so they are its last entries; they are marked
  // delivered (never fired), and the start relinks the timer topic past what the queue keeps.
  let timers = 0;
  if (files.stat(`${dir}/timer/wheel`)) {
    const t = new TimerStore(files, `${dir}/timer`, o.timerMaxDelayMs);
    try {
      for (let link = t.log.length; link >= 1; link--) {
        const e = t.log.read(link);
        if (!e || e.commitLogOffset < offset) break;
        if (!e.delivered) {
          t.log.markDelivered(link, e.size);
          timers++;
        }
      }
    } finally {
      t.close();
    }
  }
  return { snapshots, timers };
}
