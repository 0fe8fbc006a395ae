// The replication ops a replicated group's master serves on /ws (docs/REPLICATION.md): a slave's
// haHandshake, then its haAck for every chunk it holds. The stream itself is pushed by the
// master's HAService (runtime/ha/ha-service.ts).
import { BrokerError, ErrorCode, type Request } from "../../protocol/mod.ts";
import { required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";

export function haHandshake(ctx: ProcessorContext, session: Session, req: Request): void {
  const r = ctx.replication;
  if (!r) throw new BrokerError(ErrorCode.UNKNOWN_OP, `haHandshake: broker ${ctx.facts.brokerName} is not a member of a replicated group`);
  session.reply(req.id, r.handshake(session, req));
}

/** haAck { offset }: one way, no answer (one per chunk a slave holds). */
export function haAck(ctx: ProcessorContext, session: Session, req: Request): void {
  ctx.replication?.ack(session, required<number>(req, "offset", "uint"));
}

/** Ops that write (or change what is written): a slave answers them NOT_MASTER. */
export const WRITE_OPS = new Set([
  "send", "sendBatch", "endTransaction", "sendBack", "createTopic", "resetOffset", "resendMessage",
  "popMessage", "ackMessage", "changeInvisibleDuration", "updateSubscriptionGroup", "deleteTopic", "deleteSubGroup",
]);
