// The WebSocket front-end: CBOR frames in, one connection per socket. It decodes each frame,
// checks the envelope (a map with an id and an op) and hands the request to the processors;
// every failure is answered with a named error code. Nothing a client sends can crash the broker.
import { BrokerError, decode, ErrorCode, type Request } from "../../protocol/mod.ts";
import type { ServerSocket, SocketHandlers } from "../../platform/platform.ts";
import type { ProcessorContext } from "../context.ts";
import { processRequest } from "../processors/mod.ts";
import type { Connection } from "../session.ts";

export interface WebSocketFrontEnd {
  /** A connection opened; it is the broker's until `closed`. */
  opened(conn: Connection): void;
  /** A connection closed: its client leaves its groups, its registrations go. */
  closed(conn: Connection): void;
}

export function webSocketHandlers(ctx: ProcessorContext, frontEnd: WebSocketFrontEnd): SocketHandlers {
  const bySocket = new WeakMap<ServerSocket, Connection>();
  let next = 0;
  return {
    onOpen(socket) {
      const conn: Connection = { id: `c${++next}`, socket, open: true, groups: new Set() };
      bySocket.set(socket, conn);
      frontEnd.opened(conn);
    },
    onClose(socket) {
      const conn = bySocket.get(socket);
      if (!conn) return;
      conn.open = false;
      frontEnd.closed(conn);
    },
    onMessage(socket, data) {
      const conn = bySocket.get(socket);
      if (conn) dispatch(ctx, conn, data);
    },
  };
}

function dispatch(ctx: ProcessorContext, conn: Connection, data: Uint8Array): void {
  let req: Request;
  try {
    req = decode(data) as Request;
  } catch {
    return ctx.replyError(conn, null, new BrokerError(ErrorCode.MALFORMED_FRAME, "the frame is not valid CBOR"));
  }
  if (req === null || typeof req !== "object" || Array.isArray(req) || req instanceof Uint8Array) {
    return ctx.replyError(conn, null, new BrokerError(ErrorCode.MALFORMED_FRAME, "a frame must be a CBOR map"));
  }
  const id = req.id;
  if (typeof id !== "number" && typeof id !== "string") {
    const code = id === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE;
    return ctx.replyError(conn, null, new BrokerError(code, 'a request needs an "id" (an integer or a string)'));
  }
  if (typeof req.op !== "string") {
    return ctx.replyError(conn, id, new BrokerError(req.op === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, 'a request needs an "op" string'));
  }
  processRequest(ctx, conn, req);
}
