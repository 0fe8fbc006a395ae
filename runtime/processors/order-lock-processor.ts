// Order locks for orderly consumers (RocketMQ's lockBatchMQ / unlockBatchMQ): a member of a
// group asks for queues and gets back the ones it now holds. The locks live on the queue
// actors (actors/order-lock.ts); a member that leaves its group loses its locks at once.
import { BrokerError, ErrorCode, type Request } from "../../protocol/mod.ts";
import { groupArg, required } from "../args.ts";
import type { ProcessorContext, QueueRef } from "../context.ts";
import type { Session } from "../session.ts";
import { topicResource } from "../security/acl.ts";

/** Most queues one request may name (a request is answered in one turn). */
const MAX_QUEUES_PER_REQUEST = 4096;

/** { group, clientId, queues: [{topic, queueId}] } -> { group, locked: [{topic, queueId}] } */
export function lockQueues(ctx: ProcessorContext, session: Session, req: Request): void {
  const { group, clientId, queues } = checkRequest(ctx, session, req);
  ctx.groups.view(group, (view) => {
    const members = Object.keys(view?.members ?? {});
    ctx.locks.lock(group, clientId, members, queues, (locked) => session.reply(req.id, { group, locked }));
  });
}

/** { group, clientId, queues } -> { group, unlocked: [...] }: the queues this client held and freed. */
export function unlockQueues(ctx: ProcessorContext, session: Session, req: Request): void {
  const { group, clientId, queues } = checkRequest(ctx, session, req);
  ctx.locks.unlock(group, clientId, queues, (unlocked) => session.reply(req.id, { group, unlocked }));
}

function checkRequest(ctx: ProcessorContext, session: Session, req: Request): { group: string; clientId: string; queues: QueueRef[] } {
  const group = groupArg(req);
  const clientId = required<string>(req, "clientId", "string");
  const raw = required<unknown[]>(req, "queues", "array");
  // A lock is held by a client the broker knows on this connection: no one locks for another.
  if (session.clientId !== clientId) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `${req.op}: this connection has not heartbeated as client "${clientId}"`);
  }
  if (raw.length > MAX_QUEUES_PER_REQUEST) throw new BrokerError(ErrorCode.BAD_REQUEST, `${req.op}: at most ${MAX_QUEUES_PER_REQUEST} queues per request`);
  const queues = raw.map((q, i): QueueRef => {
    if (q === null || typeof q !== "object" || Array.isArray(q) || q instanceof Uint8Array) {
      throw new BrokerError(ErrorCode.WRONG_TYPE, `${req.op}: queues[${i}] must be a map { topic, queueId }`);
    }
    const { topic, queueId } = q as Record<string, unknown>;
    if (typeof topic !== "string") throw new BrokerError(topic === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, `${req.op}: queues[${i}].topic must be a string`);
    if (typeof queueId !== "number" || !Number.isInteger(queueId) || queueId < 0) {
      throw new BrokerError(queueId === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, `${req.op}: queues[${i}].queueId must be an unsigned integer`);
    }
    session.security.authorize(topicResource(topic), "SUB");
    ctx.topics.forRead(topic, queueId);
    return { topic, queueId };
  });
  return { group, clientId, queues };
}
