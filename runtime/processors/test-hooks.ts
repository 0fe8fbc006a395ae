// TEST HOOK (--test-send-delay-ms): a broker that answers sends late, as an overloaded or
// far-away one would, for the producer's latency fault tolerance tests and benchmarks. The
// message is stored at once; only the response waits. Off (0) unless the flag is given.
import type { Request } from "../../protocol/mod.ts";
import type { ServerSocket } from "../../platform/platform.ts";
import type { Connection } from "../session.ts";

export function withTestHooks(delayMs: number, conn: Connection, req: Request): Connection {
  if (!(delayMs > 0) || (req.op !== "send" && req.op !== "sendBatch")) return conn;
  const socket = conn.socket;
  const late = Object.create(socket) as ServerSocket & { send(data: Uint8Array): void };
  late.send = (data) => void setTimeout(() => conn.open && socket.send(data), delayMs);
  // `open` and the rest read through to the real connection.
  const delayed = Object.create(conn) as Connection;
  delayed.socket = late;
  return delayed;
}
