// Limits on what one client can make the broker hold (docs/SECURITY.md), TigerBeetle-style: a
// bound on everything a client's bytes turn into. Per process: open connections. Per connection:
// reply bytes queued and unsent (a client that stops reading is paused, then closed), the time to
// its first frame (and sign-in), silence, held pulls. Per request: groups in a heartbeat. Per
// broker: topics and groups. Each refusal is a named error or close reason, and a counter.
import { BrokerError, ErrorCode } from "../../protocol/mod.ts";
import type { Clock, ServerSocket } from "../../platform/platform.ts";
import type { SecurityCounters } from "./counters.ts";

export interface LimitsConfig {
  maxConnections: number;
  maxUnsentBytes: number;
  slowConsumerTimeoutMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeldPulls: number;
  maxHeartbeatGroups: number;
  maxTopics: number;
  maxGroups: number;
}

/** LIMIT_EXCEEDED, naming the limit in the error's `limit` field; counted. */
export function limitError(counters: SecurityCounters, limit: string, message: string): BrokerError {
  counters.limit(limit);
  return new BrokerError(ErrorCode.LIMIT_EXCEEDED, message, { limit });
}

/** A WebSocket close reason: at most 123 bytes (the protocol's limit; longer ones make the close throw). */
export function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= 123) return text;
  return new TextDecoder().decode(bytes.subarray(0, 120)).replace(/\uFFFD+$/, "") + "...";
}

/** What processors see of a session's limits (a front-end that keeps none leaves them out). */
export interface SessionLimits {
  /** Pulls waiting: held by a queue, or parked until the session's replies drain. */
  heldPulls: number;
  /** Runs fn now, or once the session's unread replies have drained below --max-unsent-bytes. */
  whenWritable(fn: () => void): void;
}

/** How often timeouts are looked for; a backed-up connection is looked at every DRAIN_CHECK_MS. */
const SWEEP_MS = 1000;
const DRAIN_CHECK_MS = 20;
const SLOW_CLOSE_GRACE_MS = 1000;

/** The connection limits of one server: the open count, and a timer over every connection's clocks. */
export class ConnectionLimits {
  private readonly open = new Set<ConnectionLimiter>();
  private readonly backedUp = new Set<ConnectionLimiter>();
  private sweepTimer: unknown;
  private drainTimer: unknown;

  private lastFullLog = 0;

  /** `log` hears of slow consumers dropped and (once per 10 s at most) of connections refused. */
  constructor(readonly config: LimitsConfig, readonly counters: SecurityCounters, private readonly clock: Clock, readonly log: (line: string) => void = () => {}) {}

  now(): number {
    return this.clock.now();
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * A new connection: its limiter, or the close reason when the server is full. `ready` says
   * whether it has signed in (or has nothing to sign in to): until then the handshake timeout runs.
   */
  admit(socket: ServerSocket, close: (code: number, reason: string) => void, ready: () => boolean): ConnectionLimiter | string {
    if (this.open.size >= this.config.maxConnections) {
      this.counters.limit("connections");
      const now = this.clock.now();
      if (now - this.lastFullLog >= 10_000) {
        this.lastFullLog = now;
        this.log(`refusing connections: ${this.config.maxConnections} are open (--max-connections)`);
      }
      return `LIMIT_EXCEEDED: ${this.config.maxConnections} connections are open (--max-connections)`;
    }
    const limiter = new ConnectionLimiter(this, socket, close, ready, this.clock.now());
    this.open.add(limiter);
    this.sweepTimer ??= this.clock.setTimeout(() => this.sweep(), SWEEP_MS);
    return limiter;
  }

  /** @internal */
  later(fn: () => void, ms: number): void {
    this.clock.setTimeout(fn, ms);
  }

  /** @internal */
  closed(l: ConnectionLimiter): void {
    this.open.delete(l);
    this.backedUp.delete(l);
  }

  /** @internal a connection's replies back up: look at it often until they drain. */
  watchDrain(l: ConnectionLimiter): void {
    this.backedUp.add(l);
    this.drainTimer ??= this.clock.setTimeout(() => this.checkDrains(), DRAIN_CHECK_MS);
  }

  close(): void {
    if (this.sweepTimer !== undefined) this.clock.clearTimeout(this.sweepTimer);
    if (this.drainTimer !== undefined) this.clock.clearTimeout(this.drainTimer);
    this.sweepTimer = this.drainTimer = undefined;
    this.open.clear();
    this.backedUp.clear();
  }

  private checkDrains(): void {
    this.drainTimer = undefined;
    const now = this.clock.now();
    for (const l of [...this.backedUp]) if (l.checkDrain(now)) this.backedUp.delete(l);
    if (this.backedUp.size > 0) this.drainTimer = this.clock.setTimeout(() => this.checkDrains(), DRAIN_CHECK_MS);
  }

  private sweep(): void {
    this.sweepTimer = undefined;
    const now = this.clock.now();
    for (const l of [...this.open]) l.checkTimeouts(now);
    if (this.open.size > 0) this.sweepTimer = this.clock.setTimeout(() => this.sweep(), SWEEP_MS);
  }
}

/**
 * One connection's limits. The front-end tells it of frames in (`received`) and sends through it
 * (`send`); a processor about to send a large answer asks `whenWritable` first.
 */
export class ConnectionLimiter implements SessionLimits {
  /** Pulls this connection has waiting (held by a queue, or parked until its replies drain). */
  heldPulls = 0;
  private lastActive: number;
  private firstFrame = false;
  private pausedSince = 0;
  private parked: (() => void)[] = [];
  private isClosed = false;

  /** Closed by a limit (or gone): frames that still arrive are not processed. */
  get closedByLimit(): boolean {
    return this.isClosed;
  }

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly socket: ServerSocket,
    private readonly closeSocket: (code: number, reason: string) => void,
    private readonly ready: () => boolean,
    private readonly openedAt: number,
  ) {
    this.lastActive = openedAt;
  }

  /** A frame arrived. */
  received(): void {
    this.lastActive = this.limits.now();
    this.firstFrame = true;
  }

  /**
   * Sends unless the replies already queued exceed twice --max-unsent-bytes, in which case the
   * connection is closed (SLOW_CONSUMER) and false returned. Large answers wait in `whenWritable`
   * first, so this bound is reached only by a client that asks for many small ones and reads none.
   */
  send(data: Uint8Array): boolean {
    if (this.isClosed) return false;
    if (this.socket.bufferedAmount + data.length > 2 * this.limits.config.maxUnsentBytes) {
      this.close("slowConsumer", `SLOW_CONSUMER: more than ${2 * this.limits.config.maxUnsentBytes} reply bytes unread`, true);
      return false;
    }
    this.lastActive = this.limits.now();
    this.socket.send(data);
    return true;
  }

  /** Whether replies have backed up past --max-unsent-bytes: large answers should wait. */
  get backedUp(): boolean {
    return this.socket.bufferedAmount >= this.limits.config.maxUnsentBytes;
  }

  /**
   * Runs fn now if the connection's replies are below --max-unsent-bytes; otherwise pauses reading
   * its frames (where the runtime can) and runs fn once they drain. A connection that stays
   * backed up for --slow-consumer-timeout is closed, and its parked work dropped.
   */
  whenWritable(fn: () => void): void {
    if (this.isClosed) return;
    if (!this.backedUp && this.parked.length === 0) return fn();
    this.parked.push(fn);
    if (this.pausedSince === 0) {
      this.pausedSince = this.limits.now();
      this.socket.pause?.();
      this.limits.watchDrain(this);
    }
  }

  /** @internal true when no longer backed up (or closed). */
  checkDrain(now: number): boolean {
    if (this.isClosed) return true;
    if (!this.backedUp) {
      this.pausedSince = 0;
      this.socket.resume?.();
      const work = this.parked;
      this.parked = [];
      for (const fn of work) fn();
      return this.parked.length === 0; // a resumed answer may back it up again at once
    }
    if (now - this.pausedSince >= this.limits.config.slowConsumerTimeoutMs) {
      this.close("slowConsumer", `SLOW_CONSUMER: replies unread for ${this.limits.config.slowConsumerTimeoutMs} ms`, true);
      return true;
    }
    return false;
  }

  /** @internal */
  checkTimeouts(now: number): void {
    const { handshakeTimeoutMs, idleTimeoutMs } = this.limits.config;
    if ((!this.firstFrame || !this.ready()) && now - this.openedAt >= handshakeTimeoutMs) {
      this.close("handshakeTimeout", this.firstFrame ? `HANDSHAKE_TIMEOUT: not signed in within ${handshakeTimeoutMs} ms` : `HANDSHAKE_TIMEOUT: no frame within ${handshakeTimeoutMs} ms`);
    } else if (idleTimeoutMs > 0 && this.pausedSince === 0 && now - this.lastActive >= idleTimeoutMs) {
      this.close("idleTimeout", `IDLE_TIMEOUT: nothing sent or received for ${idleTimeoutMs} ms`);
    }
  }

  /** The connection went away (closed by either side). */
  closed(): void {
    this.isClosed = true;
    this.parked = [];
    this.limits.closed(this);
  }

  /**
   * Closes with a reason. A client that does not read would get the close frame only behind
   * everything queued before it, so that one is dropped (with its queued bytes) a second later.
   */
  private close(limit: string, reason: string, drop = false): void {
    if (this.isClosed) return;
    this.limits.counters.limit(limit);
    this.closed();
    this.closeSocket(1008, closeReason(reason));
    if (drop) {
      this.limits.log(`closed the connection from ${this.socket.remoteAddress}: ${reason}`);
      this.limits.later(() => this.socket.terminate?.(), SLOW_CLOSE_GRACE_MS);
    }
  }
}
