// Start-up progress of storage recovery, per phase: "bytes verified of total" while the
// CommitLog past the checkpoint is CRC-checked, then "bytes re-dispatched of total" while
// consume queues and the index are rebuilt from it (after a crash, or lost queue files). A line
// at most once a second while a phase runs (a long log takes a while), and one when it ends.
import type { RecoveryProgress } from "../storage/message-store.ts";
import type { Clock } from "../platform/platform.ts";

export const PROGRESS_EVERY_MS = 1000;

const VERB = { verify: "verified", dispatch: "re-dispatched to consume queues and the index" } as const;

export function recoveryProgress(log: (line: string) => void, clock: Clock, everyMs = PROGRESS_EVERY_MS): RecoveryProgress {
  const phases = new Map<string, { started: number; last: number; done: boolean }>();
  return (done, total, phase) => {
    const now = clock.now();
    let p = phases.get(phase);
    if (!p) phases.set(phase, (p = { started: now, last: now, done: false }));
    if (p.done) return;
    if (done >= total) {
      p.done = true;
      log(`CommitLog recovery: ${VERB[phase]} ${bytes(total)} of ${bytes(total)} in ${now - p.started} ms`);
    } else if (now - p.last >= everyMs) {
      p.last = now;
      log(`CommitLog recovery: ${VERB[phase]} ${bytes(done)} of ${bytes(total)} (${Math.floor((done / total) * 100)}%)`);
    }
  };
}

function bytes(n: number): string {
  return n < 1024 * 1024 ? `${n} bytes` : `${(n / 1024 / 1024).toFixed(1)} MiB (${n} bytes)`;
}
