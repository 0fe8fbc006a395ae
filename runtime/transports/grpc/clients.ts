// RocketMQ 5 clients as the gRPC endpoint knows them: keyed by the `x-mq-client-id` header, not
// by connection (a client opens a channel per endpoint of its routes and reopens its Telemetry
// stream a second after one ends). A client's Telemetry settings say what it is (producer and
// its topics, push or simple consumer and its group); its open Telemetry streams are how the
// broker reaches it (settings, transaction check-back).

/** A Telemetry stream's writable side (grpc-js ServerDuplexStream). */
export interface TelemetryStream {
  write(command: Record<string, unknown>): unknown;
  readonly cancelled?: boolean;
  readonly destroyed?: boolean;
}

export interface ClientSettings {
  client_type?: string;
  access_point?: unknown;
  backoff_policy?: { max_attempts?: number };
  request_timeout?: unknown;
  publishing?: { topics?: { name?: string }[]; max_body_size?: number; validate_message_type?: boolean };
  subscription?: {
    group?: { name?: string };
    subscriptions?: unknown[];
    fifo?: boolean;
    receive_batch_size?: number;
    long_polling_timeout?: unknown;
  };
  user_agent?: unknown;
}

export interface RocketClient {
  id: string;
  /** The client's own settings, as its last Telemetry sent them. */
  settings?: ClientSettings;
  streams: Set<TelemetryStream>;
  lastSeen: number;
}

/** A client silent this long with no Telemetry stream open is forgotten (RocketMQ: 120 s). */
const EXPIRY_MS = 120_000;
const MAX_CLIENTS = 100_000;

export class RocketClients {
  private clients = new Map<string, RocketClient>();
  private rr = 0;

  constructor(private now: () => number) {}

  /** The client of this id, remembered (and marked seen) from now on. */
  touch(id: string): RocketClient {
    let c = this.clients.get(id);
    if (!c) {
      if (this.clients.size >= MAX_CLIENTS) this.sweep();
      c = { id, streams: new Set(), lastSeen: 0 };
      this.clients.set(id, c);
    }
    c.lastSeen = this.now();
    return c;
  }

  get(id: string): RocketClient | undefined {
    return this.clients.get(id);
  }

  remove(id: string): void {
    this.clients.delete(id);
  }

  /** A producer (by its settings) that publishes to `topic` and has a Telemetry stream open; in turn. */
  producerOf(topic: string): { client: RocketClient; stream: TelemetryStream } | undefined {
    const candidates: { client: RocketClient; stream: TelemetryStream }[] = [];
    for (const c of this.clients.values()) {
      if (c.settings?.client_type !== "PRODUCER") continue;
      if (!c.settings.publishing?.topics?.some((t) => t.name === topic)) continue;
      for (const s of c.streams) if (!s.cancelled && !s.destroyed) candidates.push({ client: c, stream: s });
    }
    return candidates.length === 0 ? undefined : candidates[this.rr++ % candidates.length];
  }

  /** Forgets clients silent for the expiry with no stream open. */
  sweep(): void {
    const cutoff = this.now() - EXPIRY_MS;
    for (const [id, c] of this.clients) if (c.streams.size === 0 && c.lastSeen < cutoff) this.clients.delete(id);
  }

  get size(): number {
    return this.clients.size;
  }
}
