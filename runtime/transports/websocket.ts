// The WebSocket front-end, one adapter among several: CBOR frames in and out, one Session per
// socket. It admits a socket (the browser Origin check, --max-connections), decodes each frame,
// checks the envelope (a map with an id and an op) and hands the request to the processors with
// the socket's session; every failure is answered with a named error code. Nothing a client
// sends can crash the broker. Everything sent leaves through the socket's limiter, which bounds
// what a client that does not read can make the broker hold (runtime/security/limits.ts).
import { BrokerError, decode, encode, ErrorCode, type Request, type RequestId } from "../../protocol/mod.ts";
import type { ServerSocket, SocketHandlers } from "../../platform/platform.ts";
import type { ProcessorContext } from "../context.ts";
import { processRequest } from "../processors/mod.ts";
import { errorFrame, newSessionId, type Session, type SessionRegistry } from "../session.ts";
import type { SessionSecurity } from "../security/security.ts";
import { closeReason, type ConnectionLimiter, type ConnectionLimits } from "../security/limits.ts";
import { originRefusal } from "../security/origin.ts";

/** A WebSocket's session: answers and pushes are CBOR frames on the socket. */
export class WebSocketSession implements Session {
  readonly transport = "websocket";
  open = true;
  identity: string | undefined = undefined;
  clientId: string | undefined = undefined;
  groups = new Set<string>();
  subscribed = new Set<string>();

  constructor(readonly id: string, private readonly socket: ServerSocket, readonly security: SessionSecurity, readonly limits: ConnectionLimiter) {}

  get remoteAddress(): string {
    return this.socket.remoteAddress;
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  reply(id: RequestId, result: Record<string, unknown>): void {
    if (this.open) this.limits.send(encode({ id, code: 0, ...result }));
  }

  fail(id: RequestId | null, error: unknown): void {
    if (this.open) this.limits.send(encode(errorFrame(id, error)));
  }

  replyEncoded(frame: Uint8Array): void {
    if (this.open) this.limits.send(frame);
  }

  push(frame: Record<string, unknown>): void {
    if (this.open) this.limits.send(encode(frame));
  }

  close(reason?: string): void {
    this.socket.close(reason?.startsWith("AUTH_") ? 1008 : 1000, reason && closeReason(reason));
  }
}

export interface WebSocketLimits {
  limits: ConnectionLimits;
  /** Browser origins besides the broker's own that may connect (--allowed-origins). */
  allowedOrigins: readonly string[];
}

/** The socket handlers platform.serve calls: a session per admitted socket, registered while it is open. */
export function webSocketHandlers(ctx: ProcessorContext, sessions: SessionRegistry, admission: WebSocketLimits): SocketHandlers {
  const bySocket = new WeakMap<ServerSocket, WebSocketSession>();
  return {
    onOpen(socket) {
      const refused = originRefusal(socket, admission.allowedOrigins);
      if (refused) {
        ctx.security.counters.limit("origin");
        return socket.close(1008, refused);
      }
      const security = ctx.security.session(socket.remoteAddress);
      const limiter = admission.limits.admit(socket, (code, reason) => socket.close(code, reason), () => security.signedIn);
      if (typeof limiter === "string") return socket.close(1013, limiter);
      const session = new WebSocketSession(newSessionId("ws"), socket, security, limiter);
      bySocket.set(socket, session);
      sessions.opened(session);
    },
    onClose(socket) {
      const session = bySocket.get(socket);
      if (!session) return;
      session.open = false;
      session.limits.closed();
      sessions.closed(session);
    },
    onMessage(socket, data) {
      const session = bySocket.get(socket);
      // A session closed by a limit is done: what its client still sends costs nothing.
      if (!session || session.limits.closedByLimit) return;
      session.limits.received();
      dispatch(ctx, session, data);
    },
  };
}

function dispatch(ctx: ProcessorContext, session: Session, data: Uint8Array): void {
  let req: Request;
  try {
    req = decode(data) as Request;
  } catch {
    return session.fail(null, new BrokerError(ErrorCode.MALFORMED_FRAME, "the frame is not valid CBOR"));
  }
  if (req === null || typeof req !== "object" || Array.isArray(req) || req instanceof Uint8Array) {
    return session.fail(null, new BrokerError(ErrorCode.MALFORMED_FRAME, "a frame must be a CBOR map"));
  }
  const id = req.id;
  if (typeof id !== "number" && typeof id !== "string") {
    const code = id === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE;
    return session.fail(null, new BrokerError(code, 'a request needs an "id" (an integer or a string)'));
  }
  if (typeof req.op !== "string") {
    return session.fail(id, new BrokerError(req.op === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, 'a request needs an "op" string'));
  }
  processRequest(ctx, session, req);
}
