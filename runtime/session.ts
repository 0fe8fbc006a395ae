// A client's session with the broker, whatever carries it. A front-end (runtime/transports/)
// makes one per connection or stream, registers it with the broker's Sessions, and hands each
// request to the processors together with its session; processors answer through the session
// and never see a socket. Registries that must reach a client later (producers asked about
// transactions, held pulls, order locks, rebalance and inspect pushes) keep sessions too.
import { getLogger } from "@logtape/logtape";
import { BrokerError, ErrorCode, type RequestId } from "../protocol/mod.ts";
import type { SessionSecurity } from "./security/security.ts";
import type { SessionLimits } from "./security/limits.ts";

const log = getLogger(["actormq", "session"]);

/**
 * This process's life, in every session id: ids never repeat across restarts, so nothing kept
 * from a previous life (a held pull in a snapshot) can be answered to a new client that got the
 * same number.
 */
const LIFE = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
let sessions = 0;

/** A new session id: the front-end's prefix, this process's life, a counter ("ws-lx3k9a2b7f-1"). */
export function newSessionId(prefix: string): string {
  return `${prefix}-${LIFE}-${++sessions}`;
}

export interface Session {
  /** Unique in this broker process; a front-end's own prefix keeps its ids apart ("ws-1"). */
  readonly id: string;
  /** What carries it ("websocket", "grpc"), for logs and the inspector. */
  readonly transport: string;
  /** The peer's address as the front-end saw it. */
  readonly remoteAddress: string;
  /** False once closed: answers and pushes to a closed session are dropped. */
  readonly open: boolean;
  /** Who the peer proved to be (set by authentication; undefined while anonymous). */
  identity: string | undefined;
  /** Signing in and what the signed-in user may do (runtime/security/): every front-end makes one per session. */
  readonly security: SessionSecurity;
  /** Pulls waiting, and large answers held until the peer's unread replies drain (where the front-end keeps such limits). */
  readonly limits?: SessionLimits;
  /** The client id its first heartbeat bound it to. */
  clientId: string | undefined;
  /** Consumer groups its client heartbeats for: it leaves them when the session closes. */
  groups: Set<string>;
  /** Topics those groups subscribe to, as its last heartbeat said: a new topic is announced only where it may be wanted. */
  subscribed: Set<string>;
  /** Answers request `id` with `{ id, code: 0, ...result }`. */
  reply(id: RequestId, result: Record<string, unknown>): void;
  /** Answers request `id` with the error's code, message and details (INTERNAL_ERROR for anything not a BrokerError). */
  fail(id: RequestId | null, error: unknown): void;
  /**
   * Answers with a whole response frame already encoded (CBOR, protocol/frame.ts): what pull
   * and queryMessage write around the stored message bytes without decoding them. A front-end
   * that does not carry CBOR frames decodes it.
   */
  replyEncoded(frame: Uint8Array): void;
  /** Sends a frame the client did not ask for (rebalance, resetOffset, checkTransaction, inspect). */
  push(frame: Record<string, unknown>): void;
  /** Bytes queued for the peer and not yet sent: a push to a peer this far behind may be skipped. */
  readonly bufferedAmount: number;
  /** Ends the session from the broker's side; the front-end then reports it closed. */
  close(reason?: string): void;
}

/** The response frame of a failure: the error's code, message and details. */
export function errorFrame(id: RequestId | null, error: unknown): Record<string, unknown> {
  const code = error instanceof BrokerError ? error.code : ErrorCode.INTERNAL_ERROR;
  const message = error instanceof Error ? error.message : String(error);
  if (code === ErrorCode.INTERNAL_ERROR) log.error("internal error: {error}", { error });
  const details = error instanceof BrokerError ? error.details : undefined;
  log.debug("refused request {id}: {code}: {message}", { id, code, message });
  return { id, code, message, ...details };
}

/** What is told when a session closes: it leaves its groups, producer registries, subscriptions. */
export type SessionClosed = (session: Session) => void;

/**
 * Every open session of every front-end, by id, and the closing of one: front-ends call `open`
 * when a session starts and `closed` when it ends, and whatever registered with `onClose`
 * forgets it.
 */
export class SessionRegistry {
  private readonly byId = new Map<string, Session>();
  private readonly listeners: SessionClosed[] = [];

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  opened(session: Session): void {
    this.byId.set(session.id, session);
    log.debug("session {id} opened ({transport} from {remote})", { id: session.id, transport: session.transport, remote: session.remoteAddress });
  }

  closed(session: Session): void {
    if (!this.byId.delete(session.id)) return;
    log.debug("session {id} closed (client {clientId})", { id: session.id, clientId: session.clientId ?? "-" });
    for (const listener of this.listeners) listener(session);
  }

  onClose(listener: SessionClosed): void {
    this.listeners.push(listener);
  }

  /** The consumer groups of the open sessions whose clients subscribe to `topic`. */
  groupsSubscribing(topic: string): Set<string> {
    const out = new Set<string>();
    for (const s of this.byId.values()) if (s.subscribed.has(topic)) for (const g of s.groups) out.add(g);
    return out;
  }

  /** Pushes a frame to every open session of these clients. */
  push(clientIds: readonly string[], frame: Record<string, unknown>): void {
    const wanted = new Set(clientIds);
    for (const s of this.byId.values()) {
      if (s.open && s.clientId !== undefined && wanted.has(s.clientId)) s.push(frame);
    }
  }
}
