// Order locks for orderly consumers (RocketMQ's lockBatchMQ / unlockBatchMQ): a member of a
// group asks for queues and gets back the ones it now holds. The lock lives on the queue actor
// (actors/order-lock.ts); this module checks the request, asks each queue, and reads the answer
// back from the actor's context. A member that leaves its group loses its locks at once.
import { BrokerError, ErrorCode, type Request } from "../../protocol/mod.ts";
import { queueActorId } from "../../actors/broker.machine.ts";
import { lockHolder, type OrderLocks } from "../../actors/order-lock.ts";
import type { QueueContext } from "../../actors/queue.machine.ts";
import { required } from "../args.ts";
import type { Broker, Connection } from "../broker.ts";
import { groupContext } from "./groups.ts";

/** Most queues one request may name (a request is answered in one turn). */
const MAX_QUEUES_PER_REQUEST = 4096;

interface QueueRef {
  topic: string;
  queueId: number;
}

/** { group, clientId, queues: [{topic, queueId}] } -> { group, locked: [{topic, queueId}] } */
export function lockQueues(broker: Broker, conn: Connection, req: Request): void {
  const { group, clientId, queues } = checkRequest(broker, conn, req);
  const members = Object.keys(groupContext(broker, group)?.members ?? {});
  const now = broker.platform.clock.now();
  const expiresAt = now + broker.config.orderLockExpiryMs;
  const locked: QueueRef[] = [];
  for (const q of queues) {
    const actor = broker.root.system.get(queueActorId(q.topic, q.queueId));
    if (!actor) continue;
    actor.send({ type: "LOCK", group, clientId, members, expiresAt });
    // The queue actor handles the event synchronously: its context already says who holds it.
    if (lockHolder(locksOf(actor), group, now) === clientId) locked.push(q);
  }
  broker.reply(conn, req.id, { group, locked });
}

/** { group, clientId, queues } -> { group, unlocked: [...] }: the queues this client held and freed. */
export function unlockQueues(broker: Broker, conn: Connection, req: Request): void {
  const { group, clientId, queues } = checkRequest(broker, conn, req);
  const unlocked: QueueRef[] = [];
  for (const q of queues) {
    const actor = broker.root.system.get(queueActorId(q.topic, q.queueId));
    if (!actor || locksOf(actor)?.[group]?.clientId !== clientId) continue;
    actor.send({ type: "UNLOCK", group, clientId });
    unlocked.push(q);
  }
  broker.reply(conn, req.id, { group, unlocked });
}

/**
 * The group's membership changed (a member left, or expired): the locks its departed members
 * held are freed now rather than at their expiry, so the queues' new owners can start.
 */
export function releaseLocksOfLeft(broker: Broker, group: string, members: string[]): void {
  for (const [id, child] of Object.entries(broker.root.getSnapshot().children)) {
    if (!id.startsWith("queue:") || !child) continue;
    const held = locksOf(child)?.[group];
    if (held && !members.includes(held.clientId)) child.send({ type: "RELEASE_LEFT", group, members });
  }
}

function locksOf(actor: { getSnapshot(): unknown }): OrderLocks | undefined {
  return ((actor.getSnapshot() as { context?: QueueContext }).context)?.locks;
}

function checkRequest(broker: Broker, conn: Connection, req: Request): { group: string; clientId: string; queues: QueueRef[] } {
  const group = required<string>(req, "group", "string");
  const clientId = required<string>(req, "clientId", "string");
  const raw = required<unknown[]>(req, "queues", "array");
  // A lock is held by a client the broker knows on this connection: no one locks for another.
  if (conn.clientId !== clientId) {
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
    broker.topicForRead(topic, queueId);
    return { topic, queueId };
  });
  return { group, clientId, queues };
}
