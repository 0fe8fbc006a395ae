// The inspect op: subscribe a connection to the actor tree (the reply is a snapshot, pushes
// follow), or stop. A closed connection stops its subscription by itself. The overview op: the
// console's overview once (the cluster view asks every broker for it every few seconds).
import type { Request } from "../../protocol/mod.ts";
import { optional } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";

export function inspect(ctx: ProcessorContext, session: Session, req: Request): void {
  if (optional(req, "stop", "boolean", false)) {
    const stopped = ctx.inspector.unsubscribe(session);
    session.reply(req.id, { stopped });
    return;
  }
  const intervalMs = optional<number | undefined>(req, "intervalMs", "uint", undefined);
  const maxEvents = optional<number | undefined>(req, "maxEvents", "uint", undefined);
  ctx.inspector.subscribe(session, req.id, { intervalMs, maxEvents });
}

export function overview(ctx: ProcessorContext, session: Session, req: Request): void {
  session.reply(req.id, { overview: ctx.inspector.overview() });
}
