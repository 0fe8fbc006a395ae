// The inspect op: subscribe a connection to the actor tree (the reply is a snapshot, pushes
// follow), or stop. A closed connection stops its subscription by itself.
import type { Request } from "../../protocol/mod.ts";
import { optional } from "../args.ts";
import type { Broker, Connection } from "../broker.ts";

export function inspect(broker: Broker, conn: Connection, req: Request): void {
  if (optional(req, "stop", "boolean", false)) {
    const stopped = broker.inspector.unsubscribe(conn);
    broker.reply(conn, req.id, { stopped });
    return;
  }
  const intervalMs = optional<number | undefined>(req, "intervalMs", "uint", undefined);
  const maxEvents = optional<number | undefined>(req, "maxEvents", "uint", undefined);
  broker.inspector.subscribe(conn, req.id, { intervalMs, maxEvents });
}
