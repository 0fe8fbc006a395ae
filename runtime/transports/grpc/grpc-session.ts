// RocketMQ 5 clients as sessions of the broker (runtime/session.ts). A client is keyed by its
// `x-mq-client-id` header, not by connection: it opens a channel per endpoint of its routes and
// reopens its Telemetry stream a second after one ends, so one GrpcSession stands for the client
// across its channels and calls. The session is what the rest of the broker sees, as it sees a
// WebSocket's: heartbeats bind it to its consumer and producer groups, transaction checks are
// pushed to it (and leave on its Telemetry stream as RecoverOrphanedTransactionCommand), and
// when it ends (NotifyClientTermination, or silence past the expiry with no stream open) it
// leaves them as a closed socket's session does.
//
// Requests the broker has an op for go through the processors (`request`): the session's pending
// answers are the gRPC calls waiting for them.
import { BrokerError, decode, ErrorCode, type Request, type RequestId } from "../../../protocol/mod.ts";
import type { ProcessorContext } from "../../context.ts";
import { processRequest } from "../../processors/mod.ts";
import type { Session, SessionRegistry } from "../../session.ts";
import type { Security, SessionSecurity } from "../../security/security.ts";
import { fromActorMQ } from "./mapping.ts";
import type { Held } from "./renewals.ts";

/** A Telemetry stream's writable side (grpc-js ServerDuplexStream). */
export interface TelemetryStream {
  write(command: Record<string, unknown>): unknown;
  end(): unknown;
  readonly cancelled?: boolean;
  readonly destroyed?: boolean;
  readonly writableLength?: number;
}

/** A client's own settings, as its Telemetry sends them (apache.rocketmq.v2.Settings). */
export interface ClientSettings {
  client_type?: string;
  access_point?: unknown;
  backoff_policy?: { max_attempts?: number };
  request_timeout?: unknown;
  publishing?: { topics?: { name?: string }[]; max_body_size?: number; validate_message_type?: boolean };
  subscription?: {
    group?: { name?: string };
    subscriptions?: { topic?: { name?: string }; expression?: { type?: string; expression?: string } }[];
    fifo?: boolean;
    receive_batch_size?: number;
    long_polling_timeout?: unknown;
  };
  user_agent?: unknown;
}

/** An op's answer: its result fields, or the error it failed with. */
export type Answer = (err: unknown, result: Record<string, unknown>) => void;

const NO_RESULT: Record<string, unknown> = {};

export class GrpcSession implements Session {
  readonly transport = "grpc";
  open = true;
  identity: string | undefined = undefined;
  groups = new Set<string>();
  subscribed = new Set<string>();
  /** The client's settings, as its last Telemetry command sent them. */
  settings: ClientSettings | undefined;
  readonly streams = new Set<TelemetryStream>();
  /** Messages it holds with auto-renewal, by the receipt handle it was given (renewals.ts). */
  readonly held = new Map<string, Held>();
  lastSeen = 0;
  private readonly pending = new Map<RequestId, Answer>();
  private seq = 0;

  constructor(readonly id: string, public clientId: string | undefined, readonly remoteAddress: string, private readonly owner: GrpcSessions, readonly security: SessionSecurity) {}

  /** Runs op through the processors as this session; `answer` gets its result or error. */
  request(ctx: ProcessorContext, op: string, args: Record<string, unknown>, answer: Answer): void {
    const id = ++this.seq;
    this.pending.set(id, answer);
    processRequest(ctx, this, { ...args, id, op } as Request);
  }

  private take(id: RequestId | null): Answer | undefined {
    if (id === null) return undefined;
    const answer = this.pending.get(id);
    this.pending.delete(id);
    return answer;
  }

  // Answers go to the call waiting for them even once the session closed (another channel of
  // the client may still wait).
  reply(id: RequestId, result: Record<string, unknown>): void {
    this.take(id)?.(undefined, result);
  }

  fail(id: RequestId | null, error: unknown): void {
    this.take(id)?.(error, NO_RESULT);
  }

  /** A whole response frame (pull, queryMessage, popMessage): CBOR, decoded here. */
  replyEncoded(frame: Uint8Array): void {
    const { id, code, message, ...result } = decode(frame) as Record<string, unknown> & { id: RequestId; code: number | string; message?: string };
    if (code === 0) this.reply(id, result);
    else this.fail(id, new BrokerError(code as string, String(message ?? code), result));
  }

  /**
   * checkTransaction becomes a RecoverOrphanedTransactionCommand on the client's Telemetry
   * stream (a full message, body_digest included). Rebalance and resetOffset pushes are for
   * clients that pull their own queues: a RocketMQ 5 consumer pops, so they say nothing to it.
   */
  push(frame: Record<string, unknown>): void {
    if (frame.op !== "checkTransaction") return;
    const stream = this.liveStream();
    if (!stream) return; // asked again at the next check interval
    const m = frame.msg as Record<string, unknown> & { topic: string; queueId: number; storeTimestamp: number };
    const message = fromActorMQ(m, { topic: m.topic, queueId: m.queueId, queueOffset: 0, storeTimestamp: m.storeTimestamp, attempt: 1 }, this.owner.brokerName);
    message.system_properties!.message_type = "TRANSACTION";
    stream.write({ recover_orphaned_transaction_command: { message, transaction_id: String(frame.msgId) } });
  }

  get bufferedAmount(): number {
    return this.liveStream()?.writableLength ?? 0;
  }

  /** Writes to each open Telemetry stream of the client (settings), or to `only`. */
  write(command: Record<string, unknown>, only?: TelemetryStream): void {
    for (const s of only ? [only] : this.streams) if (!s.cancelled && !s.destroyed) s.write(command);
  }

  liveStream(): TelemetryStream | undefined {
    for (const s of this.streams) if (!s.cancelled && !s.destroyed) return s;
    return undefined;
  }

  close(_reason?: string): void {
    this.owner.close(this);
  }
}

/** A client silent this long with no Telemetry stream open is forgotten (RocketMQ: 120 s). */
const EXPIRY_MS = 120_000;
const MAX_CLIENTS = 100_000;

/** The gRPC front-end's sessions, by client id; each is registered with the broker's sessions while open. */
export class GrpcSessions {
  private readonly byClient = new Map<string, GrpcSession>();
  private next = 0;

  constructor(private readonly registry: SessionRegistry, private readonly now: () => number, readonly brokerName: string, private readonly security: Security) {}

  /** The session of this client (opened now if new, from the peer of `call`), marked seen. */
  session(clientId: string, call: { getPeer(): string }): GrpcSession {
    let s = this.byClient.get(clientId);
    if (!s) {
      if (this.byClient.size >= MAX_CLIENTS) this.sweep();
      if (this.byClient.size >= MAX_CLIENTS) throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, `the broker serves ${MAX_CLIENTS} RocketMQ clients already`);
      const address = peerAddress(call.getPeer());
      s = new GrpcSession(`grpc-${++this.next}`, clientId, address, this, this.security.session(address));
      this.byClient.set(clientId, s);
      this.registry.opened(s);
    }
    s.lastSeen = this.now();
    return s;
  }

  get(clientId: string): GrpcSession | undefined {
    return this.byClient.get(clientId);
  }

  /**
   * Ends a session: it leaves its groups and registries. Its Telemetry streams end too, unless
   * the client is ending them itself (NotifyClientTermination: the Node.js client opens a new
   * stream a second after the broker ends one, even while it shuts down).
   */
  close(s: GrpcSession, endStreams = true): void {
    if (!s.open) return;
    s.open = false;
    if (this.byClient.get(s.clientId!) === s) this.byClient.delete(s.clientId!);
    if (endStreams) for (const stream of s.streams) if (!stream.cancelled && !stream.destroyed) stream.end();
    s.streams.clear();
    this.registry.closed(s);
  }

  /** Ends the sessions of clients silent for the expiry with no Telemetry stream open. */
  sweep(): void {
    const cutoff = this.now() - EXPIRY_MS;
    for (const s of [...this.byClient.values()]) if (!s.liveStream() && s.lastSeen < cutoff) this.close(s);
  }

  closeAll(): void {
    for (const s of [...this.byClient.values()]) this.close(s);
  }

  get size(): number {
    return this.byClient.size;
  }
}

/** The peer's address as ACL source ranges take it: "ipv4:10.0.0.5:51234" -> "10.0.0.5", "ipv6:[::1]:5" -> "::1". */
export function peerAddress(peer: string): string {
  return /^(?:ipv[46]:)?\[?(.*?)\]?:\d+$/.exec(peer)?.[1] ?? peer;
}
