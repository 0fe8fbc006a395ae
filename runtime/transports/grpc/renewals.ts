// Auto-renewal of invisibility (a ReceiveMessage with auto_renew, which RocketMQ 5's push
// consumers send, with no invisible duration of their own). As RocketMQ's proxy does
// (DefaultReceiptHandleManager), the broker keeps each message a client holds, by its session
// and the receipt handle the client was given, and renews its invisibility while the client
// consumes it:
//
//   handed out  invisible for one unit (--auto-renew-invisible, 60 s by default)
//   renewal     a scan every unit/12 renews what is due within unit/6 (changeInvisibleDuration,
//               which gives a new receipt handle) by 1, 3, 5, 10, 30, then 60 units
//   stop        after 180 units it is given back with the group's retry back-off (a nack)
//   client      an ack, nack or dead-lettering by the client is done with the latest handle
//               (the client only knows the first), and ends the renewals
//   gone        when the client's session ends, what it held is visible again in 1 s
//
// The table is in memory, as the proxy's is: after a broker restart a client's first handle is
// stale, and what it held comes back at its last renewal's deadline.
import type { ProcessorContext, RetryPolicy } from "../../context.ts";

/** Renewal lengths in units (RocketMQ's RenewStrategyPolicy: 1m 3m 5m 10m 30m 1h for a 60 s unit). */
const STEPS = [1, 3, 5, 10, 30, 60];
/** Renewals stop this many units after the message was handed out (RocketMQ: 3 h). */
const MAX_UNITS = 180;
/** A renewal that fails for another reason than an expired handle is tried again this often (RocketMQ's maxRenewRetryTimes). */
const MAX_RETRIES = 3;
/** What a client held when its session ended is visible again this soon (RocketMQ's invisibleTimeMillisWhenClear). */
const CLEAR_MS = 1000;
/** Messages renewed for one client at most; more are handed out without renewal. */
const MAX_HELD = 10_000;

/** A message a client holds with auto-renewal: its latest handle and how far its renewals went. */
export interface Held {
  group: string;
  handle: string;
  /** When it was handed out. */
  since: number;
  /** When it becomes visible again unless renewed. */
  visibleAt: number;
  renewals: number;
  retries: number;
  attempt: number;
  /** Uses of its handle waiting for a renewal in flight. */
  waiting?: ((handle: string) => void)[];
}

/**
 * What renewals need of a client's session (a GrpcSession): what it holds, and a way to ask the
 * broker in its name. Named here so that grpc-session.ts and this file do not import each other.
 */
export interface Holder {
  readonly held: Map<string, Held>;
  request(ctx: ProcessorContext, op: string, args: Record<string, unknown>, answer: (err: unknown, result: Record<string, unknown>) => void): void;
}

export class Renewals {
  private readonly holders = new Set<Holder>();
  private timer: unknown;
  private closed = false;

  constructor(private readonly ctx: ProcessorContext, readonly unitMs: number) {
    this.arm();
  }

  /** A message handed out to `session` with auto-renewal, under the receipt handle the client got. */
  hold(session: Holder, group: string, handle: string, visibleAt: number, attempt: number): void {
    if (session.held.size >= MAX_HELD) return;
    session.held.set(handle, { group, handle, since: this.ctx.clock.now(), visibleAt, renewals: 0, retries: 0, attempt });
    this.holders.add(session);
  }

  /**
   * The handle to settle a message with that the client names by `handle` (its first): the
   * latest renewal's, once a renewal in flight is done. Renewal stops.
   */
  settle(session: Holder, handle: string, use: (handle: string) => void): void {
    const held = session.held.get(handle);
    if (!held) return use(handle);
    session.held.delete(handle);
    if (held.waiting) held.waiting.push(use);
    else use(held.handle);
  }

  /** The client's session ended: what it held is visible again soon (it is not being consumed). */
  release(session: Holder): void {
    this.holders.delete(session);
    for (const [first, held] of session.held) {
      session.held.delete(first);
      this.change(session, held, CLEAR_MS, () => {});
    }
  }

  close(): void {
    this.closed = true;
    this.ctx.clock.clearTimeout(this.timer);
  }

  private arm(): void {
    if (this.closed) return;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.scan();
      this.arm();
    }, Math.max(10, Math.round(this.unitMs / 12)));
  }

  /** Renews what is due within unit/6; past the maximum, gives it back with the retry back-off. */
  private scan(): void {
    const now = this.ctx.clock.now();
    const ahead = this.unitMs / 6;
    for (const session of this.holders) {
      if (session.held.size === 0) {
        this.holders.delete(session);
        continue;
      }
      for (const [first, held] of session.held) {
        if (held.waiting || held.visibleAt - now > ahead) continue;
        if (now - held.since >= MAX_UNITS * this.unitMs) {
          session.held.delete(first);
          this.change(session, held, retryDelayMs(this.ctx.pop.groups.get(held.group).retryPolicy, held.attempt), () => {});
          continue;
        }
        const ms = STEPS[Math.min(held.renewals, STEPS.length - 1)] * this.unitMs;
        this.change(session, held, ms, (ok, expired) => {
          if (ok) {
            held.renewals++;
            held.retries = 0;
          } else if (expired || ++held.retries >= MAX_RETRIES) session.held.delete(first);
        });
      }
    }
  }

  /** changeInvisibleDuration as the client's session; uses of the handle meanwhile wait for the new one. */
  private change(session: Holder, held: Held, invisibleMs: number, done: (ok: boolean, expired: boolean) => void): void {
    held.waiting = [];
    session.request(this.ctx, "changeInvisibleDuration", { group: held.group, receiptHandle: held.handle, invisibleMs }, (err, r) => {
      if (err === undefined) {
        held.handle = String(r.receiptHandle);
        held.visibleAt = Number(r.invisibleUntil);
      }
      const waiting = held.waiting ?? [];
      held.waiting = undefined;
      for (const use of waiting) use(held.handle);
      done(err === undefined, (err as { code?: string } | undefined)?.code === "INVALID_RECEIPT_HANDLE");
    });
  }
}

/** The pause before delivery `attempt + 1` under a group's retry policy. */
export function retryDelayMs(p: RetryPolicy, attempt: number): number {
  if (p.type === "customized") return p.delaysMs[Math.min(Math.max(0, attempt - 1), p.delaysMs.length - 1)] ?? 0;
  return Math.min(p.maxMs, p.initialMs * p.multiplier ** Math.max(0, attempt - 1));
}
