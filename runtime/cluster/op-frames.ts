// The envelope of the small servers of a cluster (a name server, a controller): a frame is a
// CBOR map with an id and an op; the handler's result is the answer, a thrown BrokerError is
// answered with its code (and details), anything else as INTERNAL_ERROR.
import { BrokerError, decode, encode, ErrorCode, type Request, type RequestId } from "../../protocol/mod.ts";
import type { ServerSocket } from "../../platform/platform.ts";

export async function answerFrame(socket: ServerSocket, data: Uint8Array, handle: (req: Request) => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<void> {
  let id: RequestId | null = null;
  try {
    let req: Request;
    try {
      req = decode(data) as Request;
    } catch {
      throw new BrokerError(ErrorCode.MALFORMED_FRAME, "the frame is not valid CBOR");
    }
    if (req === null || typeof req !== "object" || Array.isArray(req) || req instanceof Uint8Array) throw new BrokerError(ErrorCode.MALFORMED_FRAME, "a frame must be a CBOR map");
    if (typeof req.id !== "number" && typeof req.id !== "string") {
      throw new BrokerError(req.id === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, 'a request needs an "id" (an integer or a string)');
    }
    id = req.id;
    if (typeof req.op !== "string") throw new BrokerError(req.op === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, 'a request needs an "op" string');
    socket.send(encode({ id, code: 0, ...(await handle(req)) }));
  } catch (e) {
    const code = e instanceof BrokerError ? e.code : ErrorCode.INTERNAL_ERROR;
    if (code === ErrorCode.INTERNAL_ERROR) console.error("internal error:", e);
    try {
      socket.send(encode({ id, code, message: e instanceof Error ? e.message : String(e), ...(e instanceof BrokerError ? e.details : {}) }));
    } catch { /* the socket is gone */ }
  }
}
