// send and sendBatch (RocketMQ's SendMessageProcessor): validate each message, route it to a
// queue, hand it to the append pipeline. The message bytes the producer encoded are what the
// CommitLog stores.
import {
  BrokerError,
  checkDelayLevel,
  checkGroupName,
  checkMessage,
  decode,
  ErrorCode,
  MAX_MESSAGE_SIZE,
  type Message,
  type Request,
  isSystemTopic,
  MessageProp,
  tagsCode,
} from "../../protocol/mod.ts";
import { plainMessage } from "../../protocol/plain-message.ts";
import { PERM_WRITE } from "../../actors/broker.machine.ts";
import type { AppendItem, AppendResult } from "../../storage/message-store.ts";
import { optional, required } from "../args.ts";
import type { AppendOutcome, ProcessorContext, ScheduledItem } from "../context.ts";
import type { Session } from "../session.ts";
import { topicResource } from "../security/acl.ts";
import { checkTopicLimit } from "./limit-checks.ts";

export function send(ctx: ProcessorContext, session: Session, req: Request): void {
  const arrived = performance.now();
  const bytes = required<Uint8Array>(req, "msg", "bytes");
  const queueId = optional<number | undefined>(req, "queueId", "uint", undefined);
  const item = toAppendItem(ctx, bytes, queueId, session); // throws: the server answers with its code
  ctx.appends.append([item], (results) => {
    const r = results[0];
    if (r instanceof BrokerError) session.fail(req.id, r);
    else session.reply(req.id, result(item, r));
    ctx.metrics.observeSend("send", (performance.now() - arrived) / 1000);
  });
}

export function sendBatch(ctx: ProcessorContext, session: Session, req: Request): void {
  const arrived = performance.now();
  const msgs = required<unknown[]>(req, "msgs", "array");
  const queueIds = optional<unknown[] | undefined>(req, "queueIds", "array", undefined);
  if (queueIds && queueIds.length !== msgs.length) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `sendBatch: "queueIds" has ${queueIds.length} items for ${msgs.length} messages`);
  }
  // Each message stands alone: a bad one gets its own error, the rest are stored.
  const outcomes: (Record<string, unknown> | null)[] = [];
  const items: AppendItem[] = [];
  for (let i = 0; i < msgs.length; i++) {
    try {
      if (!(msgs[i] instanceof Uint8Array)) throw new BrokerError(ErrorCode.WRONG_TYPE, `sendBatch: msgs[${i}] must be a byte string`);
      const q = queueIds?.[i];
      if (q !== undefined && q !== null && !(typeof q === "number" && Number.isInteger(q) && q >= 0)) {
        throw new BrokerError(ErrorCode.WRONG_TYPE, `sendBatch: queueIds[${i}] must be an unsigned integer`);
      }
      items.push(toAppendItem(ctx, msgs[i] as Uint8Array, (q ?? undefined) as number | undefined, session));
      outcomes.push(null);
    } catch (e) {
      outcomes.push(errorOf(e));
    }
  }
  ctx.appends.append(items, (results: AppendOutcome[]) => {
    let k = 0;
    const out = outcomes.map((o) => {
      if (o) return o;
      const item = items[k];
      const r = results[k++];
      // The producer knows each message's id and topic: per-item results carry only what it does not.
      if (r instanceof BrokerError) return errorOf(r);
      if (isDelayed(item)) return { code: 0, queueId: (item as ScheduledItem).realQueueId, queueOffset: -1, commitLogOffset: r.commitLogOffset };
      return { code: 0, queueId: item.queueId, queueOffset: r.queueOffset, commitLogOffset: r.commitLogOffset };
    });
    session.reply(req.id, { results: out });
    ctx.metrics.observeSend("sendBatch", (performance.now() - arrived) / 1000);
  });
}

/** Checks one encoded message (and the sender's right to send it) and picks its queue. Throws BrokerError. */
export function toAppendItem(ctx: ProcessorContext, bytes: Uint8Array, queueId: number | undefined, session: Pick<Session, "security">): AppendItem {
  if (bytes.length > MAX_MESSAGE_SIZE) {
    throw new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `message is ${bytes.length} bytes, the limit is ${MAX_MESSAGE_SIZE}`);
  }
  // Most messages are plain (topic, body, id, born, tags, keys, group): checked without decoding them.
  const plain = plainMessage(bytes);
  if (plain) {
    authorizeSend(plain.topic, session);
    const q = queueFor(ctx, plain.topic, queueId);
    return { topic: plain.topic, queueId: q, bytes, tagsCode: tagsCode(plain.tags), keys: plain.keys, msgId: plain.id };
  }
  let decoded: unknown;
  try {
    decoded = decode(bytes);
  } catch {
    throw new BrokerError(ErrorCode.MALFORMED_FRAME, "a message is not valid CBOR");
  }
  const msg: Message = checkMessage(decoded);
  authorizeSend(msg.topic, session);
  const transactional = msg.props !== undefined && msg.props[MessageProp.TRAN_MSG] === "true";
  // Its checks go to its group's producers: only a producer of that group may start one.
  if (transactional && msg.group !== undefined) session.security.authorizeProducerGroup(checkGroupName(msg.group, "message.group"));
  const level = msg.delayLevel === undefined ? 0 : checkDelayLevel(msg.delayLevel, ctx.config.delayLevels.length);
  const at = ctx.timer.deliverAtOf(msg); // checked before the topic is auto-created
  const q = queueFor(ctx, msg.topic, queueId);
  // Transactional: a half message, held in the half topic until it is committed.
  if (transactional) return ctx.transactions.halfItem(decoded as Record<string, unknown>, msg, msg.topic, q, bytes);
  // Delayed: moved into the schedule topic (off the hot path); the real offset comes at delivery.
  if (level > 0) return ctx.schedule.item(decoded as Record<string, unknown>, msg.topic, q, level, 0, bytes);
  // Any time: into the timer topic, and (once stored) onto the timing wheel.
  if (at !== undefined) return ctx.timer.item(decoded as Record<string, unknown>, msg.topic, q, at, bytes);
  return { topic: msg.topic, queueId: q, bytes, tagsCode: tagsCode(msg.tags), keys: msg.keys, msgId: msg.id };
}

/**
 * The broker's own topics (offset commits, schedule, progress, transactions) are written only by
 * the broker: a forged offset commit would be replayed as a real one. Others need PUB.
 */
function authorizeSend(topic: string, session: Pick<Session, "security">): void {
  if (isSystemTopic(topic)) {
    throw new BrokerError(ErrorCode.NO_PERMISSION, `sending to "${topic}" is forbidden: it is the broker's own`);
  }
  session.security.authorize(topicResource(topic), "PUB");
}

/** The message's queue: the one it names, or the topic's next; the topic is created if it may be. */
function queueFor(ctx: ProcessorContext, name: string, queueId: number | undefined): number {
  if (ctx.topics.get(name) === undefined) checkTopicLimit(ctx);
  const topic = ctx.topics.forWrite(name);
  if ((topic.perm & PERM_WRITE) === 0) throw new BrokerError(ErrorCode.NO_PERMISSION, `topic "${name}" is not writable`);
  if (queueId === undefined) return ctx.topics.nextQueue(name, topic.queues);
  if (queueId >= topic.queues) {
    throw new BrokerError(ErrorCode.QUEUE_NOT_FOUND, `topic "${name}" has ${topic.queues} queues; queue ${queueId} does not exist`);
  }
  return queueId;
}

function result(item: AppendItem, r: AppendResult) {
  if (isDelayed(item)) {
    const { realTopic, realQueueId } = item as ScheduledItem;
    return { msgId: item.msgId, topic: realTopic, queueId: realQueueId, queueOffset: -1, commitLogOffset: r.commitLogOffset };
  }
  return { msgId: item.msgId, topic: item.topic, queueId: item.queueId, queueOffset: r.queueOffset, commitLogOffset: r.commitLogOffset };
}

/** A message waiting for a delay level or the timer: its real queue is in the item, its offset comes at delivery. */
function isDelayed(item: AppendItem): item is ScheduledItem {
  return (item as ScheduledItem).realTopic !== undefined;
}

function errorOf(e: unknown): Record<string, unknown> {
  if (e instanceof BrokerError) return { code: e.code, message: e.message, ...e.details };
  return { code: ErrorCode.INTERNAL_ERROR, message: String(e) };
}
