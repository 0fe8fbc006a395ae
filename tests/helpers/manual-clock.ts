// A Clock (platform/platform.ts) whose time moves only when a test says: advance(ms) fires every
// timer that falls due on the way, in due order, each with now() at its due time, including
// timers those set.
export function manualClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let seq = 0;
  const next = () => {
    let first: [number, { at: number; fn: () => void }] | undefined;
    for (const e of timers) if (!first || e[1].at < first[1].at) first = e;
    return first;
  };
  return {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => (timers.set(++seq, { at: now + ms, fn }), seq),
    clearTimeout: (h: unknown) => void timers.delete(h as number),
    pending: () => timers.size,
    advance(ms: number) {
      const to = now + ms;
      for (let t = next(); t && t[1].at <= to; t = next()) {
        timers.delete(t[0]);
        now = t[1].at;
        t[1].fn();
      }
      now = to;
    },
  };
}
