// resendMessage: a dead letter goes back to the topic it came from (RocketMQ's dashboard
// "resend" of a DLQ message), for every consumer group of that topic to receive again. The copy
// keeps the message's id (so a lookup by id finds the whole story: stored, retried,
// dead-lettered, resent), drops the retry bookkeeping, and says where it was resent from.
import { BrokerError, decode, DLQ_PREFIX, encode, ErrorCode, type Request } from "../../protocol/mod.ts";
import { required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import { toAppendItem } from "./send-processor.ts";
import { topicResource } from "../security/acl.ts";

/** Set on a resent copy: the dead-letter topic it came from. */
export const RESENT_FROM = "RESENT_FROM";

export function resendMessage(ctx: ProcessorContext, session: Session, req: Request): void {
  const offset = required<number>(req, "commitLogOffset", "uint");
  const record = ctx.store.readRecord(offset);
  if (!record) throw new BrokerError(ErrorCode.BAD_REQUEST, `resendMessage: no message is stored at commit-log offset ${offset}`);
  const msg = decode(record.message) as Record<string, unknown> & { topic: string; props?: Record<string, string> };
  if (!msg.topic.startsWith(DLQ_PREFIX)) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `resendMessage: only dead letters are resent; the message at ${offset} is in "${msg.topic}", not a ${DLQ_PREFIX} topic`);
  }
  // A dead letter is its group's to read; the resend needs PUB on the origin topic (the send path checks it).
  session.security.authorize(topicResource(msg.topic), "SUB");
  const { ORIGIN_TOPIC: origin, ORIGIN_MSG_ID: _id, ORIGIN_QUEUE_ID: _queue, ...props } = msg.props ?? {};
  if (!origin) throw new BrokerError(ErrorCode.BAD_REQUEST, `resendMessage: the dead letter at ${offset} does not say which topic it came from (no ORIGIN_TOPIC)`);
  const { delayLevel: _l, deliverAt: _a, delayMs: _d, ...rest } = msg;
  // Through the send path: the origin topic's permission and queue choice apply as to any send.
  const item = toAppendItem(ctx, encode({ ...rest, topic: origin, props: { ...props, [RESENT_FROM]: msg.topic } }), undefined, session);
  ctx.appends.append([item], (results) => {
    const r = results[0];
    if (r instanceof BrokerError) return session.fail(req.id, r);
    session.reply(req.id, { msgId: item.msgId, topic: item.topic, queueId: item.queueId, queueOffset: r.queueOffset, commitLogOffset: r.commitLogOffset });
  });
}
