// Retention, RocketMQ's way (CleanCommitLogService): every --clean-interval the broker looks at
// the clock and the disk. At an hour of --delete-when, CommitLog segments whose last write is
// older than --file-reserved-time are deleted, oldest first; while the disk is above
// --disk-max-used-space-ratio, the oldest go at once whatever their age (ten a pass). Never the
// segment being written, and never one at or above the floor: the oldest record still needed by
//   - the oldest snapshot kept (a restore replays the system topics from its offset),
//   - an unresolved transaction (its half message),
//   - a pending timer (its message waits in RMQ_SYS_WHEEL_TIMER),
//   - a delayed message not yet delivered (its schedule queue's next entry).
// ConsumeQueue and index files follow, and so do the timer log's segments whose every timer was
// delivered; each queue actor whose head went learns its new min offset (TRUNCATED), and a pull
// below it is answered OFFSET_MOVED with where to resume.
// `deleteExpiredCommitLog` (admin) runs a pass now, whatever the hour.
import { getLogger } from "@logtape/logtape";
import type { MessageStore } from "../../storage/message-store.ts";
import type { Actors, Clock, RetentionResult } from "../context.ts";

const log = getLogger(["actormq", "retention"]);

export interface RetentionDeps {
  clock: Clock;
  store: Pick<MessageStore, "deleteExpired" | "disk">;
  actors: Pick<Actors, "sendToQueue">;
  /** CommitLog offsets still needed, by what needs them (Infinity for none), asked of their owners. */
  holds(answer: (holds: Record<string, number>) => void): void;
  /** Deletes the timer log's delivered segments; the bytes freed. */
  dropDeliveredTimers(): number;
  reservedMs: number;
  deleteWhen: number[];
  diskMaxUsedRatio: number;
  intervalMs: number;
}


export class RetentionService {
  private timer: unknown = null;
  private closed = false;
  /** A pass waiting for its answers: the timer's next pass is skipped meanwhile. */
  private asking = false;

  constructor(private readonly deps: RetentionDeps) {}

  start(): void {
    this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * One pass: at a --delete-when hour, under disk pressure, or when `force`d (admin); answers
   * what it did (null: not due), or the error that stopped it. What holds the log is asked of
   * its owners first, and the pass runs when they have answered.
   */
  run(force: boolean, answer: (result: RetentionResult | null, error?: unknown) => void): void {
    const { clock, store } = this.deps;
    const hourDue = this.deps.deleteWhen.includes(new Date(clock.now()).getHours());
    const pressure = store.disk.state().usedRatio >= this.deps.diskMaxUsedRatio;
    if (!force && !hourDue && !pressure) return answer(null);
    this.asking = true;
    this.deps.holds((holds) => {
      this.asking = false;
      if (this.closed) return answer(null); // the broker closed while the actors answered
      let result: RetentionResult;
      try {
        result = this.pass(force, holds);
      } catch (e) {
        return answer(null, e);
      }
      answer(result);
    });
  }

  private pass(force: boolean, holds: Record<string, number>): RetentionResult {
    const { clock, store } = this.deps;
    const now = clock.now();
    const used = store.disk.state().usedRatio;
    const pressure = used >= this.deps.diskMaxUsedRatio;
    let floor = Infinity;
    let heldBy: string | null = null;
    for (const [what, offset] of Object.entries(holds)) {
      if (offset < floor) [floor, heldBy] = [offset, what];
    }
    const pass = store.deleteExpired({ now, reservedMs: this.deps.reservedMs, floor, ignoreAge: pressure && !force, max: pressure && !force ? 10 : Infinity });
    const timerBytes = this.deps.dropDeliveredTimers();
    if (timerBytes > 0) log.info("retention: deleted {bytes} bytes of delivered timer log segments", { bytes: timerBytes });
    pass.bytes += timerBytes;
    for (const [topic, queueId, minOffset] of pass.queues) this.deps.actors.sendToQueue(topic, queueId, { type: "TRUNCATED", minOffset });
    if (pressure && pass.segments === 0) log.warn("disk {used}% used (--disk-max-used-space-ratio {max}%), but no segment can go: {heldBy} holds CommitLog offset {floor}", { used, max: this.deps.diskMaxUsedRatio, heldBy: heldBy ?? "the active segment", floor });
    return { ...pass, floor, heldBy };
  }

  private arm(): void {
    if (this.closed) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      if (!this.closed && !this.asking) {
        this.run(false, (_, error) => {
          if (error !== undefined) log.error("retention pass failed: {error}", { error });
        });
      }
      this.arm();
    }, this.deps.intervalMs);
  }
}
