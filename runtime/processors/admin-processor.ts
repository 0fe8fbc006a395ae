// Topic administration (RocketMQ's AdminBrokerProcessor): create, list, status, delete; a
// consumer group's deletion; a retention pass.
import { BrokerError, checkGroupName, checkTopicName, ErrorCode, type Request } from "../../protocol/mod.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import { optional, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import { topicResource } from "../security/acl.ts";
import { checkTopicLimit } from "./limit-checks.ts";

const MAX_QUEUES = 1024;

export function createTopic(ctx: ProcessorContext, session: Session, req: Request): void {
  const topic = checkTopicName(required<string>(req, "topic", "string"));
  const queues = optional(req, "queues", "uint", ctx.config.defaultQueues);
  const perm = optional(req, "perm", "uint", PERM_RW);
  if (queues < 1 || queues > MAX_QUEUES) throw new BrokerError(ErrorCode.BAD_REQUEST, `createTopic: "queues" must be 1..${MAX_QUEUES}`);
  if (perm > 7) throw new BrokerError(ErrorCode.BAD_REQUEST, `createTopic: "perm" is a bit set 0..7 (4 read, 2 write)`);
  if (ctx.topics.get(topic) === undefined) checkTopicLimit(ctx);
  // Answered once the topic log holds it (written; and fdatasynced under --flush sync): a created
  // topic survives a SIGKILL right after.
  const saved = ctx.topics.create(topic, queues, perm);
  const t = ctx.topics.get(topic)!;
  saved.then(() => session.reply(req.id, { topic, queues: t.queues, perm: t.perm }));
}

/**
 * RocketMQ's deleteTopic: the topic leaves the table, its queue actors stop, every group forgets
 * its offsets of it, and its messages are never served again (retention reclaims their bytes).
 * Answered once the deletion is as durable as the flush mode promises.
 */
export function deleteTopic(ctx: ProcessorContext, session: Session, req: Request): void {
  const topic = checkTopicName(required<string>(req, "topic", "string"));
  ctx.lifecycle.deleteTopic(topic).then(() => session.reply(req.id, { topic }), (e) => session.fail(req.id, e));
}

/**
 * RocketMQ's deleteSubGroup: the group's actors stop (its committed offsets and POP state with
 * them), its settings go, and so do its %RETRY% and %DLQ% topics unless `keepRetryTopics`.
 */
export function deleteSubGroup(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = checkGroupName(required<string>(req, "group", "string"), "deleteSubGroup: group");
  const keep = optional(req, "keepRetryTopics", "boolean", false);
  ctx.lifecycle.deleteGroup(group, keep).then((topics) => session.reply(req.id, { group, topicsDeleted: topics }), (e) => session.fail(req.id, e));
}

export function topicList(ctx: ProcessorContext, session: Session, req: Request): void {
  const system = optional(req, "system", "boolean", false);
  // With --auth on, the topics this session has any right to.
  const { security } = session;
  const visible = (topic: string) => ["SUB", "PUB", "ADMIN"].some((a) => security.can(topicResource(topic), a as "SUB"));
  const topics = Object.entries(ctx.topics.all())
    .filter(([topic, t]) => (system || !t.system) && visible(topic))
    .map(([topic, t]) => ({ topic, queues: t.queues, perm: t.perm }));
  session.reply(req.id, { topics });
}

export function topicStatus(ctx: ProcessorContext, session: Session, req: Request): void {
  const topic = required<string>(req, "topic", "string");
  const t = ctx.topics.forRead(topic);
  const { store } = ctx;
  const queues = Array.from({ length: t.queues }, (_, queueId) => ({
    queueId,
    minOffset: store.minOffset(topic, queueId),
    maxOffset: store.maxOffset(topic, queueId),
    lastStoreTimestamp: store.lastStoreTimestamp(topic, queueId),
  }));
  session.reply(req.id, { topic, queues });
}

/**
 * RocketMQ's deleteExpiredCommitLog: a retention pass now, whatever the hour. Deletes what has
 * expired (--file-reserved-time) and nothing still needed; answers what went and what holds the rest.
 */
export function deleteExpiredCommitLog(ctx: ProcessorContext, session: Session, req: Request): void {
  ctx.retention.run(true, (r, error) => {
    if (error !== undefined || !r) return session.fail(req.id, error ?? new Error("the retention pass did not run"));
    session.reply(req.id, {
      deletedSegments: r.segments,
      deletedBytes: r.bytes,
      minCommitLogOffset: r.minCommitLogOffset,
      queuesTruncated: r.queues.length,
      heldBy: r.heldBy,
      holdOffset: Number.isFinite(r.floor) ? r.floor : -1,
    });
  });
}
