// Gives memory back when the broker goes idle, as the JDK's G1 does with G1PeriodicGCInterval
// (JEP 346: "promptly return unused committed memory to the operating system"). A burst of
// traffic grows V8's young generation to its largest (16 MiB a semi-space), fills its page pool
// and old space with garbage, and writes every page of the CommitLog tail's ring; none of that
// shrinks by itself, because V8 resizes the young generation only at a GC and no GC runs in a
// broker with nothing to do. Measured after 20,000 delayed 1 KiB messages were delivered:
// 2,600 B per message stayed in RSS for as long as the broker was watched (40 s).
//
// So: once `idleMs` pass with no message in or out, the store lets its caches go (they refill on
// the next append) and a full GC runs; twice more, `idleMs` apart, while the broker stays idle.
// More than one because V8 shrinks the young generation only when the allocation rate it sampled
// over the last few seconds of GCs is low, which the first GC after a burst does not yet see
// (measured: the first of three GCs 5 s apart gave nothing back, the third 40 MB). Each GC costs
// 10-20 ms of a broker that has nothing else to do; traffic starts the count again. Where the
// runtime can call it (Linux with glibc: Deno's FFI, koffi on Node), each round also asks glibc
// to give back the pages it freed and keeps (malloc_trim): what the GCs leave is mostly that.
import { getLogger } from "@logtape/logtape";
import type { Clock } from "../context.ts";

const log = getLogger(["actormq", "memory"]);

export interface MemoryReducerDeps {
  clock: Clock;
  /** Grows with every message stored or delivered (a consumer's offset commit is not one): any change is activity. */
  activity(): number;
  /** Drops what refills on demand (the CommitLog tail's ring). */
  releaseCaches(): void;
  /** A full GC; absent where the runtime gives none (Deno without --v8-flags=--expose-gc). */
  collectGarbage?: () => void;
  /** Gives the C allocator's freed pages back (glibc's malloc_trim); absent where the runtime cannot call it. */
  trimAllocator?: () => void;
  /** The process's resident set, bytes (logged with each round). */
  rss(): number;
  /** Quiet time before each round; 0 turns the reducer off. */
  idleMs: number;
}

/** Rounds per idle spell. */
export const IDLE_ROUNDS = 3;
/** How often activity is looked at (at most): a counter read, nothing more. */
const TICK_MS = 1000;

export class MemoryReducer {
  private timer: unknown = null;
  private seen = -1;
  /** How long activity has stood still, counted in ticks (a timer that fires late counts as one). */
  private quietMs = 0;
  /** Rounds done in this idle spell; a broker that starts idle has nothing to give back yet. */
  private rounds = IDLE_ROUNDS;
  /** Rounds run since start (/metrics). */
  roundsRun = 0;
  private readonly tickMs: number;

  constructor(private readonly deps: MemoryReducerDeps) {
    this.tickMs = Math.min(TICK_MS, deps.idleMs);
  }

  start(): void {
    if (this.deps.idleMs <= 0) return;
    this.seen = this.deps.activity();
    this.arm();
  }

  close(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** One look: activity starts a new spell; a spell quiet for (rounds + 1) × idleMs has its next round. */
  tick(): void {
    const activity = this.deps.activity();
    if (activity !== this.seen) {
      this.seen = activity;
      this.quietMs = 0;
      this.rounds = 0;
      return;
    }
    this.quietMs += this.tickMs;
    if (this.rounds >= IDLE_ROUNDS || this.quietMs < (this.rounds + 1) * this.deps.idleMs) return;
    const rss = this.deps.rss();
    if (this.rounds === 0) this.deps.releaseCaches();
    const started = performance.now();
    this.deps.collectGarbage?.();
    this.deps.trimAllocator?.();
    const pauseMs = performance.now() - started;
    this.rounds++;
    this.roundsRun++;
    log.debug("idle {seconds} s: round {round} of {rounds}: {what} (RSS was {mb} MB)", {
      seconds: this.quietMs / 1000,
      round: this.rounds,
      rounds: IDLE_ROUNDS,
      what: `${this.rounds === 1 ? "CommitLog tail released, " : ""}${this.deps.collectGarbage ? "full GC" : "no GC (the process has no --expose-gc)"}${this.deps.trimAllocator ? ", malloc_trim" : ""}, ${pauseMs.toFixed(1)} ms`,
      mb: Math.round(rss / 1024 / 1024),
    });
  }

  private arm(): void {
    this.timer = this.deps.clock.setTimeout(() => {
      this.tick();
      this.arm();
    }, this.tickMs);
  }
}
