// sendBack: a consumer gives a message back. It returns after delay level 3 + reconsumeTimes on
// %RETRY%<group>, with the same id and the origin in its properties, or after too many attempts
// goes to %DLQ%<group> (RocketMQ's SendMessageProcessor.consumerSendMsgBack).
import { BrokerError, DLQ_PREFIX, decode, encode, ErrorCode, type Request, RETRY_PREFIX, tagsCode } from "../../protocol/mod.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import { groupArg, optional, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import { topicResource } from "../security/acl.ts";

export const DEFAULT_MAX_RECONSUME_TIMES = 16;

export function sendBack(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  const offset = required<number>(req, "commitLogOffset", "uint");
  const maxReconsumeTimes = optional(req, "maxReconsumeTimes", "uint", DEFAULT_MAX_RECONSUME_TIMES);
  const record = ctx.store.readRecord(offset);
  if (!record) throw new BrokerError(ErrorCode.BAD_REQUEST, `sendBack: no message is stored at commit-log offset ${offset}`);
  // Giving a message back copies it where the group reads: only a message the session may read.
  session.security.authorize(topicResource(ctx.store.topicOf(record)), "SUB");
  const msg = decode(record.message) as Record<string, unknown> & { topic: string; id: string; props?: Record<string, string> };
  // An orderly consumer retries in place, so the stored count lags: it sends its own count.
  const counted = optional(req, "reconsumeTimes", "uint", 0);
  const reconsumeTimes = Math.max(record.reconsumeTimes, counted) + 1;
  // The first give-back records where the message came from; later ones keep that.
  const props = {
    ...msg.props,
    ORIGIN_TOPIC: msg.props?.ORIGIN_TOPIC ?? msg.topic,
    ORIGIN_MSG_ID: msg.props?.ORIGIN_MSG_ID ?? msg.id,
    ORIGIN_QUEUE_ID: msg.props?.ORIGIN_QUEUE_ID ?? String(record.queueId),
  };
  const answer = (topic: string) => (err?: BrokerError) =>
    err ? session.fail(req.id, err) : session.reply(req.id, { topic, reconsumeTimes });

  if (reconsumeTimes > maxReconsumeTimes) {
    const dlq = DLQ_PREFIX + group;
    if (!ctx.topics.get(dlq)) ctx.topics.create(dlq, 1, PERM_RW);
    const bytes = encode({ ...msg, topic: dlq, props });
    ctx.appends.append(
      [{ topic: dlq, queueId: 0, bytes, tagsCode: tagsCode(msg.tags as string | undefined), keys: msg.keys as string[] | undefined, msgId: msg.id, reconsumeTimes }],
      (results) => answer(dlq)(results[0] instanceof BrokerError ? results[0] : undefined),
    );
    return;
  }
  const retry = RETRY_PREFIX + group;
  if (!ctx.topics.get(retry)) ctx.topics.create(retry, 1, PERM_RW);
  const level = Math.min(ctx.config.delayLevels.length, 3 + reconsumeTimes - 1);
  ctx.schedule.reput({ ...msg, props }, retry, 0, level, { reconsumeTimes }, answer(retry));
}
