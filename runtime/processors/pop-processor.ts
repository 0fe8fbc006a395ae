// POP ops (ActorMQ's SimpleConsumer): popMessage, ackMessage, changeInvisibleDuration; and the
// subscription groups' settings. The work is the POP service's (runtime/services/pop-service.ts); these
// turn requests into its calls and its answers into frames.
import { BrokerError, CborWriter, ErrorCode, type Request } from "../../protocol/mod.ts";
import { groupArg, optional, required } from "../args.ts";
import type { PoppedMessage, ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";

const MAX_ACKS = 1024;

export function popMessage(ctx: ProcessorContext, session: Session, req: Request): void {
  ctx.pop.receive({
    group: groupArg(req),
    topic: required<string>(req, "topic", "string"),
    maxCount: optional(req, "maxCount", "uint", 32),
    invisibleMs: optional(req, "invisibleMs", "uint", 30_000),
    expression: optional(req, "expression", "string", "*"),
    pollMs: optional(req, "pollMs", "uint", 0),
    alive: () => session.open,
  }, (err, msgs) => (err ? session.fail(req.id, err) : answerPop(session, req, msgs)));
}

/** The stored message maps are copied into the frame as they are, as a pull's are. */
function answerPop(session: Session, req: Request, msgs: PoppedMessage[]): void {
  if (!session.open) return;
  let size = 64;
  for (const m of msgs) size += m.message.length + m.topic.length + m.receiptHandle.length + 80;
  const w = new CborWriter(size);
  w.map(3).text("id").value(req.id).text("code").int(0).text("msgs").array(msgs.length);
  for (const m of msgs) {
    w.array(9).text(m.topic).int(m.queueId).int(m.queueOffset).int(m.commitLogOffset).int(m.storeTimestamp)
      .int(m.attempt).text(m.receiptHandle).int(m.invisibleUntil).raw(m.message);
  }
  session.replyEncoded(w.bytes());
}

export function ackMessage(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  if (req.receiptHandles === undefined) {
    ctx.pop.ack(group, required<string>(req, "receiptHandle", "string"));
    return session.reply(req.id, {});
  }
  const handles = required<unknown[]>(req, "receiptHandles", "array");
  if (handles.length > MAX_ACKS) throw new BrokerError(ErrorCode.BAD_REQUEST, `ackMessage: at most ${MAX_ACKS} receipt handles`);
  const results = handles.map((h, i) => {
    try {
      if (typeof h !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, `ackMessage: receiptHandles[${i}] must be a string`);
      ctx.pop.ack(group, h);
      return { code: 0 };
    } catch (e) {
      return e instanceof BrokerError ? { code: e.code, message: e.message } : { code: ErrorCode.INTERNAL_ERROR, message: String(e) };
    }
  });
  session.reply(req.id, { results });
}

export function changeInvisibleDuration(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  const handle = required<string>(req, "receiptHandle", "string");
  const invisibleMs = required<number>(req, "invisibleMs", "uint");
  ctx.pop.changeInvisible(group, handle, invisibleMs, (err, receiptHandle, invisibleUntil) =>
    err ? session.fail(req.id, err) : session.reply(req.id, { receiptHandle, invisibleUntil }));
}

export function updateSubscriptionGroup(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  const { id: _id, op: _op, group: _group, ...changes } = req;
  const { settings, saved } = ctx.pop.groups.update(group, changes);
  saved.then(() => session.reply(req.id, { group, ...settings }));
}

export function getSubscriptionGroup(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  session.reply(req.id, { group, ...ctx.pop.groups.get(group) });
}
