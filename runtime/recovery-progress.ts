// Start-up progress of CommitLog recovery: "bytes verified of total", at most once a second
// while it runs (a long log after a crash takes a while to CRC-check), then one final line.
import type { Clock } from "./platform.ts";

export const PROGRESS_EVERY_MS = 1000;

export function recoveryProgress(log: (line: string) => void, clock: Clock, everyMs = PROGRESS_EVERY_MS): (verified: number, total: number) => void {
  const started = clock.now();
  let last = started;
  let done = false;
  return (verified, total) => {
    if (done) return;
    const now = clock.now();
    if (verified >= total) {
      done = true;
      log(`CommitLog recovery: verified ${bytes(total)} of ${bytes(total)} past the checkpoint in ${now - started} ms`);
    } else if (now - last >= everyMs) {
      last = now;
      log(`CommitLog recovery: verified ${bytes(verified)} of ${bytes(total)} (${Math.floor((verified / total) * 100)}%)`);
    }
  };
}

function bytes(n: number): string {
  return n < 1024 * 1024 ? `${n} bytes` : `${(n / 1024 / 1024).toFixed(1)} MiB (${n} bytes)`;
}
