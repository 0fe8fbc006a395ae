// The inspect op: subscribe a connection to the actor tree (the reply is a snapshot, pushes
// follow), or stop. A closed connection stops its subscription by itself.
import type { Request } from "../../protocol/mod.ts";
import { optional } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Connection } from "../session.ts";

export function inspect(ctx: ProcessorContext, conn: Connection, req: Request): void {
  if (optional(req, "stop", "boolean", false)) {
    const stopped = ctx.inspector.unsubscribe(conn);
    ctx.reply(conn, req.id, { stopped });
    return;
  }
  const intervalMs = optional<number | undefined>(req, "intervalMs", "uint", undefined);
  const maxEvents = optional<number | undefined>(req, "maxEvents", "uint", undefined);
  ctx.inspector.subscribe(conn, req.id, { intervalMs, maxEvents });
}
