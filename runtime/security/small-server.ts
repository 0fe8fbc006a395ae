// Security for the cluster's small servers (a name server, a controller), which answer frames
// themselves rather than through the broker's processors: the Origin check when a socket opens,
// then per frame `hello` and `auth` answered here and every other op guarded (with --auth on it
// needs a signed-in user and its right: the ops of these servers need ADMIN on Cluster, except
// the name server's reads, guard.ts).
import type { Request } from "../../protocol/mod.ts";
import type { ServerSocket } from "../../platform/platform.ts";
import { guardRequest } from "./guard.ts";
import { originRefusal } from "./origin.ts";
import type { Security, SessionSecurity } from "./security.ts";

/** A new socket's security, or undefined when its Origin is refused (the socket is then closed). */
export function admitSocket(security: Security, socket: ServerSocket, allowedOrigins: readonly string[]): SessionSecurity | undefined {
  const refused = originRefusal(socket, allowedOrigins);
  if (refused) {
    security.counters.limit("origin");
    socket.close(1008, refused);
    return undefined;
  }
  return security.session(socket.remoteAddress);
}

/**
 * The answer to `hello` or `auth`, or undefined when the request is another op, which may then
 * run: it has passed the guard (or thrown the BrokerError to answer with).
 */
export async function signInOrGuard(session: SessionSecurity, socket: ServerSocket, req: Request): Promise<Record<string, unknown> | undefined> {
  if (req.op === "hello") return session.hello();
  if (req.op === "auth") {
    try {
      return await session.signIn(req);
    } finally {
      if (session.exhausted) socket.close(1008, "AUTH_FAILED: too many failed sign-ins");
    }
  }
  guardRequest(session, req);
  return undefined;
}
